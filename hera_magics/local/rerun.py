"""Running a workflow again: what the ``retry`` and ``resubmit`` actions change.

* ``retry`` keeps the workflow and what succeeded in it: failed work is removed from
  ``status.nodes`` (with its logs) and failed DAG nodes are reset, so the next reconcile runs the
  failed tasks again. As Argo's ``FormulateRetryWorkflow`` (``workflow/util/util.go`` in
  argoproj/argo-workflows), without ``restartSuccessful`` and ``nodeFieldSelector``.
* ``resubmit`` makes a new workflow from the old one's spec (``FormulateResubmitWorkflow``), with
  the label ``workflows.argoproj.io/resubmitted-from-workflow``.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Iterable

from ..argo import (
    ARGO_LABEL_PREFIX,
    ERROR,
    FAILED,
    LABEL_RESUBMITTED_FROM,
    OMITTED,
    POD_NAME_FORMAT_ANNOTATION,
    RUNNING,
)
from .nodes import Node
from .records import WorkflowRecord, mark_completed_labels
from .store import WorkflowStore
from .wire import bad_request


def set_arguments(record: WorkflowRecord, parameters: Iterable[Any]) -> None:
    """Apply the ``key=value`` texts of a retry request to the workflow's arguments, in order.

    A 400 for a text without ``=`` or a key that is not an argument of the workflow.
    """
    for parameter in parameters:
        key, separator, value = str(parameter).partition("=")
        if not separator:
            raise bad_request(f"parameter {parameter!r} must be key=value")
        _set_argument(record, key, value)


def _set_argument(record: WorkflowRecord, key: str, value: str) -> None:
    arguments = record.obj["spec"].setdefault("arguments", {}).setdefault("parameters", [])
    for argument in arguments:
        if argument.get("name") == key:
            argument["value"] = value
            return
    raise bad_request(f"parameter {key!r} is not an argument of this workflow")


def reset_for_retry(record: WorkflowRecord, store: WorkflowStore) -> None:
    """Remove failed work so the next reconcile runs it again; keep what succeeded.

    Failed/Errored/Omitted leaf nodes and failed Retry nodes (with their attempts) go, and
    so does everything that hangs below them through ``children``; failed DAG nodes are
    reset to Running. As Argo does, the removed pods' logs go too.
    """
    nodes = record.nodes
    removed = _failed_work(nodes)
    _reset_failed_dags(nodes, removed)
    for node_key in removed:
        store.delete_node(record.namespace, record.name, node_key)
        nodes.pop(node_key, None)
    for node in nodes.values():
        if node.get("children"):
            node["children"] = [child for child in node["children"] if child not in removed]
            if not node["children"]:
                del node["children"]
    status = record.status
    status["phase"] = RUNNING
    status["finishedAt"] = None
    status.pop("message", None)
    record.obj["spec"].pop("shutdown", None)
    record.deadline_base = time.time()
    mark_completed_labels(record)


def _failed_work(nodes: dict[str, Node]) -> set[str]:
    """Ids of the failed leaf and Retry nodes and of everything below them."""
    removed: set[str] = set()
    attempts = {child for node in nodes.values() if node.get("type") == "Retry" for child in node.get("children") or []}
    for node in list(nodes.values()):
        if node["type"] in ("Pod", "Skipped", "Retry") and node.get("phase") in (FAILED, ERROR, OMITTED):
            if node["type"] == "Pod" and node["id"] in attempts:
                continue  # attempts go with their Retry node
            _add_below(nodes, node["id"], removed)
    return removed


def _add_below(nodes: dict[str, Node], start: str, removed: set[str]) -> None:
    stack = [start]
    while stack:
        current = stack.pop()
        if current in removed or current not in nodes:
            continue
        removed.add(current)
        stack.extend(nodes[current].get("children") or [])


def _reset_failed_dags(nodes: dict[str, Node], removed: set[str]) -> None:
    """A failed DAG (or TaskGroup) node that stays runs again; its succeeded tasks (items) are kept."""
    for node_key, node in nodes.items():
        if node_key in removed:
            continue
        if node["type"] in ("DAG", "TaskGroup") and node.get("phase") in (FAILED, ERROR):
            node["phase"] = RUNNING
            node["finishedAt"] = None
            node.pop("message", None)
            node.pop("outboundNodes", None)




def resubmitted_workflow(record: WorkflowRecord, parameters: Iterable[Any]) -> dict[str, Any]:
    """A new workflow (to create) from ``record``'s spec, with ``key=value`` argument overrides."""
    metadata = record.obj["metadata"]
    spec = copy.deepcopy(record.obj["spec"])
    spec.pop("shutdown", None)
    labels = {key: value for key, value in (metadata.get("labels") or {}).items()
              if not key.startswith(ARGO_LABEL_PREFIX)}
    labels[LABEL_RESUBMITTED_FROM] = record.name
    new_metadata = {"generateName": metadata.get("generateName") or f"{record.name}-", "labels": labels}
    if metadata.get("annotations"):
        new_metadata["annotations"] = {key: value for key, value in metadata["annotations"].items()
                                       if key != POD_NAME_FORMAT_ANNOTATION}
    for parameter in parameters:
        key, _, value = str(parameter).partition("=")
        for argument in (spec.get("arguments") or {}).get("parameters") or []:
            if argument.get("name") == key:
                argument["value"] = value
    return {"metadata": new_metadata, "spec": spec}
