"""Artifact garbage collection: deleting a workflow's saved artifacts when its ``artifactGC`` says.

As Argo v4.0.5 (``workflow/controller/artifact_gc.go``, argoproj/argo-workflows): each output
artifact of a Pod node has a strategy, its own ``artifactGC.strategy`` else the workflow's
``spec.artifactGC.strategy``; none means ``Never`` (artifacts outlive the workflow, as in an S3
bucket). ``OnWorkflowCompletion`` artifacts are deleted when the workflow completes and marked
``deleted: true`` in their node; ``OnWorkflowDeletion`` ones when the workflow is deleted.
``status.artifactGCStatus`` says ``notSpecified`` when the workflow asks for no collection, else
which strategies were processed.
"""

from __future__ import annotations

from typing import Any, Mapping

from .artifacts import ArtifactRepository, artifact_key
from .spec import execution_spec

ON_COMPLETION = "OnWorkflowCompletion"
ON_DELETION = "OnWorkflowDeletion"
STATUS_FIELD = "artifactGCStatus"


def artifact_strategy(artifact: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The collection strategy of one artifact ("" or ``Never``: kept)."""
    own = (artifact.get("artifactGC") or {}).get("strategy")
    return own or (spec.get("artifactGC") or {}).get("strategy") or ""


def _pod_artifacts(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [artifact for node in ((workflow.get("status") or {}).get("nodes") or {}).values()
            if node.get("type") == "Pod"
            for artifact in (node.get("outputs") or {}).get("artifacts") or []]


def gc_specified(spec: Mapping[str, Any]) -> bool:
    """Whether any artifact of the workflow may be collected (Argo's ``HasArtifactGC``)."""
    if (spec.get("artifactGC") or {}).get("strategy") not in (None, "", "Never"):
        return True
    return any((artifact.get("artifactGC") or {}).get("strategy") not in (None, "", "Never")
               for template in spec.get("templates") or []
               for artifact in (template.get("outputs") or {}).get("artifacts") or [])


def initial_status(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``status.artifactGCStatus`` when the workflow starts."""
    return {} if gc_specified(spec) else {"notSpecified": True}


def collect(workflow: dict[str, Any], repository: ArtifactRepository, strategy: str) -> None:
    """Delete the artifacts whose strategy is ``strategy``; mark them deleted (on completion)."""
    spec = execution_spec(workflow)
    if not gc_specified(spec):
        return
    collected = False
    for artifact in _pod_artifacts(workflow):
        if artifact_strategy(artifact, spec) != strategy or artifact.get("deleted"):
            continue
        key = artifact_key(artifact)
        if key:
            repository.delete_key(key)
        if strategy == ON_COMPLETION:
            artifact["deleted"] = True
        collected = True
    status = workflow.setdefault("status", {})
    gc_status = status.setdefault(STATUS_FIELD, {})
    if collected or strategy == ON_COMPLETION:
        gc_status.setdefault("strategiesProcessed", {})[strategy] = True


__all__ = ["ON_COMPLETION", "ON_DELETION", "STATUS_FIELD", "artifact_strategy", "collect", "gc_specified",
           "initial_status"]
