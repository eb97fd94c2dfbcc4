"""The magics' own behaviour in a real InteractiveShell: registration, help, summaries, tables."""

from __future__ import annotations

import pytest

from tests.conftest import magics_of


def test_load_ext_registers_every_magic(ip):
    line_magics = ip.magics_manager.magics["line"]
    cell_magics = ip.magics_manager.magics["cell"]
    for name in ("argo_env", "argo_tasks", "argo_dag", "argo_status", "argo_logs"):
        assert name in line_magics
    for name in ("argo_task", "argo_dag"):
        assert name in cell_magics


@pytest.mark.parametrize("magic, words", [
    ("argo_task", ["--gpu", "--shm", "--data-volume", "Capture this cell"]),
    ("argo_dag", ["--dry-run", "--no-fail-fast", "``a >> b`` runs b after a"]),
    ("argo_env", ["--check", "--local", "token is never shown"]),
])
def test_help_reads_well(ip, magic, words):
    kind = "cell" if magic == "argo_task" else "line"
    help_text = ip.magics_manager.magics[kind][magic].__doc__
    assert f"%{magic}" in help_text  # the usage line names the magic itself
    for word in words:
        assert word in help_text


def test_summary_line_and_redefinition(ip, capsys):
    ip.run_cell_magic("argo_task", "--gpu --shm 2Gi --memory 16GB", "def train(path: str, lr: float = 0.1):\n    pass\n")
    first = capsys.readouterr().out
    assert first.startswith("task train (function) · image python:")
    assert "inputs path, lr=0.1" in first and "gpu 1, memory 16G, shm 2Gi" in first
    assert "--memory 16GB read as 16G" in first
    ip.run_cell_magic("argo_task", "", "def train(path: str):\n    pass\n")
    second = capsys.readouterr().out
    assert second.startswith("replaced task train")
    assert magics_of(ip).session.tasks["train"].inputs[0].name == "path"
    assert len(magics_of(ip).session.tasks["train"].inputs) == 1


def test_argo_tasks_table(ip, capsys):
    ip.run_line_magic("argo_tasks", "")
    assert "no tasks registered yet" in capsys.readouterr().out
    ip.run_cell_magic("argo_task", "", "def prepare():\n    pass\n")
    ip.run_cell_magic("argo_task", "report --inputs metrics --cpu 500m", "print(metrics)\n")
    capsys.readouterr()
    ip.run_line_magic("argo_tasks", "")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "kind", "image", "inputs", "resources"]
    assert lines[1].split()[:2] == ["prepare", "function"]
    assert lines[2].split()[:2] == ["report", "script"] and "metrics" in lines[2] and "cpu 500m" in lines[2]


def test_dry_run_shows_yaml_once_and_returns_the_workflow(ip, tmp_path):
    from hera.workflows import Workflow
    from IPython.utils.capture import capture_output

    ip.run_cell_magic("argo_task", "", "def prepare():\n    pass\n")
    with capture_output() as captured:
        result = ip.run_cell("w = %argo_dag --dry-run --yaml out.yaml prepare")
    assert result.success
    workflow = ip.user_ns["w"]
    assert isinstance(workflow, Workflow)
    shown = captured.stdout + "".join(str(output.data.get("text/plain", "")) for output in captured.outputs)
    assert shown.count("apiVersion: argoproj.io/v1alpha1") == 1
    assert "wrote" in shown and (tmp_path / "out.yaml").read_text() == workflow.to_yaml()
    # the returned object shows one line, not a pydantic repr
    assert ip.display_formatter.format(workflow)[0]["text/plain"].startswith("<Workflow hera-magics-")


def test_argo_logs_prints_a_task_log(ip, tmp_path, monkeypatch, capsys):
    from hera_magics.local import stop_engine

    ip.run_line_magic("argo_env", "--local")
    try:
        ip.run_cell_magic("argo_task", "", "def say():\n    print('spoken words')\n")
        run = ip.run_line_magic("argo_dag", "--no-widget say")
        run.wait(timeout=60)
        capsys.readouterr()
        ip.run_line_magic("argo_logs", f"{run.name} say")
        assert capsys.readouterr().out.strip() == "spoken words"
        ip.run_line_magic("argo_logs", "last")
        assert "say | spoken words" in capsys.readouterr().out
        ip.run_line_magic("argo_logs", f"{run.name} say --follow")
        assert "spoken words" in capsys.readouterr().out
    finally:
        stop_engine()


# ---------------------------------------------------------------------------------------------
# the options, declared once


def test_every_task_option_is_declared_once_and_fills_one_field(ip):
    import dataclasses

    from hera_magics.options import TASK_OPTIONS, TaskOptions

    assert len(TASK_OPTIONS) == 20 and len({option.flag for option in TASK_OPTIONS}) == 20
    fields = [option.fills for option in TASK_OPTIONS]
    assert sorted(fields) == sorted(field.name for field in dataclasses.fields(TaskOptions) if field.name != "notes")
    parser = ip.magics_manager.magics["cell"]["argo_task"].parser
    flags = {flag for action in parser._actions for flag in action.option_strings} - {"-h", "--help"}
    assert flags == {option.flag for option in TASK_OPTIONS}


def test_every_dag_option_is_declared_once(ip):
    from hera_magics.options import DAG_OPTIONS

    parser = ip.magics_manager.magics["line"]["argo_dag"].parser
    flags = {flag for action in parser._actions for flag in action.option_strings} - {"-h", "--help"}
    assert flags == {option.flag for option in DAG_OPTIONS} and len(DAG_OPTIONS) == len(flags)
