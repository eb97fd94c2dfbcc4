"""Where the engine keeps workflows and node folders on disk.

::

    <engine dir>/workflows/<namespace>/<workflow>/workflow.json      the Workflow object
    <engine dir>/workflows/<namespace>/<workflow>/nodes/<node id>/
        main.log      the main container's stdout and stderr, one timestamped line each
        pid           the process group of a running node (to clean up after a crash)
        fs/           the node's private root (pod.contract.PATH_PREFIX_VARIABLE) and working folder

Writes are atomic (temporary file, then rename) so a crash never leaves half a workflow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

from ..state import write_private


class WorkflowStore:
    """Files of the workflows the engine knows, under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workflows = root / "workflows"
        self.workflows.mkdir(parents=True, exist_ok=True)

    def workflow_dir(self, namespace: str, name: str) -> Path:
        return self.workflows / namespace / name

    def node_dir(self, namespace: str, name: str, node_id: str) -> Path:
        return self.workflow_dir(namespace, name) / "nodes" / node_id

    def log_path(self, namespace: str, name: str, node_id: str) -> Path:
        return self.node_dir(namespace, name, node_id) / "main.log"

    def save(self, namespace: str, name: str, workflow: dict[str, Any]) -> None:
        folder = self.workflow_dir(namespace, name)
        folder.mkdir(parents=True, exist_ok=True)
        write_private(folder / "workflow.json", json.dumps(workflow, separators=(",", ":")))

    def load_all(self) -> Iterator[dict[str, Any]]:
        """Every saved workflow; unreadable files are skipped (a crash mid-write leaves none)."""
        for path in sorted(self.workflows.glob("*/*/workflow.json")):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue

    def delete(self, namespace: str, name: str) -> None:
        shutil.rmtree(self.workflow_dir(namespace, name), ignore_errors=True)

    def delete_node(self, namespace: str, name: str, node_id: str) -> None:
        shutil.rmtree(self.node_dir(namespace, name, node_id), ignore_errors=True)
