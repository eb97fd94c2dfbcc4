"""Starting, finding and stopping the engine process: a restart keeps finished work, ``ensure_engine`` starts once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from hera_magics.local import ensure_engine, read_engine_state, running_engine, stop_engine
from tests.local_helpers import (
    busy_workflow,
    nodes_by_display_name,
    process_gone,
    shell,
    start_engine,
    started_child,
    wait_for,
    workflow,
)


def test_an_engine_restart_keeps_finished_work_and_ends_interrupted_work(tmp_path):
    state = tmp_path / "state"
    first = start_engine(state, workers=2)
    try:
        finished = first.submit(workflow([shell("main", "echo remembered")]))
        first.wait(finished)
        clash = subprocess.run([sys.executable, "-m", "hera_magics.local", "--port", "0", "--token", "other",
                                "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
        assert clash.returncode == 1 and "already uses" in clash.stderr and not clash.stdout
        interrupted = first.submit(busy_workflow(tmp_path / "child.pid"))
        child = started_child(tmp_path / "child.pid")
    finally:
        first.stop()
    # Stopping the engine stops what it runs: no orphan keeps going.
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")

    second = start_engine(state, workers=2, token="another-token-abcdef")
    try:
        assert second.get(finished)["status"]["phase"] == "Succeeded"
        log = second.request("GET", f"api/v1/workflows/argo/{finished}/log", params={"logOptions.container": "main"})
        assert json.loads(log.text)["result"] == {"content": "remembered", "podName": finished}
        listed = second.request("GET", "api/v1/workflows/argo").json()["items"]
        assert sorted(item["metadata"]["name"] for item in listed) == sorted([finished, interrupted])
        done = second.wait(interrupted)
        assert done["status"]["phase"] == "Error"
        busy = nodes_by_display_name(done)["busy"]
        assert (busy["phase"], busy["message"]) == ("Error", "the local engine stopped while this task ran")
    finally:
        second.stop()


def test_ensure_engine_starts_once_and_reuses_the_running_engine(tmp_path, monkeypatch):
    folder = tmp_path / "user-state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(folder))
    url, token = ensure_engine(workers=2)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url) and len(token) >= 32
        state_file = folder / "local-engine.json"
        assert state_file.stat().st_mode & 0o777 == 0o600
        state = read_engine_state()
        assert state == {"url": url, "port": int(url.rstrip("/").rsplit(":", 1)[1]), "token": token,
                         "pid": state["pid"], "workers": 2, "volumes": {},
                         "filesystemView": state["filesystemView"],
                         "id": (folder / "engine-id").read_text().strip()}
        assert ensure_engine() == (url, token)  # the same engine, not a second one
        assert read_engine_state()["pid"] == state["pid"]
        answer = requests.get(url + "api/v1/version", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200
        # The token travels in the environment, never on the engine's command line.
        assert token.encode() not in Path(f"/proc/{state['pid']}/cmdline").read_bytes()
        assert token.encode() not in Path(f"/proc/{state['pid']}/environ").read_bytes()
    finally:
        assert stop_engine() is True
    assert not (folder / "local-engine.json").exists()
    assert running_engine() is None
    wait_for(lambda: process_gone(state["pid"]), timeout=10, what="the engine to exit")
    assert stop_engine() is False
