"""WorkflowTemplates, ClusterWorkflowTemplates, ``templateRef`` and ``workflowTemplateRef``, as
Argo v4.0.5 handles them (issue 11).

Real engine processes, real HTTP, and Hera's own client. The expected answers and node fields
are Argo's, with the source that fixes them, in argoproj/argo-workflows at v4.0.5: the servers
(``server/workflowtemplate/workflow_template_server.go``,
``server/clusterworkflowtemplate/cluster_workflow_template_server.go``), the validator
(``workflow/validate/validate.go``: ``ValidateWorkflowTemplate``, ``validateTemplateHolder``,
``ValidateWorkflowTemplateRefFields``), template resolution
(``workflow/templateresolution/context.go``, ``resolveTemplateReference`` in
``pkg/apis/workflow/v1alpha1/workflow_types.go``), the merge (``workflow/util/merge.go``
``JoinWorkflowSpec``) and the controller (``operator.go`` ``setExecWorkflow``,
``setStoredWfSpec``, ``initializeNode``); ``operator_template_scope_test.go`` shows the scopes,
and a real workflowTemplateRef workflow captured from a cluster
(``tests/fixtures/argo/modern/repo-jedarden-pdftract-succeeded-steps-qhtmj.yaml``) shows
``templateScope: local/`` and ``storedTemplates``. Before this change the engine answered 501 on
these routes and refused ``templateRef`` and ``workflowTemplateRef`` at create.
"""

from __future__ import annotations

import uuid

import pytest

from hera_magics.argo import pod_name
from tests.local_helpers import dag, error_of, nodes_by_display_name, start_engine, task, workflow

TEMPLATES = "api/v1/workflow-templates/argo"
CLUSTER = "api/v1/cluster-workflow-templates"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def say() -> dict:
    return {"name": "say", "inputs": {"parameters": [{"name": "message"}]},
            "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.message}}"]}}


def greetings(name: str, **spec) -> dict:
    """A WorkflowTemplate: ``main`` (a DAG saying hello to its argument) and ``say``."""
    main = dag([task("hello", "say", arguments={"message": "hello {{workflow.parameters.who}}"})])
    return {"metadata": {"name": name, "labels": {"team": "blue"}},
            "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "who", "value": "world"}]},
                     "templates": [main, say()], **spec}}


def create_template(engine, template: dict, path: str = TEMPLATES) -> dict:
    answer = engine.request("POST", path, json={"template": template})
    assert answer.status_code == 200, answer.text
    return answer.json()


def logs_of(engine, name: str) -> str:
    return engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={"logOptions.container": "main"}).text


# -- the REST routes -------------------------------------------------------------------------------------


def test_workflow_template_routes_create_get_list_update_delete(engine):
    name = unique("crud")
    created = create_template(engine, greetings(name))
    metadata = created["metadata"]
    assert (metadata["name"], metadata["namespace"], metadata["generation"]) == (name, "argo", 1)
    assert metadata["uid"] and metadata["resourceVersion"] and metadata["creationTimestamp"]
    assert "workflows.argoproj.io/creator" in metadata["labels"]  # creator.LabelCreator
    assert set(created) == {"metadata", "spec"}  # typed objects: no kind/apiVersion, as for workflows
    assert engine.request("GET", f"{TEMPLATES}/{name}").json() == created
    # A name taken: Kubernetes' AlreadyExists.
    status, code, message = error_of(engine.request("POST", TEMPLATES, json={"template": greetings(name)}))
    assert (status, code, message) == (409, 6, f'workflowtemplates.argoproj.io "{name}" already exists')
    # List: sorted by name, filtered by namePattern (a substring) and a label selector.
    other = create_template(engine, {**greetings(unique("aaa-crud")), "metadata": {"name": f"aaa-{name}"}})
    listed = engine.request("GET", TEMPLATES, params={"namePattern": name}).json()
    assert [item["metadata"]["name"] for item in listed["items"]] == [f"aaa-{name}", name]
    by_label = engine.request("GET", TEMPLATES, params={"listOptions.labelSelector": "team=blue",
                                                        "namePattern": name}).json()
    assert [item["metadata"]["name"] for item in by_label["items"]] == [name]
    assert engine.request("GET", TEMPLATES, params={"namePattern": "nothing-like-it"}).json()["items"] is None
    # Update: the resourceVersion read is required, a stale one is a conflict.
    changed = {**created, "spec": {**created["spec"], "arguments": {"parameters": [{"name": "who", "value": "moon"}]}}}
    updated = engine.request("PUT", f"{TEMPLATES}/{name}", json={"template": changed}).json()
    assert updated["spec"]["arguments"]["parameters"][0]["value"] == "moon"
    assert updated["metadata"]["generation"] == 2
    assert updated["metadata"]["labels"]["workflows.argoproj.io/action"] == "Update"
    status, code, message = error_of(engine.request("PUT", f"{TEMPLATES}/{name}", json={"template": changed}))
    assert (status, code) == (409, 6) and "the object has been modified" in message
    no_version = {**changed, "metadata": {"name": name}}
    status, _, message = error_of(engine.request("PUT", f"{TEMPLATES}/{name}", json={"template": no_version}))
    assert status == 400 and "must be specified for an update" in message
    # Delete answers {}; then 404.
    assert engine.request("DELETE", f"{TEMPLATES}/{name}").json() == {}
    assert engine.request("DELETE", f"{TEMPLATES}/{other['metadata']['name']}").status_code == 200
    status, code, message = error_of(engine.request("GET", f"{TEMPLATES}/{name}"))
    assert (status, code, message) == (404, 5, f'workflowtemplates.argoproj.io "{name}" not found')


def test_cluster_workflow_template_routes(engine):
    name = unique("cluster")
    created = create_template(engine, {"metadata": {"name": name}, "spec": {"templates": [say()]}}, CLUSTER)
    assert "namespace" not in created["metadata"]
    assert engine.request("GET", f"{CLUSTER}/{name}").json() == created
    assert name in [item["metadata"]["name"] for item in engine.request("GET", CLUSTER).json()["items"]]
    assert engine.request("DELETE", f"{CLUSTER}/{name}").json() == {}
    status, code, message = error_of(engine.request("GET", f"{CLUSTER}/{name}"))
    assert (status, code, message) == (404, 5, f'clusterworkflowtemplates.argoproj.io "{name}" not found')


def test_a_template_is_validated_at_create_and_lint(engine):
    # ValidateWorkflowTemplate: a workflow whose entrypoint may be missing and whose arguments may
    # have no value yet; anything else wrong is a 400 naming the field, and nothing is stored.
    name = unique("lint")
    loose = {"metadata": {"name": name}, "spec": {"arguments": {"parameters": [{"name": "later"}]},
                                                  "templates": [say()]}}
    assert engine.request("POST", f"{TEMPLATES}/lint", json={"template": loose}).status_code == 200
    broken = {"metadata": {"name": name}, "spec": {"templates": [dag([task("a", "missing")])]}}
    status, code, message = error_of(engine.request("POST", TEMPLATES, json={"template": broken}))
    assert (status, code, message) == (400, 3, "templates.main.tasks.a.template 'missing' is not defined")
    assert engine.request("GET", f"{TEMPLATES}/{name}").status_code == 404
    unsupported = {"metadata": {"name": name},
                   "spec": {"templates": [{"name": "s", "resource": {"action": "create", "manifest": "{}"}}]}}
    assert error_of(engine.request("POST", TEMPLATES, json={"template": unsupported}))[2].startswith(
        "templates.s.resource")


# -- templateRef -----------------------------------------------------------------------------------------


def test_a_task_runs_a_referenced_template_and_its_nodes_record_how(engine):
    # resolveTemplateReference and TestTemplateScope: the referring node records templateRef and
    # its caller's scope; the nodes inside the referenced DAG record templateName in the
    # template's scope, namespaced/W. Referenced templates are kept in status.storedTemplates.
    name = unique("ref")
    create_template(engine, greetings(name))
    main = dag([{"name": "direct", "templateRef": {"name": name, "template": "say"},
                 "arguments": {"parameters": [{"name": "message", "value": "direct"}]}},
                {"name": "nested", "templateRef": {"name": name, "template": "main"}, "depends": "direct"}])
    document = workflow([main], arguments={"parameters": [{"name": "who", "value": "nested"}]})
    submitted = engine.submit(document)
    done = engine.wait(submitted)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    assert nodes["direct"]["templateRef"] == {"name": name, "template": "say"}
    assert "templateName" not in nodes["direct"]
    assert nodes["direct"]["templateScope"] == f"local/{submitted}"
    assert (nodes["nested"]["type"], nodes["nested"]["templateScope"]) == ("DAG", f"local/{submitted}")
    assert (nodes["hello"]["templateName"], nodes["hello"]["templateScope"]) == ("say", f"namespaced/{name}")
    # The pod is named after the template it ran (getPodName with the resolved template's name).
    assert nodes["direct"]["id"] in done["status"]["nodes"]
    assert set(done["status"]["storedTemplates"]) == {f"namespaced/{name}/say", f"namespaced/{name}/main"}
    log = logs_of(engine, submitted)
    assert "direct" in log and "hello nested" in log
    assert pod_name(submitted, nodes["direct"]["name"], "say") in log


def test_a_cluster_template_is_referenced_with_cluster_scope(engine):
    name = unique("cref")
    create_template(engine, {"metadata": {"name": name}, "spec": {"templates": [say()]}}, CLUSTER)
    main = dag([{"name": "shout", "templateRef": {"name": name, "template": "say", "clusterScope": True},
                 "arguments": {"parameters": [{"name": "message", "value": "from the cluster"}]}}])
    submitted = engine.submit(workflow([main]))
    done = engine.wait(submitted)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    node = nodes_by_display_name(done)["shout"]
    assert node["templateRef"] == {"name": name, "template": "say", "clusterScope": True}
    assert list(done["status"]["storedTemplates"]) == [f"cluster/{name}/say"]


def test_a_reference_that_cannot_be_resolved_is_refused(engine):
    # validateTemplateHolder: "template reference W.X not found"; a referenced template checked with
    # the workflow's own parameters (resolveAllVariables).
    name = unique("missing")
    main = dag([{"name": "a", "templateRef": {"name": name, "template": "say"}}])
    status, code, message = error_of(engine.create(workflow([main])))
    assert (status, code, message) == (400, 3, f"templates.main.tasks.a template reference {name}.say not found")
    create_template(engine, greetings(name))
    main = dag([{"name": "a", "templateRef": {"name": name, "template": "main"}}])
    status, _, message = error_of(engine.create(workflow([main])))
    assert status == 400 and "failed to resolve {{workflow.parameters.who}}" in message
    both = dag([{"name": "a", "template": "x", "templateRef": {"name": name, "template": "say"}}])
    assert error_of(engine.create(workflow([both])))[2] == "templates.main.tasks.a template name cannot be specified " \
                                                          "with templateRef."


# -- workflowTemplateRef -------------------------------------------------------------------------------------


def test_a_workflow_from_a_template_runs_its_merged_spec(engine):
    # setStoredWfSpec + JoinWorkflowSpec: the workflow's arguments win over the template's; the
    # merged spec is status.storedWorkflowTemplateSpec; the workflow's own nodes are in scope
    # "local/" (the fixture captured from a cluster shows the same).
    name = unique("wftref")
    create_template(engine, greetings(name, ttlStrategy={"secondsAfterCompletion": 3600}))
    document = {"metadata": {"generateName": "from-template-"},
                "spec": {"workflowTemplateRef": {"name": name},
                         "arguments": {"parameters": [{"name": "who", "value": "you"}]}}}
    submitted = engine.submit(document)
    done = engine.wait(submitted)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["spec"] == document["spec"]
    merged = done["status"]["storedWorkflowTemplateSpec"]
    assert merged["arguments"] == {"parameters": [{"name": "who", "value": "you"}]}
    assert merged["entrypoint"] == "main" and merged["workflowTemplateRef"] == {"name": name}
    assert merged["ttlStrategy"] == {"secondsAfterCompletion": 3600}
    nodes = nodes_by_display_name(done)
    assert (nodes["hello"]["templateName"], nodes["hello"]["templateScope"]) == ("say", "local/")
    assert next(node for node in done["status"]["nodes"].values() if node["id"] == submitted)["templateScope"] == "local/"
    assert "hello you" in logs_of(engine, submitted)


def test_workflow_template_ref_errors(engine):
    # ValidateWorkflowTemplateRefFields, and the getter's NotFound (a 404, as the Argo Server's).
    name = unique("nothere")
    document = {"metadata": {"generateName": "from-template-"}, "spec": {"workflowTemplateRef": {"name": name}}}
    status, code, message = error_of(engine.create(document))
    assert (status, code, message) == (404, 5, f'workflowtemplates.argoproj.io "{name}" not found')
    create_template(engine, greetings(name))
    document["spec"]["templates"] = [say()]
    status, code, message = error_of(engine.create(document))
    assert (status, code, message) == (400, 3, "Templates is invalid field in spec if workflow referred "
                                               "WorkflowTemplate reference")


# -- through Hera ----------------------------------------------------------------------------------------


def test_hera_creates_updates_and_runs_a_workflow_template(engine):
    from hera.workflows import DAG, Container, Parameter, Task, Workflow, WorkflowsService, WorkflowTemplate
    from hera.workflows.models import TemplateRef, WorkflowTemplateRef

    service = WorkflowsService(host=engine.url, token=engine.token, namespace="argo", verify_ssl=False)
    name = unique("hera")
    with WorkflowTemplate(name=name, namespace="argo", entrypoint="main", workflows_service=service,
                          arguments=[Parameter(name="who", value="hera")]) as template:
        echo = Container(name="echo", image="busybox", command=["echo", "{{inputs.parameters.message}}"],
                         inputs=[Parameter(name="message")])
        with DAG(name="main"):
            echo(name="greet", arguments={"message": "hi {{workflow.parameters.who}}"})
    created = template.create()
    assert created.metadata.name == name and created.metadata.resource_version
    assert template.lint().metadata.name == name
    template.arguments = [Parameter(name="who", value="updated")]
    assert template.update().spec.arguments.parameters[0].value == "updated"
    assert [item.metadata.name for item in service.list_workflow_templates(namespace="argo").items or []].count(name) == 1

    with Workflow(generate_name="hera-ref-", namespace="argo", workflows_service=service,
                  workflow_template_ref=WorkflowTemplateRef(name=name)) as from_template:
        pass
    first = from_template.create().metadata.name
    with Workflow(generate_name="hera-task-ref-", namespace="argo", entrypoint="main",
                  workflows_service=service) as referring:
        with DAG(name="main"):
            Task(name="echoed", template_ref=TemplateRef(name=name, template="echo"),
                 arguments={"message": "by reference"})
    second = referring.create().metadata.name
    assert engine.wait(first)["status"]["phase"] == "Succeeded"
    assert engine.wait(second)["status"]["phase"] == "Succeeded"
    assert "hi updated" in logs_of(engine, first)
    assert "by reference" in logs_of(engine, second)
    service.delete_workflow_template(name, namespace="argo")


# -- kept across a restart ----------------------------------------------------------------------------------


def test_templates_are_kept_when_the_engine_starts_again(tmp_path):
    state = tmp_path / "state"
    first = start_engine(state)
    try:
        create_template(first, greetings("kept"))
        create_template(first, {"metadata": {"name": "kept-cluster"}, "spec": {"templates": [say()]}}, CLUSTER)
    finally:
        first.stop()
    again = start_engine(state)
    try:
        assert again.request("GET", f"{TEMPLATES}/kept").json()["metadata"]["name"] == "kept"
        assert again.request("GET", f"{CLUSTER}/kept-cluster").status_code == 200
        created = create_template(again, greetings("later"))
        assert int(created["metadata"]["resourceVersion"]) > 2
    finally:
        again.stop()


@pytest.mark.parametrize("path", [f"{TEMPLATES}/x", CLUSTER + "/x"])
def test_template_routes_need_the_token(engine, path):
    assert engine.request("GET", path, token=None).status_code == 401
