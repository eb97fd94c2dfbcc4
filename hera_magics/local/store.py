"""Where the engine keeps workflows and node folders on disk.

::

    <engine dir>/workflows/<namespace>/<workflow>/workflow.json      the Workflow object
    <engine dir>/workflows/<namespace>/<workflow>/nodes/<node id>/
        main.log      the main container's stdout and stderr, one timestamped line each
        pid           the process group of a running node (to clean up after a crash)
        fs/           the node's private root (pod.contract.PATH_PREFIX_VARIABLE) and working folder
    <engine dir>/artifacts/<key>                                      the artifact repository (``artifacts``)

Writes are atomic (temporary file, then rename) so a crash never leaves half a workflow. A new
workflow is written by ``create``, which leaves nothing behind when the write fails. Every path
is made of a namespace and a name that are valid Kubernetes names (``naming``), checked again
here, so no request can make the engine write outside its folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from ..state import write_private
from .artifacts import REPOSITORY_FOLDER, ArtifactRepository
from .naming import namespace_problem, object_name_problem

WORKFLOW_FILE_NAME = "workflow.json"


def _checked(namespace: str, name: str) -> tuple[str, str]:
    """Refuse a namespace or name that is not a Kubernetes name (``..``, ``/abs``, 300 characters)."""
    problem = namespace_problem(namespace) or object_name_problem(name)
    if problem:
        raise ValueError(f"the local engine does not store {problem}")
    return namespace, name


class WorkflowStore:
    """Files of the workflows the engine knows, under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workflows = root / "workflows"
        self.workflows.mkdir(parents=True, exist_ok=True)
        self.artifacts = ArtifactRepository(root / REPOSITORY_FOLDER)

    def workflow_dir(self, namespace: str, name: str) -> Path:
        namespace, name = _checked(namespace, name)
        return self.workflows / namespace / name

    def node_dir(self, namespace: str, name: str, node_id: str) -> Path:
        return self.workflow_dir(namespace, name) / "nodes" / node_id

    def log_path(self, namespace: str, name: str, node_id: str) -> Path:
        return self.node_dir(namespace, name, node_id) / "main.log"

    def save(self, namespace: str, name: str, workflow: dict[str, Any]) -> None:
        folder = self.workflow_dir(namespace, name)
        folder.mkdir(parents=True, exist_ok=True)
        write_private(folder / WORKFLOW_FILE_NAME, json.dumps(workflow, separators=(",", ":")))

    def create(self, namespace: str, name: str, workflow: dict[str, Any]) -> None:
        """Save a new workflow; on ``OSError`` (disk full, read-only folder, ...) nothing of it remains.

        The folders this call made are removed again; a folder that was there before is left.
        """
        folder = self.workflow_dir(namespace, name)
        made: list[Path] = []
        try:
            for path in (folder.parent, folder):
                try:
                    os.mkdir(path, 0o700)
                    made.append(path)
                except FileExistsError:
                    pass
            write_private(folder / WORKFLOW_FILE_NAME, json.dumps(workflow, separators=(",", ":")))
        except OSError:
            for path in reversed(made):
                shutil.rmtree(path, ignore_errors=True)
            raise

    def load_all(self) -> Iterator[dict[str, Any]]:
        """Every saved workflow; unreadable files are skipped (a crash mid-write leaves none), and so
        is a file whose namespace and name are not those of its folders."""
        for path in sorted(self.workflows.glob(f"*/*/{WORKFLOW_FILE_NAME}")):
            try:
                workflow = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            metadata = workflow.get("metadata") if isinstance(workflow, dict) else None
            if not isinstance(metadata, dict):
                continue
            namespace, name = metadata.get("namespace"), metadata.get("name")
            if (namespace, name) != (path.parent.parent.name, path.parent.name):
                continue
            if namespace_problem(namespace) or object_name_problem(name):
                continue
            yield workflow

    def delete(self, namespace: str, name: str) -> None:
        shutil.rmtree(self.workflow_dir(namespace, name), ignore_errors=True)

    def delete_node(self, namespace: str, name: str, node_id: str) -> None:
        shutil.rmtree(self.node_dir(namespace, name, node_id), ignore_errors=True)
