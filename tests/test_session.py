"""The plain-Python API behind the magics (hera_magics.session), driven through the magics.

``%argo_env --check`` against canned real-server answers and the token never leaking anywhere;
typed options; connecting to the local engine; waiting, Ctrl-C and following logs on the real
local engine (a real ``InteractiveShell``, real HTTP). Ctrl-C is a real SIGINT sent to the main
thread once its stack shows it is where a user would press it; every wait is a deadline loop.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from hera_magics import errors
from hera_magics.errors import TaskResultError, WorkflowFailed
from hera_magics.local import read_engine_state, stop_engine
from hera_magics.run import WorkflowRun
from tests.canned_server import Answer, CannedServer, argo_error
from tests.conftest import magics_of
from tests.interrupt_helpers import GATED_TASK, InBackground, ctrl_c_when, define, engine_phase, main_thread_in, until

TOKEN = "tok-KNOWN-secret-0123456789abcdef"

USERINFO = {
    "issuer": "kubernetes/serviceaccount",
    "subject": "system:serviceaccount:dev:argo-developer",
    "serviceAccountName": "argo-developer",
    "serviceAccountNamespace": "dev",
}
VERSION = {"version": "v3.7.2", "gitCommit": "abc", "platform": "linux/amd64"}
FORBIDDEN = ("workflows.argoproj.io is forbidden: User \"system:serviceaccount:dev:argo-viewer\" cannot list "
             "resource \"workflows\" in API group \"argoproj.io\" in the namespace \"dev\"")
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Keycloak login</body></html>"


@pytest.fixture
def server():
    with CannedServer() as canned:
        yield canned


def _connect(ip, tmp_path, url: str, *, base_href: str = "") -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"GLOBAL_CONFIG_HOST={url.rstrip('/')}{base_href}\nARGO_TOKEN='Bearer {TOKEN}'\nARGO_NAMESPACE=dev\n"
    )
    env_file.chmod(0o600)


def test_check_reports_who_and_version(ip, tmp_path, server, capsys):
    server.script("GET", "/argo/api/v1/userinfo", Answer(200, USERINFO))
    server.script("GET", "/argo/api/v1/version", Answer(200, VERSION))
    _connect(ip, tmp_path, server.url, base_href="/argo")
    ip.run_line_magic("argo_env", "--check")
    text = capsys.readouterr().out
    assert "you are system:serviceaccount:dev:argo-developer (service account dev/argo-developer)" in text
    assert "Argo v3.7.2" in text
    sent = server.requests_to("GET", "/argo/api/v1/userinfo")[0]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"  # the base href was kept, the token sent


@pytest.mark.parametrize(
    "answer, expected",
    [
        (argo_error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"),
         "the Argo token was refused (wrong or expired)"),
        (argo_error(403, 7, FORBIDDEN), "your role cannot"),
        (Answer(200, LOGIN_PAGE, content_type="text/html"), "HTML page"),
    ],
    ids=["401", "403", "html"],
)
def test_check_diagnoses(ip, tmp_path, server, capsys, answer, expected):
    server.script("GET", "/api/v1/userinfo", answer)
    server.script("GET", "/api/v1/version", Answer(200, VERSION))
    _connect(ip, tmp_path, server.url)
    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert expected in text
    assert "Traceback" not in text
    assert TOKEN not in text


def test_check_refused_connection_names_the_url(ip, tmp_path, capsys):
    with CannedServer() as canned:
        url = canned.url  # a port that was just free and is now closed
    _connect(ip, tmp_path, url)
    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert "127.0.0.1" in text and "api/v1/userinfo" in text
    assert "Traceback" not in text


def test_token_never_appears_anywhere(ip, tmp_path, server, capsys, isolated_state):
    """Run everything a user would, capture every output, repr, log line and file, grep for the token."""
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        server.script("GET", "/api/v1/userinfo", Answer(200, USERINFO))
        server.script("GET", "/api/v1/version", Answer(200, VERSION))
        server.script("POST", "/api/v1/workflows/dev",
                      argo_error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"))
        _connect(ip, tmp_path, server.url)
        cells = [
            "%argo_env --check",
            "%%argo_task --env A=1\ndef hello(name: str = 'x') -> str:\n    return 'hi ' + name\n",
            "%argo_tasks",
            "%argo_dag --dry-run --yaml wf.yaml hello(name='n')",
            "%argo_dag hello",  # 401 from the server
            "%argo_env --token-var MISSING_VARIABLE",
            "%argo_env --check --host http://127.0.0.1:9/",  # refused
        ]
        captured: list[str] = []
        for cell in cells:
            result = ip.run_cell(cell)
            captured.append(repr(result.error_in_exec))
            captured.append(str(result.error_in_exec))
        session = magics_of(ip).session
        captured += [repr(session.config), str(session.config), repr(session), repr(session.client())]
        captured += ["\n".join(session.config.summary_lines())]
        output = capsys.readouterr()
        captured += [output.out, output.err, log_stream.getvalue()]
        for folder in (tmp_path, isolated_state):
            for path in Path(folder).rglob("*"):
                if path.is_file() and path.name != ".env":
                    captured.append(path.read_text(encoding="utf-8", errors="replace"))
        everything = "\n".join(captured)
        assert "apiVersion" in everything  # the YAML was captured, so the grep had something to look at
        assert "…cdef" in everything  # the masked form is shown
        assert TOKEN not in everything
        assert TOKEN[:12] not in everything
        # the workflow does not carry the token into any pod's environment
        assert TOKEN not in (tmp_path / "wf.yaml").read_text()
        assert not any(TOKEN in value for value in os.environ.values())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_check_against_a_hung_server_answers_in_seconds(ip, tmp_path, server, capsys):
    server.script("GET", "/api/v1/userinfo", Answer(200, USERINFO, delay=60))
    _connect(ip, tmp_path, server.url)
    from hera_magics.session import CHECK_TIMEOUT_SECONDS

    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert "api/v1/userinfo" in text and "Traceback" not in text
    assert len(server.requests_to("GET", "/api/v1/userinfo")) == 1  # one try, not four
    assert CHECK_TIMEOUT_SECONDS <= 10


# ---------------------------------------------------------------------------------------------
# typed options


def test_session_takes_typed_options():
    from hera_magics.options import TaskOptions, parse_task_options, parse_workflow_options
    from hera_magics.session import Session

    options = parse_task_options(gpu=2, memory="16GB", volume=["claim:/mnt"])
    assert isinstance(options, TaskOptions) and options.memory == "16G" and options.notes
    session = Session()
    spec, _ = session.define_task("def f():\n    pass\n", options=options)
    assert spec.options is options
    built = session.build("f", parse_workflow_options(name="nightly", no_fail_fast=True, dry_run=True))
    assert built.options.generate_name == "nightly-" and built.options.fail_fast is False
    with pytest.raises(TypeError, match="unknown option 'gpus'"):
        parse_task_options(gpus=1)


# ---------------------------------------------------------------------------------------------
# connecting to the local engine: no Argo token reaches it, what --workers does


ARGO_SECRETS = {
    "ARGO_TOKEN": "Bearer argo-token-for-the-real-cluster-1111",
    "HERA_TOKEN": "hera-token-for-the-real-cluster-2222",
    "GLOBAL_CONFIG_TOKEN": "global-config-token-for-the-real-cluster-3333",
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/environ")
def test_the_local_engine_and_its_tasks_never_get_the_argo_token(ip, tmp_path, monkeypatch, capsys):
    state = tmp_path / "engine-state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(state))
    for name, value in ARGO_SECRETS.items():  # as in every Nebari Jupyter pod
        monkeypatch.setenv(name, value)
    try:
        ip.run_line_magic("argo_env", "--local --workers 1")
        ip.run_cell_magic("argo_task", "", (
            "def environment():\n"
            "    import os\n"
            "    return {name: value for name, value in os.environ.items() if 'TOKEN' in name or 'real-cluster' in value}\n"
        ))
        run = ip.run_line_magic("argo_dag", "--wait --no-widget environment")
        assert run.result("environment") == {}
        engine = read_engine_state(state)
        started_with = Path(f"/proc/{engine['pid']}/environ").read_bytes()
        for name, value in ARGO_SECRETS.items():
            assert name.encode() + b"=" not in started_with
            assert value.split()[-1].encode() not in started_with
        assert engine["token"].encode() not in started_with
        assert all(value.split()[-1] not in capsys.readouterr().out for value in ARGO_SECRETS.values())
    finally:
        stop_engine(state)


def test_workers_of_a_running_engine_are_reported(local_ip, capsys):
    # local_ip started the module's engine with --workers 4
    local_ip.run_line_magic("argo_env", "--local --workers 2")
    shown = capsys.readouterr().out
    assert "warning: the running local engine keeps its 4 workers" in shown
    assert "%argo_env --local --workers 2 again" in shown and "(%argo_env --local --stop)" in shown
    assert "the local engine's own token" in shown and "fresh random token" not in shown

    for line in ("--local --workers 4", "--local"):
        local_ip.run_line_magic("argo_env", line)
        shown = capsys.readouterr().out
        assert "warning" not in shown and "the local engine's own token" in shown
    assert magics_of(local_ip).session.config.local


def test_a_new_engine_says_its_token_is_fresh(ip, tmp_path, monkeypatch, capsys):
    state = tmp_path / "engine-state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(state))
    try:
        ip.run_line_magic("argo_env", "--local --workers 3")
        shown = capsys.readouterr().out
        assert "fresh random token" in shown and "warning" not in shown
        assert read_engine_state(state)["workers"] == 3
    finally:
        stop_engine(state)


# ---------------------------------------------------------------------------------------------
# waiting and following on the real local engine


# ---------------------------------------------------------------------------------------------
# Ctrl-C: one line, never a traceback


def test_ctrl_c_while_dag_waits_shows_one_line_and_leaves_the_workflow_running(local_ip, tmp_path, capsys):
    define(local_ip, GATED_TASK)
    capsys.readouterr()
    gate = tmp_path / "gate"
    pressing = ctrl_c_when("_wait_until_final")
    result = local_ip.run_cell(f'run = %argo_dag --wait --no-widget gated(gate="{gate}")')
    pressing.join()
    shown = capsys.readouterr()
    error = result.error_in_exec
    assert isinstance(error, errors.WorkflowInterrupted) and isinstance(error, KeyboardInterrupt)
    name = magics_of(local_ip).session.last_run.name
    expected = (f"KeyboardInterrupt: Ctrl-C: stopped waiting; workflow {name} goes on running on the server. "
                f"To stop it: run = %argo_status {name}, then run.stop()")
    assert "Traceback" not in shown.out + shown.err
    assert "----" not in shown.out  # IPython's frame separators
    assert [line for line in shown.out.splitlines() if "KeyboardInterrupt" in line] == [expected]
    assert engine_phase(local_ip, name) == "Running"
    gate.touch()
    until(lambda: engine_phase(local_ip, name) == "Succeeded", "the workflow to finish on its own")


def test_ctrl_c_while_following_logs_leaves_the_workflow_running(local_ip, tmp_path, capsys):
    define(local_ip, GATED_TASK)
    gate = tmp_path / "gate"
    local_ip.run_cell(f'run = %argo_dag --no-widget gated(gate="{gate}")')
    name = magics_of(local_ip).session.last_run.name
    capsys.readouterr()
    try:
        pressing = ctrl_c_when("_iterate_log_lines")
        result = local_ip.run_cell(f"%argo_logs {name} --follow")
        pressing.join()
        shown = capsys.readouterr()
        assert result.error_in_exec is None, shown.out
        assert "Traceback" not in shown.out + shown.err and "KeyboardInterrupt" not in shown.out + shown.err
        assert shown.out.rstrip().endswith(f"stopped following the log; workflow {name} goes on running on the "
                                           f"server. To stop it: run = %argo_status {name}, then run.stop()")
        assert engine_phase(local_ip, name) == "Running"
    finally:
        gate.touch()
    until(lambda: engine_phase(local_ip, name) == "Succeeded", "the workflow to finish")


# ---------------------------------------------------------------------------------------------
# a failed --wait still gives the run back


def test_failed_wait_gives_the_run_back(local_ip, capsys):
    define(local_ip, 'def broken():\n    raise ValueError("bad input")\n')
    local_ip.user_ns["run"] = "an older value"
    capsys.readouterr()
    result = local_ip.run_cell("run = %argo_dag --wait --no-widget broken")
    shown = capsys.readouterr().out
    error = result.error_in_exec
    assert isinstance(error, WorkflowFailed)
    last = magics_of(local_ip).session.last_run
    assert isinstance(error.run, WorkflowRun) and error.run is last
    assert local_ip.user_ns["run"] == "an older value"  # the assignment never happened
    assert "run = %argo_status --last" in shown and "Traceback (most recent call last)" in shown
    local_ip.run_cell("run = %argo_status --last --no-widget")
    assert local_ip.user_ns["run"].name == error.run.name and local_ip.user_ns["run"].phase == "Failed"


# ---------------------------------------------------------------------------------------------
# %argo_logs --follow: task names, and a task that has not started yet


TWO_GATED_TASKS = [
    ("", GATED_TASK),
    ("", 'def after():\n    print("after ran", flush=True)\n'),
]


def submit_gated_then_after(shell: Any, gate: Path) -> str:
    for line, cell in TWO_GATED_TASKS:
        define(shell, cell, line)
    shell.run_cell(f'run = %argo_dag --no-widget gated(gate="{gate}") >> after')
    return magics_of(shell).session.last_run.name


def test_follow_prefixes_task_names_also_for_pods_that_start_later(local_ip, tmp_path, capsys):
    gate = tmp_path / "gate"
    name = submit_gated_then_after(local_ip, gate)
    capsys.readouterr()
    # The gate opens only once the log is being followed, so "after" starts later: its pod is
    # unknown to the task map made when following began.
    opener = InBackground(lambda: (until(lambda: main_thread_in("_iterate_log_lines"), "following"), gate.touch()))
    result = local_ip.run_cell(f"%argo_logs {name} --follow")
    opener.join()
    lines = capsys.readouterr().out.splitlines()
    assert result.error_in_exec is None
    assert "gated | waiting for the gate" in lines
    assert "gated | through the gate" in lines
    assert "after | after ran" in lines
    assert not any(line.startswith(name) for line in lines), lines  # no pod names
    # the same prefixes as without --follow
    assert set(magics_of(local_ip).session.attach(name).logs().splitlines()) <= set(lines)


def test_follow_of_a_task_that_has_not_started_waits_for_it(local_ip, tmp_path, capsys):
    gate = tmp_path / "gate"
    name = submit_gated_then_after(local_ip, gate)
    capsys.readouterr()
    try:
        opener = InBackground(
            lambda: (until(lambda: main_thread_in("follow_logs", "wait_for_pod"), "following"), gate.touch())
        )
        result = local_ip.run_cell(f"%argo_logs {name} after --follow")
        opener.join()
    finally:
        gate.touch()
    shown = capsys.readouterr().out
    assert result.error_in_exec is None, shown
    assert shown.splitlines() == ["after ran"]


def test_follow_of_a_task_that_will_never_run_says_so(local_ip, capsys):
    define(local_ip, 'def explode():\n    print("exploding", flush=True)\n    raise SystemExit(3)\n')
    define(local_ip, 'def after():\n    print("after ran", flush=True)\n')
    with pytest.raises(WorkflowFailed):
        local_ip.run_line_magic("argo_dag", "--wait --no-widget explode >> after")
    name = magics_of(local_ip).session.last_run.name
    capsys.readouterr()
    result = local_ip.run_cell(f"%argo_logs {name} after --follow")
    shown = capsys.readouterr().out
    assert isinstance(result.error_in_exec, TaskResultError)
    assert "task after did not run" in shown and "exploding" not in shown


# ---------------------------------------------------------------------------------------------
# %argo_env to another server forgets the last run


def test_attach_after_switching_servers_does_not_return_the_other_servers_run(local_ip, capsys):
    define(local_ip, 'def hello():\n    return 1\n')
    local_ip.run_line_magic("argo_dag", "--wait --no-widget hello")
    assert magics_of(local_ip).session.last_run is not None
    with CannedServer() as other:
        local_ip.run_line_magic("argo_env", f"--host {other.url} --namespace argo")
        capsys.readouterr()
        result = local_ip.run_cell("%argo_status --no-widget")
    assert result.error_in_exec is not None
    assert "no run is remembered for" in capsys.readouterr().out
    assert magics_of(local_ip).session.last_run is None
