"""The Argo token is never reachable where it should not be: 0 copies in each place the issue found.

A known token goes in through the real paths (a ``.env`` file, ``--token-var``) and every place
it could come out is grepped for it: Hera's ``global_config`` (repr, pickle), the Workflow that
``--dry-run`` returns (repr, its service, pickle, YAML), a ``%xmode Verbose`` traceback of an
unexpected error inside a request, the environment and output of a local task, a ``.env`` token
that a header cannot carry, every log record and every file in the state folder.

Real parts only: an ``InteractiveShell`` with the extension, a canned HTTP server on a socket,
the real local engine process, Ctrl-C as a real SIGINT to the main thread.
"""

from __future__ import annotations

import json
import logging
import pickle
import signal
import threading
from pathlib import Path

import pytest

from hera_magics.errors import ArgumentValueError, ConfigError

from .canned_server import Answer, CannedServer
from .conftest import magics_of
from .interrupt_helpers import InBackground, main_thread_in, until


def ctrl_c_once(condition, what: str) -> InBackground:
    """Press Ctrl-C (SIGINT to the main thread) once ``condition()`` holds."""
    def press() -> None:
        until(condition, what)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    return InBackground(press)

TOKEN = "hm-known-token-4f2a9c7e1b3d5f60"
# The summary shows the last 4 characters by design; anything longer is a leak.
LEAK = TOKEN[:-4]


def assert_no_token(*texts: object) -> None:
    for text in texts:
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        assert LEAK not in shown, f"the token leaked: …{shown[max(0, shown.find(LEAK) - 80):][:200]}"


def assert_no_token_in_files(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and path.name != "local-engine.json":  # the engine's own token, 0600
            assert LEAK.encode() not in path.read_bytes(), f"the token is in {path}"


def env_file(folder: Path, token: str = TOKEN, host: str = "https://argo.example.org/argo/") -> Path:
    path = folder / ".env"
    path.write_text(f"GLOBAL_CONFIG_HOST={host}\nARGO_TOKEN={token}\nARGO_NAMESPACE=argo\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_hera_global_config_shows_no_token_but_hera_still_gets_it(ip, tmp_path, capsys, all_logs, isolated_state):
    from hera.shared import global_config

    env_file(tmp_path)
    ip.run_line_magic("argo_env", "")
    assert global_config.token == TOKEN  # Hera asks the callable and gets the token
    assert_no_token(repr(global_config), str(global_config), repr(vars(global_config)))
    try:
        pickled = pickle.dumps(global_config)
    except TypeError:
        pickled = b""  # a Secret refuses to be pickled: no copy either way
    assert_no_token(pickled, capsys.readouterr(), all_logs.text)
    assert_no_token_in_files(isolated_state)


def test_the_dry_run_workflow_carries_no_token(ip, tmp_path, capsys, all_logs):
    with CannedServer() as server:
        server.script("POST", "/api/v1/workflows/argo", Answer(200, {"metadata": {"name": "hello-x1", "namespace": "argo"}}))
        env_file(tmp_path, host=server.url)
        ip.run_line_magic("argo_env", "")
        ip.run_cell_magic("argo_task", "", "def hello():\n    return 1\n")
        workflow = ip.run_line_magic("argo_dag", "--dry-run hello")
        pickled = pickle.dumps(workflow)
        assert_no_token(repr(workflow), repr(vars(workflow)), repr(vars(workflow.workflows_service)),
                        workflow.to_yaml(), json.dumps(workflow.to_dict()), pickled, capsys.readouterr())
        again = pickle.loads(pickled)
        assert again.to_dict() == workflow.to_dict()
        # The workflow can still be created with Hera's own call: the token is read when needed.
        try:
            again.create()
        except Exception:  # noqa: BLE001 - Hera parses the canned answer; only the request matters here
            pass
        (request,) = server.requests_to("POST", "/api/v1/workflows/argo")
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert_no_token(all_logs.text)


def test_verbose_traceback_of_ctrl_c_in_a_request_shows_no_token(ip, tmp_path, capsys, all_logs):
    with CannedServer() as server:
        server.script("GET", "/api/v1/workflows/argo/hung-wf", Answer(200, {}, delay=60))
        env_file(tmp_path, host=server.url)
        ip.run_line_magic("argo_env", "")
        ip.run_line_magic("xmode", "Verbose")
        capsys.readouterr()
        # While the request waits for its answer, deep inside requests (the server has it).
        pressing = ctrl_c_once(lambda: server.requests and main_thread_in("_send"), "the request to be pending")
        result = ip.run_cell("%argo_status hung-wf --no-widget")
        pressing.join()
        shown = capsys.readouterr()
        assert isinstance(result.error_in_exec, KeyboardInterrupt)
        assert "KeyboardInterrupt" in shown.out + shown.err  # the traceback was shown, with its variables
        assert_no_token(shown.out, shown.err)


def test_verbose_traceback_of_an_unexpected_error_in_a_request_shows_no_token(ip, tmp_path, capsys, all_logs):
    with CannedServer() as server:
        env_file(tmp_path, host=server.url)
        ip.run_line_magic("argo_env", "")
        ip.run_line_magic("xmode", "Verbose")
        ip.user_ns["client"] = magics_of(ip).session.client()
        capsys.readouterr()
        # Not JSON: requests fails while preparing the body, deep below our code.
        result = ip.run_cell('client.create_workflow({"metadata": {"generateName": "x-"}, "spec": {"x": object()}})')
        shown = capsys.readouterr()
        assert isinstance(result.error_in_exec, TypeError)
        assert "JSON serializable" in shown.out + shown.err
        assert_no_token(shown.out, shown.err, all_logs.text)
        assert server.requests == []


def test_a_token_from_token_var_is_not_inherited_by_local_tasks(ip, tmp_path, capsys, monkeypatch, isolated_state):
    from hera_magics.local import read_engine_state, stop_engine

    monkeypatch.setenv("MY_ARGO_TOKEN", TOKEN)
    monkeypatch.setenv("MY_ARGO_TOKEN_COPY", f"Bearer {TOKEN}")  # the same token under another name
    ip.run_line_magic("argo_env", "--token-var MY_ARGO_TOKEN --host https://argo.example.org/ --namespace dev")
    try:
        ip.run_line_magic("argo_env", "--local --workers 2")
        engine_pid = read_engine_state()["pid"]
        ip.run_cell_magic("argo_task", "", "def environment() -> dict:\n    import os\n"
                                           "    print(sorted(os.environ.items()))\n    return dict(os.environ)\n")
        run = ip.run_line_magic("argo_dag", "--wait --no-widget environment")
        seen = run.result("environment")
        assert seen.get("MY_ARGO_TOKEN") is None and "MY_ARGO_TOKEN_COPY" not in seen
        assert_no_token(json.dumps(seen), run.logs("environment"), capsys.readouterr())
        assert_no_token(Path(f"/proc/{engine_pid}/environ").read_bytes())
        assert_no_token_in_files(isolated_state)
    finally:
        stop_engine(isolated_state)


@pytest.mark.parametrize("character", ["€", "ü", " ", "\u2028"])
def test_a_token_a_header_cannot_carry_is_refused_in_one_line_without_quoting_it(
    ip, tmp_path, capsys, all_logs, character
):
    token = TOKEN[:12] + character + TOKEN[12:]
    (tmp_path / ".env").write_text(f'GLOBAL_CONFIG_HOST=https://argo.example.org/\nARGO_TOKEN="{token}"\n',
                                   encoding="utf-8")
    (tmp_path / ".env").chmod(0o600)
    result = ip.run_cell("%argo_env")
    shown = capsys.readouterr()
    assert isinstance(result.error_in_exec, ConfigError)
    assert "the token in ARGO_TOKEN has a character that cannot be sent in an HTTP header" in shown.out
    assert "Traceback" not in shown.out + shown.err
    assert_no_token(shown.out, shown.err, all_logs.text, TOKEN[:12])
    assert TOKEN[:12] not in shown.out + shown.err
    assert magics_of(ip).session.config is None


def test_a_config_made_in_python_with_such_a_token_is_refused_without_quoting_it():
    from hera_magics.config import ArgoConfig, Secret

    with pytest.raises(ArgumentValueError) as caught:
        ArgoConfig(host="https://argo.example.org/", token=Secret(TOKEN + "€"))
    assert f"position {len(TOKEN) + 1}" in str(caught.value) and "token" in str(caught.value)
    assert_no_token(str(caught.value), repr(caught.value))
    with pytest.raises(TypeError) as caught_type:
        ArgoConfig(host="https://argo.example.org/", token=TOKEN)  # type: ignore[arg-type]
    assert_no_token(str(caught_type.value), repr(caught_type.value))
