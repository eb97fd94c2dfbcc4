"""Template keys, scopes and the workflowTemplateRef merge (``hera_magics.local.template_refs``)."""

from __future__ import annotations

from hera_magics.local.template_refs import (
    execution_templates,
    join_workflow_spec,
    node_template_fields,
    reference_key,
    strategic_merge,
    template_key_of,
    template_real_name,
)


def test_node_fields_and_keys_round_trip():
    cases = [
        ("say", {"templateName": "say", "templateScope": "local/wf"}),
        ("namespaced/w/say", {"templateName": "say", "templateScope": "namespaced/w"}),
        (reference_key("local/wf", {"name": "w", "template": "say"}),
         {"templateRef": {"name": "w", "template": "say"}, "templateScope": "local/wf"}),
        (reference_key("namespaced/w", {"name": "c", "template": "x", "clusterScope": True}),
         {"templateRef": {"name": "c", "template": "x", "clusterScope": True}, "templateScope": "namespaced/w"}),
    ]
    for key, fields in cases:
        assert node_template_fields(key, "local/wf") == fields
        assert template_key_of(fields) == key
        assert template_real_name(key) == key.rsplit("/", 1)[-1]


def test_strategic_merge_merges_named_lists_and_replaces_the_rest():
    # Kubernetes' strategic merge with Argo's patchMergeKey tags: templates and parameters by name.
    template = {"templates": [{"name": "a", "container": {"image": "x"}}, {"name": "b"}],
                "tolerations": [{"key": "gpu"}], "nodeSelector": {"zone": "1"}, "steps": [1]}
    workflow = {"templates": [{"name": "a", "container": {"command": ["sh"]}}, {"name": "c"}],
                "nodeSelector": {"disk": "ssd"}, "steps": [2]}
    merged = strategic_merge(template, workflow)
    assert merged["templates"] == [{"name": "a", "container": {"image": "x", "command": ["sh"]}}, {"name": "b"},
                                   {"name": "c"}]
    assert merged["nodeSelector"] == {"zone": "1", "disk": "ssd"}
    assert merged["steps"] == [2]
    assert merged["tolerations"] == [{"key": "gpu"}]


def test_join_keeps_the_workflows_argument_whole():
    # JoinWorkflowSpec: a parameter the workflow gives a value replaces the template's entirely
    # (its enum and description go too); the template's other parameters stay.
    template = {"entrypoint": "main", "arguments": {"parameters": [
        {"name": "who", "value": "world", "enum": ["world", "moon"]}, {"name": "n", "value": "1"}]}}
    merged = join_workflow_spec({"workflowTemplateRef": {"name": "t"},
                                 "arguments": {"parameters": [{"name": "who", "value": "you"}]}}, template)
    assert merged["arguments"]["parameters"] == [{"name": "who", "value": "you"}, {"name": "n", "value": "1"}]
    assert merged["entrypoint"] == "main" and merged["workflowTemplateRef"] == {"name": "t"}


def test_execution_templates_rewrite_references_to_keys():
    workflow = {
        "metadata": {"name": "wf"},
        "spec": {"templates": [{"name": "main", "dag": {"tasks": [
            {"name": "a", "templateRef": {"name": "w", "template": "inner"}}, {"name": "b", "template": "leaf"}]}},
            {"name": "leaf", "container": {}}]},
        "status": {"storedTemplates": {
            "namespaced/w/inner": {"name": "inner", "dag": {"tasks": [{"name": "x", "template": "leaf"}]}},
            "namespaced/w/leaf": {"name": "leaf", "container": {}}}},
    }
    templates = execution_templates(workflow)
    tasks = templates["main"]["dag"]["tasks"]
    assert [task["template"] for task in tasks] == ["local/wf>namespaced/w/inner", "leaf"]
    assert "templateRef" not in tasks[0]
    assert templates["local/wf>namespaced/w/inner"]["dag"]["tasks"][0]["template"] == "namespaced/w/leaf"
    assert templates["leaf"] is workflow["spec"]["templates"][1]  # a pod template is used as it is
