"""``synchronization`` mutexes across the workflows of one engine, as Argo v4.0.5 keeps them.

Argo's sources: ``examples/synchronization-mutex-wf-level.yaml`` and
``examples/synchronization-mutex-tmpl-level.yaml``; ``workflow/sync/lock_name.go`` (lock
``NAMESPACE/Mutex/NAME``), ``sync_manager.go`` (``getHolderKey``: ``NAMESPACE/WORKFLOW`` or
``NAMESPACE/WORKFLOW/NODE-ID``; ``ReleaseAll`` drops ``status.synchronization`` when the workflow
completes), ``semaphore.go:checkAcquire`` (``Waiting for LOCK lock. Lock status: 0/1``);
``workflow/controller/operator.go``: ``operate`` keeps a workflow waiting for its lock
``Pending`` with that message, ``releaseLocksForPendingShuttingdownWfs`` fails a terminated one
with ``Stopped with strategy 'Terminate'``, ``executeTemplate`` creates a waiting node
``Pending`` with the message and ``synchronizationStatus.waiting`` (``markNodeWaitingForLock``).
Semaphores need ConfigMaps and database locks a database: both are refused.
"""

from __future__ import annotations

import uuid

from tests.local_helpers import error_of, shell, workflow


def mutex() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def locked_workflow(name: str, script: str = "sleep 1") -> dict:
    return workflow([shell("main", script)], synchronization={"mutexes": [{"name": name}]})


def test_a_workflow_waits_pending_for_the_workflow_level_mutex(engine):
    name = mutex()
    first = engine.submit(locked_workflow(name, "sleep 1.5"))
    engine.wait_until(first, lambda wf: wf["status"].get("phase") == "Running", what="Running")
    second = engine.submit(locked_workflow(name, "true"))
    waiting = engine.wait_until(second, lambda wf: wf["status"].get("phase") == "Pending", what="Pending")
    lock = f"argo/Mutex/{name}"
    status = waiting["status"]
    assert status["message"] == f"Waiting for {lock} lock. Lock status: 0/1"
    assert status["synchronization"] == {"mutex": {"waiting": [{"mutex": lock, "holder": f"argo/{first}"}]}}
    assert "startedAt" not in status or not status["startedAt"]
    holding = engine.get(first)["status"]["synchronization"]
    assert holding == {"mutex": {"holding": [{"mutex": lock, "holder": f"argo/{first}"}]}}
    done_first, done_second = engine.wait(first), engine.wait(second)
    assert done_first["status"]["phase"] == done_second["status"]["phase"] == "Succeeded"
    assert "synchronization" not in done_first["status"] and "synchronization" not in done_second["status"]
    assert done_second["status"]["startedAt"] >= done_first["status"]["finishedAt"]
    assert "message" not in done_second["status"]


def test_nodes_of_a_locked_template_run_one_at_a_time(engine, tmp_path):
    name = mutex()
    events = tmp_path / "events"
    body = workflow([
        {"name": "main", "steps": [[{"name": "lock", "template": "locked", "withItems": [1, 2, 3]}]]},
        {**shell("locked", f"echo start >> {events}; sleep 0.4; echo end >> {events}"),
         "synchronization": {"mutex": {"name": name}}},  # the deprecated form
    ])
    run = engine.submit(body)
    seen = engine.wait_until(run, lambda wf: any(node.get("synchronizationStatus")
                                                 for node in wf["status"].get("nodes", {}).values()),
                             what="a node waiting for the lock")
    waiting = next(node for node in seen["status"]["nodes"].values() if node.get("synchronizationStatus"))
    lock = f"argo/Mutex/{name}"
    assert waiting["type"] == "Pod" and waiting["phase"] == "Pending"
    assert waiting["message"] == f"Waiting for {lock} lock. Lock status: 0/1"
    assert waiting["synchronizationStatus"] == {"waiting": lock}
    holding = seen["status"]["synchronization"]["mutex"]["holding"]
    assert holding[0]["mutex"] == lock and holding[0]["holder"].startswith(f"argo/{run}/{run}-")
    done = engine.wait(run)
    assert done["status"]["phase"] == "Succeeded"
    items = sorted((node for node in done["status"]["nodes"].values() if node["type"] == "Pod"),
                   key=lambda node: node["startedAt"])
    assert len(items) == 3
    for node in items:
        assert "synchronizationStatus" not in node and "message" not in node
    assert events.read_text().split() == ["start", "end"] * 3  # never two at once
    assert "synchronization" not in done["status"]


def holder_and_waiter(engine, script: str) -> tuple[str, str]:
    """A running workflow holding a fresh mutex (running ``script``), and a second one waiting."""
    name = mutex()
    first = engine.submit(locked_workflow(name, script))
    engine.wait_until(first, lambda wf: wf["status"].get("phase") == "Running", what="Running")
    second = engine.submit(locked_workflow(name, "true"))
    engine.wait_until(second, lambda wf: wf["status"].get("phase") == "Pending", what="Pending")
    return first, second


def test_terminating_a_waiting_workflow_fails_it(engine):
    first, second = holder_and_waiter(engine, "sleep 3")
    answer = engine.request("PUT", f"api/v1/workflows/argo/{second}/terminate", json={})
    assert answer.status_code == 200, answer.text
    done = engine.wait(second)
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == "Stopped with strategy 'Terminate'"
    engine.request("PUT", f"api/v1/workflows/argo/{first}/terminate", json={})
    engine.wait(first)


def test_deleting_the_holder_lets_the_next_workflow_run(engine):
    first, second = holder_and_waiter(engine, "sleep 30")
    assert engine.request("DELETE", f"api/v1/workflows/argo/{first}").status_code == 200
    assert engine.wait(second)["status"]["phase"] == "Succeeded"


def test_semaphores_and_database_locks_are_refused_naming_the_field(engine):
    answer = engine.create(workflow([shell("main", "true")], synchronization={
        "semaphores": [{"configMapKeyRef": {"name": "my-config", "key": "workflow"}}]}))
    status, _, message = error_of(answer)
    assert status == 400 and message.startswith("spec.synchronization.semaphores: ")
    answer = engine.create(workflow([{**shell("main", "true"), "synchronization": {
        "mutexes": [{"name": "x", "database": True}]}}]))
    assert error_of(answer)[2].startswith("templates.main.synchronization.mutexes[0].database: ")


def test_locks_and_waiting_nodes_survive_an_engine_restart(tmp_path):
    """Argo's ``Manager.Initialize`` reads the holdings back from each workflow's status."""
    from tests.local_helpers import start_engine

    own = start_engine(tmp_path / "state")
    try:
        name = mutex()
        template = {**shell("locked", "sleep 60"), "synchronization": {"mutexes": [{"name": name}]}}
        body = workflow([{"name": "main", "steps": [[{"name": "lock", "template": "locked",
                                                       "withItems": [1, 2]}]]}, template])
        run = own.submit(body)
        own.wait_until(run, lambda wf: any(node.get("synchronizationStatus")
                                           for node in wf["status"].get("nodes", {}).values()), what="a waiter")
    finally:
        own.stop()
    again = start_engine(tmp_path / "state")
    try:
        # The interrupted holder is released; the waiter takes the lock and runs (killed by a stop).
        started = again.wait_until(run, lambda wf: sum(node.get("phase") == "Running" and node["type"] == "Pod"
                                                       for node in wf["status"]["nodes"].values()) == 1,
                                   what="the waiter running")
        interrupted = [node for node in started["status"]["nodes"].values() if node.get("phase") == "Error"]
        assert len(interrupted) == 1
        assert started["status"]["synchronization"]["mutex"]["holding"][0]["mutex"] == f"argo/Mutex/{name}"
        again.request("PUT", f"api/v1/workflows/argo/{run}/terminate", json={})
        assert again.wait(run)["status"]["phase"] == "Failed"
    finally:
        again.stop()


def test_stopping_a_workflow_fails_a_dag_node_waiting_for_a_lock(engine):
    name = mutex()
    locked_dag = {"name": "inner", "synchronization": {"mutexes": [{"name": name}]},
                  "dag": {"tasks": [{"name": "t", "template": "work"}]}}
    holder = engine.submit(workflow([locked_dag, shell("work", "sleep 30")], entrypoint="inner"))
    engine.wait_until(holder, lambda wf: wf["status"].get("phase") == "Running", what="Running")
    waiter = engine.submit(workflow([{"name": "main", "steps": [[{"name": "s", "template": "inner"}]]},
                                     locked_dag, shell("work", "true")]))
    engine.wait_until(waiter, lambda wf: any(node.get("synchronizationStatus")
                                             for node in wf["status"].get("nodes", {}).values()), what="a waiter")
    assert engine.request("PUT", f"api/v1/workflows/argo/{waiter}/stop", json={}).status_code == 200
    done = engine.wait(waiter)
    assert done["status"]["phase"] == "Failed"
    waiting = next(node for node in done["status"]["nodes"].values() if node["displayName"] == "s")
    assert waiting["type"] == "DAG" and waiting["phase"] == "Failed"
    engine.request("PUT", f"api/v1/workflows/argo/{holder}/terminate", json={})
    engine.wait(holder)
