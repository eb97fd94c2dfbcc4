"""A template's ``retryStrategy``: which failures are retried, the back-off, and the attempts a real engine makes."""

from __future__ import annotations

import pytest

from hera_magics.argo import node_id
from hera_magics.local.retries import retry_allowed, retry_backoff_seconds
from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow


# ---------------------------------------------------------------------------------------------
# which failures are retried, and how long to wait (pure)


@pytest.mark.parametrize(
    ("policy", "phase", "expected"),
    [
        (None, "Failed", True), (None, "Error", False),
        ("OnFailure", "Failed", True), ("OnFailure", "Error", False),
        ("OnError", "Failed", False), ("OnError", "Error", True),
        ("Always", "Failed", True), ("Always", "Error", True),
        ("OnTransientError", "Failed", False), ("OnTransientError", "Error", False),
    ],
)
def test_retry_policies(policy, phase, expected):
    assert retry_allowed(policy, phase) is expected


@pytest.mark.parametrize(
    ("backoff", "attempts", "seconds"),
    [
        ({}, 3, 0),
        ({"duration": "1s"}, 1, 1),
        ({"duration": "2", "factor": 2}, 1, 2),
        ({"duration": "2", "factor": 2}, 3, 8),
        ({"duration": "1m", "factor": "3", "cap": "2m"}, 4, 120),
    ],
)
def test_retry_backoff(backoff, attempts, seconds):
    assert retry_backoff_seconds(backoff, attempts) == pytest.approx(seconds)


# ---------------------------------------------------------------------------------------------
# attempts on a real engine


def test_retries_make_attempt_children(engine, tmp_path):
    counter = tmp_path / "count"
    flaky = python_script("flaky", f"""import os, sys
path = {str(counter)!r}
count = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(count + 1))
print("attempt", count)
sys.exit(0 if count >= 1 else 5)
""", retryStrategy={"limit": 3})
    doomed = shell("doomed", "exit 4", retryStrategy={"limit": "1", "retryPolicy": "Always"})
    done = engine.wait(engine.submit(workflow([
        dag([task("flaky", "flaky"), task("doomed", "doomed")], failFast=False), flaky, doomed])))
    nodes = nodes_by_display_name(done)
    name = done["metadata"]["name"]

    assert nodes["flaky"]["type"] == "Retry" and nodes["flaky"]["phase"] == "Succeeded"
    assert nodes["flaky"]["children"] == [nodes["flaky(0)"]["id"], nodes["flaky(1)"]["id"]]
    assert nodes["flaky(0)"]["phase"] == "Failed" and nodes["flaky(0)"]["message"] == "main: Error (exit code 5)"
    assert nodes["flaky(1)"]["phase"] == "Succeeded"
    assert nodes["flaky(1)"]["id"] == node_id(name, f"{name}.flaky(1)")
    assert "flaky(2)" not in nodes

    assert nodes["doomed"]["phase"] == "Failed" and nodes["doomed"]["message"] == "No more retries left"
    assert [nodes[f"doomed({index})"]["phase"] for index in range(2)] == ["Failed", "Failed"]
    assert "doomed(2)" not in nodes
    assert nodes["doomed"]["progress"] == "0/2" and nodes["flaky"]["progress"] == "1/2"
