"""The journal: an engine killed between two full saves still knows every node it changed."""

from __future__ import annotations

import os
import signal

from hera_magics.local.journal import JOURNAL_FILE, Journal
from hera_magics.local.records import WorkflowRecord
from hera_magics.local.store import WorkflowStore
from tests.local_helpers import dag, nodes_by_display_name, process_gone, shell, start_engine, task, wait_for, workflow


def _record(name: str, resource_version: int, nodes: dict) -> WorkflowRecord:
    obj = {"metadata": {"name": name, "namespace": "argo", "resourceVersion": str(resource_version)},
           "status": {"phase": "Running", "nodes": nodes}}
    return WorkflowRecord("argo", name, obj)


def test_replay_lays_newer_lines_over_the_save_and_stops_at_a_cut_line(tmp_path):
    store = WorkflowStore(tmp_path)
    journal = Journal(store)
    record = _record("wf", 5, {"a": {"id": "a", "phase": "Pending"}})
    store.save("argo", "wf", record.obj)
    record.obj["metadata"]["resourceVersion"] = "4"
    journal.append(record, [{"id": "a", "phase": "Stale"}], status=False)  # older than the save
    record.obj["metadata"]["resourceVersion"] = "6"
    journal.append(record, [{"id": "a", "phase": "Running"}, {"id": "b", "phase": "Pending"}], status=True)
    record.obj["metadata"]["resourceVersion"] = "7"
    journal.append(record, [{"id": "b", "phase": "Succeeded"}], status=False)
    path = store.workflow_dir("argo", "wf") / JOURNAL_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2] + [lines[2][:10]]) + "\n")  # the last line cut by a crash

    loaded = next(store.load_all())
    assert journal.replay(loaded) == 6
    assert loaded["metadata"]["resourceVersion"] == "6"
    assert loaded["status"]["phase"] == "Running"
    assert loaded["status"]["nodes"] == {"a": {"id": "a", "phase": "Running"}, "b": {"id": "b", "phase": "Pending"}}
    journal.reset(record)
    assert not path.exists()


def test_a_pod_started_just_before_a_crash_is_not_run_again(tmp_path):
    runs = tmp_path / "runs"
    state = tmp_path / "state"
    document = workflow([dag([task("busy", "busy")]), shell("busy", f"echo ran >> {runs}; sleep 30")])
    first = start_engine(state, workers=2)
    name = first.submit(document)
    wait_for(runs.exists, what="the task to start")
    pid = first.process.pid
    os.kill(pid, signal.SIGKILL)  # no clean-up and no save: a crash
    first.process.wait()
    wait_for(lambda: process_gone(pid), what="the engine to die")
    first.session.close()
    second = start_engine(state, workers=2)
    try:
        done = second.wait(name)
    finally:
        second.stop()
    node = nodes_by_display_name(done)["busy"]
    assert (node["phase"], node["message"]) == ("Error", "the local engine stopped while this task ran")
    assert runs.read_text() == "ran\n"
