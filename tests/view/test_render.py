"""The status view's rendering (hera_magics.view.render): tables of cases, pure, no clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hera_magics.argo import OMITTED_MESSAGE
from hera_magics.status import summary, task_rows
from hera_magics.view.poller import RECONNECTING_MESSAGE
from hera_magics.view.render import format_duration, render_html, render_text
from tests.view_helpers import FAILED, RUNNING, make_workflow, pod_of


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, ""),
        (0.0, "0s"),
        (4.4, "4s"),
        (59.6, "1m 00s"),
        (90.0, "1m 30s"),
        (3600.0, "1h 00m"),
        (7380.0, "2h 03m"),
        (93600.0, "1d 02h"),
    ],
)
def test_format_duration(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_render_text_is_a_table_of_the_latest_state() -> None:
    text = render_text(summary(FAILED), task_rows(FAILED), log_tails={pod_of("train"): "boom"})
    assert text.splitlines() == [
        "wf  (argo)  Failed  progress 1/2  started 2024-05-01 10:00:00 UTC  elapsed 5m 00s",
        "TASK     PHASE      STARTED   DURATION  RETRIES  MESSAGE",
        "prepare  Succeeded  10:00:00  30s",
        "train    Failed     10:01:00  30s                main: Error (exit code 1)",
        f"    last lines of the log of train (pod {pod_of('train')}):",
        "    | boom",
        "report   Omitted                                 omitted: depends condition not met",
    ]


def test_render_text_running_and_empty() -> None:
    text = render_text(summary(RUNNING), task_rows(RUNNING), notice=RECONNECTING_MESSAGE)
    lines = text.splitlines()
    assert lines[0] == "wf  (argo)  Running  progress 1/2  started 2024-05-01 10:00:00 UTC  running"
    assert lines[1] == f"! {RECONNECTING_MESSAGE}"
    assert lines[-1].split() == ["train", "Running", "10:01:00", "…"]
    assert render_text(summary({}), []).splitlines()[-1] == "no tasks yet"


def test_render_html_escapes_everything_from_the_server() -> None:
    evil = "<script>alert('x')</script>"
    workflow = make_workflow("Failed", [(f"t{evil}", "Failed", evil)], message=evil)
    workflow["metadata"]["name"] = evil
    rows = task_rows(workflow)
    rendered = render_html(
        summary(workflow),
        rows,
        ui_url="javascript:alert(1)",
        notice=evil,
        log_tails={rows[0]["pod_name"]: evil},
    )
    assert "<script>" not in rendered
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in rendered
    assert "javascript:" not in rendered  # only http(s) links are made
    linked = render_html(summary(RUNNING), [], ui_url='https://argo/x?a=1&b="2"')
    assert 'href="https://argo/x?a=1&amp;b=&quot;2&quot;"' in linked


def test_render_html_shows_the_columns_omitted_reason_and_failed_tail() -> None:
    rows = task_rows(FAILED)
    rendered = render_html(summary(FAILED), rows, log_tails={pod_of("train"): "ValueError: x"})
    for heading in ("task", "phase", "started", "duration", "message", "retries"):
        assert f">{heading}</th>" in rendered
    assert OMITTED_MESSAGE in rendered
    assert "ValueError: x" in rendered
    assert "progress 1/2" in rendered and "elapsed 5m 00s" in rendered
    # the same input renders to the same string: nothing depends on a clock
    again = render_html(summary(FAILED), rows, log_tails={pod_of("train"): "ValueError: x"})
    assert rendered == again


def test_summary_times_are_utc() -> None:
    assert summary(RUNNING)["started"] == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
