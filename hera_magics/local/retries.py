"""A template's ``retryStrategy``: a Retry node and its attempts, one Pod node each.

The Retry node is ``Running`` while its attempts run one after another (``task(0)``,
``task(1)``, ...). After an attempt ends it either succeeds, or ends with the attempt's phase
(the policy does not retry that phase, the workflow is stopping), or ends with "No more retries
left" (``limit`` reached) or "Max duration limit exceeded" (``backoff.maxDuration``), or waits
for the backoff and starts the next attempt. Argo's ``processNodeRetries`` in
``workflow/controller/operator.go`` (argoproj/argo-workflows) is the model.

``retryStrategy.expression`` is evaluated after the limit, with the template's ``{{...}}``
substituted first, in Argo's scope of ``buildRetryStrategyLocalScope``: ``retries`` (attempts
so far minus one), ``lastRetry.exitCode`` (``-1`` without one), ``lastRetry.status``,
``lastRetry.duration`` (seconds, as Go prints them) and ``lastRetry.message``, all strings. False
ends the Retry node with the last attempt's phase and "retryStrategy.expression evaluated to
false"; an expression that fails ends it in Error with the reason.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Mapping

from ..argo import (
    ERROR,
    FAILED,
    MAX_DURATION_MESSAGE,
    NO_MORE_RETRIES_MESSAGE,
    SUCCEEDED,
    parse_rfc3339,
)
from .expression_language import EvaluationError, MissingVariable, evaluate_bool, parse_expression
from .go_values import go_float_text
from .nodes import Node, add_child, attempt_name, is_fulfilled
from .parameters import parameter_variables
from .templating import ExpressionTag, UnresolvedReference, parse_go_duration, substitute

EXPRESSION_FALSE_MESSAGE = "retryStrategy.expression evaluated to false"

if TYPE_CHECKING:
    from .reconcile import Operation


class RetryRun:
    """One Retry node while it runs: starts its attempts one after another (a unit of the runtime)."""

    def __init__(self, node: Node, template: dict[str, Any], inputs: dict[str, str], boundary_id: str | None,
                 display_name: str, on_exit: bool) -> None:
        self.node = node
        self.template = template
        self.inputs = inputs
        self.boundary_id = boundary_id
        self.display_name = display_name
        self.on_exit = on_exit

    def child_event(self, node: Node, key: Any, created: bool, fulfilled: bool) -> None:
        """An attempt was created or ended: ``advance`` decides (the runtime queues this unit)."""

    def advance(self, operation: Operation) -> None:
        node = self.node
        if is_fulfilled(node):
            return
        nodes = operation.nodes
        attempts = [nodes.get(child) for child in node.get("children") or []]
        attempts = [attempt for attempt in attempts if attempt is not None]
        if attempts:
            if self._no_attempt_now(operation, attempts):
                return
        elif operation.stopping(self.on_exit):
            nodes.finish(node, FAILED, operation.stop_reason)
            return
        index = len(attempts)
        attempt_node_name = attempt_name(node["name"], index)
        operation.runtime.expect(attempt_node_name, self, "attempt")
        attempt = operation.start_pod(attempt_node_name, self.template, self.inputs, self.boundary_id,
                                      attempt_name(self.display_name, index), retries=index, on_exit=self.on_exit)
        if attempt is None:
            operation.hold(self)
            return
        add_child(node, attempt["id"])

    def _no_attempt_now(self, operation: Operation, attempts: list[Node]) -> bool:
        """After the last attempt: finish the Retry node, or wait; False when the next may start now."""
        node = self.node
        last = attempts[-1]
        if not is_fulfilled(last):
            return True
        if last.get("outputs"):
            node["outputs"] = copy.deepcopy(last["outputs"])
        if last["phase"] == SUCCEEDED:
            node.pop("message", None)
            operation.nodes.finish(node, SUCCEEDED)
            return True
        strategy = self.template.get("retryStrategy") or {}
        if operation.stopping(self.on_exit) or not retry_allowed(strategy.get("retryPolicy"), last["phase"]):
            operation.nodes.finish(node, last["phase"], last.get("message"))
            return True
        limit = strategy.get("limit")
        values = {**operation.globals, **parameter_variables(self.inputs)}
        if limit is not None and len(attempts) > int(substitute(str(limit), values)):
            operation.nodes.finish(node, last["phase"], NO_MORE_RETRIES_MESSAGE)
            return True
        if strategy.get("expression"):
            try:
                again = evaluate_bool(parse_expression(substitute(str(strategy["expression"]), values)),
                                      retry_scope(attempts).get)
            except (EvaluationError, MissingVariable, UnresolvedReference, ExpressionTag, ValueError) as error:
                operation.nodes.finish(node, ERROR, f"retryStrategy.expression: {error}")
                return True
            if not again:
                operation.nodes.finish(node, last["phase"], EXPRESSION_FALSE_MESSAGE)
                return True
        return self._backing_off(operation, strategy.get("backoff") or {}, last, len(attempts))

    def _backing_off(self, operation: Operation, backoff: Mapping[str, Any], last: Node, attempts_done: int) -> bool:
        """True when ``backoff`` holds the next attempt back (or its ``maxDuration`` ended the node)."""
        if not backoff:
            return False
        node = self.node
        maximum = backoff.get("maxDuration")
        if maximum is not None and node.get("startedAt"):
            elapsed = operation.now - parse_rfc3339(node["startedAt"])
            if elapsed > duration_seconds(maximum):
                operation.nodes.finish(node, last["phase"], MAX_DURATION_MESSAGE)
                return True
        delay = retry_backoff_seconds(backoff, attempts_done)
        due = parse_rfc3339(last["finishedAt"]) + delay if last.get("finishedAt") else operation.now
        if operation.now < due:
            operation.runtime.schedule(self, due)
            return True
        return False


def retry_scope(attempts: list[Node]) -> dict[str, str]:
    """The variables of ``retryStrategy.expression`` after ``attempts`` (Argo's
    ``buildRetryStrategyLocalScope``)."""
    last = attempts[-1]
    exit_code = (last.get("outputs") or {}).get("exitCode")
    duration = 0.0
    if last.get("startedAt") and last.get("finishedAt"):
        duration = parse_rfc3339(last["finishedAt"]) - parse_rfc3339(last["startedAt"])
    return {
        "retries": str(len(attempts) - 1),
        "lastRetry.exitCode": str(exit_code) if exit_code is not None else "-1",
        "lastRetry.status": str(last.get("phase") or ""),
        "lastRetry.duration": go_float_text(float(duration)),
        "lastRetry.message": str(last.get("message") or ""),
    }


def retry_allowed(policy: str | None, phase: str) -> bool:
    """Whether ``retryPolicy`` retries an attempt that ended in ``phase`` (default OnFailure)."""
    policy = policy or "OnFailure"
    if policy == "Always":
        return phase in (FAILED, ERROR)
    if policy == "OnError":
        return phase == ERROR
    if policy == "OnTransientError":
        return False  # the local engine has no transient (Kubernetes) errors to retry
    return phase == FAILED


def duration_seconds(value: Any) -> float:
    """A number of seconds, or a Go duration string (``30s``, ``1m``)."""
    if isinstance(value, (int, float)):
        return float(value)
    return parse_go_duration(str(value))


def retry_backoff_seconds(backoff: Mapping[str, Any], attempts_done: int) -> float:
    """Argo's retry backoff: ``duration * factor^(attempt-1)``, capped by ``cap``."""
    if backoff.get("duration") is None:
        return 0.0
    delay = duration_seconds(backoff["duration"])
    factor = float(backoff.get("factor") or 1)
    delay *= factor ** max(attempts_done - 1, 0)
    if backoff.get("cap") is not None:
        delay = min(delay, duration_seconds(backoff["cap"]))
    return delay
