"""Review fixes of the local engine's start: no Argo token reaches it, and what --workers does.

Real engine processes over HTTP; the token check reads the engine's ``/proc/<pid>/environ`` (the
environment it was started with) and what a task sees in ``os.environ``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hera_magics.local import read_engine_state, stop_engine

from .conftest import magics_of

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
