"""When a finished workflow is deleted: its ``spec.ttlStrategy``, as Argo's TTL controller reads it.

Argo (``workflow/gccontroller/gc_controller.go``, v4.0.5) deletes a completed workflow
``secondsAfterFailure`` after it finished when it Failed, ``secondsAfterSuccess`` after when it
Succeeded, and otherwise (an Error, or the specific field unset) ``secondsAfterCompletion``
after; a workflow without a matching field is kept. The engine's TTL thread deletes each
workflow once ``expires_at`` has passed (``Engine``). Pure functions.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..argo import FAILED, FINAL_PHASES, SUCCEEDED, parse_rfc3339


def time_to_live(workflow: Mapping[str, Any]) -> float | None:
    """Seconds the completed ``workflow`` lives after ``finishedAt``, or None (kept for ever)."""
    phase = (workflow.get("status") or {}).get("phase")
    strategy = (workflow.get("spec") or {}).get("ttlStrategy") or {}
    if phase == FAILED and strategy.get("secondsAfterFailure") is not None:
        return float(strategy["secondsAfterFailure"])
    if phase == SUCCEEDED and strategy.get("secondsAfterSuccess") is not None:
        return float(strategy["secondsAfterSuccess"])
    if phase in FINAL_PHASES and strategy.get("secondsAfterCompletion") is not None:
        return float(strategy["secondsAfterCompletion"])
    return None


def expires_at(workflow: Mapping[str, Any]) -> float | None:
    """The time (seconds since the epoch) the TTL controller deletes ``workflow``, or None."""
    status = workflow.get("status") or {}
    if status.get("phase") not in FINAL_PHASES or not status.get("finishedAt"):
        return None
    seconds = time_to_live(workflow)
    return None if seconds is None else parse_rfc3339(status["finishedAt"]) + seconds
