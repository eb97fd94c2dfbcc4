"""Argo's vocabulary (hera_magics.argo): the hash, node ids, pod names and times, checked against
Argo's own data (the fixtures in tests/fixtures/argo/ and the worked examples of Argo's notes)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from hera_magics.argo import (
    fnv32a,
    node_id,
    parse_rfc3339,
    parse_time,
    pod_name,
    pod_name_of_node,
    pod_name_version,
    rfc3339,
    rfc3339_nano,
)
from tests.conftest import ARGO_FIXTURES


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# fnv32a, the hash in node ids and pod names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 2166136261),  # the FNV-1a offset basis
        ("a", 0xE40C292C),  # FNV-1a test vector
        ("foobar", 0xBF9CF968),  # FNV-1a test vector
        # notes/argo-api.md §4.3: the worked example checked against a real node id.
        ("retry-with-dags.sub-dag1.fail(0)", 2549694399),
        ("dag-disable-fail-fast-r6xdc.C(1)", 3457680277),
    ],
)
def test_fnv32a(text: str, expected: int) -> None:
    assert fnv32a(text) == expected


# ---------------------------------------------------------------------------------------------
# node ids and pod names


def test_node_id_and_pod_name_follow_argo_v2():
    assert node_id("retry-with-dags", "retry-with-dags") == "retry-with-dags"
    assert node_id("retry-with-dags", "retry-with-dags.sub-dag1.fail(0)") == "retry-with-dags-2549694399"
    assert pod_name("retry-with-dags", "retry-with-dags.sub-dag1.fail(0)", "fail") == "retry-with-dags-fail-2549694399"
    assert pod_name("hello-world-7tv5g", "hello-world-7tv5g", "hello-world") == "hello-world-7tv5g"
    assert pod_name("wf", "wf.a", None) == node_id("wf", "wf.a")
    long_prefix = pod_name("w" * 200, "x", "t" * 100)
    assert len(long_prefix) <= 253 and long_prefix.endswith(f"-{fnv32a('x')}")


def _fixture_workflows():
    for path in sorted(ARGO_FIXTURES.glob("**/*.yaml")):
        document = yaml.safe_load(path.read_text())
        if isinstance(document, dict) and (document.get("status") or {}).get("nodes"):
            yield pytest.param(document, id=path.name)


@pytest.mark.parametrize("document", list(_fixture_workflows()))
def test_node_ids_of_every_argo_fixture(document):
    name = document["metadata"]["name"]
    for identifier, node in document["status"]["nodes"].items():
        assert node_id(name, node["name"]) == identifier


LONG_WORKFLOW = "w" * 200
LONG_TEMPLATE = "t" * 60


@pytest.mark.parametrize(
    ("workflow_name", "node", "version", "expected"),
    [
        # v2: <wf>-<template>-<fnv32a(node name)>
        (
            "retry-with-dags",
            {
                "id": "retry-with-dags-2549694399",
                "name": "retry-with-dags.sub-dag1.fail(0)",
                "templateName": "fail",
            },
            "v2",
            "retry-with-dags-fail-2549694399",
        ),
        # templateRef instead of templateName
        ("wf", {"id": "wf-1", "name": "wf.a", "templateRef": {"name": "lib", "template": "echo"}},
         "v2", f"wf-echo-{fnv32a('wf.a')}"),
        # no template: equals the node id scheme
        ("wf", {"id": "x", "name": "wf.a"}, "v2", f"wf-{fnv32a('wf.a')}"),
        # the root node's pod is the workflow name
        ("wf", {"id": "wf", "name": "wf", "templateName": "main"}, "v2", "wf"),
        # v1: the node id
        ("wf", {"id": "wf-123", "name": "wf.a", "templateName": "main"}, "v1", "wf-123"),
        # prefix cut to 242 characters so the name fits Kubernetes' 253
        (
            LONG_WORKFLOW,
            {"id": "x", "name": f"{LONG_WORKFLOW}.a", "templateName": LONG_TEMPLATE},
            "v2",
            f"{(LONG_WORKFLOW + '-' + LONG_TEMPLATE)[:242]}-{fnv32a(LONG_WORKFLOW + '.a')}",
        ),
    ],
)
def test_pod_name(workflow_name: str, node: dict[str, Any], version: str, expected: str) -> None:
    assert pod_name_of_node(workflow_name, node, version=version) == expected


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, "v2"),
        ({"annotations": None}, "v2"),
        ({"annotations": {"workflows.argoproj.io/pod-name-format": "v2"}}, "v2"),
        ({"annotations": {"workflows.argoproj.io/pod-name-format": "v1"}}, "v1"),
    ],
)
def test_pod_name_version(metadata: dict[str, Any], expected: str) -> None:
    assert pod_name_version({"metadata": metadata}) == expected


# ---------------------------------------------------------------------------------------------
# times


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [(0, "1970-01-01T00:00:00Z"), (1723593560.9, "2024-08-13T23:59:20Z")],
)
def test_rfc3339_has_whole_seconds_and_z(timestamp, text):
    assert rfc3339(timestamp) == text
    assert parse_rfc3339(text) == int(timestamp)


def test_rfc3339_nano_round_trips():
    text = rfc3339_nano(1723593560.25)
    assert text == "2024-08-13T23:59:20.250000000Z"
    assert parse_rfc3339(text) == pytest.approx(1723593560.25)
    assert parse_rfc3339("2024-08-13T23:59:20+02:00") == parse_rfc3339("2024-08-13T21:59:20Z")


def test_fixture_timestamps_are_strings_for_the_wire():
    # The old fixtures have unquoted YAML times; make sure we would serialise them as Argo does.
    moment = datetime(2020, 6, 2, 0, 26, 32, tzinfo=timezone.utc)
    assert rfc3339(moment.timestamp()) == "2020-06-02T00:26:32Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-09-22T14:01:00Z", utc(2026, 9, 22, 14, 1, 0)),
        ("2026-09-22T14:01:00z", utc(2026, 9, 22, 14, 1, 0)),
        ("2026-09-22T16:01:00+02:00", utc(2026, 9, 22, 14, 1, 0)),
        (
            "2026-09-22T14:01:00.123456789Z",
            utc(2026, 9, 22, 14, 1, 0) + timedelta(microseconds=123456),
        ),
        ("2026-09-22T14:01:00.5Z", utc(2026, 9, 22, 14, 1, 0) + timedelta(microseconds=500000)),
        (datetime(2019, 6, 26, 9, 11, 58), utc(2019, 6, 26, 9, 11, 58)),  # naive: UTC
        (
            datetime(2019, 6, 26, 11, 11, 58, tzinfo=timezone(timedelta(hours=2))),
            utc(2019, 6, 26, 9, 11, 58),
        ),
        (date(2019, 6, 26), utc(2019, 6, 26, 0, 0, 0)),
        ("not a time", None),
        (12345, None),
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is timezone.utc
