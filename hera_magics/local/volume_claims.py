"""``volumeClaimTemplates``: a folder per workflow for each claim, deleted as ``volumeClaimGC`` says.

As Argo v4.0.5's controller (``createPVCs`` and ``deletePVCs`` in
``workflow/controller/operator.go``, argoproj/argo-workflows): when a workflow starts, each claim
template ``T`` becomes the claim ``<workflow>-<T>`` and the volume ``T`` (recorded in
``status.persistentVolumeClaims`` as ``{name: T, persistentVolumeClaim: {claimName}}``), which
any template mounts by the name ``T``. When the workflow completes, its claims are deleted as
``spec.volumeClaimGC.strategy`` says: ``OnWorkflowSuccess`` (the default: only when it
Succeeded, so a ``retry`` of a failed workflow finds its files again) or
``OnWorkflowCompletion``; deleted claims leave ``status.persistentVolumeClaims``. A claim that
is kept is deleted with its workflow (its owner).

Locally a claim is the folder ``<workflow folder>/claims/<claim name>`` (``store``), so deleting
the workflow deletes it too. The storage class, size and access modes only say where a cluster
would put the data; they are accepted and not used.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from ..argo import SUCCEEDED
from .invalid import WorkflowInvalid
from .naming import NAMESPACE_PATTERN

CLAIMS_FOLDER = "claims"
STATUS_FIELD = "persistentVolumeClaims"
ON_SUCCESS = "OnWorkflowSuccess"
ON_COMPLETION = "OnWorkflowCompletion"
GC_STRATEGIES = (ON_SUCCESS, ON_COMPLETION)


def claim_template_names(spec: Mapping[str, Any]) -> set[str]:
    """The volume names the workflow's claim templates give (what a template may mount)."""
    return {str((template.get("metadata") or {}).get("name")) for template in spec.get("volumeClaimTemplates") or []
            if isinstance(template, dict) and (template.get("metadata") or {}).get("name")}


def validate_volume_claims(spec: Mapping[str, Any]) -> None:
    """Each claim template has a name that is a volume name no other volume uses; the GC
    strategy is one Argo knows."""
    templates = spec.get("volumeClaimTemplates") or []
    if not isinstance(templates, list):
        raise WorkflowInvalid("spec.volumeClaimTemplates must be a list of claims")
    volumes = {volume.get("name") for volume in spec.get("volumes") or [] if isinstance(volume, dict)}
    seen: set[str] = set()
    for index, template in enumerate(templates):
        name = ((template or {}).get("metadata") or {}).get("name") if isinstance(template, dict) else None
        if not name:
            raise WorkflowInvalid(f"volumeClaimTemplates[{index}].metadata.name is required")
        if not NAMESPACE_PATTERN.match(str(name)) or len(str(name)) > 63:
            raise WorkflowInvalid(f"volumeClaimTemplates[{index}].metadata.name: Invalid value: \"{name}\": a lowercase "
                                  "RFC 1123 label must consist of lower case alphanumeric characters or '-'")
        if name in seen or name in volumes:
            raise WorkflowInvalid(f"volumeClaimTemplates[{index}].metadata.name: volume '{name}' is declared twice")
        seen.add(name)
    strategy = (spec.get("volumeClaimGC") or {}).get("strategy")
    if strategy and strategy not in GC_STRATEGIES:
        raise WorkflowInvalid(f"spec.volumeClaimGC.strategy: unknown volume gc strategy: {strategy}")


def claim_name(workflow_name: str, template_name: str) -> str:
    """The claim a template becomes: ``<workflow>-<template>``."""
    return f"{workflow_name}-{template_name}"


def create_claims(status: dict[str, Any], spec: Mapping[str, Any], workflow_name: str, workflow_folder: Path) -> None:
    """Make each claim's folder and record its volume (once; a retry finds them recorded)."""
    templates = [template for template in spec.get("volumeClaimTemplates") or [] if isinstance(template, dict)]
    if not templates or len(status.get(STATUS_FIELD) or []) == len(templates):
        return
    volumes = []
    for template in templates:
        name = template["metadata"]["name"]
        claim = claim_name(workflow_name, name)
        (workflow_folder / CLAIMS_FOLDER / claim).mkdir(parents=True, exist_ok=True)
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": claim}})
    status[STATUS_FIELD] = volumes


def claim_folders(status: Mapping[str, Any], workflow_folder: Path) -> dict[str, Path]:
    """The folder of each claim the workflow made, by claim name."""
    return {volume["persistentVolumeClaim"]["claimName"]: workflow_folder / CLAIMS_FOLDER /
            volume["persistentVolumeClaim"]["claimName"]
            for volume in status.get(STATUS_FIELD) or []}


def claim_volumes(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The volumes the claims add to every pod of the workflow."""
    return [dict(volume) for volume in status.get(STATUS_FIELD) or []]


def delete_claims(status: dict[str, Any], spec: Mapping[str, Any], workflow_folder: Path) -> None:
    """At completion: delete the claims if ``volumeClaimGC`` says so (``deletePVCs``)."""
    strategy = (spec.get("volumeClaimGC") or {}).get("strategy") or ON_SUCCESS
    if strategy == ON_SUCCESS and status.get("phase") != SUCCEEDED:
        return
    if not status.get(STATUS_FIELD):
        return
    for folder in claim_folders(status, workflow_folder).values():
        shutil.rmtree(folder, ignore_errors=True)
    del status[STATUS_FIELD]


__all__ = [
    "claim_folders",
    "claim_name",
    "claim_template_names",
    "claim_volumes",
    "create_claims",
    "delete_claims",
    "validate_volume_claims",
]
