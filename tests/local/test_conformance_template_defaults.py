"""``spec.templateDefaults``, merged into every template as Argo v4.0.5's controller does.

Argo's sources: ``mergedTemplateDefaultsInto`` in ``workflow/controller/operator.go`` (a strategic
merge patch of the template onto the defaults, after dropping the defaults' kind fields that are
not the template's kind; called from ``executeTemplate`` for every template it resolves) and
``examples/template-defaults.yaml`` (``timeout`` and ``retryStrategy`` for every template: it
gives them to its steps template too, which the local engine cannot retry, so that example is
refused naming ``spec.templateDefaults.retryStrategy``).
"""

from __future__ import annotations

from hera_magics.argo import pod_name_of_node
from hera_magics.local.template_refs import strategic_merge
from hera_magics.local.templates import with_defaults
from tests.local_helpers import dag, error_of, nodes_by_display_name, task, workflow


def log_of(engine, name, node):
    return engine.request("GET", f"api/v1/workflows/argo/{name}/log",
                          params={"logOptions.container": "main", "podName": pod_name_of_node(name, node)}).text


def test_container_defaults_reach_container_templates_only_and_the_template_wins(engine):
    defaults = {"container": {"image": "alpine:3.20", "env": [{"name": "GREETING", "value": "hello"},
                                                             {"name": "WHO", "value": "world"}]}}
    name = engine.submit(workflow([
        dag([task("c", "echo"), task("s", "script")]),
        {"name": "echo", "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo $GREETING $WHO"],
                                       "env": [{"name": "WHO", "value": "engine"}]}},
        {"name": "script", "script": {"image": "python:3.11", "command": ["python"],
                                      "source": "import os; print(os.environ.get('GREETING', 'none'))"}},
    ], templateDefaults=defaults))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = nodes_by_display_name(done)
    assert "hello engine" in log_of(engine, name, nodes["c"])  # env merged by name, the template's value wins
    assert "none" in log_of(engine, name, nodes["s"])  # a container default does not reach a script
    assert "templateDefaults" in done["spec"]  # the spec is kept as submitted


def test_retry_strategy_default_retries_a_pod_template(engine):
    name = engine.submit(workflow([{"name": "main", "container": {"image": "alpine", "command": ["sh", "-c", "exit 1"]}}],
                                  templateDefaults={"retryStrategy": {"limit": "2"}}))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    root = done["status"]["nodes"][name]
    assert root["type"] == "Retry" and len(root["children"]) == 3


def test_defaults_the_engine_cannot_honour_are_refused_naming_the_default(engine):
    answer = engine.create(workflow([dag([task("a", "leaf")]),
                                     {"name": "leaf", "container": {"image": "alpine", "command": ["true"]}}],
                                    templateDefaults={"timeout": "30s", "retryStrategy": {"limit": "2"}}))
    status, _, message = error_of(answer)
    assert status == 400
    assert message.startswith("spec.templateDefaults.retryStrategy: it applies to every template, and "
                              "templates.main is a dag template")
    answer = engine.create(workflow([{"name": "main", "container": {"image": "alpine", "command": ["true"]}}],
                                    templateDefaults={"sidecars": [{"name": "s", "image": "nginx"}]}))
    assert error_of(answer)[2].startswith("spec.templateDefaults.sidecars: ")


def test_strategic_merge_merges_maps_and_keyed_lists_and_replaces_other_lists():
    defaults = {"container": {"image": "a", "args": ["x"], "env": [{"name": "A", "value": "1"}],
                              "volumeMounts": [{"name": "v", "mountPath": "/m"}]}, "timeout": "1s"}
    template = {"name": "t", "container": {"args": ["y"], "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "3"}]}}
    merged = with_defaults(template, defaults)
    assert merged["container"]["image"] == "a" and merged["container"]["args"] == ["y"]
    assert {variable["name"]: variable["value"] for variable in merged["container"]["env"]} == {"A": "3", "B": "2"}
    assert merged["container"]["volumeMounts"] == [{"name": "v", "mountPath": "/m"}]
    assert merged["timeout"] == "1s" and merged["name"] == "t"
    assert "container" not in with_defaults({"name": "s", "script": {"source": ""}}, defaults)
    assert strategic_merge({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
