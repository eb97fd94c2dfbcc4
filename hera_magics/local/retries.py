"""A template's ``retryStrategy``: a Retry node and its attempts, one Pod node each.

The Retry node is ``Running`` while its attempts run one after another (``task(0)``,
``task(1)``, ...). After an attempt ends it either succeeds, or ends with the attempt's phase
(the policy does not retry that phase, the workflow is stopping), or ends with "No more retries
left" (``limit`` reached) or "Max duration limit exceeded" (``backoff.maxDuration``), or waits
for the backoff and starts the next attempt. Argo's ``processNodeRetries`` in
``workflow/controller/operator.go`` (argoproj/argo-workflows) is the model.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Mapping

from ..argo import (
    ERROR,
    FAILED,
    MAX_DURATION_MESSAGE,
    NO_MORE_RETRIES_MESSAGE,
    RUNNING,
    SUCCEEDED,
    parse_rfc3339,
)
from .nodes import Node, add_child, attempt_name, is_fulfilled
from .parameters import node_inputs, parameter_variables
from .templating import parse_go_duration, substitute

if TYPE_CHECKING:
    from .reconcile import Operation


def execute_retry(operation: Operation, node_name: str, template: dict[str, Any], inputs: dict[str, str],
                  boundary_id: str | None, display_name: str) -> Node | None:
    """Create or advance the Retry node ``node_name``; None when it cannot start yet."""
    nodes = operation.nodes
    node = nodes.by_name(node_name)
    if node is None:
        if operation.stop_reason or operation.parallelism_reached(boundary_id):
            return None
        node = nodes.create(node_name, "Retry", template["name"], boundary_id, display_name, RUNNING,
                            inputs=node_inputs(template, inputs))
    if is_fulfilled(node):
        return node
    attempts = [nodes.nodes[child] for child in node.get("children") or [] if child in nodes.nodes]
    if attempts:
        if _no_attempt_now(operation, node, template.get("retryStrategy") or {}, inputs, attempts):
            return node
    elif operation.stop_reason:
        nodes.finish(node, FAILED, operation.stop_reason)
        return node
    index = len(attempts)
    attempt = operation.execute_pod(attempt_name(node_name, index), template, inputs, boundary_id,
                                    attempt_name(display_name, index), retries=index)
    if attempt is not None:
        add_child(node, attempt["id"])
        if is_fulfilled(attempt):
            operation.schedule(0.01)
    return node


def _no_attempt_now(operation: Operation, node: Node, strategy: Mapping[str, Any], inputs: Mapping[str, str],
                    attempts: list[Node]) -> bool:
    """After the last attempt: finish the Retry node, or wait; False when the next may start now."""
    last = attempts[-1]
    if not is_fulfilled(last):
        return True
    if last.get("outputs"):
        node["outputs"] = copy.deepcopy(last["outputs"])
    if last["phase"] == SUCCEEDED:
        node.pop("message", None)
        operation.nodes.finish(node, SUCCEEDED)
        return True
    if operation.stop_reason or not retry_allowed(strategy.get("retryPolicy"), last["phase"]):
        operation.nodes.finish(node, last["phase"], last.get("message"))
        return True
    limit = strategy.get("limit")
    values = {**operation.globals, **parameter_variables(inputs)}
    if limit is not None and len(attempts) > int(substitute(str(limit), values)):
        operation.nodes.finish(node, last["phase"], NO_MORE_RETRIES_MESSAGE)
        return True
    return _backing_off(operation, node, strategy.get("backoff") or {}, last, len(attempts))


def _backing_off(operation: Operation, node: Node, backoff: Mapping[str, Any], last: Node, attempts_done: int) -> bool:
    """True when ``backoff`` holds the next attempt back (or its ``maxDuration`` ended the node)."""
    if not backoff:
        return False
    maximum = backoff.get("maxDuration")
    if maximum is not None and node.get("startedAt"):
        elapsed = operation.now - parse_rfc3339(node["startedAt"])
        if elapsed > duration_seconds(maximum):
            operation.nodes.finish(node, last["phase"], MAX_DURATION_MESSAGE)
            return True
    delay = retry_backoff_seconds(backoff, attempts_done)
    due = parse_rfc3339(last["finishedAt"]) + delay if last.get("finishedAt") else operation.now
    if operation.now < due:
        operation.schedule(due - operation.now)
        return True
    return False


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
