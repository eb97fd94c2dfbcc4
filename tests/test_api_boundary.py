"""The public Python API refuses a wrong argument at its boundary, naming it, before doing anything.

Every public method of ``ArgoClient``, ``WorkflowRun`` and ``Session``, every public function of
``hera_magics.config`` and the ``ArgoConfig`` / ``Secret`` constructors are called with ``None``,
a value of the wrong type and an empty string for each argument in turn. The cases are derived
from the signatures: a new public method or argument is covered by itself, and an annotation the
table below does not know fails the test (add it here). Each call must

* raise a ``TypeError`` or ``ValueError`` (or, where listed, the domain error with the message a
  notebook user sees) whose message names the argument — not fail deep inside ``requests`` or
  ``urllib`` (``client.get_workflow(None)`` used to end in ``quote_from_bytes()``);
* send nothing: the canned server behind the client, the session and the runs records no request,
  and no local engine is started.

Namespaces and workflow names are checked as Kubernetes names too (a ``../x`` namespace once
became a folder of the local engine).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

import pytest

from hera_magics import config as config_module
from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from hera_magics.errors import ConfigError, DagError, TaskDefinitionError
from hera_magics.local import stop_engine
from hera_magics.options import VolumeSpec
from hera_magics.run import WorkflowRun
from hera_magics.session import Session

from .canned_server import CannedServer

OBJECT = object()

# Wrong values for each annotation (None only where the argument is not optional).
BAD_VALUES: dict[str, list[Any]] = {
    "str": [None, 42, ""],
    "str | None": [42, b"bytes", ""],
    "str | BuiltWorkflow": [None, 42],  # "" below
    "str | os.PathLike[str] | None": [42, ""],
    "Path": [None, 42, ""],
    "Path | None": [42, ""],
    "float": [None, "1", True],
    "float | None": ["1", True],
    "int": [None, "1", 1.5],
    "int | None": ["1", 1.5],
    "bool": [None, "yes", 1],
    "bool | None": ["yes", 1],
    "Mapping[str, Any]": [None, "x", 42],
    "Mapping[str, Any] | None": ["x", 42],
    "Mapping[str, str]": [None, "x"],
    "Mapping[str, str] | None": ["x", 42],
    "dict[str, Any] | None": ["x", 42],
    "dict[str, str]": [None, "x"],
    "ArgoConfig": [None, "x", {"host": "http://x/"}],
    "'ArgoClient'": [None, "x"],
    "Secret | None": ["plain-token", 42],
    "TaskOptions | None": ["x", 42],
    "WorkflowOptions | None": ["x", 42],
    "VolumeSpec": [None, "home"],
    "Callable[[ArgoConfig], ArgoConfig | None] | None": ["x", 42],
}
# Arguments annotated ``Any``: their wrong values by name.
BAD_ANY = {
    "workflow": [None, 42, ""],
    "run": [None, "wf-1"],
}
NAMES = {  # values that are strings of the right type but not Kubernetes names
    "name": ["../etc", "a/b", "UPPER", "x" * 254],
    "namespace": ["../../../mydata", "%2Fabs", "Bad_NS", "n" * 64],
}
# Where a domain error with the message a notebook shows is the right answer for an empty string.
DOMAIN_ERRORS = {
    ("Session.build", "expression", ""): (DagError, "no DAG given"),
    ("Session.submit", "expression", ""): (DagError, "no DAG given"),
    ("Session.define_task", "cell", ""): (TaskDefinitionError, "the cell is empty"),
    ("normalise_host", "raw", ""): (ConfigError, "the Argo host is empty"),
}
# checked_namespace exists to turn a namespace that is not a Kubernetes name into a ConfigError.
DOMAIN_ERRORS.update({("checked_namespace", "namespace", value): (ConfigError, "is not a valid Kubernetes namespace")
                      for value in ["", *NAMES["namespace"]]})
# An empty string is a value these take (an empty token is no token).
EMPTY_IS_VALID = {("strip_bearer", "token")}


def valid_values(tmp_path: Path, client: ArgoClient, run: WorkflowRun, config: ArgoConfig) -> dict[str, Any]:
    """A right value for every argument name (the other arguments of each call)."""
    env_file = tmp_path / "x.env"
    env_file.write_text("ARGO_NAMESPACE=argo\n")
    return {
        "name": "wf-1", "namespace": "argo", "fields": "status.phase", "label_selector": "a=b",
        "field_selector": "metadata.name=wf-1", "pod_name": "wf-1-hello-123", "grep": "x",
        "container": "main", "tail_lines": 5, "follow": False, "workflow": {"metadata": {"generateName": "x-"}},
        "submission": "abc123", "timeout": 1.0, "poll_interval": 1.0, "poll_seconds": 0.5, "task": "hello",
        "stdout": False, "seen": None, "config": config, "retries": 0, "backoff": 0.0, "create_timeout": 5.0,
        "relocate": None, "client": client, "data": None, "submitted_at": None, "remember": True,
        "raw": "https://x/", "token": "abc", "variables": {}, "host": "https://x/", "token_var": None,
        "insecure": False, "nebari": None, "start": tmp_path, "path": env_file, "environ": {},
        "file_values": {}, "file_overrides": False, "value": "secret-value", "verify_ssl": True,
        "local": False, "username": None, "sources": {}, "engine_id": None, "engine_folder": None,
        "env_file": env_file, "workers": 1, "cell": "def hello():\n    pass\n", "options": None,
        "notebook_names": None, "expression": "hello", "notebook": None, "run": run,
        "volume": VolumeSpec("claim", None, "/mnt/data", False), "source": "--namespace",
        "node_id": "wf-1-123", "artifact": "model",
    }


def public_callables() -> list[tuple[str, Any, str]]:
    """(shown name, owner, attribute) for every public callable of the API."""
    found: list[tuple[str, Any, str]] = []
    for owner in (ArgoClient, WorkflowRun, Session):
        for attribute, member in vars(owner).items():
            function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            if inspect.isfunction(function) and (attribute == "__init__" or not attribute.startswith("_")):
                shown = owner.__name__ if attribute == "__init__" else f"{owner.__name__}.{attribute}"
                found.append((shown, owner, attribute))
    for attribute, member in vars(config_module).items():
        defined_here = getattr(member, "__module__", None) == config_module.__name__
        if not attribute.startswith("_") and defined_here and (inspect.isfunction(member) or member in (ArgoConfig, Secret)):
            found.append((attribute, config_module, attribute))
    return found


def cases() -> list[tuple[str, Any, str, str, Any]]:
    result = []
    for shown, owner, attribute in public_callables():
        member = getattr(owner, attribute)
        if isinstance(member, type):
            member = member.__init__
        for parameter in inspect.signature(member).parameters.values():
            if parameter.name in ("self", "cls"):
                continue
            annotation = str(parameter.annotation)
            if annotation == "Any":
                assert parameter.name in BAD_ANY, f"{shown}({parameter.name}: Any): add its wrong values to BAD_ANY"
                bad = BAD_ANY[parameter.name]
            else:
                assert annotation in BAD_VALUES, f"{shown}({parameter.name}: {annotation}): add it to BAD_VALUES"
                bad = list(BAD_VALUES[annotation])
            if parameter.default is None:
                bad = [value for value in bad if value is not None]
            if annotation == "str | BuiltWorkflow":
                bad.append("")
            if (shown.split(".")[-1], parameter.name) in EMPTY_IS_VALID or (shown, parameter.name) in EMPTY_IS_VALID:
                bad = [value for value in bad if value != ""]
            if parameter.name in NAMES and annotation.startswith("str") and shown.startswith(
                    ("ArgoClient", "WorkflowRun", "Session.attach", "checked_namespace")):
                bad += NAMES[parameter.name]  # (a task's name is a Python name; config: see below)
            result.extend((shown, owner, attribute, parameter.name, value) for value in bad)
    return result


CASES = cases()


@pytest.fixture(scope="module")
def server():
    with CannedServer() as canned:
        yield canned


@pytest.fixture
def api(server, tmp_path, monkeypatch, isolated_state):
    monkeypatch.chdir(tmp_path)
    config = ArgoConfig(host=server.url, token=Secret("token-0123456789"), namespace="argo")
    client = ArgoClient(config, retries=0)
    run = WorkflowRun(client, "wf-1")
    session = Session()
    session.configure(host=server.url, namespace="argo", environ={"ARGO_TOKEN": "token-0123456789"})
    session.define_task("def hello():\n    pass\n")
    instances = {ArgoClient: client, WorkflowRun: run, Session: session}
    yield instances, valid_values(tmp_path, client, run, config)
    stop_engine(isolated_state)  # none should have started; if one did, it must not outlive the test


def call(owner: Any, attribute: str, instances: dict[Any, Any], arguments: dict[str, Any]) -> Any:
    member = getattr(owner, attribute)
    if attribute == "__init__":
        return owner(**arguments)
    raw = inspect.getattr_static(owner, attribute) if inspect.isclass(owner) else member
    if isinstance(raw, (classmethod, staticmethod)) or not inspect.isclass(owner):
        return member(**arguments)
    return getattr(instances[owner], attribute)(**arguments)


def case_id(case: tuple[str, Any, str, str, Any]) -> str:
    shown, _owner, _attribute, argument, value = case
    return f"{shown}-{argument}-{value!r}"[:90]


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_a_wrong_argument_is_refused_at_the_boundary_naming_it(case, api, server, isolated_state):
    shown, owner, attribute, argument, value = case
    instances, valid = api
    member = getattr(owner, attribute)
    signature = inspect.signature(member.__init__ if isinstance(member, type) else member)
    arguments = {
        parameter.name: valid[parameter.name]
        for parameter in signature.parameters.values()
        if parameter.name not in ("self", "cls") and parameter.default is inspect.Parameter.empty
    }
    arguments[argument] = value
    before = len(server.requests)
    expected_domain = DOMAIN_ERRORS.get((shown, argument, value)) if isinstance(value, str) else None
    with pytest.raises(BaseException) as caught:
        result = call(owner, attribute, instances, arguments)
        if inspect.isgenerator(result):  # a generator must check its arguments when called, not later
            result.close()
            pytest.fail(f"{shown} returned a generator without checking {argument}")
    error = caught.value
    if expected_domain is not None:
        kind, text = expected_domain
        assert isinstance(error, kind) and text in str(error), repr(error)
    else:
        assert isinstance(error, (TypeError, ValueError)), f"{type(error).__name__}: {error}"
        assert argument.split("_")[0] in str(error) or argument in str(error), str(error)
    assert len(server.requests) == before, "a request was sent"
    assert not (isolated_state / "local-engine.json").exists(), "a local engine was started"


def test_the_table_covers_the_whole_api():
    names = {case[0] for case in CASES}
    for expected in ("ArgoClient.get_workflow", "ArgoClient", "WorkflowRun.wait", "WorkflowRun.submit",
                     "Session.configure_local", "Session.follow_logs", "resolve_config", "ArgoConfig", "Secret"):
        assert expected in names
    print(f"\n{len(CASES)} calls with a wrong argument over {len(names)} public callables")


@pytest.mark.parametrize("namespace", ["../../../mydata", "%2Fabs", "Bad_NS", "n" * 64, "-argo"])
def test_a_namespace_that_is_not_a_kubernetes_name_is_a_config_error(namespace, isolated_state):
    with pytest.raises(ConfigError, match="is not a valid Kubernetes namespace"):
        config_module.resolve_config({"GLOBAL_CONFIG_HOST": "https://x/", "ARGO_NAMESPACE": namespace})
    try:
        with pytest.raises(ConfigError, match="is not a valid Kubernetes namespace"):
            Session().configure_local(namespace=namespace)
        assert not (isolated_state / "local-engine.json").exists()
    finally:
        stop_engine(isolated_state)


def messages_of(function: Callable[[], Any]) -> str:
    try:
        function()
    except (TypeError, ValueError) as error:
        return str(error)
    raise AssertionError("no error")


def test_the_messages_read_well(api):
    instances, _valid = api
    client = instances[ArgoClient]
    assert messages_of(lambda: client.get_workflow(None)) == (
        "ArgoClient.get_workflow: name must be a workflow name (a str), not None")
    assert messages_of(lambda: client.get_workflow("../x")) == (
        "ArgoClient.get_workflow: name '../x' is not a Kubernetes name: lower-case letters, digits, '-' and '.', "
        "starting and ending with a letter or digit, at most 253 characters")
    assert messages_of(lambda: instances[WorkflowRun].wait(timeout="5")) == (
        "WorkflowRun.wait: timeout must be a number of seconds or None, not a str")
    assert messages_of(lambda: ArgoConfig(host="https://x/", token="plain")) == (
        "ArgoConfig: token must be a config.Secret (Secret('...')) or None, not a str")
