"""Notebook to finished workflow: the magics in a real InteractiveShell, the real local engine process
over HTTP, real Python processes for the tasks. No timed assertions: runs are awaited with deadlines.
"""

from __future__ import annotations

import textwrap

import pytest

from hera_magics.errors import WorkflowFailed
from tests.conftest import forget_shell, magics_of
from tests.product.test_seed_workflows import SEED_DAG_BODIES, SEED_EXPRESSIONS, define_seed_tasks




def run_dag(ip, line: str = "", cell: str | None = None):
    if cell is None:
        return ip.run_line_magic("argo_dag", "--no-widget " + line)
    return ip.run_cell_magic("argo_dag", "--no-widget " + line, cell)


@pytest.mark.parametrize("seed", list(SEED_EXPRESSIONS))
def test_seed_workflows_succeed_on_the_local_engine(local_ip, seed):
    define_seed_tasks(local_ip)
    run = run_dag(local_ip, SEED_EXPRESSIONS[seed])
    run.wait(timeout=120)
    assert run.phase == "Succeeded"
    rows = run.tasks()
    assert rows and all(row["phase"] == "Succeeded" for row in rows)


def test_pasted_seed_parameter_passing_delivers_hello_world(local_ip):
    define_seed_tasks(local_ip)
    run = run_dag(local_ip, cell=SEED_DAG_BODIES["parameter_passing"])
    run.wait(timeout=120)
    assert run.logs("multiline_function").splitlines() == ["Hello World!", "another test string"]
    assert run.result("hello_world", stdout=True) == "Hello World!"


def test_container_seed_gives_each_node_its_argument(local_ip):
    define_seed_tasks(local_ip)
    run = run_dag(local_ip, cell=SEED_DAG_BODIES["container"])
    run.wait(timeout=120)
    assert run.logs("A").strip() == "arg_for_task_A"
    assert run.logs("B").strip() == "arg_for_task_B"


def test_return_value_comes_back_and_feeds_a_downstream_task(local_ip):
    local_ip.run_cell_magic("argo_task", "", textwrap.dedent("""\
        def make_data(n: int = 3) -> dict:
            return {"values": list(range(n)), "label": "it's \\"quoted\\""}
        """))
    local_ip.run_cell_magic("argo_task", "", textwrap.dedent("""\
        def total(data) -> int:
            print("got", data["label"])
            return sum(data["values"])
        """))
    local_ip.user_ns["size"] = 5
    run = run_dag(local_ip, "make_data(n=size) >> total(data=make_data)")
    run.wait(timeout=120)
    assert run.result("make_data") == {"values": [0, 1, 2, 3, 4], "label": 'it\'s "quoted"'}
    assert run.result("total") == 10
    assert run.result("total", stdout=True) == 'got it\'s "quoted"'


def test_failing_task_fails_the_workflow_with_its_traceback(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def explode(level: int = 1):\n    raise RuntimeError(f'level {level} failure')\n")
    local_ip.run_cell_magic("argo_task", "", "def after():\n    print('never')\n")
    run = run_dag(local_ip, "explode(level=7) >> after")
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(timeout=120)
    message = str(caught.value)
    assert "RuntimeError: level 7 failure" in message
    assert "raise RuntimeError" in message  # the traceback's source line
    rows = {row["task"]: row for row in run.tasks()}
    assert rows["explode"]["phase"] == "Failed"
    assert rows["explode"]["message"] == "main: Error (exit code 1)"
    assert rows["after"]["phase"] == "Omitted"
    assert rows["after"]["message"] == "omitted: depends condition not met"
    assert rows["explode"]["exit_code"] in ("1", 1)
    assert "RuntimeError: level 7 failure" in run.logs("explode")
    assert run.phase == "Failed"


def test_wait_flag_raises_workflow_failed_in_the_cell(local_ip, capsys):
    local_ip.run_cell_magic("argo_task", "", "def explode():\n    raise KeyError('missing column')\n")
    result = local_ip.run_cell("%argo_dag --wait explode")
    text = capsys.readouterr().out
    assert isinstance(result.error_in_exec, WorkflowFailed)
    assert "KeyError: 'missing column'" in text
    assert "Traceback (most recent call last)" in text  # the pod's traceback, shown on purpose
    assert "hera_magics/" not in text  # but none of ours


def test_retries_are_visible_as_argo_shows_them(local_ip, tmp_path):
    marker = tmp_path / "attempts"
    local_ip.run_cell_magic("argo_task", "--retries 2", textwrap.dedent(f"""\
        def flaky():
            from pathlib import Path
            marker = Path({str(marker)!r})
            count = int(marker.read_text()) + 1 if marker.exists() else 1
            marker.write_text(str(count))
            if count < 3:
                raise SystemExit(3)
            return count
        """))
    run = run_dag(local_ip, "flaky")
    run.wait(timeout=120)
    row = run.tasks()[0]
    assert row["phase"] == "Succeeded" and row["retries"] == 2
    assert run.result("flaky") == 3
    nodes = run.data["status"]["nodes"]
    retry_nodes = [node for node in nodes.values() if node["type"] == "Retry"]
    assert len(retry_nodes) == 1 and len(retry_nodes[0]["children"]) == 3
    attempts = sorted(node["displayName"] for node in nodes.values() if node["type"] == "Pod")
    assert attempts == ["flaky(0)", "flaky(1)", "flaky(2)"]


def test_status_reattaches_after_a_kernel_restart(local_ip, engine_state):
    local_ip.run_cell_magic("argo_task", "", "def quick():\n    return 42\n")
    run = run_dag(local_ip, "quick")
    run.wait(timeout=120)
    # a new kernel: a fresh shell and session, same user state folder
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    fresh = InteractiveShell.instance()
    forget_shell(fresh)
    fresh.run_line_magic("load_ext", "hera_magics")
    fresh.run_line_magic("argo_env", "--local")
    again = fresh.run_line_magic("argo_status", "--last --no-widget")
    assert again.name == run.name
    assert again.result("quick") == 42
    assert magics_of(fresh).session.config.host == magics_of(local_ip).session.config.host


def test_check_against_the_local_engine(local_ip, capsys):
    local_ip.run_line_magic("argo_env", "--local --check")
    text = capsys.readouterr().out
    assert "check      OK: you are" in text and "Argo v" in text


def test_values_arrive_exactly_through_argo(local_ip):
    """The README example: a string return into a `str` parameter; and braces Argo must not touch."""
    local_ip.run_cell_magic("argo_task", "", "def prepare() -> str:\n    return '/home/me/data.parquet'\n")
    local_ip.run_cell_magic("argo_task", "", "def train(path: str, lr: float = 0.1) -> dict:\n    return {'path': path, 'lr': lr}\n")
    local_ip.run_cell_magic("argo_task", "", "def echo(text: str, data):\n    return [text, data]\n")
    local_ip.user_ns["tricky"] = 'naïve "quote" \\ {{workflow.name}} \'\'\' {{inputs.parameters.text}}'
    local_ip.user_ns["structure"] = {"template": "{{tasks.x.outputs.result}}", "n": [1, 2]}
    run = run_dag(local_ip, "[prepare >> train(path=prepare, lr=0.01), echo(text=tricky, data=structure)]")
    run.wait(timeout=120)
    assert run.result("train") == {"path": "/home/me/data.parquet", "lr": 0.01}
    assert run.result("echo") == [local_ip.user_ns["tricky"], local_ip.user_ns["structure"]]


def test_a_failing_cell_shows_its_own_line_numbers(local_ip):
    local_ip.run_cell_magic("argo_task", "", "import json\n\ndef parse(text: str):\n    return json.loads(text)\n")
    run = run_dag(local_ip, "parse(text='{not json')")
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(timeout=120)
    message = str(caught.value)
    assert 'File "<cell parse>", line 4, in parse' in message
    assert "_hera_magics" not in message  # none of our wrapper frames


def test_a_killed_kernel_neither_stops_nor_forgets_its_workflow(ip, tmp_path, monkeypatch):
    """A kernel process submits a slow workflow and is killed (as a restart does); a new one
    finds the same engine, re-attaches with --last, and the workflow finishes."""
    import signal
    import subprocess
    import sys
    import textwrap as text

    from hera_magics.local import stop_engine

    state = tmp_path / "kernel-state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(state))
    marker = tmp_path / "finished"
    kernel = text.dedent(f"""
        import sys, time
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "hera_magics")
        ip.run_line_magic("argo_env", "--local")
        ip.run_cell_magic("argo_task", "", "def slow():\\n    import time, pathlib\\n    time.sleep(4)\\n"
                          "    pathlib.Path({str(marker)!r}).write_text('done')\\n    return 7\\n")
        run = ip.run_line_magic("argo_dag", "--no-widget slow")
        print("SUBMITTED", run.name, flush=True)
        time.sleep(600)  # killed long before
        """)
    process = subprocess.Popen([sys.executable, "-c", kernel], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        while line and not line.startswith("SUBMITTED"):
            line = process.stdout.readline()
        assert line.startswith("SUBMITTED"), "the first kernel did not submit"
        name = line.split()[1]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert not marker.exists()  # still running when its kernel died
        ip.run_line_magic("argo_env", "--local")
        run = ip.run_line_magic("argo_status", "--last --no-widget")
        assert run.name == name
        run.wait(timeout=120)
        assert run.result("slow") == 7 and marker.read_text() == "done"
    finally:
        if process.poll() is None:
            process.kill()
        stop_engine(state)


def test_one_runtime_serves_every_task_with_exact_values(local_ip):
    """Several kinds of task in one workflow: the runtime travels once and each gets exact values."""
    from hera_magics.compile import runtime_loader
    from hera_magics.pod.contract import RUNTIME_PARAMETER

    local_ip.run_cell_magic("argo_task", "", "def make(n: int = 2) -> list:\n    return list(range(n))\n")
    local_ip.run_cell_magic("argo_task", "", "def total(values, label: str) -> dict:\n    return {label: sum(values)}\n")
    local_ip.run_cell_magic("argo_task", "shout --inputs word", "print(word.upper())\n")
    local_ip.run_cell_magic("argo_task", "", "def braces() -> str:\n    return '{{kept}} as written'\n")
    local_ip.run_cell_magic("argo_task", "echo_it --shell --inputs word", 'echo "$word"\n')
    run = run_dag(local_ip, "make(n=4) >> [total(values=make, label='7'), shout(word='hi'), braces, echo_it(word='x')]")
    run.wait(timeout=120)
    assert run.result("make") == [0, 1, 2, 3]
    assert run.result("total") == {"7": 6}
    assert run.result("braces") == "{{kept}} as written"
    assert run.result("shout", stdout=True) == "HI" and run.result("echo_it", stdout=True) == "x"
    spec = run.data["spec"]
    assert spec["arguments"]["parameters"] == [{"name": RUNTIME_PARAMETER, "value": runtime_loader()}]
    packed = runtime_loader().split('"')[-2]
    assert str(spec).count(packed) == 1


def test_tracebacks_name_the_cell_lines_of_every_kind_of_task(local_ip):
    local_ip.run_cell_magic("argo_task", "", "import json\n\ndef parse(text: str):\n    return json.loads(text)\n")
    local_ip.run_cell_magic("argo_task", "script_fails --inputs n", "total = 0\nprint(total / n)\n")
    local_ip.run_cell_magic("argo_task", "", "def braces():\n    template = '{{name}}'\n    raise KeyError(template)\n")
    run = run_dag(local_ip, "--no-fail-fast [parse(text='{not json'), script_fails(n=0), braces]")
    with pytest.raises(WorkflowFailed):
        run.wait(timeout=120)
    expected = {
        "parse": ['File "<cell parse>", line 4, in parse', "return json.loads(text)", "JSONDecodeError"],
        "script_fails": ['File "<cell script_fails>", line 2, in <module>', "print(total / n)",
                         "ZeroDivisionError: division by zero"],
        "braces": ['File "<cell braces>", line 3, in braces', "raise KeyError(template)", "KeyError: '{{name}}'"],
    }
    for task, pieces in expected.items():
        log = run.logs(task)
        for piece in pieces:
            assert piece in log, (task, log)
        assert "_hera_magics" not in log and "<string>" not in log and "/argo/staging" not in log, log
