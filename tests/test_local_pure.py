"""Tables of cases for the local engine's pure helpers: names, expressions, selectors, fields,
substitution, durations and create-time validation. No processes, no HTTP."""

from __future__ import annotations

import copy
import datetime
import re
import sys

import pytest
import yaml

from hera_magics.local.retries import retry_allowed, retry_backoff_seconds
from hera_magics.local.expressions import (
    ContinueOn,
    ExpressionError,
    evaluate_depends,
    evaluate_when,
    parse_depends,
    referenced_tasks,
)
from hera_magics.argo import fnv32a, node_id, parse_rfc3339, pod_name, rfc3339, rfc3339_nano
from hera_magics.graph import find_cycle
from hera_magics.local.naming import GENERATE_NAME_ALPHABET, dns_friendly, generated_name
from hera_magics.local.runner import RESULT_LIMIT, CommandNotFound, _StdoutTail, resolve_argv
from hera_magics.local.selectors import (
    SelectorError,
    filter_fields,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    restore_list_zero_fields,
    restore_workflow_zero_fields,
)
from hera_magics.local.spec import dag_targets
from hera_magics.local.templating import (
    ExpressionTag,
    UnresolvedReference,
    parameter_text,
    parse_go_duration,
    substitute,
    variables_in,
)
from hera_magics.local.validation import WorkflowInvalid, validate_workflow
from hera_magics.local.wire import go_json

from .local_helpers import SHARED

# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 2166136261),
        ("a", 0xE40C292C),
        ("foobar", 0xBF9CF968),
        ("retry-with-dags.sub-dag1.fail(0)", 2549694399),
    ],
)
def test_fnv32a_matches_go(text, expected):
    assert fnv32a(text) == expected


def test_node_id_and_pod_name_follow_argo_v2():
    assert node_id("retry-with-dags", "retry-with-dags") == "retry-with-dags"
    assert node_id("retry-with-dags", "retry-with-dags.sub-dag1.fail(0)") == "retry-with-dags-2549694399"
    assert pod_name("retry-with-dags", "retry-with-dags.sub-dag1.fail(0)", "fail") == "retry-with-dags-fail-2549694399"
    assert pod_name("hello-world-7tv5g", "hello-world-7tv5g", "hello-world") == "hello-world-7tv5g"
    assert pod_name("wf", "wf.a", None) == node_id("wf", "wf.a")
    long_prefix = pod_name("w" * 200, "x", "t" * 100)
    assert len(long_prefix) <= 253 and long_prefix.endswith(f"-{fnv32a('x')}")


def _fixture_workflows():
    for path in sorted(SHARED.glob("argo-fixtures/**/*.yaml")):
        document = yaml.safe_load(path.read_text())
        if isinstance(document, dict) and (document.get("status") or {}).get("nodes"):
            yield pytest.param(document, id=path.name)


@pytest.mark.parametrize("document", list(_fixture_workflows()))
def test_node_ids_of_every_argo_fixture(document):
    name = document["metadata"]["name"]
    for identifier, node in document["status"]["nodes"].items():
        assert node_id(name, node["name"]) == identifier


def test_generated_names_use_the_kubernetes_alphabet():
    for _ in range(50):
        name = generated_name("hello-")
        assert name.startswith("hello-") and len(name) == 11
        assert set(name[6:]) <= set(GENERATE_NAME_ALPHABET)
    assert len(generated_name("p" * 80)) == 63


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [(0, "1970-01-01T00:00:00Z"), (1723593560.9, "2024-08-13T23:59:20Z")],
)
def test_rfc3339_has_whole_seconds_and_z(timestamp, text):
    assert rfc3339(timestamp) == text
    assert parse_rfc3339(text) == int(timestamp)


def test_rfc3339_nano_round_trips():
    text = rfc3339_nano(1723593560.25)
    assert text == "2024-08-13T23:59:20.250000000Z"
    assert parse_rfc3339(text) == pytest.approx(1723593560.25)
    assert parse_rfc3339("2024-08-13T23:59:20+02:00") == parse_rfc3339("2024-08-13T21:59:20Z")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("root", "root"), ("Jane.Doe@x.io", "jane.doe-x.io"), ("system:serviceaccount:argo:argo-server",
                                                             "system-serviceaccount-argo-argo-server")],
)
def test_dns_friendly_creator_label(text, expected):
    assert dns_friendly(text) == expected


# -- depends -----------------------------------------------------------------------------------

S, F, E, K, O = "Succeeded", "Failed", "Error", "Skipped", "Omitted"


@pytest.mark.parametrize(
    ("expression", "phases", "expected"),
    [
        ("A", {"A": S}, True),
        ("A", {"A": K}, True),
        ("A", {"A": F}, False),
        ("A", {"A": O}, False),
        ("A.Succeeded", {"A": K}, False),
        ("A.Failed", {"A": F}, True),
        ("A.Errored", {"A": E}, True),
        ("A.Errored", {"A": F}, False),
        ("A.Skipped", {"A": K}, True),
        ("A.Omitted", {"A": O}, True),
        ("A.Daemoned", {"A": S}, False),
        ("A && B", {"A": S, "B": F}, False),
        ("A || B", {"A": S, "B": F}, True),
        ("!A.Failed", {"A": S}, True),
        ("!(A.Failed || B.Failed)", {"A": S, "B": F}, False),
        ("(A.Succeeded || A.Failed) && B", {"A": F, "B": S}, True),
        ("A && B || C.Failed", {"A": F, "B": S, "C": F}, True),
        ("train-model.Succeeded && load-data", {"train-model": S, "load-data": S}, True),
        ("  A   &&   B  ", {"A": S, "B": S}, True),
    ],
)
def test_depends_expressions(expression, phases, expected):
    assert evaluate_depends(parse_depends(expression), phases) is expected


def test_bare_name_widens_with_continue_on():
    node = parse_depends("A")
    assert evaluate_depends(node, {"A": F}, {"A": ContinueOn(failed=True)})
    assert not evaluate_depends(node, {"A": E}, {"A": ContinueOn(failed=True)})
    assert evaluate_depends(node, {"A": E}, {"A": ContinueOn(error=True)})


def test_referenced_tasks_in_order_without_repeats():
    assert referenced_tasks(parse_depends("b && (a.Failed || b.Succeeded) && c-d")) == ["b", "a", "c-d"]


@pytest.mark.parametrize("expression", ["", "A &&", "(A", "A B", "A & B", "&& A", "A.)"])
def test_bad_depends_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        parse_depends(expression)


# -- when ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("heads == heads", True),
        ("heads == tails", False),
        ("'a b' == 'a b'", True),
        ('"x" != "y"', True),
        ("5 > 3", True),
        ("10 < 9", False),
        ("2.5 >= 2.50", True),
        ("10 > 9", True),  # numbers compare as numbers, not text
        ("true", True),
        ("false || true", True),
        ("!(1 == 1)", False),
        ("abc =~ '^a'", True),
        ("abc !~ 'b$'", True),
        ("(1 == 1) && (a != b)", True),
    ],
)
def test_when_expressions(expression, expected):
    assert evaluate_when(expression) is expected


@pytest.mark.parametrize("expression", ["", "hello", "1 ==", "(1 == 1", "a < 1"])
def test_bad_when_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate_when(expression)


# -- label selectors and field selectors ---------------------------------------------------------

LABELS = {"app": "train", "tier": "gpu", "workflows.argoproj.io/phase": "Running"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=train", True),
        ("app==train", True),
        ("app=serve", False),
        ("app!=serve", True),
        ("missing!=x", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("workflows.argoproj.io/phase in (Running,Pending)", True),
        ("workflows.argoproj.io/phase in (Succeeded, Failed)", False),
        ("workflows.argoproj.io/phase notin (Succeeded)", True),
        ("app=train,tier=gpu", True),
        ("app=train,tier=cpu", False),
        ("tier in (gpu),app", True),
    ],
)
def test_label_selectors(selector, expected):
    assert labels_match(parse_label_selector(selector), LABELS) is expected


@pytest.mark.parametrize("selector", ["app in (a", "a b c", "=x", "app=tr ain"])
def test_bad_label_selectors(selector):
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


def test_field_selector():
    assert parse_field_selector("metadata.name=wf-1,metadata.namespace!=x") == [
        ("metadata.name", "=", "wf-1"), ("metadata.namespace", "!=", "x")]


# -- fields ----------------------------------------------------------------------------------------

DOCUMENT = {
    "metadata": {"name": "wf", "labels": {"a": "b"}},
    "spec": {"entrypoint": "main"},
    "status": {"phase": "Running", "progress": "1/2",
               "nodes": {"n1": {"id": "n1", "phase": "Running", "type": "Pod", "message": "m"}}},
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("status.phase", {"status": {"phase": "Running"}}),
        ("metadata.name,status.phase,status.progress",
         {"metadata": {"name": "wf"}, "status": {"phase": "Running", "progress": "1/2"}}),
        ("status.nodes.phase", {"status": {"nodes": {}}}),  # node ids are map keys, not path segments
        ("metadata", {"metadata": {"name": "wf", "labels": {"a": "b"}}}),
        ("-status.nodes", {k: v for k, v in DOCUMENT.items() if k != "status"} |
         {"status": {"phase": "Running", "progress": "1/2"}}),
        ("-status.nodes,-spec", {"metadata": DOCUMENT["metadata"], "status": {"phase": "Running", "progress": "1/2"}}),
        ("-status", {"metadata": DOCUMENT["metadata"], "spec": DOCUMENT["spec"]}),
        ("", DOCUMENT),
    ],
)
def test_fields_filter(fields, expected):
    assert filter_fields(DOCUMENT, fields) == expected


def test_fields_filter_reaches_into_lists_and_copies():
    listing = {"metadata": {"resourceVersion": "3"},
               "items": [{"metadata": {"name": "a", "uid": "1"}, "status": {"phase": "Failed"}},
                         {"metadata": {"name": "b", "uid": "2"}, "status": {"phase": "Running"}}]}
    filtered = filter_fields(listing, "metadata,items.metadata.name,items.status.phase")
    assert filtered == {"metadata": {"resourceVersion": "3"},
                        "items": [{"metadata": {"name": "a"}, "status": {"phase": "Failed"}},
                                  {"metadata": {"name": "b"}, "status": {"phase": "Running"}}]}
    filtered["items"][0]["metadata"]["name"] = "changed"
    assert listing["items"][0]["metadata"]["name"] == "a"


def test_zero_fields_come_back_like_go_encodes_them():
    workflow = restore_workflow_zero_fields({"status": {"phase": "Running", "nodes": {"x": {"phase": "Running"}}}})
    assert workflow == {
        "metadata": {"creationTimestamp": None},
        "spec": {},
        "status": {"phase": "Running", "startedAt": None, "finishedAt": None,
                   "nodes": {"x": {"phase": "Running", "id": "", "name": "", "type": "",
                                   "startedAt": None, "finishedAt": None}}},
    }
    assert restore_list_zero_fields({"metadata": {}, "items": []}) == {"metadata": {}, "items": None}
    assert restore_list_zero_fields({"metadata": {}}) == {"metadata": {}, "items": None}


# -- substitution and durations ------------------------------------------------------------------

VALUES = {"inputs.parameters.x": "42", "workflow.name": "wf-abc", "tasks.a.outputs.result": "{{inputs.parameters.x}}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x={{inputs.parameters.x}}", "x=42"),
        ("{{ inputs.parameters.x }}/{{workflow.name}}", "42/wf-abc"),
        ("f'{{x}}' and {{ custom }}", "f'{{x}}' and {{ custom }}"),  # not Argo variables: left alone
        ("{{tasks.a.outputs.result}}", "{{inputs.parameters.x}}"),  # single pass: values are not re-expanded
        ("no tags", "no tags"),
        ("{{inputs.parameters.x}}{{inputs.parameters.x}}", "4242"),
    ],
)
def test_substitution(text, expected):
    assert substitute(text, VALUES) == expected


def test_unresolved_variables_and_expression_tags_raise():
    with pytest.raises(UnresolvedReference, match=re.escape("failed to resolve {{inputs.parameters.y}}")):
        substitute("{{inputs.parameters.y}}", VALUES)
    with pytest.raises(ExpressionTag):
        substitute("{{=sprig.upper('a')}}", VALUES)
    assert variables_in("{{workflow.name}} {{x}} {{ pod.name }} {{retries}}") == ["workflow.name", "pod.name", "retries"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("a", "a"), (3, "3"), (2.0, "2"), (2.5, "2.5"), (True, "true"), ({"k": [1]}, '{"k":[1]}')],
)
def test_parameter_text(value, text):
    assert parameter_text(value) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("300ms", 0.3), ("45", 45), ("2h0m5s", 7205)],
)
def test_parse_go_duration(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "1d", "m5"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_go_json_escapes_html_characters():
    assert go_json({"c": "<a & b>"}) == '{"c":"\\u003ca \\u0026 b\\u003e"}'
    assert go_json({"c": "é"}) == '{"c":"é"}'


# -- spec helpers ------------------------------------------------------------------------------------


def test_dag_targets_are_leaves_unless_given():
    template = {"dag": {"tasks": [{"name": "a"}, {"name": "b", "depends": "a"}, {"name": "c", "dependencies": ["a"]}]}}
    assert dag_targets(template) == ["b", "c"]
    assert dag_targets({"dag": {"target": "a b", "tasks": template["dag"]["tasks"]}}) == ["a", "b"]


def test_find_cycle():
    assert find_cycle({"a": [], "b": ["a"]}) is None
    cycle = find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


# -- validation -------------------------------------------------------------------------------------


def _valid() -> dict:
    return {
        "metadata": {"generateName": "v-", "labels": {"team": "ml"}},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "lr", "value": "0.1"}]},
            "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
            "templates": [
                {"name": "main", "dag": {"tasks": [
                    {"name": "a", "template": "step", "arguments": {"parameters": [
                        {"name": "x", "value": "{{workflow.parameters.lr}}"}]}},
                    {"name": "b", "template": "step", "depends": "a", "arguments": {"parameters": [
                        {"name": "x", "value": "{{tasks.a.outputs.result}} {{tasks.a.outputs.parameters.return}}"}]}},
                ]}},
                {"name": "step", "inputs": {"parameters": [{"name": "x"}, {"name": "y", "default": "1"}]},
                 "outputs": {"parameters": [{"name": "return", "valueFrom": {"path": "/tmp/hera-magics/return"}}]},
                 "retryStrategy": {"limit": "2", "retryPolicy": "Always", "backoff": {"duration": "1s", "factor": 2}},
                 "timeout": "5m",
                 "nodeSelector": {"gpu": "a100"}, "tolerations": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
                 "metadata": {"labels": {"x": "y"}},
                 "script": {"image": "python:3.11", "imagePullPolicy": "Always", "command": ["python", "-u"],
                            "source": "print('{{inputs.parameters.x}}', '{{pod.name}}', f'{{x}}')",
                            "env": [{"name": "HERA_MAGICS_INPUT_x", "value": "{{inputs.parameters.x}}"}],
                            "resources": {"limits": {"nvidia.com/gpu": "1"}},
                            "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}]}},
            ],
            "serviceAccountName": "argo-workflow", "ttlStrategy": {"secondsAfterCompletion": 60},
            "podGC": {"strategy": "OnPodCompletion"}, "imagePullSecrets": [{"name": "reg"}],
        },
    }


def test_a_realistic_workflow_is_valid():
    validate_workflow(_valid(), volume_claims=())


def _set(document: dict, path: str, value) -> None:
    """Set ``a.b.0.c`` in a nested document (numbers index lists)."""
    keys = path.split(".")
    current = document
    for key in keys[:-1]:
        current = current[int(key)] if isinstance(current, list) else current.setdefault(key, {})
    last = keys[-1]
    if isinstance(current, list):
        current[int(last)] = value
    else:
        current[last] = value


STEP = "spec.templates.1"
MAIN_TASKS = "spec.templates.0.dag.tasks"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (f"{STEP}.outputs.artifacts", [{"name": "model", "path": "/m"}],
         "templates.step.outputs.artifacts: artifacts are not supported by the local engine"),
        (f"{STEP}.inputs.artifacts", [{"name": "data", "path": "/d"}], "templates.step.inputs.artifacts"),
        (f"{STEP}.sidecars", [{"name": "db", "image": "postgres"}], "templates.step.sidecars"),
        (f"{STEP}.initContainers", [{"name": "i"}], "templates.step.initContainers"),
        (f"{STEP}.script.command", ["Rscript"], 'templates.step.script.command: executable "Rscript" is not found'),
        (f"{STEP}.script.env.0.valueFrom", {"secretKeyRef": {"name": "s", "key": "k"}},
         "templates.step.script.env.HERA_MAGICS_INPUT_x.valueFrom.secretKeyRef"),
        (f"{STEP}.script.envFrom", [{"secretRef": {"name": "s"}}], "templates.step.script.envFrom"),
        (f"{STEP}.script.source", "print('{{inputs.parameters.nope}}')",
         "templates.step.script.source: failed to resolve {{inputs.parameters.nope}}"),
        (f"{STEP}.script.source", "{{=inputs.parameters.x}}", "templates.step.script.source: the expression tag"),
        (f"{STEP}.retryStrategy.retryPolicy", "Sometimes", "templates.step.retryStrategy.retryPolicy"),
        (f"{STEP}.retryStrategy.expression", "lastRetry.exitCode > 1", "templates.step.retryStrategy.expression"),
        (f"{STEP}.timeout", "5 minutes", "templates.step.timeout"),
        (f"{STEP}.memoize", {"key": "k"}, "templates.step.memoize"),
        (f"{STEP}.daemon", True, "templates.step.daemon"),
        ("spec.templates.0.dag.tasks.1.depends", "a && nope", "templates.main.tasks.b dependency 'nope' not defined"),
        ("spec.templates.0.dag.tasks.1.depends", "a.Done", "task result 'Done' for task 'a' is invalid"),
        ("spec.templates.0.dag.tasks.1.depends", "a &&", "templates.main.tasks.b.depends: invalid expression"),
        ("spec.templates.0.dag.tasks.1.withSequence", {"count": "3", "end": "4"},
         "templates.main.tasks.b only one of count or end can be defined in withSequence"),
        ("spec.templates.0.dag.tasks.1.template", "nope", "templates.main.tasks.b.template 'nope' is not defined"),
        ("spec.templates.0.dag.tasks.1.name", "b_b", "name must consist of alpha-numeric characters"),
        ("spec.templates.0.dag.tasks.0.depends", "b", "dependency cycle detected"),
        ("spec.templates.0.dag.tasks.0.arguments.parameters.0.value", "{{tasks.b.outputs.result}}",
         "templates.main.tasks.a.arguments.parameters.x.value: failed to resolve {{tasks.b.outputs.result}}"),
        ("spec.templates.0.dag.tasks.1.arguments.parameters.0.value", "{{tasks.a.outputs.parameters.nope}}",
         "failed to resolve {{tasks.a.outputs.parameters.nope}}"),
        ("spec.templates.0.dag.tasks.1.arguments.parameters", [], "templates.main.tasks.b: inputs.parameters.x was not supplied"),
        ("spec.templates.0.steps", [[{"name": "s", "template": "step"}]], "templates.main multiple template types"),
        ("spec.onExit", "cleanup", "spec.onExit: template name 'cleanup' undefined"),
        ("spec.volumeClaimTemplates", [{"metadata": {"name": "w"}}], "spec.volumeClaimTemplates"),
        ("spec.volumes", [{"name": "data", "persistentVolumeClaim": {"claimName": "home"}}],
         'spec.volumes.data.persistentVolumeClaim: claim "home" has no local folder'),
        ("spec.volumes", [{"name": "host", "hostPath": {"path": "/"}}], "spec.volumes.host.hostPath"),
        (f"{STEP}.script.volumeMounts.0.name", "nope", "templates.step.script.volumeMounts.nope"),
        ("spec.entrypoint", "nope", "spec.entrypoint template 'nope' is not defined"),
        ("spec.arguments.parameters.0.valueFrom", {"configMapKeyRef": {"name": "c", "key": "k"}},
         "spec.arguments.parameters.lr.valueFrom"),
        ("spec.workflowTemplateRef", {"name": "t"}, "spec.workflowTemplateRef"),
        ("metadata.generateName", "Bad_", "metadata.generateName"),
    ],
)
def test_validation_names_the_field(path, value, message):
    document = _valid()
    _set(document, path, value)
    with pytest.raises(WorkflowInvalid) as raised:
        validate_workflow(document, volume_claims=())
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"name": "t", "steps": [[]]}, "templates.t.steps: steps templates are not supported"),
        ({"name": "t", "resource": {"action": "create"}}, "templates.t.resource"),
        ({"name": "t", "suspend": {}}, "templates.t.suspend"),
        ({"name": "t", "http": {"url": "x"}}, "templates.t.http"),
        ({"name": "t", "container": {"image": "busybox"}}, "templates.t.container.command: a container without a command"),
        ({"name": "t"}, "templates.t template type unspecified"),
    ],
)
def test_unsupported_templates_are_refused(template, message):
    document = {"metadata": {"name": "x"}, "spec": {"entrypoint": "t", "templates": [template]}}
    with pytest.raises(WorkflowInvalid, match=re.escape(message)):
        validate_workflow(document)


def test_claims_given_to_the_engine_are_accepted():
    document = _valid()
    document["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "home"}})
    document["spec"]["templates"][1]["script"]["volumeMounts"].append({"name": "data", "mountPath": "/home/me"})
    validate_workflow(copy.deepcopy(document), volume_claims={"home"})
    with pytest.raises(WorkflowInvalid):
        validate_workflow(document, volume_claims=set())


def test_fixture_timestamps_are_strings_for_the_wire():
    # The old fixtures have unquoted YAML times; make sure we would serialise them as Argo does.
    moment = datetime.datetime(2020, 6, 2, 0, 26, 32, tzinfo=datetime.timezone.utc)
    assert rfc3339(moment.timestamp()) == "2020-06-02T00:26:32Z"


# -- retries, results, commands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "phase", "expected"),
    [
        (None, "Failed", True), (None, "Error", False),
        ("OnFailure", "Failed", True), ("OnFailure", "Error", False),
        ("OnError", "Failed", False), ("OnError", "Error", True),
        ("Always", "Failed", True), ("Always", "Error", True),
        ("OnTransientError", "Failed", False), ("OnTransientError", "Error", False),
    ],
)
def test_retry_policies(policy, phase, expected):
    assert retry_allowed(policy, phase) is expected


@pytest.mark.parametrize(
    ("backoff", "attempts", "seconds"),
    [
        ({}, 3, 0),
        ({"duration": "1s"}, 1, 1),
        ({"duration": "2", "factor": 2}, 1, 2),
        ({"duration": "2", "factor": 2}, 3, 8),
        ({"duration": "1m", "factor": "3", "cap": "2m"}, 4, 120),
    ],
)
def test_retry_backoff(backoff, attempts, seconds):
    assert retry_backoff_seconds(backoff, attempts) == pytest.approx(seconds)


def test_result_keeps_the_last_256_kib_and_trims_one_newline():
    tail = _StdoutTail()
    for _ in range(100):
        tail.add(b"x" * 10_000 + b"\n")
    tail.add(b"the end\n\n")
    text = tail.text()
    assert len(text) == RESULT_LIMIT - 1 and text.endswith("the end\n")
    small = _StdoutTail()
    small.add(b"42\n")
    assert small.text() == "42"


def test_python_means_this_interpreter_and_other_commands_come_from_path():
    assert resolve_argv(["python", "-u", "x.py"]) == [sys.executable, "-u", "x.py"]
    assert resolve_argv(["python3"], "/opt/kernel/bin/python") == ["/opt/kernel/bin/python"]
    assert resolve_argv(["sh", "-c", "true"])[0].endswith("/sh")
    with pytest.raises(CommandNotFound):
        resolve_argv(["no-such-command-here"])
