"""Pods as local process trees: deadlines, stop and terminate, delete, all killing the whole tree."""

from __future__ import annotations

import pytest

from hera_magics.argo import OMITTED_MESSAGE
from tests.local_helpers import (
    busy_workflow,
    dag,
    error_of,
    nodes_by_display_name,
    process_gone,
    shell,
    started_child,
    task,
    wait_for,
    workflow,
)


@pytest.mark.parametrize("limit", [{"timeout": "1s"}, {"activeDeadlineSeconds": 1}])
def test_template_deadlines_fail_the_node(engine, limit):
    done = engine.wait(engine.submit(workflow([dag([task("slow", "slow")]), shell("slow", "sleep 30", **limit)])))
    slow = nodes_by_display_name(done)["slow"]
    assert slow["phase"] == "Failed"
    assert slow["message"] == "Pod was active on the node longer than the specified deadline"
    assert done["status"]["phase"] == "Failed"


def test_workflow_deadline_fails_the_workflow(engine):
    done = engine.wait(engine.submit(workflow([dag([task("slow", "slow")]), shell("slow", "sleep 30")],
                                              activeDeadlineSeconds=1)))
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == "Step exceeded its deadline"
    assert nodes_by_display_name(done)["slow"]["message"] == "Step exceeded its deadline"


@pytest.mark.parametrize("action", ["stop", "terminate"])
def test_stop_and_terminate_kill_the_whole_process_tree(engine, tmp_path, action):
    # The task starts a child process (sleep) and waits for it: both must die.
    document = busy_workflow(tmp_path / "child.pid")
    document["spec"]["templates"][0]["dag"]["tasks"].append(task("later", "busy", depends="busy"))
    name = engine.submit(document)
    child = started_child(tmp_path / "child.pid")

    running = engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={})
    assert error_of(running) == (400, 3, "Cannot retry a workflow in phase Running")

    answer = engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json={})
    assert answer.status_code == 200
    strategy = "Stop" if action == "stop" else "Terminate"
    assert answer.json()["spec"]["shutdown"] == strategy
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == f"Stopped with strategy '{strategy}'"
    nodes = nodes_by_display_name(done)
    assert nodes["busy"]["phase"] == "Failed"
    assert nodes["busy"]["message"] == f"workflow shutdown with strategy:  {strategy}"
    # it never ran: once busy has failed, later's "depends: busy" cannot hold, and a task whose
    # depends cannot hold is recorded Omitted even while nothing new may start (the engine's rule,
    # hera_magics/local/__init__.py: "Omitted nodes are still recorded")
    later = nodes["later"]
    assert (later["type"], later["phase"], later["message"]) == ("Skipped", "Omitted", OMITTED_MESSAGE)
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")

    again = engine.request("PUT", f"api/v1/workflows/argo/{name}/{action}", json={})
    assert error_of(again) == (500, 13, f'cannot shutdown a completed workflow: workflow: "{name}", namespace: "argo"')


def test_deleting_a_running_workflow_kills_its_tasks(engine, tmp_path):
    name = engine.submit(busy_workflow(tmp_path / "child.pid"))
    child = started_child(tmp_path / "child.pid")
    deleted = engine.request("DELETE", f"api/v1/workflows/argo/{name}")
    assert deleted.status_code == 200 and deleted.json() == {}
    wait_for(lambda: process_gone(child), timeout=10, what=f"child process {child} to be gone")
    assert engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == 404
