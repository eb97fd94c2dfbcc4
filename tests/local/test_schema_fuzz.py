"""Every field of a valid create body, given the wrong type: always 400 naming it, never 500,
never a workflow stuck Running (issue 9 #23).

Two valid bodies, one built by Hera and one written by hand, each run once unchanged. Then every
value in them (leaves, lists and objects alike, about 80 per body) is replaced in turn by a value
of another JSON type, and by ``null``. Which other type each field gets rotates from field to
field, from a seeded start, so every type is used and the run is the same each time (with a
check of about 10 ms per body, all types for every field would take a minute). The oracle is
Argo's schema walked along the field's path, with the types Go's decoding also accepts there
(``IntOrString``, ``Quantity``, Argo's ``AnyString``) and any type for fields the schema does
not know. Go reads ``null`` as "not set", so a null gives a valid workflow (200) or one that
misses something (400).
"""

# No "from __future__ import annotations": Hera reads the task's annotations as classes.
import copy
import json
import random
from importlib import resources
from typing import Any, Iterator

import pytest
from hera.workflows import DAG, Container, Env, Parameter, Resources, RetryStrategy, Workflow, script
from hera.workflows.models import TTLStrategy, ValueFrom

from tests.local_helpers import FINAL_PHASES, start_engine, wait_for

SEED = 20_260_423
Path = list[Any]

# -- the two valid bodies -------------------------------------------------------------------------


@script(image="python:3.11", command=["python"], env=[Env(name="GREETING", value="hi")],
        retry_strategy=RetryStrategy(limit=1, retry_policy="OnFailure"),
        resources=Resources(cpu_request=1, memory_request="64Mi"), timeout="60s")
def produce(n: int = 2):
    print(n * 2)


def hera_body() -> dict[str, Any]:
    consume = Container(name="consume", image="alpine", command=["sh", "-c"],
                        args=["echo {{inputs.parameters.x}} > /tmp/out"], inputs=[Parameter(name="x")],
                        outputs=[Parameter(name="out", value_from=ValueFrom(path="/tmp/out"))])
    with Workflow(generate_name="fuzz-hera-", entrypoint="main", arguments={"n": "3"}, labels={"team": "a"},
                  ttl_strategy=TTLStrategy(seconds_after_completion=3600), parallelism=2) as built:
        with DAG(name="main"):
            first = produce(arguments={"n": "{{workflow.parameters.n}}"})
            second = consume(arguments={"x": first.result})
            first >> second
    return {"workflow": built.to_dict()}


def hand_written_body() -> dict[str, Any]:
    return {
        "namespace": "argo",
        "serverDryRun": False,
        "workflow": {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": "fuzz-hand-", "labels": {"app": "fuzz"}, "annotations": {"note": "x"}},
            "spec": {
                "entrypoint": "main",
                "activeDeadlineSeconds": 300,
                "arguments": {"parameters": [{"name": "word", "value": "hello"}]},
                "volumes": [{"name": "scratch", "emptyDir": {}}],
                "templates": [
                    {"name": "main", "dag": {"failFast": True, "tasks": [
                        {"name": "say", "template": "say", "arguments": {"parameters": [
                            {"name": "text", "value": "{{workflow.parameters.word}}"}]}},
                        {"name": "after", "template": "say", "depends": "say.Succeeded",
                         "arguments": {"parameters": [{"name": "text",
                                                       "value": "{{tasks.say.outputs.parameters.said}}"}]}},
                    ]}},
                    {"name": "say",
                     "inputs": {"parameters": [{"name": "text", "default": "none"}]},
                     "outputs": {"parameters": [{"name": "said", "valueFrom": {"path": "/scratch/said"}}]},
                     "retryStrategy": {"limit": "1", "backoff": {"duration": "1s", "factor": 2}},
                     "container": {
                         "image": "alpine:3.20",
                         "command": ["sh", "-c"],
                         "args": ["printf '%s' \"$TEXT\" > /scratch/said"],
                         "env": [{"name": "TEXT", "value": "{{inputs.parameters.text}}"}],
                         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                         "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                     }},
                ],
            },
        },
    }


# -- the oracle: which JSON types Argo's decoding accepts at a path --------------------------------

ANY = frozenset({"string", "integer", "number", "boolean", "array", "object"})
WIDER = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"integer", "string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"string", "number", "integer"},
}
ANY_STRING = {("io.argoproj.workflow.v1alpha1.Parameter", "value"),
              ("io.argoproj.workflow.v1alpha1.Parameter", "default"),
              ("io.argoproj.workflow.v1alpha1.Parameter", "description"),
              ("io.argoproj.workflow.v1alpha1.ValueFrom", "default")}
SCALARS = {"string", "integer", "number", "boolean"}


def _definitions() -> dict[str, Any]:
    text = resources.files("hera_magics.local").joinpath("argo_schema/schema.json").read_text()
    return json.loads(text)["definitions"]


DEFINITIONS = _definitions()


def allowed_types(path: Path) -> frozenset[str]:
    """The JSON types accepted at ``path`` of a WorkflowCreateRequest (ANY where the schema is silent)."""
    name = "io.argoproj.workflow.v1alpha1.WorkflowCreateRequest"
    schema: dict[str, Any] = DEFINITIONS[name]
    parent: tuple[str, str] | None = None
    for part in path:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = DEFINITIONS[name]
        if isinstance(part, int):
            schema = schema.get("items", {})
            parent = (name, "items") if parent and parent[1] == "enum" else None
        elif part in schema.get("properties", {}):
            parent = (name, part)
            schema = schema["properties"][part]
        elif isinstance(schema.get("additionalProperties"), dict):
            schema = schema["additionalProperties"]
            parent = None
        else:
            return ANY  # a field the schema does not know: Kubernetes prunes it
    if parent in ANY_STRING or parent == ("io.argoproj.workflow.v1alpha1.Parameter", "items"):
        return frozenset(SCALARS)
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in WIDER:
            return frozenset(WIDER[name])
        schema = DEFINITIONS[name]
    kind = schema.get("type")
    if kind is None:
        return ANY
    kinds = {kind} if isinstance(kind, str) else set(kind)
    if "number" in kinds:
        kinds.add("integer")
    return frozenset(kinds)


# -- mutations ---------------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def paths(value: Any, prefix: Path | None = None) -> Iterator[Path]:
    """Every path below the root, parents before children."""
    prefix = prefix or []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        yield [*prefix, key]
        yield from paths(item, [*prefix, key])


def replaced(body: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


def samples(rng: random.Random) -> dict[str, Any]:
    """One value of each JSON type (``integer`` also stands for ``number``: Go refuses both alike)."""
    return {
        "string": rng.choice(["x", "7", "true", "", "{}"]),
        "integer": rng.choice([7, 0, -1, 12345678901]),
        "boolean": rng.choice([True, False]),
        "array": rng.choice([[], [1], ["x"]]),
        "object": rng.choice([{}, {"a": 1}]),
    }


TYPES = ("string", "integer", "boolean", "array", "object")


def mutations(body: dict[str, Any], rng: random.Random) -> Iterator[tuple[Path, Any, bool]]:
    """(path, new value, whether Argo's decoding must refuse it): for every path, a value of
    another type (rotating through the types) and ``null`` (never to be refused as a type)."""
    start = rng.randrange(len(TYPES))
    for index, path in enumerate(paths(body)):
        original = json_type(_get(body, path))
        others = [kind for kind in TYPES if kind != original and not (kind == "integer" and original == "number")]
        value = samples(rng)[others[(start + index) % len(others)]]
        yield path, value, json_type(value) not in allowed_types(path)
        yield path, None, False


def _get(body: Any, path: Path) -> Any:
    for part in path:
        body = body[part]
    return body


def field_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -- the test ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("fuzz") / "state", workers=4)
    yield running
    running.stop()


@pytest.mark.parametrize("build", [hera_body, hand_written_body], ids=["hera", "hand-written"])
def test_every_field_with_a_wrong_type_is_a_400_naming_it(engine, build):
    body = build()
    valid = engine.request("POST", "api/v1/workflows/argo", json=body)
    assert valid.status_code == 200, valid.text
    accepted = [valid.json()["metadata"]["name"]]
    refused, server_errors, wrongly_accepted, unnamed = 0, [], [], []
    for path, value, must_refuse in mutations(body, random.Random(SEED)):
        answer = engine.request("POST", "api/v1/workflows/argo", json=replaced(body, path, value))
        where = f"{field_path(path)} = {json.dumps(value)}"
        if answer.status_code >= 500:
            server_errors.append(f"{where}: {answer.status_code} {answer.text}")
        elif answer.status_code == 200:
            accepted.append(answer.json()["metadata"]["name"])
            if must_refuse:
                wrongly_accepted.append(where)
        else:
            assert answer.status_code == 400, f"{where}: {answer.status_code} {answer.text}"
            refused += 1
            if must_refuse and not answer.json()["message"].startswith(field_path(path) + ":"):
                unnamed.append(f"{where}: {answer.json()['message']}")
    assert server_errors == []
    assert wrongly_accepted == []
    assert unnamed == []
    assert refused >= 80  # the body is large enough for the test to mean something
    _assert_all_finish(engine, accepted)


def _assert_all_finish(engine, names: list[str]) -> None:
    """Every accepted workflow reaches a final phase: none is stuck Running."""
    def unfinished() -> list[str]:
        items = engine.request("GET", "api/v1/workflows/argo").json()["items"] or []
        return [item["metadata"]["name"] for item in items
                if item["metadata"]["name"] in names and item["status"].get("phase") not in FINAL_PHASES]

    wait_for(lambda: not unfinished(), timeout=120, what=f"every accepted workflow to finish ({len(names)})")
    for name in names:
        assert engine.request("DELETE", f"api/v1/workflows/argo/{name}").status_code == 200
