"""The local artifact repository: a folder that stands in for Argo's default artifact repository.

Argo's executor saves each output artifact of a pod to the workflow's artifact repository (an S3
bucket in Argo's quick start) and loads each input artifact from there
(``workflow/executor/executor.go`` in argoproj/argo-workflows, v4.0.5). The local engine keeps
that repository in ``<state folder>/artifacts``: the object with key ``K`` is the file (or, for
an unarchived directory, the folder) ``artifacts/K``. What Argo's executor does, this module does
with the same names and the same bytes:

* **keys**: an output artifact without a key of its own is saved under the repository's key
  format, Argo's default ``{{workflow.name}}/{{pod.name}}`` (``DefaultArchivePattern``), plus a
  file name: ``<artifact name>.tgz`` (the default tar-gzip archive), ``<artifact name>.zip``
  (``archive: zip``) or the base name of its path (``archive: none``) (``stageArchiveFile``).
  A *key-only* artifact (``s3: {key: K}``) is saved and loaded at ``K`` in the same repository.
* **archives**: tar-gzip holds the file or folder under its base name (``TarGzToWriter``; gzip
  level 6 unless ``archive.tar.compressionLevel`` says otherwise); loading unpacks an archive
  whose single entry then becomes the artifact's path (``unpack``), auto-detecting a tar-gzip
  when the artifact names no archive strategy; ``mode`` (and ``recurseMode``) are applied after
  loading (``chmod``).
* what the node records: the artifact as declared (after substitution) with ``s3: {key: K}``, as
  Argo's executor reports it (``SetType`` + ``SetKey``: only the key, the repository being the
  workflow's).

Keys are checked (relative, no ``..``) so that no workflow can make the engine read or write
outside the repository. Everything here is plain file work on the pod's own thread.
"""

from __future__ import annotations

import copy
import gzip
import os
import posixpath
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

REPOSITORY_FOLDER = "artifacts"
"""The repository's folder, under the engine's state folder."""
KEY_FORMAT = "{{workflow.name}}/{{pod.name}}"
"""Argo's default key format (``DefaultArchivePattern`` in ``artifact_repository_types.go``)."""
REPOSITORY_BUCKET = "hera-magics-local"
"""The bucket name the engine reports for its repository (``status.artifactRepositoryRef``)."""
DEFAULT_COMPRESSION = 6
"""Go's ``gzip.DefaultCompression`` is level 6."""
LOCATION_FIELDS = ("s3", "git", "http", "artifactory", "hdfs", "raw", "oss", "gcs", "azure", "plugin")
"""The places an artifact can be (Argo's ``ArtifactLocation``)."""


ARTIFACT_FIELD_ORDER = ("name", "path", "mode", "from", "archiveLogs", *LOCATION_FIELDS, "globalName", "archive",
                        "optional", "subPath", "recurseMode", "fromExpression", "artifactGC", "deleted")
"""The order Go writes an ``Artifact``'s fields in (its struct's declaration order)."""


def in_argo_order(artifact: Mapping[str, Any]) -> dict[str, Any]:
    """``artifact`` with its fields in the order Argo writes them (unknown fields last)."""
    ordered = {key: artifact[key] for key in ARTIFACT_FIELD_ORDER if key in artifact}
    ordered.update((key, value) for key, value in artifact.items() if key not in ordered)
    return ordered


class ArtifactError(Exception):
    """An artifact could not be loaded or saved; the message says which and why."""


class ArtifactMissing(ArtifactError):
    """The artifact's file (or key) does not exist; optional artifacts are then skipped."""


def artifact_key(artifact: Mapping[str, Any]) -> str:
    """The artifact's key in the repository (``s3.key``), "" when it has none."""
    return str((artifact.get("s3") or {}).get("key") or "")


def has_location_or_key(artifact: Mapping[str, Any]) -> bool:
    """Argo's ``HasLocationOrKey`` for what the local engine accepts: ``raw`` data or a key."""
    return artifact.get("raw") is not None or bool(artifact_key(artifact))


def archive_strategy(artifact: Mapping[str, Any]) -> str | None:
    """``none``, ``tar`` or ``zip`` as the artifact declares it; None when it declares none."""
    archive = artifact.get("archive") or {}
    for strategy in ("none", "tar", "zip"):
        if archive.get(strategy) is not None:
            return strategy
    return None


def saved_file_name(artifact: Mapping[str, Any]) -> str:
    """The last part of a saved artifact's key, as Argo's ``stageArchiveFile`` names it."""
    strategy = archive_strategy(artifact) or "tar"
    if strategy == "none":
        return posixpath.basename(posixpath.normpath(artifact["path"]))
    return f"{artifact['name']}.{'zip' if strategy == 'zip' else 'tgz'}"


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot name an object of the local repository, or None."""
    if not key:
        return "the key is empty"
    if key.startswith("/"):
        return f"the key {key!r} is absolute; keys are relative to the artifact repository"
    if ".." in key.split("/") or "\0" in key:
        return f"the key {key!r} leaves the artifact repository"
    return None


class ArtifactRepository:
    """The folder of artifacts, addressed by key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        """Where the object ``key`` lives (raises ``ArtifactError`` for a key that leaves the folder)."""
        problem = key_problem(key)
        if problem:
            raise ArtifactError(problem)
        return self.root / posixpath.normpath(key)

    # -- saving ---------------------------------------------------------------------------------------

    def save(self, source: Path, artifact: Mapping[str, Any], key_prefix: str) -> dict[str, Any]:
        """Save the file or folder ``source`` as ``artifact``; returns what the node records.

        ``key_prefix`` is the pod's key (the key format, substituted) for an artifact that has
        no key of its own. Raises ``ArtifactMissing`` when ``source`` does not exist.
        """
        if not source.exists():
            raise ArtifactMissing(f"open {artifact.get('path')}: no such file or directory")
        name = source.name
        # Argo's executor stats the path, following a symbolic link: it saves what the link names.
        source = source.resolve() if source.is_symlink() else source
        recorded = copy.deepcopy(dict(artifact))
        key = artifact_key(artifact) or posixpath.join(key_prefix, saved_file_name(artifact))
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.saving")
        _remove(staging)
        strategy = archive_strategy(artifact) or "tar"
        try:
            if strategy == "tar":
                _tar_gzip(source, name, staging, _compression_level(artifact))
            elif strategy == "zip":
                _zip(source, name, staging)
            elif source.is_dir():
                shutil.copytree(source, staging, symlinks=True)
            else:
                shutil.copyfile(source, staging)
            _remove(target)
            os.replace(staging, target)
        except OSError as error:
            _remove(staging)
            raise ArtifactError(f"failed to save artifact {artifact.get('name')}: {error.strerror or error}") from None
        recorded["s3"] = {**(recorded.get("s3") or {}), "key": key}
        return in_argo_order(recorded)

    # -- loading --------------------------------------------------------------------------------------

    def load(self, artifact: Mapping[str, Any], destination: Path) -> None:
        """Put ``artifact`` at ``destination`` (raw data, or the object at its key), unpacking an
        archive, then apply its ``mode``. Raises ``ArtifactMissing`` when the key has no object."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        _remove(destination)
        if artifact.get("raw") is not None:
            destination.write_text(str((artifact.get("raw") or {}).get("data") or ""), encoding="utf-8")
        else:
            key = artifact_key(artifact)
            source = self.path_of(key)
            if not source.exists():
                raise ArtifactMissing(f"artifact {artifact.get('name')} failed to load: the key {key} does not exist "
                                      "in the local artifact repository")
            try:
                self._unpack(artifact, source, destination)
            except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
                raise ArtifactError(f"artifact {artifact.get('name')} failed to load: {error}") from None
        if artifact.get("mode") is not None:
            _chmod(destination, int(artifact["mode"]), bool(artifact.get("recurseMode")))

    def _unpack(self, artifact: Mapping[str, Any], source: Path, destination: Path) -> None:
        if source.is_dir():
            shutil.copytree(source, destination, symlinks=True)
            return
        strategy = archive_strategy(artifact)
        if strategy is None:
            strategy = "tar" if _is_tar_gzip(source) else "none"
        if strategy == "none":
            shutil.copyfile(source, destination)
        else:
            _unpack_archive(source, destination, strategy)

    # -- reading and deleting -----------------------------------------------------------------------

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object whose key starts with the folder ``prefix`` (a workflow's objects)."""
        if key_problem(prefix) is None:
            shutil.rmtree(self.path_of(prefix), ignore_errors=True)

    def delete_key(self, key: str) -> None:
        """Delete one object (a file, or an unarchived folder); nothing when it is not there."""
        if key_problem(key) is None:
            _remove(self.path_of(key))


def _compression_level(artifact: Mapping[str, Any]) -> int:
    level = ((artifact.get("archive") or {}).get("tar") or {}).get("compressionLevel")
    return DEFAULT_COMPRESSION if level is None or int(level) < 0 else int(level)


def _tar_gzip(source: Path, name: str, target: Path, level: int) -> None:
    """A tar-gzip of ``source`` holding it as ``name`` (its base name: Argo's ``TarGzToWriter``)."""
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w") as archive:
            archive.add(str(source), arcname=name)


def _zip(source: Path, name: str, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                archive.write(path, str(Path(name) / path.relative_to(source)))
        else:
            archive.write(source, name)


def _is_tar_gzip(path: Path) -> bool:
    """Argo's ``isTarball``: a gzip stream whose content starts with a tar header."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            return archive.next() is not None
    except (OSError, tarfile.TarError, EOFError):
        return False


def _unpack_archive(source: Path, destination: Path, strategy: str) -> None:
    """Extract into ``<destination>.tmpdir``; a single entry becomes ``destination``, several
    entries make it a folder (Argo's ``unpack``). Entries may not leave the folder."""
    scratch = destination.with_name(destination.name + ".tmpdir")
    _remove(scratch)
    scratch.mkdir(parents=True)
    try:
        if strategy == "zip":
            with zipfile.ZipFile(source) as archive:
                for name in archive.namelist():
                    _check_member(name)
                archive.extractall(scratch)
        else:
            with tarfile.open(source, mode="r:*") as archive:
                members = archive.getmembers()
                for member in members:
                    _check_member(member.name)
                    if member.issym():
                        _check_link(member.name, member.linkname)
                    elif member.islnk():
                        _check_member(member.linkname)
                archive.extractall(scratch, members=members, **_tar_filter())
        entries = list(scratch.iterdir())
        if len(entries) == 1:
            os.replace(entries[0], destination)
            scratch.rmdir()
        else:
            os.replace(scratch, destination)
    finally:
        _remove(scratch)


def _tar_filter() -> dict[str, Any]:
    # Python 3.12 warns without a filter; the "fully_trusted" behaviour is what Argo's untar does
    # once the member checks above passed (modes kept, links inside the folder kept).
    return {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


def _check_member(name: str) -> None:
    if name.startswith("/") or ".." in name.replace("\\", "/").split("/"):
        raise ArtifactError(f"illegal file path: {name}")


def _check_link(name: str, target: str) -> None:
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise ArtifactError(f"illegal symlink target: {name} -> {target}")


def _chmod(path: Path, mode: int, recurse: bool) -> None:
    os.chmod(path, mode)
    if recurse and path.is_dir():
        for child in path.rglob("*"):
            if not child.is_symlink():
                os.chmod(child, mode)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


__all__ = [
    "ArtifactError",
    "ArtifactMissing",
    "ArtifactRepository",
    "KEY_FORMAT",
    "LOCATION_FIELDS",
    "REPOSITORY_BUCKET",
    "REPOSITORY_FOLDER",
    "archive_strategy",
    "artifact_key",
    "has_location_or_key",
    "in_argo_order",
    "key_problem",
    "saved_file_name",
]
