"""A pod template resolved into a local process launch: Argo's substitution, our paths.

For each Pod node the engine substitutes the template's ``{{...}}`` variables (inputs,
``pod.name``, ``node.name``, ``retries``, output paths, the workflow's globals) into its command,
args, script source, env, working folder and deadlines, as Argo's controller does before it
creates the pod. Then it places the pod on this machine. Every absolute path the template
declares belongs to the node: it lives under the node's folder ``<node dir>/fs`` (its *root*),
except mount paths, which lead to the volume's folder (a claim's local folder, or the node's
``<node dir>/volumes/<name>`` for an ``emptyDir``). Paths are normalised first, so ``..`` can never
lead out of these folders.

How the task finds them depends on the engine's mode (``PodSettings.filesystem_view``):

* with a file-system view (``pod_filesystem``), the task runs with the root as its ``/`` and sees
  every declared path where it declared it, as in a pod; ``HERA_MAGICS_PATH_PREFIX`` is empty;
* without one, the task runs on the machine's own file system: ``{{outputs.parameters.X.path}}``
  is replaced by the file's place under the root, ``HERA_MAGICS_PATH_PREFIX`` holds the root (the
  code our magics generate puts it in front of its paths), an ``emptyDir`` is a folder and a claim
  a symbolic link under the root.

Either way the engine reads an output parameter from ``host_path(path)``, loads an input
artifact to and saves an output artifact from it (``pod_artifacts``); like output files, artifact
paths are the node's own in a view, and ``{{inputs.artifacts.NAME.path}}`` and
``{{outputs.artifacts.NAME.path}}`` lead to their place under the root without one. A script is
written to ``<root>/argo/staging/script`` with mode 0755, as Argo's executor stages it. Nothing
here touches the disk until ``PodFolders.prepare`` runs (on the pod's own thread).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..argo import pod_name
from ..pod.contract import PATH_PREFIX_VARIABLE
from .artifacts import KEY_FORMAT
from .container_sets import SetContainer, set_containers
from .images import container_command
from .parameters import input_artifacts, input_variables, substitute_strings
from .pod_artifacts import PodArtifact, PodArtifacts
from .pod_filesystem import view_command
from .records import WorkflowRecord
from .runner import NODE_MARKER_VARIABLE, PodLaunch, node_marker, resolve_argv
from .spec import execution_spec, template_kind
from .store import WorkflowStore
from .template_refs import template_real_name
from .volume_claims import claim_folders, claim_volumes
from .templating import parameter_text, parse_go_duration, substitute

SCRIPT_PATH = "/argo/staging/script"
"""Where Argo's executor puts a script template's source (under the node's root here)."""
SCRIPT_MODE = 0o755
"""Argo stages a script executable, so ``command: [bash, -c]`` can run its path."""
STAGING_FOLDER = posixpath.dirname(SCRIPT_PATH)
TEMPORARY_FOLDER = "/tmp"
"""Created in every node's root: a pod's ``/tmp`` is its own (in a view, new files there are the node's)."""
MAIN_CONTAINER = "main"
VOLUMES_FOLDER = "volumes"


@dataclass(frozen=True)
class PodSettings:
    """What the engine was started with that every pod uses."""

    store: WorkflowStore
    python: str | None
    base_environment: dict[str, str]
    volumes: dict[str, Path]
    host_name: str
    filesystem_view: bool = False
    """Whether each task gets its own view of the file system (``pod_filesystem``)."""


@dataclass(frozen=True)
class Mount:
    """A volume mount: where the task sees it, the folder behind it, and how it is placed."""

    path: str
    """The mount path as declared (normalised)."""
    folder: Path
    """The folder on this machine holding the volume's files."""
    link: bool = False
    """Without a view: a symbolic link at ``root + path`` leads to ``folder`` (a claim)."""


def pod_path(path: str) -> str:
    """An absolute, normalised path: ``..`` cannot climb above ``/``."""
    return posixpath.normpath(posixpath.join("/", path)) if path else "/"


@dataclass
class PodFolders:
    """The folders and files a pod needs before its process starts."""

    root: Path
    cwd: Path
    mounts: list[Mount] = field(default_factory=list)
    script_path: Path | None = None
    source: str | None = None
    view: bool = False
    seeded: list[str] = field(default_factory=list)
    """Output paths the task may read before it writes them: in a view, the machine's file there
    (standing in for the image's, as a pod has it) is copied into the node's root first, so an
    output the task does not write reads what the machine has (``/etc/hosts``), and one it
    writes reads the task's. Not under ``/tmp``, which is the pod's own and starts empty."""

    def host_path(self, path: str) -> Path:
        """Where the file the task knows as ``path`` is on this machine (the deepest mount wins)."""
        path = pod_path(path)
        for mount in sorted(self.mounts, key=lambda mount: mount.path.count("/"), reverse=True):
            if path == mount.path or path.startswith(mount.path.rstrip("/") + "/"):
                return mount.folder / posixpath.relpath(path, mount.path)
        return Path(str(self.root) + path)

    def prepare(self) -> None:
        """Create them (raises OSError when the disk refuses)."""
        for folder in (TEMPORARY_FOLDER, STAGING_FOLDER):
            Path(str(self.root) + folder).mkdir(parents=True, exist_ok=True)
        for mount in sorted(self.mounts, key=lambda mount: mount.path.count("/")):
            mount.folder.mkdir(parents=True, exist_ok=True)
            local = Path(str(self.root) + mount.path)
            if self.view:
                local.mkdir(parents=True, exist_ok=True)  # the mount point
            elif mount.link:
                local.parent.mkdir(parents=True, exist_ok=True)
                if not local.is_symlink() and not local.exists():
                    local.symlink_to(mount.folder, target_is_directory=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        for path in self.seeded:
            self._seed(path)
        if self.script_path is not None and self.source is not None:
            self.script_path.parent.mkdir(parents=True, exist_ok=True)
            self.script_path.write_text(self.source, encoding="utf-8")
            self.script_path.chmod(SCRIPT_MODE)

    def _seed(self, path: str) -> None:
        target = self.host_path(path)
        if (pod_path(path) + "/").startswith(TEMPORARY_FOLDER + "/"):
            return  # a pod's /tmp starts empty: a file the machine has there is not the task's
        if not str(target).startswith(str(self.root) + "/") or os.path.lexists(target):
            return  # in a volume (the volume's file is what it is), or already the node's
        try:
            if os.path.isfile(path):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        except OSError:
            pass  # a file the user may not read stays out of the view, as before

    def view_spec(self, working_directory: str, own_paths: list[str]) -> dict[str, Any]:
        """What ``pod_filesystem.build_view`` needs to show this pod its paths (``own_paths``:
        output files and artifacts, which never show what the machine has there)."""
        outputs = [pod_path(path) for path in own_paths]
        return {
            "root": str(self.root),
            "hidden": [STAGING_FOLDER, *outputs],
            "overlaid": [TEMPORARY_FOLDER, working_directory, *(posixpath.dirname(path) for path in outputs)],
            "binds": [[mount.path, str(mount.folder)] for mount in self.mounts],
            "cwd": working_directory,
        }


@dataclass
class PodPlan:
    """A resolved pod: the process to start, its folders, where its output parameters land, and
    its artifacts."""

    launch: PodLaunch
    folders: PodFolders
    # Each declared output parameter: name, path (as declared), valueFrom, localPath (on this machine).
    output_parameters: list[dict[str, Any]]
    artifacts: PodArtifacts | None = None
    # The template's initContainers, in order: each runs to its end before the next, and before main.
    init_launches: list[tuple[str, PodLaunch]] = field(default_factory=list)
    # A containerSet template's containers (``container_sets``); empty for any other template.
    set_containers: list[SetContainer] = field(default_factory=list)


def build_pod(settings: PodSettings, record: WorkflowRecord, global_values: Mapping[str, str],
              node: dict[str, Any], template: dict[str, Any], inputs: Mapping[str, str], *,
              retries: int | None, capture_result: bool) -> PodPlan:
    """Resolve ``template`` for ``node``; raises ``UnresolvedReference``, ``ExpressionTag``,
    ``CommandNotFound`` or ``ValueError`` when it cannot run (the node becomes Error)."""
    kind = template_kind(template)
    if kind == "containerSet":
        return _build_container_set(settings, record, global_values, node, template, inputs, retries=retries,
                                    capture_result=capture_result)
    container = template[kind]
    init_containers = [_init_container(init, container) for init in template.get("initContainers") or []]
    name_of_pod, node_dir, variables, folders = _pod_basics(settings, record, global_values, node, template, inputs,
                                                            retries, [container, *init_containers])
    view, root = folders.view, folders.root
    output_parameters = _output_parameters(template, variables, folders)
    values = dict(variables)
    for parameter in output_parameters:
        # The task is told where to write: the declared path in its view, else the file's real place.
        values[f"outputs.parameters.{parameter['name']}.path"] = (
            pod_path(parameter["path"]) if view else parameter["localPath"])
    artifacts = _pod_artifacts(settings, template, inputs, variables, folders,
                               substitute(KEY_FORMAT, {"workflow.name": record.name, "pod.name": name_of_pod}))
    for direction, items in (("inputs", artifacts.inputs), ("outputs", artifacts.outputs)):
        for item in items:
            values[f"{direction}.artifacts.{item.artifact['name']}.path"] = (
                pod_path(item.artifact["path"]) if view else str(item.host_path))

    argv = _argv(kind, container, values, settings.python, folders)
    declared_directory = container.get("workingDir")
    working_directory = pod_path(substitute(declared_directory, values)) if declared_directory else "/"
    folders.cwd = folders.host_path(working_directory)
    process_directory = folders.cwd
    if view:
        # The helper enters the view, then changes into the working folder as the task sees it.
        outputs = [parameter["path"] for parameter in output_parameters]
        outputs += [item.artifact["path"] for item in artifacts.outputs]
        folders.seeded = outputs
        spec = folders.view_spec(working_directory, outputs + [item.artifact["path"] for item in artifacts.inputs])
        argv = view_command(settings.python or sys.executable, spec, argv)
        process_directory = root
    environment = _environment(settings, record, node, name_of_pod, container, values, "" if view else str(root))
    launch = PodLaunch(
        argv=argv,
        env=environment,
        cwd=process_directory,
        log_path=settings.store.log_path(record.namespace, record.name, node["id"]),
        capture_result=capture_result,
        deadline_seconds=_deadline_seconds(template, values),
    )
    init_launches = [(init["name"], _container_launch(settings, record, node, name_of_pod, init, values, folders,
                                                      node_dir / f"{init['name']}.log", [], capture_result=False,
                                                      deadline=None))
                     for init in init_containers]
    return PodPlan(launch, folders, output_parameters, artifacts, init_launches=init_launches)


def _pod_basics(settings: PodSettings, record: WorkflowRecord, global_values: Mapping[str, str],
                node: dict[str, Any], template: dict[str, Any], inputs: Mapping[str, str], retries: int | None,
                containers: list[Mapping[str, Any]]) -> tuple[str, Path, dict[str, str], PodFolders]:
    """The pod's name, its node's folder, the variables its fields may use, and its folders with
    the mounts of all its ``containers`` (one folder per mount path)."""
    name_of_pod = pod_name(record.name, node["name"], template_real_name(template.get("name") or ""))
    node_dir = settings.store.node_dir(record.namespace, record.name, node["id"])
    root = node_dir / "fs"
    variables = {**global_values, **input_variables(inputs), "pod.name": name_of_pod,
                 "node.name": node["name"], "retries": str(retries or 0)}
    folders = PodFolders(root, root, view=settings.filesystem_view)
    workflow_folder = settings.store.workflow_dir(record.namespace, record.name)
    spec = {**execution_spec(record.obj)}
    spec["volumes"] = (spec.get("volumes") or []) + claim_volumes(record.status)
    claims = {**settings.volumes, **claim_folders(record.status, workflow_folder)}
    for container in containers:
        known = {mount.path for mount in folders.mounts}
        folders.mounts.extend(mount for mount in volume_mounts(spec, template, container, node_dir, claims,
                                                               view=folders.view)
                              if mount.path not in known)
    return name_of_pod, node_dir, variables, folders


def _container_launch(settings: PodSettings, record: WorkflowRecord, node: dict[str, Any], name_of_pod: str,
                      container: Mapping[str, Any], values: Mapping[str, str], folders: PodFolders, log_path: Path,
                      output_paths: list[str], *, capture_result: bool, deadline: float | None) -> PodLaunch:
    """The process of a container beside main (an init container, a container set's): its
    command in the pod's root and view, its own working folder, env and log."""
    argv = _argv("container", container, values, settings.python, folders)
    directory = pod_path(substitute(container["workingDir"], values)) if container.get("workingDir") else "/"
    cwd = folders.host_path(directory)
    if folders.view:
        argv = view_command(settings.python or sys.executable, folders.view_spec(directory, output_paths), argv)
        cwd = folders.root
    environment = _environment(settings, record, node, name_of_pod, container, values,
                               "" if folders.view else str(folders.root))
    environment["ARGO_CONTAINER_NAME"] = container["name"]
    return PodLaunch(argv=argv, env=environment, cwd=cwd, log_path=log_path, capture_result=capture_result,
                     deadline_seconds=deadline)


def _build_container_set(settings: PodSettings, record: WorkflowRecord, global_values: Mapping[str, str],
                         node: dict[str, Any], template: dict[str, Any], inputs: Mapping[str, str], *,
                         retries: int | None, capture_result: bool) -> PodPlan:
    """A containerSet pod: one process per container in one root, sharing the set's mounts."""
    shared = template["containerSet"].get("volumeMounts") or []
    containers = set_containers(template)
    name_of_pod, node_dir, values, folders = _pod_basics(
        settings, record, global_values, node, template, inputs, retries,
        [{"volumeMounts": list(shared) + list(container.get("volumeMounts") or [])} for container in containers])
    output_parameters = _output_parameters(template, values, folders)
    for parameter in output_parameters:
        values[f"outputs.parameters.{parameter['name']}.path"] = (
            pod_path(parameter["path"]) if folders.view else parameter["localPath"])
    artifacts = _pod_artifacts(settings, template, inputs, values, folders,
                               substitute(KEY_FORMAT, {"workflow.name": record.name, "pod.name": name_of_pod}))
    for direction, items in (("inputs", artifacts.inputs), ("outputs", artifacts.outputs)):
        for item in items:
            values[f"{direction}.artifacts.{item.artifact['name']}.path"] = (
                pod_path(item.artifact["path"]) if folders.view else str(item.host_path))
    deadline = _deadline_seconds(template, values)
    output_paths = [parameter["path"] for parameter in output_parameters]
    output_paths += [item.artifact["path"] for item in artifacts.outputs]
    if folders.view:
        folders.seeded = output_paths
    output_paths += [item.artifact["path"] for item in artifacts.inputs]
    members = []
    for container in containers:
        main = container["name"] == MAIN_CONTAINER
        log_path = (settings.store.log_path(record.namespace, record.name, node["id"]) if main
                    else node_dir / f"{container['name']}.log")
        launch = _container_launch(settings, record, node, name_of_pod, container, values, folders, log_path,
                                   output_paths, capture_result=capture_result and main, deadline=deadline)
        members.append(SetContainer(container["name"], list(container.get("dependencies") or []), launch))
    return PodPlan(members[0].launch, folders, output_parameters, artifacts, set_containers=members)


def _init_container(init: Mapping[str, Any], main: Mapping[str, Any]) -> dict[str, Any]:
    """An init container as it runs: with ``mirrorVolumeMounts``, the main container's mounts too."""
    resolved = dict(init)
    if init.get("mirrorVolumeMounts"):
        resolved["volumeMounts"] = list(init.get("volumeMounts") or []) + list(main.get("volumeMounts") or [])
    return resolved


def _output_parameters(template: Mapping[str, Any], values: Mapping[str, str],
                       folders: PodFolders) -> list[dict[str, Any]]:
    declared = []
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = dict(parameter.get("valueFrom") or {})
        path = substitute(value_from["path"], values)
        value_from["path"] = path
        local_path = str(folders.host_path(path))
        entry = {"name": parameter["name"], "path": path, "valueFrom": value_from, "localPath": local_path}
        if not folders.view:
            entry["hint"] = (f" (this machine gives the task no view of its own paths: it must write the file "
                             f"at {local_path}, through {{{{outputs.parameters.{parameter['name']}.path}}}} "
                             f"or $HERA_MAGICS_PATH_PREFIX{pod_path(path)})")
        declared.append(entry)
    return declared


def _pod_artifacts(settings: PodSettings, template: Mapping[str, Any], inputs: Mapping[str, str],
                   values: Mapping[str, str], folders: PodFolders, key_prefix: str) -> PodArtifacts:
    """The pod's input artifacts (as resolved) and output artifacts (as declared), substituted,
    each with the place of its path on this machine."""
    pod_inputs = [_pod_artifact(artifact, values, folders, "inputs") for artifact in input_artifacts(inputs)]
    pod_outputs = [_pod_artifact(artifact, values, folders, "outputs")
                   for artifact in (template.get("outputs") or {}).get("artifacts") or []]
    return PodArtifacts(settings.store.artifacts, key_prefix, pod_inputs, pod_outputs)


def _pod_artifact(declared: Mapping[str, Any], values: Mapping[str, str], folders: PodFolders,
                  direction: str) -> PodArtifact:
    artifact = substitute_strings(declared, values)
    path = pod_path(artifact["path"])
    if path == "/":
        raise ValueError(f"{direction}.artifacts.{artifact['name']}: the local engine cannot place an artifact at /")
    artifact["path"] = path
    host = folders.host_path(path)
    hint = "" if folders.view else (
        f" (this machine gives the task no view of its own paths: it must write {host}, through "
        f"{{{{{direction}.artifacts.{artifact['name']}.path}}}} or $HERA_MAGICS_PATH_PREFIX{path})")
    return PodArtifact(artifact, host, hint)


def _argv(kind: str, container: Mapping[str, Any], values: Mapping[str, str], python: str | None,
          folders: PodFolders) -> list[str]:
    """Command, then (for a script) the script's path, then args; the script goes into ``folders``."""
    command = [substitute(word, values) for word in
               (container.get("command") or [] if kind == "script" else container_command(container))]
    args = [substitute(parameter_text(word), values) for word in container.get("args") or []]
    argv = resolve_argv(command, python)
    if kind == "script":
        folders.source = substitute(container["source"], values)
        folders.script_path = Path(str(folders.root) + SCRIPT_PATH)
        argv.append(SCRIPT_PATH if folders.view else str(folders.script_path))
    argv.extend(args)
    return argv


def _environment(settings: PodSettings, record: WorkflowRecord, node: Mapping[str, Any], name_of_pod: str,
                 container: Mapping[str, Any], values: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The engine's environment, the variables Argo's executor sets, then the template's ``env``."""
    environment = dict(settings.base_environment)
    environment.update({
        PATH_PREFIX_VARIABLE: prefix,
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
                  node_dir: Path, claims: Mapping[str, Path], *, view: bool) -> list[Mount]:
    """The container's mounts: a claim's folder (``subPath`` inside it), or the node's own folder
    for an ``emptyDir`` (``<node dir>/volumes/<name>`` with a view, so two mounts of one volume
    share it; without a view the folder at ``<root><mountPath>`` itself)."""
    volumes = {volume["name"]: volume for volume in (spec.get("volumes") or []) + (template.get("volumes") or [])}
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        path = pod_path(mount["mountPath"])
        if path == "/":
            raise ValueError(f"volume mount {mount['name']}: the local engine cannot mount a volume at /")
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim is None:
            folder = (node_dir / VOLUMES_FOLDER / volume["name"].encode("utf-8").hex() if view
                      else Path(str(node_dir / "fs") + path))
            mounts.append(Mount(path, folder))
            continue
        folder = claims[claim]
        if mount.get("subPath"):
            # Checked at create to be relative without "..": normalising keeps it inside the claim.
            folder = folder / posixpath.normpath(mount["subPath"]).lstrip("/")
        mounts.append(Mount(path, folder, link=True))
    return mounts
