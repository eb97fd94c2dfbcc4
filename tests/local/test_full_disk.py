"""A task whose log fills the disk fails with a message, and stop and terminate always work (issue 9 #13).

The log is written by the engine (one line at a time, from the task's pipes). Two real ways to
make that write fail, neither of them a mock:

* the engine's workflows folder is a 1 MB tmpfs in the engine's own mount namespace: the log
  grows until the kernel answers ENOSPC, a truly full disk (where user namespaces exist);
* the engine runs under ``prlimit --fsize`` (RLIMIT_FSIZE): a write past the limit fails with
  EFBIG, on any Linux.

Before the fix the log's reader thread died on the error, the task blocked on its full pipe and
stayed Running for ever, and terminate answered 500 (the save failed).
"""

from __future__ import annotations

import pytest

from tests.local.disk_helpers import (
    needs_namespaces,
    needs_prlimit,
    start_engine_on_small_disk,
    start_engine_with_file_size_limit,
)
from tests.local_helpers import nodes_by_display_name, python_script, workflow

FLOOD = """import sys
line = "x" * 1000 + "\\n"
for _ in range(20_000):  # 20 MB of log, far beyond the disk
    sys.stdout.write(line)
print("never blocked")
"""
SLEEP = "import time\ntime.sleep(600)\n"


def _check_flood_fails_and_terminate_works(engine, reason: str) -> None:
    sleeper = engine.submit(workflow([python_script("main", SLEEP)], generate_name="sleeper-"))
    engine.wait_until(sleeper, lambda done: any(node.get("phase") == "Running"
                                                for node in done["status"].get("nodes", {}).values()),
                      what="the sleeper to run")
    flood = engine.wait(engine.submit(workflow([python_script("main", FLOOD)], generate_name="flood-")), timeout=120)
    node = nodes_by_display_name(flood)[flood["metadata"]["name"]]
    assert flood["status"]["phase"] == "Failed"
    assert node["phase"] == "Failed"
    assert node["message"].startswith(f"the task's log could not be written ({reason})")

    # The disk is still full: terminate and stop still answer, and the workflow ends.
    answer = engine.request("PUT", f"api/v1/workflows/argo/{sleeper}/terminate", json={})
    assert answer.status_code == 200, answer.text
    assert engine.wait(sleeper)["status"]["phase"] == "Failed"
    # Deleting the flood frees the space: a new workflow runs again.
    assert engine.request("DELETE", f"api/v1/workflows/argo/{flood['metadata']['name']}").status_code == 200
    again = engine.wait(engine.submit(workflow([python_script("main", "print('fine')")])))
    assert again["status"]["phase"] == "Succeeded"


@needs_namespaces
def test_a_log_that_fills_the_disk_fails_the_task(tmp_path):
    engine = start_engine_on_small_disk(tmp_path / "state", "1m")
    try:
        _check_flood_fails_and_terminate_works(engine, "No space left on device")
    finally:
        engine.stop()


@needs_prlimit
def test_a_log_over_the_file_size_limit_fails_the_task(tmp_path):
    engine = start_engine_with_file_size_limit(tmp_path / "state", 1024 * 1024)
    try:
        _check_flood_fails_and_terminate_works(engine, "File too large")
    finally:
        engine.stop()


@pytest.mark.parametrize("strategy", ["stop", "terminate"])
@needs_namespaces
def test_stop_and_terminate_answer_while_nothing_can_be_saved(tmp_path, strategy):
    engine = start_engine_on_small_disk(tmp_path / "state", "1m")
    try:
        sleeper = engine.submit(workflow([python_script("main", SLEEP)]))
        engine.wait_until(sleeper, lambda done: done["status"].get("phase") == "Running", what="Running")
        filler = engine.submit(workflow([python_script("main", FLOOD)], generate_name="flood-"))
        engine.wait(filler, timeout=120)
        answer = engine.request("PUT", f"api/v1/workflows/argo/{sleeper}/{strategy}", json={})
        assert answer.status_code == 200, answer.text
        done = engine.wait(sleeper)
        assert done["status"]["phase"] == "Failed"
        assert "Stopped with strategy" in done["status"]["message"]
    finally:
        engine.stop()
