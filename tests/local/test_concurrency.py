"""How many tasks run at once: independent tasks together, ``parallelism``, and ``--workers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local_helpers import dag, nodes_by_display_name, python_script, start_engine, task, workflow


def recorder(name: str, events: Path, seconds: float) -> dict:
    """A task that appends ``start X`` and ``end X`` around a sleep to a shared file."""
    return python_script(name, f"""import time
with open({str(events)!r}, "a") as f: f.write("start {{{{inputs.parameters.label}}}}\\n")
time.sleep({seconds})
with open({str(events)!r}, "a") as f: f.write("end {{{{inputs.parameters.label}}}}\\n")
""", inputs=["label"])


def test_independent_tasks_run_at_the_same_time(engine, tmp_path):
    events = tmp_path / "events"
    name = engine.submit(workflow([
        dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})]),
        recorder("sleep", events, 1.0),
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert sorted(order[:2]) == ["start a", "start b"], order  # both started before either ended
    nodes = nodes_by_display_name(done)
    a, b = nodes["a"], nodes["b"]
    assert a["startedAt"] <= b["finishedAt"] and b["startedAt"] <= a["finishedAt"]


@pytest.mark.parametrize("where", ["workflow", "template"])
def test_parallelism_one_runs_one_task_at_a_time(engine, tmp_path, where):
    events = tmp_path / "events"
    main = dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})])
    options = {}
    if where == "workflow":
        options["parallelism"] = 1
    else:
        main["parallelism"] = 1
    name = engine.submit(workflow([main, recorder("sleep", events, 0.5)], **options))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert order in (["start a", "end a", "start b", "end b"], ["start b", "end b", "start a", "end a"]), order
    nodes = nodes_by_display_name(done)
    first, second = nodes[order[0][-1]], nodes[order[2][-1]]
    assert second["startedAt"] >= first["finishedAt"]


def test_workers_bound_how_many_processes_run_at_once(tmp_path):
    single = start_engine(tmp_path / "state", workers=1)
    try:
        events = tmp_path / "events"
        done = single.wait(single.submit(workflow([
            dag([task("a", "sleep", arguments={"label": "a"}), task("b", "sleep", arguments={"label": "b"})]),
            recorder("sleep", events, 0.3),
        ])))
    finally:
        single.stop()
    assert done["status"]["phase"] == "Succeeded"
    order = events.read_text().split("\n")[:-1]
    assert order in (["start a", "end a", "start b", "end b"], ["start b", "end b", "start a", "end a"]), order
