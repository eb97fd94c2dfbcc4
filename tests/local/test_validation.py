"""Create-time validation of the local engine, as tables of cases: what Argo would reject and
what the engine cannot honour, each refused with a message naming the field. No processes, no HTTP."""

from __future__ import annotations

import copy
import re

import pytest

from hera_magics.local.validation import WorkflowInvalid, validate_workflow


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
        (f"{STEP}.outputs.artifacts", [{"name": "model", "path": "/m", "http": {"url": "https://example.com/m"}}],
         "templates.step.outputs.artifacts.model.http: http artifacts are not available to the local engine"),
        (f"{STEP}.inputs.artifacts", [{"name": "data", "path": "/d", "gcs": {"bucket": "b", "key": "k"}}],
         "templates.step.inputs.artifacts.data.gcs"),
        (f"{STEP}.sidecars", [{"name": "db", "image": "postgres"}], "templates.step.sidecars"),
        (f"{STEP}.initContainers", [{"name": "i"}], "templates.step.initContainers"),
        (f"{STEP}.script.command", ["Rscript"], 'templates.step.script.command: executable "Rscript" is not found'),
        (f"{STEP}.script.env.0.valueFrom", {"secretKeyRef": {"name": "s", "key": "k"}},
         "templates.step.script.env.HERA_MAGICS_INPUT_x.valueFrom.secretKeyRef"),
        (f"{STEP}.script.envFrom", [{"secretRef": {"name": "s"}}], "templates.step.script.envFrom"),
        (f"{STEP}.script.source", "print('{{inputs.parameters.nope}}')",
         "templates.step.script.source: failed to resolve {{inputs.parameters.nope}}"),
        (f"{STEP}.retryStrategy.retryPolicy", "Sometimes", "templates.step.retryStrategy.retryPolicy"),
        (f"{STEP}.retryStrategy.expression", "lastRetry.exitCode | int", "templates.step.retryStrategy.expression"),
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
        ("spec.volumeClaimTemplates", [{"spec": {}}], "volumeClaimTemplates[0].metadata.name is required"),
        ("spec.volumes", [{"name": "data", "persistentVolumeClaim": {"claimName": "home"}}],
         'spec.volumes.data.persistentVolumeClaim: claim "home" has no local folder'),
        ("spec.volumes", [{"name": "host", "hostPath": {"path": "/"}}], "spec.volumes.host.hostPath"),
        (f"{STEP}.script.volumeMounts.0.name", "nope", "templates.step.script.volumeMounts.nope"),
        ("spec.entrypoint", "nope", "spec.entrypoint template 'nope' is not defined"),
        ("spec.arguments.parameters.0.valueFrom", {"configMapKeyRef": {"name": "c", "key": "k"}},
         "spec.arguments.parameters.lr.valueFrom"),
        ("spec.workflowTemplateRef", {"name": "t"}, "Templates is invalid field in spec if workflow referred"),
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
        ({"name": "t", "data": {"source": {}}}, "templates.t.data: data templates are not supported"),
        ({"name": "t", "resource": {"action": "create"}}, "templates.t.resource"),
        ({"name": "t", "plugin": {"hello": {}}}, "templates.t.plugin"),
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
