"""What changed in a workflow since its last full save, one appended line per change.

A running workflow is saved whole (``workflow.json``) at most every few tenths of a second
(``records.WorkflowTable.flush_due``), because a save costs as much as the workflow is large.
So that an engine that dies in between (SIGKILL, a crash) still knows every pod it started,
each change is also appended to ``journal.jsonl`` beside it: the nodes that changed and the
workflow's other status fields, with the ``resourceVersion`` the change got. Appending costs
the size of the change, not of the workflow.

When the engine starts, the lines newer than the saved workflow's ``resourceVersion`` are laid
over it (``replay``); a full save starts the journal afresh (``reset``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from .records import WorkflowRecord
from .store import WorkflowStore

JOURNAL_FILE = "journal.jsonl"
SAVED_AT_CREATE = ("storedTemplates", "storedWorkflowTemplateSpec")
"""Status fields written with the workflow when it is created and never changed after: not
journalled, so a line costs the change, not the size of the templates a workflow uses."""


class Journal:
    """The journals of the workflows in one store."""

    def __init__(self, store: WorkflowStore) -> None:
        self.store = store

    def _path(self, namespace: str, name: str) -> Path:
        return self.store.workflow_dir(namespace, name) / JOURNAL_FILE

    def append(self, record: WorkflowRecord, nodes: Iterable[dict[str, Any]], *, status: bool) -> None:
        """Record ``nodes`` (and the status fields besides the nodes, when ``status``) as changed."""
        entry: dict[str, Any] = {"rv": int(record.obj["metadata"].get("resourceVersion") or 0),
                                 "nodes": {node["id"]: node for node in nodes}}
        if status:
            entry["status"] = {key: value for key, value in record.status.items()
                               if key != "nodes" and key not in SAVED_AT_CREATE}
            metadata = record.obj["metadata"]
            entry["metadata"] = {key: metadata[key] for key in ("labels", "annotations") if key in metadata}
        if not entry["nodes"] and not status:
            return
        path = self._path(record.namespace, record.name)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def reset(self, record: WorkflowRecord) -> None:
        """The workflow was just saved whole: what the journal holds is in the save."""
        try:
            self._path(record.namespace, record.name).unlink()
        except FileNotFoundError:
            pass

    def replay(self, workflow: dict[str, Any]) -> int:
        """Lay the journal's newer lines over a loaded workflow; the highest resourceVersion seen."""
        metadata = workflow.get("metadata") or {}
        saved = int(metadata.get("resourceVersion") or 0)
        highest = saved
        try:
            lines = self._path(metadata["namespace"], metadata["name"]).read_text(encoding="utf-8").splitlines()
        except (OSError, KeyError):
            return highest
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                break  # a line cut short by the crash: what came before it is complete
            if entry.get("rv", 0) <= saved:
                continue
            _apply(workflow, entry)
            highest = max(highest, entry["rv"])
        metadata["resourceVersion"] = str(highest)
        return highest


def _apply(workflow: dict[str, Any], entry: dict[str, Any]) -> None:
    status = workflow.setdefault("status", {})
    nodes = status.get("nodes") or {}
    if "status" in entry:
        kept = {key: status[key] for key in SAVED_AT_CREATE if key in status}
        status.clear()
        status.update(entry["status"])
        status.update(kept)
    nodes.update(entry.get("nodes") or {})
    status["nodes"] = nodes
    workflow.setdefault("metadata", {}).update(entry.get("metadata") or {})


__all__ = ["JOURNAL_FILE", "Journal"]
