"""Argo's expression language on a real engine process, each expected outcome Argo v4.0.5's.

Sources in argoproj/argo-workflows: ``util/template/expression_template.go``
(``expressionReplaceCore``: a string result as it is, else its JSON), ``util/expr/env/env.go``
(``GetFuncMap``), ``workflow/controller/scope.go`` (``resolveParameter``: a steps or DAG output's
``valueFrom.expression``, kept as ``fmt.Sprint``), ``operator.go`` (``processNodeRetries``,
``buildRetryStrategyLocalScope``, ``updateWorkflowMetadata``'s ``labelsFrom``) and the examples
named in each test.
"""

from __future__ import annotations

from typing import Any

from tests.local_helpers import dag, error_of, nodes_by_display_name, shell, task, workflow


def echo(name: str = "echo", text: str = "{{inputs.parameters.text}}") -> dict[str, Any]:
    return {"name": name, "inputs": {"parameters": [{"name": "text"}]},
            "container": {"image": "alpine:3.20", "command": ["sh", "-c", f"printf '%s' \"{text}\""]}}


def test_expression_tags_in_arguments_loops_and_container_args(engine):
    # examples/expression-tag-template-workflow.yaml: withParam from toJson(filter(...)), {{=item}}
    # as an argument, and asInt(...) * 10 in the container's args.
    template = {"name": "pod-0", "inputs": {"parameters": [{"name": "foo"}]},
                "container": {"image": "alpine:3.20",
                              "command": ["echo", "hello {{=asInt(inputs.parameters.foo) * 10}}"]}}
    document = workflow([dag([task("task-0", "pod-0", arguments={"foo": "{{=item}}"},
                                   withParam="{{=toJson(filter([1, 3], {# > 1}))}}")]), template])
    done = engine.wait(engine.submit(document))
    assert done["status"]["phase"] == "Succeeded"
    nodes = nodes_by_display_name(done)
    assert "task-0(0:3)" in nodes and len([name for name in nodes if name.startswith("task-0(")]) == 1
    assert nodes["task-0(0:3)"]["inputs"]["parameters"][0]["value"] == "3"


def test_expression_tags_destructure_json_into_inputs(engine):
    # examples/expression-destructure-json.yaml and -complex.yaml: jsonpath in argument values;
    # a list result goes in as JSON, a number as Go writes it.
    config = '{"a": "1", "employees": [{"name": "Baris", "age": 43}, {"name": "Mo", "age": 42}]}'
    document = workflow([
        dag([task("t", "echo", arguments={"text": "{{=jsonpath(workflow.parameters.config, '$.a')}}|"
                                                  "{{=jsonpath(workflow.parameters.config, "
                                                  "'$.employees[?(@.age>42 && @.age<44)].age')}}"})]),
        {**echo(), "outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
         "container": {"image": "alpine:3.20", "command": ["sh", "-c",
                                                          "printf '%s' '{{inputs.parameters.text}}' > /tmp/o"]}},
    ])
    document["spec"]["arguments"] = {"parameters": [{"name": "config", "value": config}]}
    done = engine.wait(engine.submit(document))
    assert done["status"]["phase"] == "Succeeded"
    assert nodes_by_display_name(done)["t"]["inputs"]["parameters"][0]["value"] == "1|[43]"


def test_when_with_an_expression_tag_runs_or_skips(engine):
    # examples/conditionals.yaml: {{= inputs.parameters["should-print"] == 'true'}} and
    # jsonpath(workflow.parameters.json, '$[0].value') (workflow.parameters.json: docs/variables.md).
    main = {"name": "main", "inputs": {"parameters": [{"name": "should-print"}]}, "steps": [[
        {"name": "expr", "template": "pass", "when": "{{= inputs.parameters[\"should-print\"] == 'true'}}"},
        {"name": "expr-json", "template": "pass",
         "when": "{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}"},
        {"name": "expr-false", "template": "pass", "when": "{{= inputs.parameters['should-print'] == 'false'}}"},
    ]]}
    document = workflow([main, shell("pass", "true")])
    document["spec"]["arguments"] = {"parameters": [{"name": "should-print", "value": "true"}]}
    done = engine.wait(engine.submit(document))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert (nodes["expr"]["phase"], nodes["expr-json"]["phase"], nodes["expr-false"]["phase"]) == \
        ("Succeeded", "Succeeded", "Skipped")
    assert "evaluated false" in nodes["expr-false"]["message"]


def test_dag_output_from_an_expression_picks_the_branch_that_ran(engine):
    # examples/dag-conditional-parameters.yaml: tasks['flip-coin'].outputs.result == 'heads' ? ...
    main = dag([
        task("flip-coin", "heads-coin"),
        task("heads", "say", depends="flip-coin", when="{{tasks.flip-coin.outputs.result}} == heads"),
        task("tails", "say", depends="flip-coin", when="{{tasks.flip-coin.outputs.result}} == tails"),
    ])
    main["outputs"] = {"parameters": [{"name": "stepresult", "valueFrom": {"expression":
        "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result"}}]}
    document = workflow([main, shell("heads-coin", "echo heads"), shell("say", "echo it was heads")])
    done = engine.wait(engine.submit(document))
    assert done["status"]["phase"] == "Succeeded"
    root = nodes_by_display_name(done)[done["metadata"]["name"]]
    assert root["outputs"]["parameters"] == [{"name": "stepresult", "value": "it was heads"}]


def test_steps_output_expression_is_kept_as_go_prints_it(engine):
    # scope.go resolveParameter + AnyStringPtr (fmt.Sprint): 7 / 2 is the float 3.5, 4 / 2 prints 2.
    main = {"name": "main", "steps": [[{"name": "a", "template": "pass"}]], "outputs": {"parameters": [
        {"name": "half", "valueFrom": {"expression": "7 / 2"}},
        {"name": "whole", "valueFrom": {"expression": "4 / 2"}},
        {"name": "status", "valueFrom": {"expression": "steps.a.status"}},
    ]}}
    done = engine.wait(engine.submit(workflow([main, shell("pass", "true")])))
    root = nodes_by_display_name(done)[done["metadata"]["name"]]
    assert [parameter["value"] for parameter in root["outputs"]["parameters"]] == ["3.5", "2", "Succeeded"]


def test_skipped_output_falls_back_with_the_nil_coalescing_operator(engine):
    # examples/skipped-output-defaults/expression-fallback.yaml: a skipped producer's output
    # without default is nil (v4.0.5), so `?? 'expr-fallback'` gives the fallback.
    main = dag([task("producer", "produce", when="false")])
    main["outputs"] = {"parameters": [{"name": "result", "valueFrom": {
        "expression": "tasks.producer.outputs.parameters.msg ?? 'expr-fallback'"}}]}
    produce = {**shell("produce", "echo real-value > /tmp/out.txt"),
               "outputs": {"parameters": [{"name": "msg", "valueFrom": {"path": "/tmp/out.txt"}}]}}
    done = engine.wait(engine.submit(workflow([main, produce])))
    assert done["status"]["phase"] == "Succeeded"
    root = nodes_by_display_name(done)[done["metadata"]["name"]]
    assert root["outputs"]["parameters"] == [{"name": "result", "value": "expr-fallback"}]


def test_retry_expression_stops_retrying_when_false(engine):
    # examples/retry-conditional.yaml and operator.go processNodeRetries: after the limit, the
    # expression over lastRetry.* decides; false ends the Retry node with the attempt's phase.
    template = {**shell("exit-two", "exit 2"), "retryStrategy": {
        "limit": "10", "expression": "asInt(lastRetry.exitCode) > 2 && lastRetry.status != \"Error\""}}
    done = engine.wait(engine.submit(workflow([dag([task("t", "exit-two")]), template])))
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Failed"
    assert nodes["t"]["message"] == "retryStrategy.expression evaluated to false"
    assert [name for name in nodes if name.startswith("t(")] == ["t(0)"]


def test_retry_expression_true_retries_up_to_the_limit(engine):
    template = {**shell("exit-two", "exit 2"), "retryStrategy": {
        "limit": 2, "expression": "asInt(lastRetry.exitCode) == 2 && asInt(retries) < 5 "
                                  "&& lastRetry.message matches 'exit code 2|failed'"}}
    done = engine.wait(engine.submit(workflow([dag([task("t", "exit-two")]), template])))
    nodes = nodes_by_display_name(done)
    assert sorted(name for name in nodes if name.startswith("t(")) == ["t(0)", "t(1)", "t(2)"]
    assert nodes["t"]["message"] == "No more retries left"


def test_labels_from_expressions(engine):
    # examples/label-value-from-workflow.yaml: labelsFrom.foo.expression: workflow.parameters.foo
    document = workflow([shell("main", "true")])
    document["spec"]["arguments"] = {"parameters": [{"name": "foo", "value": "bar"}]}
    document["spec"]["workflowMetadata"] = {"labelsFrom": {"foo": {"expression": "workflow.parameters.foo"},
                                                           "named": {"expression": "workflow.name"}}}
    name = engine.submit(document)
    done = engine.wait(name)
    assert done["metadata"]["labels"]["foo"] == "bar"
    assert done["metadata"]["labels"]["named"] == name
    listed = engine.request("GET", "/api/v1/workflows/argo", params={"listOptions.labelSelector": "foo=bar"}).json()
    assert name in [item["metadata"]["name"] for item in listed["items"]]


def test_constructs_outside_the_subset_are_refused_at_create_naming_the_field(engine):
    cases = [
        (workflow([{"name": "main", "container": {"image": "alpine:3.20", "command": ["echo", "{{=now()}}"]}}]),
         "spec.templates.main.container.command[1]", "now()"),
        (workflow([{**shell("main", "exit 1"), "retryStrategy": {"expression": "lastRetry.status | upper"}}]),
         "templates.main.retryStrategy.expression", "pipes"),
        (workflow([{**dag([task("a", "pass")]), "outputs": {"parameters": [
            {"name": "o", "valueFrom": {"expression": "duration('1h')"}}]}}, shell("pass", "true")]),
         "templates.main.outputs.parameters.o.valueFrom.expression", "duration()"),
    ]
    labels = workflow([shell("main", "true")])
    labels["spec"]["workflowMetadata"] = {"labelsFrom": {"x": {"expression": "sprig.env('HOME')"}}}
    cases.append((labels, "spec.workflowMetadata.labelsFrom.x.expression", "sprig.env()"))
    for document, field, construct in cases:
        status, code, message = error_of(engine.create(document))
        assert (status, code) == (400, 3), message
        assert field in message and construct in message and "not supported by the local engine" in message


def test_a_label_expression_with_a_wrong_type_answers_the_create(engine):
    document = workflow([shell("main", "true")])
    document["spec"]["workflowMetadata"] = {"labelsFrom": {"x": {"expression": "1 + 1"}}}
    status, _, message = error_of(engine.create(document))
    assert status == 400 and "spec.workflowMetadata.labelsFrom.x.expression" in message and "must be a string" in message
