"""Create-time checks of artifacts: what the local artifact repository honours, the rest refused.

The engine keeps artifacts in its own repository (``artifacts``), which stands in for the
workflow's default artifact repository. So it honours, as Argo v4.0.5 does:

* input artifacts of script and container templates (``path``, ``mode``, ``recurseMode``,
  ``optional``), given as an argument, as ``raw`` data, or by key (``s3: {key: K}`` with nothing
  else: the default repository's key); output artifacts (``path``, ``archive`` none/tar/zip,
  ``optional``, a key of their own);
* ``from`` in a DAG task's arguments (``{{tasks.T.outputs.artifacts.X}}`` of an ancestor,
  ``{{inputs.artifacts.X}}`` of the DAG) and in a DAG's output artifacts;
* ``artifactGC`` (workflow and artifact): ``OnWorkflowCompletion``, ``OnWorkflowDeletion``,
  ``Never`` (``artifact_gc``).

Refused with a 400 naming the field: other places (``http``, ``git``, ``gcs``, ``s3`` with a
bucket or endpoint, ...: the engine has no network credentials), ``artifactRepositoryRef`` and a
template's ``archiveLocation`` (other repositories), ``fromExpression``, ``subPath`` and
``globalName``. Without a file-system view (``pod_filesystem``), an input artifact (and an
optional output artifact) must be reached through ``{{inputs.artifacts.NAME.path}}``
(``{{outputs.artifacts.NAME.path}}``): otherwise the task would read (or write) the machine's
own path without a word.

``validate_artifacts`` walks the whole spec (``validation`` calls it); the DAG-specific checks
(which task an argument's ``from`` may name, which artifacts a template still needs) are called
by ``validation`` where it knows a task's ancestors: ``check_task_artifacts``,
``check_dag_output_artifacts``, ``check_input_artifacts_supplied`` and
``artifact_path_variable``. The engine calls ``refuse_hidden_artifact_paths`` when its tasks get
no view.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Callable, Mapping

from . import spec as specs
from .artifacts import LOCATION_FIELDS, has_location_or_key, key_problem
from .invalid import WorkflowInvalid
from .naming import MAX_FIELD_NAME_LENGTH, PARAMETER_NAME_PATTERN
from .templating import TAG_PATTERN

ARTIFACT_GC_STRATEGIES = ("", "OnWorkflowCompletion", "OnWorkflowDeletion", "Never")
NO_CREDENTIALS = ("the local engine has no network credentials; it keeps artifacts in its own repository: "
                  "give no location (or only s3.key) to use it")
NO_VIEW = ("this machine does not let the local engine show a task its own file system "
           "(user namespaces are not available)")
ARTIFACT_FIELDS_REFUSED = {
    "fromExpression": ("artifact expressions (fromExpression) are not supported by the local engine; "
                       "use from with a {{...}} reference"),
    "subPath": "artifact sub-paths are not supported by the local engine",
    "globalName": "global outputs are not supported by the local engine",
}


def _refused(message: str) -> WorkflowInvalid:
    return WorkflowInvalid(message)


def validate_artifacts(workflow: Any) -> None:
    """Raise ``WorkflowInvalid`` for the artifact fields the local engine cannot honour."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("spec"), dict):
        return
    spec = workflow["spec"]
    if spec.get("artifactRepositoryRef"):
        raise _refused("spec.artifactRepositoryRef: artifact repositories from config maps are not available to the "
                       "local engine; it keeps artifacts in its own repository (remove artifactRepositoryRef)")
    _check_gc(spec.get("artifactGC"), "spec.artifactGC")
    for artifact in _artifact_list((spec.get("arguments") or {}).get("artifacts"), "spec.arguments.artifacts"):
        where = f"spec.arguments.artifacts.{artifact['name']}"
        if artifact.get("from"):
            raise _refused(f"{where}.from: a workflow's arguments cannot refer to other artifacts; give raw data or a key")
        _check_location(artifact, where, required=True)
    for template in spec.get("templates") or []:
        if isinstance(template, dict):
            validate_template_artifacts(template)


def refuse_hidden_artifact_paths(workflow: Any) -> None:
    """Without a file-system view: the artifact paths a task would reach without a word."""
    spec = workflow.get("spec") if isinstance(workflow, dict) else None
    for template in (spec or {}).get("templates") or [] if isinstance(spec, dict) else []:
        if isinstance(template, dict) and specs.is_pod_template(template):
            _refuse_hidden_paths(template, f"templates.{template.get('name')}")


def validate_template_artifacts(template: Mapping[str, Any]) -> None:
    """The artifact fields of one template (also a WorkflowTemplate's)."""
    where = f"templates.{template.get('name')}"
    location = template.get("archiveLocation") or {}
    for field in LOCATION_FIELDS:
        if location.get(field) is not None:
            raise _refused(f"{where}.archiveLocation.{field}: {NO_CREDENTIALS}")
    leaf = specs.is_pod_template(template)
    for direction in ("inputs", "outputs"):
        for artifact in _artifact_list((template.get(direction) or {}).get("artifacts"), f"{where}.{direction}.artifacts"):
            field = f"{where}.{direction}.artifacts.{artifact['name']}"
            _check_artifact(artifact, field, direction, leaf)
    if leaf:
        _check_mount_collisions(template, where)


def _artifact_list(artifacts: Any, field: str) -> list[dict[str, Any]]:
    """The artifacts of a list, each an object with a valid name, no name twice."""
    if artifacts is None:
        return []
    if not isinstance(artifacts, list):
        raise _refused(f"{field} must be a list of artifacts")
    names: set[str] = set()
    for artifact in artifacts:
        if not isinstance(artifact, dict):
            raise _refused(f"{field} must be a list of artifacts")
        name = artifact.get("name")
        if not isinstance(name, str) or not name:
            raise _refused(f"{field}.name is required")
        if len(name) > MAX_FIELD_NAME_LENGTH or not PARAMETER_NAME_PATTERN.match(name):
            raise _refused(f"{field}.name '{name}' is invalid: name must consist of alpha-numeric characters, '_' "
                           "or '-'")
        if name in names:
            raise _refused(f"{field}.{name}: artifact name '{name}' is not unique")
        names.add(name)
    return artifacts


def _check_artifact(artifact: Mapping[str, Any], field: str, direction: str, leaf: bool) -> None:
    for key, message in ARTIFACT_FIELDS_REFUSED.items():
        if artifact.get(key):
            raise _refused(f"{field}.{key}: {message}")
    path = artifact.get("path")
    if leaf:
        _check_path(path, field)
    elif path:
        raise _refused(f"{field}.path only valid in container/script templates")
    if direction == "inputs":
        if artifact.get("from"):
            raise _refused(f"{field}.from not valid in inputs")
        _check_location(artifact, field, required=False)
    elif leaf:
        if artifact.get("from"):
            raise _refused(f"{field}.from is only valid in dag outputs")
        _check_location(artifact, field, required=False, raw=False)
    else:
        if not artifact.get("from"):
            raise _refused(f"{field}.from is required in dag outputs")
        _check_from_text(artifact["from"], f"{field}.from")
    _check_archive(artifact.get("archive"), f"{field}.archive")
    mode = artifact.get("mode")
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777):
        raise _refused(f"{field}.mode must be a number between 0 and 0777 (511)")
    _check_gc(artifact.get("artifactGC"), f"{field}.artifactGC")


def _check_path(path: Any, field: str) -> None:
    """Argo's ``CleanPath``: a path is required, and ``..`` may not climb out of where it starts."""
    if not isinstance(path, str) or not path:
        raise _refused(f"{field}.path is required: Artifact '{field.rsplit('.', 1)[-1]}' did not specify a path")
    if "{{" in path:
        return  # resolved when the pod starts (pod_launch normalises it)
    if not path.startswith("/"):
        raise _refused(f"{field}.path must be an absolute path")
    if ".." in path.split("/"):
        raise _refused(f"{field}.path: Artifact attempted to use a path containing '..'. Directory traversal is not "
                       "permitted")
    if posixpath.normpath(path) == "/":
        raise _refused(f"{field}.path: the local engine cannot place an artifact at /")


def _check_location(artifact: Mapping[str, Any], field: str, *, required: bool, raw: bool = True) -> None:
    """Only the local repository: ``raw`` data (inputs) or ``s3`` with nothing but a key."""
    for place in LOCATION_FIELDS:
        value = artifact.get(place)
        if value is None:
            continue
        if place == "raw" and raw:
            if not isinstance(value, dict) or not isinstance(value.get("data"), str):
                raise _refused(f"{field}.raw.data is required")
            continue
        if place == "s3" and isinstance(value, dict):
            extra = sorted(key for key, item in value.items() if key != "key" and item not in (None, "", {}, False))
            if extra:
                raise _refused(f"{field}.s3.{extra[0]}: {NO_CREDENTIALS}")
            key = value.get("key")
            if not isinstance(key, str) or not key:
                raise _refused(f"{field}.s3.key is required")
            if "{{" not in key and key_problem(key):
                raise _refused(f"{field}.s3.key: {key_problem(key)}")
            continue
        raise _refused(f"{field}.{place}: {place} artifacts are not available to the local engine: {NO_CREDENTIALS}")
    if required and not artifact.get("from") and not has_location_or_key(artifact):
        raise _refused(f"{field}.from, artifact location, or key is required")


def _check_archive(archive: Any, field: str) -> None:
    if archive is None:
        return
    if not isinstance(archive, dict):
        raise _refused(f"{field} must be an object")
    given = [key for key in ("none", "tar", "zip") if archive.get(key) is not None]
    if len(given) > 1:
        raise _refused(f"{field}: only one of none, tar or zip can be given")
    level = (archive.get("tar") or {}).get("compressionLevel") if isinstance(archive.get("tar"), dict) else None
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or not -1 <= level <= 9):
        raise _refused(f"{field}.tar.compressionLevel must be a gzip level from -1 to 9")


def _check_gc(gc: Any, field: str) -> None:
    if gc is None:
        return
    if not isinstance(gc, dict):
        raise _refused(f"{field} must be an object")
    strategy = gc.get("strategy") or ""
    if strategy not in ARTIFACT_GC_STRATEGIES:
        raise _refused(f"{field}.strategy: unknown strategy '{strategy}'; use OnWorkflowCompletion, "
                       "OnWorkflowDeletion or Never")


def _check_from_text(text: Any, field: str) -> str:
    """A ``from`` is exactly one ``{{...}}`` reference; its variable."""
    match = TAG_PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise _refused(f"{field}: '{text}' is not a reference to an artifact, such as "
                       "{{tasks.NAME.outputs.artifacts.ARTIFACT}}")
    return match.group(1).strip()


def _check_mount_collisions(template: Mapping[str, Any], where: str) -> None:
    """Argo's ``validateLeaf``: an input artifact may not be loaded where a volume is mounted."""
    kind = specs.template_kind(template)
    mounts = {mount.get("mountPath"): f"{kind}.volumeMounts.{mount.get('name')}"
              for mount in (template.get(kind) or {}).get("volumeMounts") or [] if isinstance(mount, dict)}
    for index, artifact in enumerate((template.get("inputs") or {}).get("artifacts") or []):
        if artifact.get("path") in mounts:
            raise _refused(f"{where}.inputs.artifacts[{index}].path '{artifact['path']}' already mounted in "
                           f"{mounts[artifact['path']]}")


def _refuse_hidden_paths(template: Mapping[str, Any], where: str) -> None:
    """Without a view, a task finds an input artifact (writes an optional output artifact) only
    through its ``{{...path}}`` variable; anything else would silently use the machine's path."""
    text = json.dumps({kind: template.get(kind) for kind in specs.POD_KINDS})
    for direction in ("inputs", "outputs"):
        for artifact in (template.get(direction) or {}).get("artifacts") or []:
            if direction == "outputs" and not artifact.get("optional"):
                continue  # a missing file is an error that says where to write it
            variable = f"{direction}.artifacts.{artifact['name']}.path"
            if variable not in text:
                raise _refused(
                    f"{where}.{direction}.artifacts.{artifact['name']}.path: {NO_VIEW}, so a task that uses "
                    f"{artifact.get('path')} uses the machine's own path while the engine uses another; use "
                    f"{{{{{variable}}}}} in the template instead")


# -- called by validation, where a DAG's tasks and their ancestors are known -------------------------------


def artifact_path_variable(tag: str, template: Mapping[str, Any]) -> bool:
    """Whether ``tag`` is ``inputs.artifacts.NAME.path`` or ``outputs.artifacts.NAME.path`` of one
    of ``template``'s artifacts (the variables a pod template may use)."""
    for direction in ("inputs", "outputs"):
        prefix = f"{direction}.artifacts."
        if tag.startswith(prefix) and tag.endswith(".path"):
            name = tag[len(prefix):-len(".path")]
            return any(artifact.get("name") == name for artifact in (template.get(direction) or {}).get("artifacts") or [])
    return False


def _artifact_reference_allowed(tag: str, dag_template: Mapping[str, Any], task_templates: Mapping[str, Any],
                                reachable: Callable[[str], bool], prefix: str) -> bool:
    if tag.startswith("inputs.artifacts."):
        name = tag[len("inputs.artifacts."):]
        return any(artifact.get("name") == name for artifact in (dag_template.get("inputs") or {}).get("artifacts") or [])
    if not tag.startswith(f"{prefix}."):
        return False
    task_name, _, rest = tag[len(prefix) + 1:].partition(".")
    if task_name not in task_templates or not reachable(task_name) or not rest.startswith("outputs.artifacts."):
        return False
    wanted = rest[len("outputs.artifacts."):]
    template = task_templates[task_name] or {}
    return any(artifact.get("name") == wanted for artifact in (template.get("outputs") or {}).get("artifacts") or [])


def check_task_artifacts(task: Mapping[str, Any], field: str, dag_template: Mapping[str, Any],
                         task_templates: Mapping[str, Any], reachable: Callable[[str], bool],
                         prefix: str = "tasks") -> None:
    """A task's (or step's, ``prefix="steps"``) argument artifacts: each a location, a key, or a
    ``from`` naming an artifact it may read (an ancestor's output, the DAG's input)."""
    where = f"{field}.arguments.artifacts"
    for artifact in _artifact_list((task.get("arguments") or {}).get("artifacts"), where):
        name = artifact["name"]
        for key in ("fromExpression", "subPath"):
            if artifact.get(key):
                raise _refused(f"{where}.{name}.{key}: {ARTIFACT_FIELDS_REFUSED[key]}")
        if not artifact.get("from"):
            _check_location(artifact, f"{where}.{name}", required=True)
            continue
        tag = _check_from_text(artifact["from"], f"{where}.{name}.from")
        if tag.startswith(f"{prefix}.") and not reachable(tag.split(".")[1]) and tag.split(".")[1] in task_templates:
            raise _refused(f"{field} missing dependency '{tag.split('.')[1]}' for artifact '{name}'")
        if not _artifact_reference_allowed(tag, dag_template, task_templates, reachable, prefix):
            raise _refused(f"{where}.{name}.from: failed to resolve {{{{{tag}}}}}")


def check_dag_output_artifacts(template: Mapping[str, Any], where: str, task_templates: Mapping[str, Any],
                               prefix: str = "tasks") -> None:
    """A DAG's (or steps template's) output artifacts name an artifact of one of its tasks."""
    for artifact in (template.get("outputs") or {}).get("artifacts") or []:
        tag = _check_from_text(artifact.get("from"), f"{where}.outputs.artifacts.{artifact.get('name')}.from")
        if not _artifact_reference_allowed(tag, template, task_templates, lambda name: True, prefix):
            raise _refused(f"{where}.outputs.artifacts.{artifact.get('name')}.from: failed to resolve {{{{{tag}}}}}")


def check_input_artifacts_supplied(template: Mapping[str, Any], arguments: Mapping[str, Any], field: str) -> None:
    """Every input artifact without a location, a key or ``optional`` must come from the arguments."""
    given = {artifact.get("name") for artifact in arguments.get("artifacts") or [] if isinstance(artifact, dict)}
    for artifact in (template.get("inputs") or {}).get("artifacts") or []:
        if not artifact.get("optional") and not has_location_or_key(artifact) and artifact.get("name") not in given:
            raise _refused(f"{field}: inputs.artifacts.{artifact.get('name')} was not supplied")


__all__ = [
    "artifact_path_variable",
    "refuse_hidden_artifact_paths",
    "check_dag_output_artifacts",
    "check_input_artifacts_supplied",
    "check_task_artifacts",
    "validate_artifacts",
    "validate_template_artifacts",
]
