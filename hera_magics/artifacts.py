"""Reading a task's output artifacts from the notebook (``WorkflowRun.artifact``).

A task's output artifacts are listed in its node (``outputs.artifacts``: name, path, key). Their
content comes from the server's artifact route, ``/artifacts/{namespace}/{workflow}/{node id}/
{artifact}`` (Argo's artifact server, and the local engine's), which answers the object as it
was saved: a tar-gzip (``<name>.tgz``, Argo's default), a zip, or the file itself
(``archive: none``). ``unpack`` turns that into what the task wrote: the bytes of a single file,
or, given a folder, the file or folder extracted there. No HTTP here (``ArgoClient.get_artifact``).
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

from .errors import TaskResultError
from .results import closest_names, node_of


def output_artifacts(workflow: Mapping[str, Any], row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The output artifacts the node of ``row`` recorded (its last attempt for a retried task)."""
    return [dict(artifact) for artifact in (node_of(workflow, row).get("outputs") or {}).get("artifacts") or []]


def find_artifact(workflow: Mapping[str, Any], row: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The output artifact ``name`` of the task of ``row``; ``TaskResultError`` (with the closest
    names) when it has none of that name, or it was deleted by ``artifactGC``."""
    artifacts = output_artifacts(workflow, row)
    names = [str(artifact.get("name")) for artifact in artifacts]
    if name not in names:
        suggestions = closest_names(name, names)
        message = f"task {row['task']} has no output artifact {name!r}"
        if suggestions:
            message += f"; did you mean {' or '.join(repr(item) for item in suggestions)}?"
        raise TaskResultError(message, hint=f"its artifacts: {', '.join(names)}" if names
                              else "declare outputs.artifacts in its template")
    artifact = artifacts[names.index(name)]
    if artifact.get("deleted"):
        raise TaskResultError(f"artifact {name} of task {row['task']} was deleted by the workflow's artifactGC")
    return artifact


def unpack(data: bytes, file_name: str, name: str, folder: Path | None = None) -> bytes | Path:
    """What the task wrote, from the saved object ``data`` (called ``file_name``).

    Without ``folder``: the bytes of a single file (a folder artifact raises
    ``TaskResultError``). With ``folder``: the file or folder is extracted there and its path
    returned.
    """
    if file_name.endswith(".tgz") and _is_tar_gzip(data):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            if folder is None:
                if len(members) == 1 and members[0].isfile():
                    extracted = archive.extractfile(members[0])
                    return extracted.read() if extracted is not None else b""
                raise _folder_needed(name)
            return _extracted_tar(archive, members, folder)
    if file_name.endswith(".zip") and zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [entry for entry in archive.infolist() if not entry.is_dir()]
            if folder is None:
                if len(archive.infolist()) == 1 and entries:
                    return archive.read(entries[0])
                raise _folder_needed(name)
            for entry in archive.namelist():
                _check_member(entry)
            archive.extractall(folder)
            return _top(folder, archive.namelist())
    if folder is None:
        return data
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(file_name).name
    target.write_bytes(data)
    return target


def _folder_needed(name: str) -> TaskResultError:
    return TaskResultError(f"artifact {name} holds a folder (or several files)",
                           hint="give a folder to extract it into: run.artifact(task, artifact, folder='...')")


def _is_tar_gzip(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def _extracted_tar(archive: tarfile.TarFile, members: list[tarfile.TarInfo], folder: Path) -> Path:
    for member in members:
        _check_member(member.name)
        if member.issym() or member.islnk():
            _check_member(member.linkname)
    folder.mkdir(parents=True, exist_ok=True)
    options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    archive.extractall(folder, members=members, **options)
    return _top(folder, [member.name for member in members])


def _check_member(name: str) -> None:
    if name.startswith("/") or ".." in name.replace("\\", "/").split("/"):
        raise TaskResultError(f"the artifact holds an unsafe path {name!r}; it was not extracted")


def _top(folder: Path, names: list[str]) -> Path:
    """The single top-level entry the archive held, else ``folder`` itself."""
    tops = {name.replace("\\", "/").split("/")[0] for name in names if name}
    return folder / tops.pop() if len(tops) == 1 else folder


__all__ = ["find_artifact", "output_artifacts", "unpack"]
