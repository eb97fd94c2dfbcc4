"""hera_magics.status on real Argo workflow objects and on tables of small cases.

The expected rows below were written by hand from reading each fixture's YAML/JSON (node types,
children, phases, messages, times), not produced by running the code. Pod names were derived
from each node id: a v2 pod name is the node id with ``<wf>-`` replaced by
``<wf>-<templateName>-`` (same fnv32a hash, see notes/argo-api.md §4.3).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from hera_magics.argo import OMITTED_MESSAGE, fnv32a
from hera_magics.status import (
    SKIPPED_MESSAGE,
    count_progress,
    failed_rows,
    is_final,
    parse_progress,
    seconds_between,
    summary,
    task_rows,
)
from tests.conftest import ARGO_FIXTURES

FIXTURES = ARGO_FIXTURES
MODERN = FIXTURES / "modern"


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        if path.suffix == ".json":
            return json.load(handle)
        return yaml.safe_load(handle)


def as_wire_json(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow as the server would send it: datetimes as RFC3339 ``Z`` strings."""

    def encode(value: Any) -> str:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        raise TypeError(value)

    return json.loads(json.dumps(workflow, default=encode))


def row(
    task: str,
    template: str,
    phase: str,
    started: datetime | None,
    finished: datetime | None,
    duration: float | None,
    message: str,
    retries: int,
    node_id: str,
    pod: str | None,
    exit_code: int | None,
) -> dict[str, Any]:
    return {
        "task": task,
        "template": template,
        "phase": phase,
        "started": started,
        "finished": finished,
        "duration": duration,
        "message": message,
        "retries": retries,
        "node_id": node_id,
        "pod_name": pod,
        "exit_code": exit_code,
    }


# ---------------------------------------------------------------------------------------------
# Expected rows and summaries, fixture by fixture.

FAIL_FAST = "dag-disable-fail-fast-r6xdc"
RETRY_DAGS = "retry-with-dags"
RETRY_OK = "dag-with-retries-4wkh8"
XFAIL = "dag-fail-r4gvc"
STEPS = "failed-retries-tjjsc"
M2NVB = "sdk-conformance-verify-manual-m2nvb"
QHTMJ = "sdk-conformance-verify-manual-qhtmj"
GHSA = "hello-world-7tv5g"

EXPECTED: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    # Failed DAG, failFast false; B and C are Retry nodes; A -> B, C; B(0) -> D -> E.
    "dag-disable-fail-fast.yaml": (
        {
            "name": FAIL_FAST,
            "namespace": "default",
            "phase": "Failed",
            # No status.progress: counted over the 6 Pod nodes, C(0) and C(1) failed.
            "done": 4,
            "total": 6,
            "progress": "4/6",
            "started": utc(2019, 6, 26, 9, 11, 58),
            "finished": utc(2019, 6, 26, 9, 12, 46),
            "elapsed": 48.0,
            "message": "",
        },
        [
            row("A", "a", "Succeeded", utc(2019, 6, 26, 9, 11, 58), utc(2019, 6, 26, 9, 12, 2),
                4.0, "", 0, f"{FAIL_FAST}-3928436299", f"{FAIL_FAST}-a-3928436299", None),
            # B and C start in the same second: the name decides.
            row("B", "b", "Succeeded", utc(2019, 6, 26, 9, 12, 3), utc(2019, 6, 26, 9, 12, 36),
                33.0, "", 0, f"{FAIL_FAST}-4286504589", f"{FAIL_FAST}-b-4286504589", None),
            row("C", "c", "Failed", utc(2019, 6, 26, 9, 12, 3), utc(2019, 6, 26, 9, 12, 13),
                10.0, "No more retries left; last attempt: failed with exit code 2", 1,
                f"{FAIL_FAST}-3457680277", f"{FAIL_FAST}-c-3457680277", None),
            row("D", "d", "Succeeded", utc(2019, 6, 26, 9, 12, 37), utc(2019, 6, 26, 9, 12, 41),
                4.0, "", 0, f"{FAIL_FAST}-3978769156", f"{FAIL_FAST}-d-3978769156", None),
            row("E", "d", "Succeeded", utc(2019, 6, 26, 9, 12, 42), utc(2019, 6, 26, 9, 12, 45),
                3.0, "", 0, f"{FAIL_FAST}-3995546775", f"{FAIL_FAST}-d-3995546775", None),
        ],
    ),
    # Nested DAG sub-dag1 holding Retry "fail" (2 failed attempts); success2 Omitted.
    "dag-exhausted-retries-xfail.yaml": (
        {
            "name": RETRY_DAGS,
            "namespace": None,
            "phase": "Running",
            "done": 1,
            "total": 3,
            "progress": "1/3",
            "started": utc(2020, 6, 2, 0, 26, 32),
            "finished": None,
            "elapsed": None,
            "message": "",
        },
        [
            row("success1", "success", "Succeeded", utc(2020, 6, 2, 0, 26, 32),
                utc(2020, 6, 2, 0, 26, 36), 4.0, "", 0, f"{RETRY_DAGS}-731586981",
                f"{RETRY_DAGS}-success-731586981", 0),
            row("sub-dag1.fail", "fail", "Failed", utc(2020, 6, 2, 0, 26, 37),
                utc(2020, 6, 2, 0, 26, 47), 10.0,
                "No more retries left; last attempt: failed with exit code 1", 1,
                f"{RETRY_DAGS}-3153835778", f"{RETRY_DAGS}-fail-3153835778", 1),
            row("success2", "success", "Omitted", utc(2020, 6, 2, 0, 26, 48),
                utc(2020, 6, 2, 0, 26, 48), 0.0, "omitted: depends condition not met", 0,
                f"{RETRY_DAGS}-2924926995", None, None),
        ],
    ),
    # Early snapshot: no status.phase, no finishedAt; Retry step1 succeeded on attempt 3.
    "dag_retry_succeeded.yaml": (
        {
            "name": RETRY_OK,
            "namespace": "default",
            "phase": "Pending",
            "done": 1,
            "total": 3,
            "progress": "1/3",
            "started": utc(2018, 8, 1, 10, 22, 43),
            "finished": None,
            "elapsed": None,
            "message": "",
        },
        [
            row("step1", "randomly-fail", "Succeeded", utc(2018, 8, 1, 10, 22, 43),
                utc(2018, 8, 1, 10, 23, 9), 26.0, "", 2, f"{RETRY_OK}-2172006682",
                f"{RETRY_OK}-randomly-fail-2172006682", None),
        ],
    ),
    # Running diamond: A, then B and C (same start second), D not created yet.
    "dag_xfail.yaml": (
        {
            "name": XFAIL,
            "namespace": "default",
            "phase": "Running",
            "done": 2,
            "total": 3,
            "progress": "2/3",
            "started": utc(2018, 8, 1, 9, 57, 43),
            "finished": None,
            "elapsed": None,
            "message": "",
        },
        [
            row("A", "echo", "Succeeded", utc(2018, 8, 1, 9, 57, 43), utc(2018, 8, 1, 9, 57, 52),
                9.0, "", 0, f"{XFAIL}-848175806", f"{XFAIL}-echo-848175806", None),
            row("B", "echo", "Succeeded", utc(2018, 8, 1, 9, 57, 53), utc(2018, 8, 1, 9, 57, 58),
                5.0, "", 0, f"{XFAIL}-831398187", f"{XFAIL}-echo-831398187", None),
            row("C", "echo", "Failed", utc(2018, 8, 1, 9, 57, 53), utc(2018, 8, 1, 9, 58, 1),
                8.0, "failed with exit code 1", 0, f"{XFAIL}-814620568",
                f"{XFAIL}-echo-814620568", None),
        ],
    ),
    # Steps: one StepGroup [0] with two Retry steps; the Retry nodes carry no templateName.
    "steps-failed-retries.yaml": (
        {
            "name": STEPS,
            "namespace": "default",
            "phase": "Running",
            "done": 0,
            "total": 4,
            "progress": "0/4",
            "started": utc(2019, 1, 3, 1, 23, 18),
            "finished": None,
            "elapsed": None,
            "message": "",
        },
        [
            # Both start 01:23:18: "...[0].delayed-fail" sorts before "...[0].fail".
            row("delayed-fail", "delayed-fail", "Running", utc(2019, 1, 3, 1, 23, 18), None,
                None, "last attempt: failed with exit code 1", 1, f"{STEPS}-2113289837",
                f"{STEPS}-delayed-fail-2113289837", None),
            row("fail", "fail", "Failed", utc(2019, 1, 3, 1, 23, 18), utc(2019, 1, 3, 1, 23, 32),
                14.0, "No more retries left; last attempt: failed with exit code 1", 1,
                f"{STEPS}-759866442", f"{STEPS}-fail-759866442", None),
        ],
    ),
    # Modern (>= v3.7.1) failed Steps: [0] clone-sdk -> [1] run-conformance (exit code 3).
    "modern/repo-jedarden-pdftract-failed-steps-m2nvb.yaml": (
        {
            "name": M2NVB,
            "namespace": "argo-workflows",
            "phase": "Failed",
            "done": 1,
            "total": 2,
            "progress": "1/2",
            "started": utc(2026, 9, 22, 14, 1, 0),
            "finished": utc(2026, 9, 22, 14, 3, 12),
            "elapsed": 132.0,
            "message": f"child '{M2NVB}-2154854314' failed",
        },
        [
            row("clone-sdk", "clone-sdk", "Succeeded", utc(2026, 9, 22, 14, 1, 0),
                utc(2026, 9, 22, 14, 2, 30), 90.0, "", 0, f"{M2NVB}-1918951762",
                f"{M2NVB}-clone-sdk-1918951762", 0),
            row("run-conformance", "run-conformance", "Failed", utc(2026, 9, 22, 14, 2, 40),
                utc(2026, 9, 22, 14, 3, 1), 21.0, "main: Error (exit code 3)", 0,
                f"{M2NVB}-2154854314", f"{M2NVB}-run-conformance-2154854314", 3),
        ],
    ),
    "modern/repo-jedarden-pdftract-succeeded-steps-qhtmj.yaml": (
        {
            "name": QHTMJ,
            "namespace": "argo-workflows",
            "phase": "Succeeded",
            "done": 2,
            "total": 2,
            "progress": "2/2",
            "started": utc(2026, 9, 22, 15, 33, 55),
            "finished": utc(2026, 9, 22, 15, 38, 18),
            "elapsed": 263.0,
            "message": "",
        },
        [
            row("clone-sdk", "clone-sdk", "Succeeded", utc(2026, 9, 22, 15, 33, 56),
                utc(2026, 9, 22, 15, 35, 30), 94.0, "", 0, f"{QHTMJ}-2457398939",
                f"{QHTMJ}-clone-sdk-2457398939", 0),
            row("run-conformance", "run-conformance", "Succeeded", utc(2026, 9, 22, 15, 35, 44),
                utc(2026, 9, 22, 15, 38, 13), 149.0, "", 0, f"{QHTMJ}-2719111927",
                f"{QHTMJ}-run-conformance-2719111927", 0),
        ],
    ),
    # A real GET through the Argo Server (v3.5): a single-Pod workflow, the root is the pod.
    "modern/ghsa-h36c-m3rf-34h9-get-succeeded-pod.body.json": (
        {
            "name": GHSA,
            "namespace": "argo",
            "phase": "Succeeded",
            "done": 1,
            "total": 1,
            "progress": "1/1",
            "started": utc(2024, 8, 13, 23, 59, 20),
            "finished": utc(2024, 8, 13, 23, 59, 30),
            "elapsed": 10.0,
            "message": "",
        },
        [
            # The root node's pod is named after the workflow itself.
            row(GHSA, "hello-world", "Succeeded", utc(2024, 8, 13, 23, 59, 20),
                utc(2024, 8, 13, 23, 59, 24), 4.0, "", 0, GHSA, GHSA, 0),
        ],
    ),
}


def test_every_fixture_has_expectations() -> None:
    """A fixture added to tests/fixtures/argo/ without expected rows fails here instead of going untested."""
    found = {path.name for path in FIXTURES.glob("*.yaml")}
    found |= {f"modern/{path.name}" for path in MODERN.glob("*.yaml")}
    found |= {f"modern/{path.name}" for path in MODERN.glob("*.body.json")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_fixture_rows_and_summary(relative: str) -> None:
    expected_summary, expected_rows = EXPECTED[relative]
    workflow = load(FIXTURES / relative)
    assert task_rows(workflow) == expected_rows
    assert summary(workflow) == expected_summary


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_yaml_datetimes_and_wire_strings_give_the_same_rows(relative: str) -> None:
    """yaml.safe_load gives datetime objects, the server gives RFC3339 strings: same rows."""
    workflow = load(FIXTURES / relative)
    wire = as_wire_json(workflow)
    assert task_rows(wire) == task_rows(workflow)
    assert summary(wire) == summary(workflow)


def test_failed_rows_of_fixtures() -> None:
    rows = task_rows(load(FIXTURES / "dag-disable-fail-fast.yaml"))
    assert [failed["task"] for failed in failed_rows(rows)] == ["C"]
    rows = task_rows(load(MODERN / "repo-jedarden-pdftract-failed-steps-m2nvb.yaml"))
    assert [(r["task"], r["pod_name"]) for r in failed_rows(rows)] == [
        ("run-conformance", f"{M2NVB}-run-conformance-2154854314")
    ]


# ---------------------------------------------------------------------------------------------
# Pure helpers as tables.


@pytest.mark.parametrize(
    ("started", "finished", "expected"),
    [
        (utc(2020, 1, 1, 0, 0, 0), utc(2020, 1, 1, 0, 1, 30), 90.0),
        (utc(2020, 1, 1, 0, 0, 0), utc(2020, 1, 1, 0, 0, 0), 0.0),
        (utc(2020, 1, 1, 0, 0, 0), None, None),
        (None, utc(2020, 1, 1, 0, 0, 0), None),
        # finished before started (seen in steps-failed-retries.yaml's attempts): no negative time
        (utc(2019, 1, 3, 1, 23, 27), utc(2018, 12, 28, 19, 21, 32), None),
    ],
)
def test_seconds_between(
    started: datetime | None, finished: datetime | None, expected: float | None
) -> None:
    assert seconds_between(started, finished) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1/2", (1, 2)),
        ("0/0", (0, 0)),
        (" 3 / 4 ", (3, 4)),
        ("", None),
        (None, None),
        ("a/b", None),
        ("1/2/3", None),
    ],
)
def test_parse_progress(value: Any, expected: tuple[int, int] | None) -> None:
    assert parse_progress(value) == expected


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Succeeded", True),
        ("Failed", True),
        ("Error", True),
        ("Running", False),
        ("Pending", False),
        ("", False),
        (None, False),
    ],
)
def test_is_final(phase: str | None, expected: bool) -> None:
    assert is_final(phase) is expected


def test_failed_rows_keeps_failed_and_error_in_order() -> None:
    rows = [
        {"task": "a", "phase": "Succeeded"},
        {"task": "b", "phase": "Error"},
        {"task": "c", "phase": "Omitted"},
        {"task": "d", "phase": "Failed"},
    ]
    assert [r["task"] for r in failed_rows(rows)] == ["b", "d"]


# ---------------------------------------------------------------------------------------------
# Synthetic shapes the fixtures do not cover (written in the server's JSON form).


def node(
    node_id: str,
    name: str,
    node_type: str,
    *,
    display: str | None = None,
    phase: str | None = "Succeeded",
    boundary: str | None = "wf",
    children: list[str] | None = None,
    template: str | None = None,
    started: str | None = "2024-01-01T00:00:00Z",
    finished: str | None = "2024-01-01T00:00:10Z",
    message: str | None = None,
    exit_code: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": node_id,
        "name": name,
        "displayName": display or name.rsplit(".", 1)[-1],
        "type": node_type,
        "startedAt": started,
        "finishedAt": finished,
    }
    if phase is not None:
        data["phase"] = phase
    if boundary is not None:
        data["boundaryID"] = boundary
    if children:
        data["children"] = children
    if template:
        data["templateName"] = template
    if message:
        data["message"] = message
    if exit_code is not None:
        data["outputs"] = {"exitCode": exit_code}
    return data


def workflow(
    *nodes: dict[str, Any], status: dict[str, Any] | None = None, **metadata: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": "wf", "namespace": "ns", **metadata},
        "status": {**(status or {}), "nodes": {n["id"]: n for n in nodes}},
    }


def test_fan_out_task_group_retried_sub_dag_and_exit_handler() -> None:
    """TaskGroup items are rows, a retried DAG's tasks are rows per attempt, onExit comes last."""
    wf = workflow(
        node("wf", "wf", "DAG", display="wf", boundary=None, children=["group", "retry"]),
        # withItems fan-out: a TaskGroup whose children are the items.
        node("group", "wf.fan", "TaskGroup", children=["i0", "i1"], template="echo"),
        node("i1", "wf.fan(1:b)", "Pod", template="echo", started="2024-01-01T00:00:02Z"),
        node("i0", "wf.fan(0:a)", "Pod", template="echo", started="2024-01-01T00:00:01Z"),
        # retryStrategy on a DAG template: the attempts are DAGs, the Retry is just a container.
        node("retry", "wf.sub", "Retry", children=["sub0", "sub1"], phase="Succeeded",
             started="2024-01-01T00:00:03Z"),
        node("sub0", "wf.sub(0)", "DAG", children=["sub0-x"], template="inner", phase="Failed",
             started="2024-01-01T00:00:03Z"),
        node("sub0-x", "wf.sub(0).x", "Pod", boundary="sub0", template="x", phase="Failed",
             message="main: Error (exit code 1)", exit_code="1", started="2024-01-01T00:00:03Z"),
        node("sub1", "wf.sub(1)", "DAG", children=["sub1-x"], template="inner",
             started="2024-01-01T00:00:05Z"),
        node("sub1-x", "wf.sub(1).x", "Pod", boundary="sub1", template="x", exit_code="0",
             started="2024-01-01T00:00:05Z"),
        # the exit handler is not reachable from the root node
        node("exit", "wf.onExit", "Pod", display="wf.onExit", boundary=None, template="cleanup",
             started="2024-01-01T00:00:00Z"),
    )
    rows = task_rows(wf)
    assert [(r["task"], r["phase"], r["retries"]) for r in rows] == [
        ("fan(0:a)", "Succeeded", 0),
        ("fan(1:b)", "Succeeded", 0),
        ("sub(0).x", "Failed", 0),
        ("sub(1).x", "Succeeded", 0),
        ("wf.onExit", "Succeeded", 0),
    ]
    assert rows[2]["exit_code"] == 1 and rows[3]["exit_code"] == 0
    assert rows[0]["pod_name"] == f"wf-echo-{fnv32a('wf.fan(0:a)')}"


def test_nested_steps_and_dag_prefixes() -> None:
    """Tasks inside nested templates are named after every enclosing DAG/Steps node."""
    wf = workflow(
        node("wf", "wf", "Steps", display="wf", boundary=None, children=["g0"]),
        node("g0", "wf[0]", "StepGroup", display="[0]", children=["outer"]),
        node("outer", "wf[0].outer", "DAG", display="outer", children=["inner"], template="outer"),
        node("inner", "wf[0].outer.inner", "DAG", boundary="outer", children=["leaf"]),
        node("leaf", "wf[0].outer.inner.leaf", "Pod", boundary="inner", template="leaf"),
    )
    assert [r["task"] for r in task_rows(wf)] == ["outer.inner.leaf"]


def test_missing_phase_null_times_and_default_messages() -> None:
    wf = workflow(
        node("wf", "wf", "DAG", display="wf", boundary=None, children=["a", "b", "c", "d"]),
        node("a", "wf.a", "Pod", phase=None, started=None, finished=None, template="t"),
        node("b", "wf.b", "Skipped", phase="Omitted", template="t"),
        node("c", "wf.c", "Skipped", phase="Skipped", message="when 'false' evaluated false"),
        node("d", "wf.d", "Pod", phase="Running", finished=None, message="ContainerCreating"),
    )
    rows = {r["task"]: r for r in task_rows(wf)}
    assert rows["a"]["phase"] == "Pending"
    assert rows["a"]["started"] is None and rows["a"]["finished"] is None
    assert rows["a"]["duration"] is None
    assert rows["b"]["message"] == OMITTED_MESSAGE and rows["b"]["pod_name"] is None
    assert rows["c"]["message"] == "when 'false' evaluated false"
    assert (rows["d"]["duration"], rows["d"]["message"]) == (None, "ContainerCreating")
    # Tasks with an unknown start time come after the ones that started.
    assert list(rows) == ["b", "c", "d", "a"]
    wf["status"]["nodes"]["c"].pop("message")
    assert {r["task"]: r for r in task_rows(wf)}["c"]["message"] == SKIPPED_MESSAGE


def test_retry_row_without_attempts_and_v1_pod_names() -> None:
    wf = workflow(
        node("wf", "wf", "DAG", display="wf", boundary=None, children=["r", "p"]),
        node("r", "wf.r", "Retry", phase="Pending", started=None, finished=None),
        node("p", "wf.p", "Pod", template="t"),
        annotations={"workflows.argoproj.io/pod-name-format": "v1"},
    )
    rows = {r["task"]: r for r in task_rows(wf)}
    assert rows["r"] == row("r", "", "Pending", None, None, None, "", 0, "r", None, None)
    assert rows["p"]["pod_name"] == "p"


def test_nodes_children_missing_from_the_map_are_ignored() -> None:
    """A fields-filtered or half-written status must not break the table."""
    wf = workflow(
        node("wf", "wf", "DAG", display="wf", boundary=None, children=["a", "ghost"]),
        node("a", "wf.a", "Pod", template="t", children=["ghost2"]),
    )
    assert [r["task"] for r in task_rows(wf)] == ["a"]


@pytest.mark.parametrize(
    ("workflow_json", "expected"),
    [
        ({}, {"name": "", "namespace": None, "phase": "Pending", "progress": "0/0", "message": ""}),
        (
            {
                "metadata": {"name": "x"},
                "status": {"phase": "", "startedAt": None, "finishedAt": None},
            },
            {"name": "x", "namespace": None, "phase": "Pending", "progress": "0/0", "message": ""},
        ),
        (
            {
                "metadata": {"name": "x", "namespace": "n"},
                "status": {
                    "phase": "Failed",
                    "progress": "1/3",
                    "message": "Stopped with strategy 'Stop'",
                },
            },
            {"name": "x", "namespace": "n", "phase": "Failed", "progress": "1/3",
             "message": "Stopped with strategy 'Stop'"},
        ),
        (
            # a malformed progress falls back to counting
            {
                "metadata": {"name": "x"},
                "status": {
                    "phase": "Running",
                    "progress": "?",
                    "nodes": {"p": {"id": "p", "name": "x.p", "type": "Pod", "phase": "Succeeded"}},
                },
            },
            {"name": "x", "namespace": None, "phase": "Running", "progress": "1/1", "message": ""},
        ),
    ],
)
def test_summary_table(workflow_json: dict[str, Any], expected: dict[str, Any]) -> None:
    result = summary(workflow_json)
    assert {key: result[key] for key in expected} == expected


def test_summary_elapsed_while_running_uses_now_only_when_given() -> None:
    running = {"status": {"phase": "Running", "startedAt": "2024-01-01T00:00:00Z"}}
    assert summary(running)["elapsed"] is None
    assert summary(running, now=utc(2024, 1, 1, 0, 2, 0))["elapsed"] == 120.0
    finished = {
        "status": {"startedAt": "2024-01-01T00:00:00Z", "finishedAt": "2024-01-01T00:00:30Z"}
    }
    assert summary(finished, now=utc(2030, 1, 1, 0, 0, 0))["elapsed"] == 30.0


def test_count_progress_counts_executable_nodes_only() -> None:
    wf = workflow(
        node("wf", "wf", "DAG", display="wf", boundary=None),
        node("a", "wf.a", "Pod"),
        node("b", "wf.b", "Pod", phase="Failed"),
        node("c", "wf.c", "Skipped", phase="Omitted"),
        node("s", "wf.s", "Suspend", phase="Running"),
    )
    assert count_progress(wf) == (1, 3)
