"""A pod template resolved into a local process launch: Argo's substitution, our paths.

For each Pod node the engine substitutes the template's ``{{...}}`` variables (inputs,
``pod.name``, ``node.name``, ``retries``, output paths, the workflow's globals) into its command,
args, script source, env, working folder and deadlines, as Argo's controller does before it
creates the pod. Then it places the pod on this machine: every absolute path the template
declares lives under the node's private folder ``<node dir>/fs`` (given to the process as
``pod.contract.PATH_PREFIX_VARIABLE``), a script is written to ``<prefix>/argo/staging/script``,
an ``emptyDir`` is a fresh folder and a claim a symlink to the folder the engine was given for it.

Nothing here touches the disk until ``PodFolders.prepare`` runs (on the pod's own thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..argo import pod_name
from ..pod.contract import PATH_PREFIX_VARIABLE
from .parameters import input_variables
from .records import WorkflowRecord
from .runner import NODE_MARKER_VARIABLE, PodLaunch, node_marker, resolve_argv
from .spec import template_kind
from .store import WorkflowStore
from .templating import parameter_text, parse_go_duration, substitute

SCRIPT_PATH = "/argo/staging/script"
"""Where Argo's executor puts a script template's source (under the node's prefix here)."""
MAIN_CONTAINER = "main"

Mount = tuple[Path, "Path | None"]
"""(local mount path, the folder it links to, or None for a fresh empty folder)."""


@dataclass(frozen=True)
class PodSettings:
    """What the engine was started with that every pod uses."""

    store: WorkflowStore
    python: str | None
    base_environment: dict[str, str]
    volumes: dict[str, Path]
    host_name: str


@dataclass
class PodFolders:
    """The folders and files a pod needs before its process starts."""

    prefix: Path
    cwd: Path
    mounts: list[Mount]
    script_path: Path | None = None
    source: str | None = None

    def prepare(self) -> None:
        """Create them (raises OSError when the disk refuses)."""
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        for mount_path, target in self.mounts:
            mount_path.parent.mkdir(parents=True, exist_ok=True)
            if target is None:
                mount_path.mkdir(parents=True, exist_ok=True)
            elif not mount_path.exists():
                target.mkdir(parents=True, exist_ok=True)
                mount_path.symlink_to(target, target_is_directory=True)
        if self.script_path is not None and self.source is not None:
            self.script_path.parent.mkdir(parents=True, exist_ok=True)
            self.script_path.write_text(self.source, encoding="utf-8")


@dataclass
class PodPlan:
    """A resolved pod: the process to start, its folders, and where its output parameters land."""

    launch: PodLaunch
    folders: PodFolders
    # Each declared output parameter: name, path (as declared), valueFrom, localPath (under the prefix).
    output_parameters: list[dict[str, Any]]


def build_pod(settings: PodSettings, record: WorkflowRecord, global_values: Mapping[str, str],
              node: dict[str, Any], template: dict[str, Any], inputs: Mapping[str, str], *,
              retries: int | None, capture_result: bool) -> PodPlan:
    """Resolve ``template`` for ``node``; raises ``UnresolvedReference``, ``ExpressionTag``,
    ``CommandNotFound`` or ``ValueError`` when it cannot run (the node becomes Error)."""
    kind = template_kind(template)
    container = template[kind]
    name_of_pod = pod_name(record.name, node["name"], template["name"])
    prefix = settings.store.node_dir(record.namespace, record.name, node["id"]) / "fs"
    variables = {**global_values, **input_variables(inputs), "pod.name": name_of_pod,
                 "node.name": node["name"], "retries": str(retries or 0)}
    output_parameters = _output_parameters(template, variables, prefix)
    values = dict(variables)
    for parameter in output_parameters:
        values[f"outputs.parameters.{parameter['name']}.path"] = parameter["localPath"]

    folders = PodFolders(prefix, prefix, [])
    argv = _argv(kind, container, values, settings.python, folders)
    environment = _environment(settings, record, node, name_of_pod, container, values, prefix)
    working_directory = container.get("workingDir")
    if working_directory:
        folders.cwd = Path(str(prefix) + substitute(working_directory, values))
    deadline = _deadline_seconds(template, values)
    folders.mounts = volume_mounts(record.obj["spec"], template, container, prefix, settings.volumes)
    launch = PodLaunch(
        argv=argv,
        env=environment,
        cwd=folders.cwd,
        log_path=settings.store.log_path(record.namespace, record.name, node["id"]),
        capture_result=capture_result,
        deadline_seconds=deadline,
    )
    return PodPlan(launch, folders, output_parameters)


def _output_parameters(template: Mapping[str, Any], values: Mapping[str, str], prefix: Path) -> list[dict[str, Any]]:
    declared = []
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = dict(parameter.get("valueFrom") or {})
        path = substitute(value_from["path"], values)
        value_from["path"] = path
        declared.append({"name": parameter["name"], "path": path, "valueFrom": value_from,
                         "localPath": str(prefix) + path})
    return declared


def _argv(kind: str, container: Mapping[str, Any], values: Mapping[str, str], python: str | None,
          folders: PodFolders) -> list[str]:
    """Command, then (for a script) the script's path, then args; the script goes into ``folders``."""
    command = [substitute(word, values) for word in container.get("command") or []]
    args = [substitute(parameter_text(word), values) for word in container.get("args") or []]
    argv = resolve_argv(command, python)
    if kind == "script":
        folders.source = substitute(container["source"], values)
        folders.script_path = Path(str(folders.prefix) + SCRIPT_PATH)
        argv.append(str(folders.script_path))
    argv.extend(args)
    return argv


def _environment(settings: PodSettings, record: WorkflowRecord, node: Mapping[str, Any], name_of_pod: str,
                 container: Mapping[str, Any], values: Mapping[str, str], prefix: Path) -> dict[str, str]:
    """The engine's environment, the variables Argo's executor sets, then the template's ``env``."""
    environment = dict(settings.base_environment)
    environment.update({
        PATH_PREFIX_VARIABLE: str(prefix),
        NODE_MARKER_VARIABLE: node_marker(record.namespace, node["id"]),
        "ARGO_POD_NAME": name_of_pod,
        "ARGO_NODE_ID": node["id"],
        "ARGO_WORKFLOW_NAME": record.name,
        "ARGO_WORKFLOW_UID": record.obj["metadata"].get("uid", ""),
        "ARGO_CONTAINER_NAME": MAIN_CONTAINER,
    })
    for variable in container.get("env") or []:
        environment[variable["name"]] = substitute(parameter_text(variable.get("value", "")), values)
    return environment


def _deadline_seconds(template: Mapping[str, Any], values: Mapping[str, str]) -> float | None:
    """The earlier of ``activeDeadlineSeconds`` and ``timeout``, counted from the process start."""
    deadlines = []
    if template.get("activeDeadlineSeconds") is not None:
        deadlines.append(float(substitute(str(template["activeDeadlineSeconds"]), values)))
    timeout = template.get("timeout")
    if timeout is not None:
        deadlines.append(float(timeout) if isinstance(timeout, (int, float))
                         else parse_go_duration(substitute(timeout, values)))
    return min(deadlines) if deadlines else None


def volume_mounts(spec: Mapping[str, Any], template: Mapping[str, Any], container: Mapping[str, Any],
                  prefix: Path, claims: Mapping[str, Path]) -> list[Mount]:
    """(local mount path, folder it links to or None for a fresh empty folder) per mount."""
    volumes = {volume["name"]: volume for volume in (spec.get("volumes") or []) + (template.get("volumes") or [])}
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        local = Path(str(prefix) + mount["mountPath"])
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim is None:
            mounts.append((local, None))
            continue
        target = claims[claim]
        if mount.get("subPath"):
            target = target / mount["subPath"]
        mounts.append((local, target))
    return mounts
