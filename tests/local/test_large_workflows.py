"""Workflows of thousands of nodes are accepted and run (issue 10): no recursion grows with the DAG.

The nodes here are Skipped by ``when`` (they need no process), so the tests stay quick while the
engine still parses, validates, schedules and assesses thousands of tasks and items. The same
sizes with real processes are in ``bench/scaling.py``.
"""

from __future__ import annotations

from tests.local_helpers import dag, nodes_by_display_name, shell, task, workflow


def test_a_task_that_depends_on_two_thousand_others_is_accepted_and_runs(engine):
    # Before, the depends parser and evaluator recursed once per operand: HTTP 500 RecursionError.
    names = [f"t{index}" for index in range(2000)]
    tasks = [task(name, "ok", when="1 == 2") for name in names]
    tasks.append(task("end", "ok", depends=" && ".join(names)))
    done = engine.wait(engine.submit(workflow([dag(tasks), shell("ok", "true")])), timeout=120)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    assert len(done["status"]["nodes"]) == 2002
    assert nodes["end"]["phase"] == "Succeeded"
    assert nodes["t1999"]["children"] == [nodes["end"]["id"]]


def test_a_thousand_item_map_is_accepted_and_runs(engine):
    main = dag([
        task("work", "ok", withItems=list(range(1000)), when="{{item}} > 998"),
        task("end", "ok", depends="work"),
    ])
    done = engine.wait(engine.submit(workflow([main, shell("ok", "true")])), timeout=120)
    nodes = nodes_by_display_name(done)
    assert done["status"]["phase"] == "Succeeded"
    group = nodes["work"]
    assert len(group["children"]) == 1000 and group["phase"] == "Succeeded"
    assert nodes["work(999:999)"]["phase"] == "Succeeded" and nodes["work(998:998)"]["phase"] == "Skipped"
    assert nodes["end"]["phase"] == "Succeeded"
