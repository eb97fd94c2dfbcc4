"""A pod's artifacts: what its init step loads before the process, what its wait step saves after.

In Argo the pod's ``init`` container loads each input artifact to its path and the ``wait``
container saves each output artifact once ``main`` has ended (``loadArtifacts`` and
``SaveArtifacts`` in ``workflow/executor/executor.go``, v4.0.5). The local engine does both on
the pod's own thread, with the node's folders prepared (``pod_launch.PodFolders``):

* ``load_inputs`` puts each input artifact where the task sees its path (``host_path``: the
  node's root, or the folder of a volume mounted over that path); an optional artifact that was
  not supplied, or whose key has no object, is skipped; any other failure stops the pod
  (``ArtifactError``, the node becomes Error, as when Argo's init container fails).
* ``save_outputs`` saves each output artifact the task left at its path under the pod's key
  (``{{workflow.name}}/{{pod.name}}``, ``artifacts.KEY_FORMAT``) and returns what the node records;
  an optional artifact that is not there is left out, another one is an error once the process
  exited 0 (the wait container fails: the node becomes Error).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .artifacts import ArtifactError, ArtifactMissing, ArtifactRepository, has_location_or_key


@dataclass(frozen=True)
class PodArtifact:
    """One artifact of a pod: as resolved for it, and where its path is on this machine."""

    artifact: dict[str, Any]
    host_path: Path
    hint: str = ""
    """Without a file-system view: where the task must write (said when the file is missing)."""


@dataclass
class PodArtifacts:
    """A pod's input and output artifacts, the repository and the pod's key."""

    repository: ArtifactRepository
    key_prefix: str
    inputs: list[PodArtifact]
    outputs: list[PodArtifact]

    def load_inputs(self) -> None:
        """Load every input artifact (raises ``ArtifactError`` when a required one fails)."""
        for item in self.inputs:
            artifact = item.artifact
            if not has_location_or_key(artifact):
                if artifact.get("optional"):
                    continue  # "Ignoring optional artifact which was not supplied"
                raise ArtifactError(f"required artifact '{artifact.get('name')}' not supplied")
            try:
                self.repository.load(artifact, item.host_path)
            except ArtifactMissing:
                if not artifact.get("optional"):
                    raise

    def save_outputs(self, report_missing: bool) -> tuple[list[dict[str, Any]], str | None]:
        """Save the output artifacts; (what the node records, the first error or None).

        ``report_missing``: whether a required artifact that is not there is an error (only
        when the process exited 0; a failed task already failed the node).
        """
        saved: list[dict[str, Any]] = []
        error: str | None = None
        for item in self.outputs:
            artifact = item.artifact
            try:
                saved.append(self.repository.save(item.host_path, artifact, self.key_prefix))
            except ArtifactMissing as problem:
                if not artifact.get("optional") and report_missing and error is None:
                    error = f"failed to save outputs: {problem}{item.hint}"
            except ArtifactError as problem:
                if error is None:
                    error = str(problem)
        return saved, error


__all__ = ["PodArtifact", "PodArtifacts"]
