"""``make demo`` leaves the local engine running and says how to stop it: that line must work as
printed, from another terminal (no ``HERA_MAGICS_STATE_DIR`` there, another folder)."""

from __future__ import annotations

import os
import subprocess
import sys

from hera_magics.demo import engine_stop_line
from hera_magics.local import read_engine_state, stop_engine
from tests.local_helpers import process_gone, wait_for


def test_the_printed_stop_line_stops_the_demo_s_engine_from_another_terminal(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(folder))
    # Started by another process that ends, as the demo's kernel does (an engine that is this
    # process's child would linger as a zombie that only this process can reap).
    subprocess.run([sys.executable, "-c", "from hera_magics.local import ensure_engine; ensure_engine(workers=1)"],
                   check=True, timeout=60)
    pid = read_engine_state()["pid"]
    try:
        line = engine_stop_line()
        assert f"{sys.executable} -m hera_magics.local stop" in line
        terminal = {key: value for key, value in os.environ.items() if key != "HERA_MAGICS_STATE_DIR"}
        finished = subprocess.run(line, shell=True, capture_output=True, text=True, cwd="/", env=terminal, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert f"stopped the local engine (pid {pid})" in finished.stdout
        wait_for(lambda: process_gone(pid), timeout=30, what="the engine to exit")
    finally:
        stop_engine()
