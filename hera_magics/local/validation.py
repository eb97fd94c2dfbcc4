"""Create-time validation: what Argo would reject, plus what the local engine cannot honour.

``validate_workflow`` raises ``WorkflowInvalid`` whose message names the field, in Argo's style
(``templates.main.tasks.B dependency 'X' not defined``). Three kinds of fields:

* honoured: what the engine runs (script/container/dag templates, parameters, env, retries,
  timeouts, parallelism, failFast (DAG and template), loops (``withItems``, ``withParam``,
  ``withSequence``), ``when``, ``dag.target``, the exit handler ``spec.onExit``, output
  parameters from files, volumes it has a folder for, artifacts (``validate_artifacts``));
* placement-only: accepted and ignored because they only say *where* a pod runs (resources,
  GPUs, tolerations, node selectors, images, security contexts, TTL, pod GC, ...);
* refused: fields whose meaning the engine cannot honour (sidecars, steps, exit hooks,
  secrets, artifacts outside its own repository, ...). They are refused with a message, never skipped silently.

Unknown keys are ignored, as Kubernetes prunes fields its schema does not know.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, Mapping

from ..graph import find_cycle
from . import spec as specs
from .expressions import ExpressionError, invalid_results, operands
from .invalid import WorkflowInvalid
from .naming import (
    MAX_FIELD_NAME_LENGTH,
    MAX_OBJECT_NAME_LENGTH,
    OBJECT_NAME_PATTERN,
    PARAMETER_NAME_PATTERN,
    TASK_NAME_PATTERN,
)
from .parameters import TASK_NODE_FIELDS, TASK_REFERENCE, WORKFLOW_FAILURES, WORKFLOW_VARIABLES
from .runner import executable_available
from .template_refs import TemplateGetter, no_templates, task_template_reference, with_workflow_template
from .templating import ExpressionTag, parse_go_duration, variables_in
from .volume_claims import claim_template_names, validate_volume_claims
from .validate_artifacts import (
    artifact_path_variable,
    check_dag_output_artifacts,
    check_input_artifacts_supplied,
    check_task_artifacts,
    validate_artifacts,
)


REFUSED_SPEC_FIELDS = {
    "hooks": "lifecycle hooks are not supported by the local engine",
    "synchronization": "synchronization (semaphores and mutexes) is not supported by the local engine",
    "metrics": "Prometheus metrics are not supported by the local engine",
    "podSpecPatch": "pod spec patches are not supported by the local engine",
    "templateDefaults": "template defaults are not supported by the local engine; set the fields on each template",
    "retryStrategy": "a workflow-wide retry strategy is not supported by the local engine; set retryStrategy on each template",
}

REFUSED_TEMPLATE_FIELDS = {
    "sidecars": "sidecars are not supported by the local engine",
    "initContainers": "init containers are not supported by the local engine",
    "podSpecPatch": "pod spec patches are not supported by the local engine",
    "metrics": "Prometheus metrics are not supported by the local engine",
    "synchronization": "synchronization (semaphores and mutexes) is not supported by the local engine",
    "memoize": "memoization is not supported by the local engine",
    "hooks": "lifecycle hooks are not supported by the local engine",
}

REFUSED_KIND_MESSAGES = {
    "steps": "steps templates are not supported by the local engine; use a dag template",
    "containerSet": "container sets are not supported by the local engine",
    "resource": "resource templates (Kubernetes objects) are not supported by the local engine",
    "suspend": "suspend templates are not supported by the local engine",
    "data": "data templates are not supported by the local engine",
    "http": "http templates are not supported by the local engine",
    "plugin": "plugin templates are not supported by the local engine",
}

REFUSED_CONTAINER_FIELDS = {
    "envFrom": "envFrom (secrets and config maps) is not available to the local engine; set env values",
    "volumeDevices": "volume devices are not supported by the local engine",
}

REFUSED_TASK_FIELDS = {
    "inline": "inline templates are not supported by the local engine; declare the template in spec.templates",
    "onExit": "exit handlers are not supported by the local engine",
    "hooks": "lifecycle hooks are not supported by the local engine",
}

RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
SHUTDOWN_STRATEGIES = ("Stop", "Terminate")



def _fail(message: str) -> WorkflowInvalid:
    return WorkflowInvalid(message)


def _is_set(value: Any) -> bool:
    """A field counts as used when it holds something (Hera may send empty dicts or lists)."""
    return value not in (None, False, "", [], {})


def _check_name(value: Any, field: str, *, pattern: re.Pattern[str] = TASK_NAME_PATTERN) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(f"{field}.name is required")
    if len(value) > MAX_FIELD_NAME_LENGTH or not pattern.match(value):
        raise _fail(
            f"{field}.name '{value}' is invalid: name must consist of alpha-numeric characters or '-', "
            "and must start with an alpha-numeric character"
            + (" (parameter names may also contain '_')" if pattern is PARAMETER_NAME_PATTERN else "")
        )
    return value


def _check_references(text: Any, field: str, allowed: Callable[[str], bool]) -> None:
    """Every Argo variable in ``text`` must be one that resolves at that place."""
    if not isinstance(text, str):
        return
    try:
        tags = variables_in(text)
    except ExpressionTag as error:
        raise _fail(f"{field}: {error}") from None
    for tag in tags:
        if not allowed(tag):
            raise _fail(f"{field}: failed to resolve {{{{{tag}}}}}")


def _integer_or_template(value: Any, field: str, *, allow_template: bool = True) -> None:
    if isinstance(value, bool):
        raise _fail(f"{field} must be an integer")
    if isinstance(value, int):
        if value < 0:
            raise _fail(f"{field} must not be negative")
        return
    if isinstance(value, str):
        if allow_template and "{{" in value:
            return
        if re.fullmatch(r"\d+", value.strip()):
            return
    raise _fail(f"{field} must be an integer, got {value!r}")


def _duration_or_template(value: Any, field: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    if isinstance(value, str):
        if "{{" in value:
            return
        try:
            parse_go_duration(value)
            return
        except ValueError as error:
            raise _fail(f"{field}: {error}") from None
    raise _fail(f"{field} must be a duration such as 30s, 5m or 1h")


class _Context:
    """What the whole workflow makes available to every template."""

    def __init__(self, workflow: Mapping[str, Any], volume_claims: Collection[str],
                 executable_exists: Callable[[str], bool], templates: TemplateGetter | None = None,
                 workflow_template: bool = False) -> None:
        self.workflow = workflow
        self.template_getter: TemplateGetter = templates or no_templates
        self.workflow_template = workflow_template
        self.metadata = workflow.get("metadata") or {}
        self.spec = workflow.get("spec") or {}
        self.volume_claims = set(volume_claims)
        self.executable_exists = executable_exists
        self.templates = specs.templates_by_name(self.spec)
        arguments = self.spec.get("arguments") or {}
        self.workflow_parameters = {
            parameter.get("name") for parameter in arguments.get("parameters") or [] if isinstance(parameter, dict)
        }
        self.labels = set((self.metadata.get("labels") or {}).keys())
        self.annotations = set((self.metadata.get("annotations") or {}).keys())
        self.spec_volumes = self.volume_names(self.spec.get("volumes"), "spec.volumes") | claim_template_names(self.spec)

    def is_global(self, tag: str) -> bool:
        if tag in WORKFLOW_VARIABLES:
            return True
        if tag == WORKFLOW_FAILURES:
            # Argo's validator knows it once the workflow has an exit handler (validate.go).
            return bool(self.spec.get("onExit"))
        for prefix, names in (
            ("workflow.parameters.", self.workflow_parameters),
            ("workflow.labels.", self.labels),
            ("workflow.annotations.", self.annotations),
        ):
            if tag.startswith(prefix):
                return tag[len(prefix):] in names
        return False

    def volume_names(self, volumes: Any, field: str) -> set[str]:
        names: set[str] = set()
        for volume in volumes or []:
            if not isinstance(volume, dict):
                raise _fail(f"{field} must be a list of volumes")
            name = volume.get("name")
            if not name:
                raise _fail(f"{field}.name is required")
            where = f"{field}.{name}"
            kinds = [key for key in volume if key != "name" and volume[key] is not None]
            if kinds == ["emptyDir"]:
                names.add(name)
                continue
            if kinds == ["persistentVolumeClaim"]:
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim not in self.volume_claims:
                    raise _fail(
                        f"{where}.persistentVolumeClaim: claim \"{claim}\" has no local folder; "
                        f"start the local engine with --volume {claim}=/path/to/folder"
                    )
                names.add(name)
                continue
            kind = kinds[0] if kinds else "(none)"
            raise _fail(f"{where}.{kind}: {kind} volumes are not supported by the local engine "
                        "(only emptyDir and persistentVolumeClaim with --volume)")
        return names


def validate_workflow(
    workflow: Any,
    *,
    volume_claims: Collection[str] = (),
    executable_exists: Callable[[str], bool] = executable_available,
    templates: TemplateGetter | None = None,
    workflow_template: bool = False,
) -> None:
    """Raise ``WorkflowInvalid`` unless the local engine can run ``workflow`` as Argo would.

    ``templates`` finds the WorkflowTemplates that ``templateRef`` and ``workflowTemplateRef``
    name (``template_refs``); ``workflow_template``: validate a WorkflowTemplate (no entrypoint
    needed, argument values may be given at submission)."""
    if not isinstance(workflow, dict):
        raise _fail("workflow is required")
    metadata = workflow.get("metadata")
    if not isinstance(metadata, dict):
        raise _fail("metadata is required")
    name = metadata.get("name")
    generate_name = metadata.get("generateName")
    if not name and not generate_name:
        raise _fail("metadata.name or metadata.generateName is required")
    if name and (len(name) > MAX_OBJECT_NAME_LENGTH or not OBJECT_NAME_PATTERN.match(name)):
        raise _fail(
            f"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    if not name and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*)?", generate_name):
        raise _fail(f"metadata.generateName: Invalid value: \"{generate_name}\": must be lower case alphanumeric "
                    "characters, '-' or '.', starting with an alphanumeric character")
    spec = workflow.get("spec")
    if not isinstance(spec, dict):
        raise _fail("spec is required")

    workflow, spec = with_workflow_template(workflow, templates)
    context = _Context(workflow, volume_claims, executable_exists, templates, workflow_template)
    _validate_spec_fields(spec)
    validate_artifacts(workflow)
    validate_volume_claims(spec)
    _validate_arguments(spec.get("arguments") or {}, "spec.arguments", globals_only=True, context=context)

    templates = spec.get("templates")
    if not isinstance(templates, list) or not templates:
        raise _fail("spec.templates is required")
    seen: set[str] = set()
    for index, template in enumerate(templates):
        if not isinstance(template, dict):
            raise _fail(f"spec.templates[{index}] must be an object")
        template_name = _check_name(template.get("name"), f"templates[{index}]")
        if template_name in seen:
            raise _fail(f"templates.{template_name} template name '{template_name}' is not unique")
        seen.add(template_name)

    entrypoint = spec.get("entrypoint")
    if not entrypoint and not workflow_template:
        raise _fail("spec.entrypoint is required")
    if entrypoint and entrypoint not in context.templates:
        raise _fail(f"spec.entrypoint template '{entrypoint}' is not defined")

    for template in templates:
        _validate_template(template, context)

    # The entrypoint takes the workflow's arguments as its inputs, and so does the exit handler.
    if entrypoint and not workflow_template:
        _check_inputs_supplied(context.templates[entrypoint], spec.get("arguments") or {}, "spec.arguments")
    _validate_exit_handler(spec, context)


def _validate_exit_handler(spec: Mapping[str, Any], context: _Context) -> None:
    """``spec.onExit`` names a template, which gets the workflow's arguments (``GetExitHook``)."""
    exit_template = spec.get("onExit")
    if not exit_template:
        return
    if not isinstance(exit_template, str) or exit_template not in context.templates:
        raise _fail(f"spec.onExit: template name '{exit_template}' undefined")
    _check_inputs_supplied(context.templates[exit_template], spec.get("arguments") or {}, "spec.onExit")


def _validate_spec_fields(spec: Mapping[str, Any]) -> None:
    for key, message in REFUSED_SPEC_FIELDS.items():
        if _is_set(spec.get(key)):
            raise _fail(f"spec.{key}: {message}")
    if spec.get("suspend"):
        raise _fail("spec.suspend: suspending is not supported by the local engine")
    shutdown = spec.get("shutdown")
    if shutdown and shutdown not in SHUTDOWN_STRATEGIES:
        raise _fail(f"spec.shutdown: unknown strategy '{shutdown}'; use Stop or Terminate")
    if spec.get("parallelism") is not None:
        _integer_or_template(spec["parallelism"], "spec.parallelism", allow_template=False)
    if spec.get("activeDeadlineSeconds") is not None:
        _integer_or_template(spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds", allow_template=False)


def _validate_arguments(arguments: Mapping[str, Any], field: str, *, globals_only: bool,
                        context: _Context, allowed: Callable[[str], bool] | None = None) -> None:
    if not isinstance(arguments, dict):
        raise _fail(f"{field} must be an object")
    names: set[str] = set()
    for parameter in arguments.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise _fail(f"{field}.parameters must be a list of parameters")
        name = _check_name(parameter.get("name"), f"{field}.parameters", pattern=PARAMETER_NAME_PATTERN)
        where = f"{field}.parameters.{name}"
        if name in names:
            raise _fail(f"{where}: parameter name '{name}' is not unique")
        names.add(name)
        if _is_set(parameter.get("valueFrom")):
            raise _fail(f"{where}.valueFrom: config maps and secrets are not available to the local engine; give a value")
        if parameter.get("value") is None and not (globals_only and context.workflow_template):
            raise _fail(f"{where}.value is required")
        if globals_only:
            _check_references(parameter.get("value"), f"{where}.value", context.is_global)
        elif allowed is not None:
            _check_references(parameter.get("value"), f"{where}.value", allowed)


def _validate_template(template: dict[str, Any], context: _Context) -> None:
    name = template["name"]
    where = f"templates.{name}"
    kinds = specs.template_kinds(template)
    if not kinds:
        raise _fail(f"{where} template type unspecified. choose one of: {', '.join(specs.TEMPLATE_KINDS)}")
    if len(kinds) > 1:
        raise _fail(f"{where} multiple template types specified: {', '.join(kinds)}")
    kind = kinds[0]
    if kind in REFUSED_KIND_MESSAGES:
        raise _fail(f"{where}.{kind}: {REFUSED_KIND_MESSAGES[kind]}")
    for key, message in REFUSED_TEMPLATE_FIELDS.items():
        if _is_set(template.get(key)):
            raise _fail(f"{where}.{key}: {message}")
    if template.get("daemon"):
        raise _fail(f"{where}.daemon: daemon templates are not supported by the local engine")

    inputs = template.get("inputs") or {}
    input_names: set[str] = set()
    for parameter in inputs.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise _fail(f"{where}.inputs.parameters must be a list of parameters")
        parameter_name = _check_name(parameter.get("name"), f"{where}.inputs.parameters", pattern=PARAMETER_NAME_PATTERN)
        if parameter_name in input_names:
            raise _fail(f"{where}.inputs.parameters.{parameter_name}: parameter name is not unique")
        input_names.add(parameter_name)
        if _is_set(parameter.get("valueFrom")):
            raise _fail(f"{where}.inputs.parameters.{parameter_name}.valueFrom: config maps are not available "
                        "to the local engine; give a value or a default")

    outputs = template.get("outputs") or {}
    output_names: set[str] = set()
    for parameter in outputs.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise _fail(f"{where}.outputs.parameters must be a list of parameters")
        parameter_name = _check_name(parameter.get("name"), f"{where}.outputs.parameters", pattern=PARAMETER_NAME_PATTERN)
        output_names.add(parameter_name)
        _validate_output_parameter(parameter, f"{where}.outputs.parameters.{parameter_name}", kind)

    if template.get("parallelism") is not None:
        _integer_or_template(template["parallelism"], f"{where}.parallelism", allow_template=False)
    if template.get("failFast") is not None and not isinstance(template["failFast"], bool):
        raise _fail(f"{where}.failFast must be true or false")

    def allowed_in_pod(tag: str) -> bool:
        if context.is_global(tag) or tag in ("pod.name", "node.name", "retries", "inputs.parameters"):
            return True
        if tag.startswith("inputs.parameters."):
            return tag[len("inputs.parameters."):] in input_names
        match = re.fullmatch(r"outputs\.parameters\.(.+)\.path", tag)
        return bool(match and match.group(1) in output_names) or artifact_path_variable(tag, template)

    if kind in specs.POD_KINDS:
        _validate_pod_template(template, kind, where, context, allowed_in_pod)
    else:
        for key in ("retryStrategy", "timeout", "activeDeadlineSeconds"):
            if _is_set(template.get(key)):
                raise _fail(f"{where}.{key}: the local engine supports {key} on script and container templates only")
        _validate_dag(template, where, context, input_names)


def _validate_output_parameter(parameter: Mapping[str, Any], where: str, kind: str) -> None:
    if _is_set(parameter.get("globalName")):
        raise _fail(f"{where}.globalName: global outputs are not supported by the local engine")
    value_from = parameter.get("valueFrom")
    if not isinstance(value_from, dict) or not value_from:
        raise _fail(f"{where}.valueFrom not specified")
    wanted = "path" if kind in specs.POD_KINDS else "parameter"
    for key, value in value_from.items():
        if value is None or key in (wanted, "default"):
            continue
        raise _fail(f"{where}.valueFrom.{key}: the local engine supports valueFrom.{wanted} (and default) "
                    f"for {kind} templates")
    if not value_from.get(wanted):
        raise _fail(f"{where}.valueFrom.{wanted} is required")
    if wanted == "path" and "{{" not in value_from["path"] and not str(value_from["path"]).startswith("/"):
        raise _fail(f"{where}.valueFrom.path must be an absolute path")


def _validate_pod_template(template: dict[str, Any], kind: str, where: str, context: _Context,
                           allowed: Callable[[str], bool]) -> None:
    container = template[kind]
    if not isinstance(container, dict):
        raise _fail(f"{where}.{kind} must be an object")
    field = f"{where}.{kind}"
    for key, message in REFUSED_CONTAINER_FIELDS.items():
        if _is_set(container.get(key)):
            raise _fail(f"{field}.{key}: {message}")

    if kind == "script":
        if not isinstance(container.get("source"), str):
            raise _fail(f"{field}.source is required")
        _check_references(container["source"], f"{field}.source", allowed)
    _validate_command(container, kind, field, context, allowed)
    _validate_env(container, field, allowed)

    working_directory = container.get("workingDir")
    if working_directory:
        _check_references(working_directory, f"{field}.workingDir", allowed)
        if "{{" not in working_directory and not working_directory.startswith("/"):
            raise _fail(f"{field}.workingDir must be an absolute path")
    _validate_mounts(template, container, where, field, context)

    if template.get("activeDeadlineSeconds") is not None:
        _integer_or_template(template["activeDeadlineSeconds"], f"{where}.activeDeadlineSeconds")
        _check_references(str(template["activeDeadlineSeconds"]), f"{where}.activeDeadlineSeconds", allowed)
    if template.get("timeout") is not None:
        _duration_or_template(template["timeout"], f"{where}.timeout")
        _check_references(str(template["timeout"]), f"{where}.timeout", allowed)
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom") or {}
        _check_references(value_from.get("path"), f"{where}.outputs.parameters.{parameter['name']}.valueFrom.path", allowed)

    retry = template.get("retryStrategy")
    if retry is not None:
        _validate_retry(retry, f"{where}.retryStrategy", allowed)


def _validate_command(container: Mapping[str, Any], kind: str, field: str, context: _Context,
                      allowed: Callable[[str], bool]) -> None:
    command = container.get("command")
    if not command:
        if kind == "script":
            raise _fail(f"{field}.command is required: the local engine runs the script with it (for example [python])")
        raise _fail(f"{field}.command: a container without a command runs its image's entrypoint, "
                    "which the local engine cannot run; give the command")
    if not isinstance(command, list) or not all(isinstance(word, str) for word in command):
        raise _fail(f"{field}.command must be a list of strings")
    for word in command:
        _check_references(word, f"{field}.command", allowed)
    if "{{" not in command[0] and not context.executable_exists(command[0]):
        raise _fail(
            f"{field}.command: executable \"{command[0]}\" is not found on this machine's PATH; "
            "the local engine runs commands on this machine, not in the image"
        )
    args = container.get("args") or []
    if not isinstance(args, list):
        raise _fail(f"{field}.args must be a list of strings")
    for word in args:
        _check_references(word, f"{field}.args", allowed)


def _validate_env(container: Mapping[str, Any], field: str, allowed: Callable[[str], bool]) -> None:
    for variable in container.get("env") or []:
        if not isinstance(variable, dict) or not variable.get("name"):
            raise _fail(f"{field}.env: every variable needs a name")
        env_name = variable["name"]
        if _is_set(variable.get("valueFrom")):
            source = next(iter(variable["valueFrom"]))
            raise _fail(f"{field}.env.{env_name}.valueFrom.{source}: secrets, config maps and pod fields are "
                        "not available to the local engine; give a value")
        _check_references(variable.get("value"), f"{field}.env.{env_name}.value", allowed)


def _validate_mounts(template: Mapping[str, Any], container: Mapping[str, Any], where: str, field: str,
                     context: _Context) -> None:
    template_volumes = context.volume_names(template.get("volumes"), f"{where}.volumes")
    for mount in container.get("volumeMounts") or []:
        if not isinstance(mount, dict):
            raise _fail(f"{field}.volumeMounts must be a list")
        mount_name = mount.get("name")
        if mount_name not in template_volumes | context.spec_volumes:
            raise _fail(f"{field}.volumeMounts.{mount_name}: volume '{mount_name}' is not declared in "
                        "spec.volumes or the template's volumes")
        mount_path = mount.get("mountPath")
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            raise _fail(f"{field}.volumeMounts.{mount_name}.mountPath must be an absolute path")
        if _is_set(mount.get("subPathExpr")):
            raise _fail(f"{field}.volumeMounts.{mount_name}.subPathExpr is not supported by the local engine")


def _validate_retry(retry: Any, field: str, allowed: Callable[[str], bool]) -> None:
    if not isinstance(retry, dict):
        raise _fail(f"{field} must be an object")
    if _is_set(retry.get("expression")):
        raise _fail(f"{field}.expression: retry expressions need Argo's expression language, "
                    "which the local engine does not have")
    if retry.get("limit") is not None:
        _integer_or_template(retry["limit"], f"{field}.limit")
        _check_references(str(retry["limit"]), f"{field}.limit", allowed)
    policy = retry.get("retryPolicy")
    if policy and policy not in RETRY_POLICIES:
        raise _fail(f"{field}.retryPolicy: '{policy}' is not one of {', '.join(RETRY_POLICIES)}")
    backoff = retry.get("backoff")
    if backoff:
        if not isinstance(backoff, dict):
            raise _fail(f"{field}.backoff must be an object")
        for key in ("duration", "maxDuration"):
            if backoff.get(key) is not None:
                _duration_or_template(backoff[key], f"{field}.backoff.{key}")
        factor = backoff.get("factor")
        if factor is not None:
            try:
                float(factor)
            except (TypeError, ValueError):
                raise _fail(f"{field}.backoff.factor must be a number") from None


def _task_output_allowed(tag: str, task_templates: Mapping[str, Mapping[str, Any]],
                         reachable: Callable[[str], bool], looped: Collection[str] = ()) -> bool:
    """``tasks.T.…`` references a DAG task may use: T must be ``reachable`` (an ancestor).

    A looped task (``withItems``/``withParam``) also offers ``outputs.parameters``, the list of
    its items' output parameters (Argo's ``addOutputsToScope`` with ``aggregate``)."""
    match = TASK_REFERENCE.fullmatch(tag)
    if not match:
        return False
    task_name, rest = match.groups()
    if task_name not in task_templates or not reachable(task_name):
        return False
    template = task_templates.get(task_name) or {}
    pod = specs.is_pod_template(template)
    if rest in TASK_NODE_FIELDS:
        return True
    if rest in ("outputs.result", "outputs.exitCode"):
        return pod
    if rest == "outputs.parameters":
        return task_name in looped
    if rest.startswith("outputs.parameters."):
        declared = {parameter.get("name") for parameter in (template.get("outputs") or {}).get("parameters") or []}
        return rest[len("outputs.parameters."):] in declared
    return False


def _ancestor_test(task_name: str, dependencies: Mapping[str, list[str]]) -> Callable[[str], bool]:
    """Whether a task is an ancestor of ``task_name``; the ancestors are found on first use only."""
    found: list[set[str]] = []

    def test(other: str) -> bool:
        if not found:
            found.append(specs.ancestors(task_name, dependencies))
        return other in found[0]
    return test


def _item_names(task: Mapping[str, Any]) -> Callable[[str], bool] | None:
    """Which ``{{item...}}`` a looped task may use (Argo's ``addItemsToScope``); None if it does not loop."""
    items = task.get("withItems")
    if items:
        names: set[str] = set()
        for item in items:
            if isinstance(item, dict):
                names.update(f"item.{key}" for key in item)
            elif isinstance(item, list):
                names.update(f"item.[{index}]" for index in range(len(item)))
            else:
                names.add("item")
        return names.__contains__
    if task.get("withParam") or task.get("withSequence") is not None:
        return lambda tag: tag == "item" or tag.startswith("item.")
    return None


def _validate_loop(task: Mapping[str, Any], field: str, allowed: Callable[[str], bool]) -> None:
    """``withItems``, ``withParam`` or ``withSequence``: one of them, well formed."""
    given = [key for key in specs.LOOP_FIELDS if task.get(key) not in (None, "", [])]
    if len(given) > 1:
        raise _fail(f"{field} only one of withItems, withParam, withSequence can be specified")
    if task.get("withItems") is not None and not isinstance(task["withItems"], list):
        raise _fail(f"{field}.withItems must be a list")
    if task.get("withParam") is not None:
        if not isinstance(task["withParam"], str):
            raise _fail(f"{field}.withParam must be a string (a JSON list, or a reference to one)")
        _check_references(task["withParam"], f"{field}.withParam", allowed)
    sequence = task.get("withSequence")
    if sequence is not None:
        if not isinstance(sequence, dict):
            raise _fail(f"{field}.withSequence must be an object")
        if sequence.get("count") is not None and sequence.get("end") is not None:
            raise _fail(f"{field} only one of count or end can be defined in withSequence")
        for key in ("count", "start", "end"):
            value = sequence.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise _fail(f"{field}.withSequence.{key} must be an integer")
            _check_references(str(value), f"{field}.withSequence.{key}", allowed)
            if isinstance(value, str) and "{{" not in value and not re.fullmatch(r"\s*[+-]?\d+\s*", value):
                raise _fail(f"{field}.withSequence.{key} must be an integer, got {value!r}")
        if sequence.get("format") is not None and not isinstance(sequence["format"], str):
            raise _fail(f"{field}.withSequence.format must be a string")


def _validate_dag(template: dict[str, Any], where: str, context: _Context, input_names: set[str]) -> None:
    dag = template.get("dag")
    if not isinstance(dag, dict):
        raise _fail(f"{where}.dag must be an object")
    tasks = dag.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise _fail(f"{where} must have at least one task")
    if dag.get("failFast") is not None and not isinstance(dag["failFast"], bool):
        raise _fail(f"{where}.dag.failFast must be true or false")

    names = _task_names(tasks, where)
    task_templates: dict[str, dict[str, Any]] = {}
    dependencies: dict[str, list[str]] = {}
    for task in tasks:
        field = f"{where}.tasks.{task['name']}"
        task_templates[task["name"]] = _task_template(task, field, context)
        dependencies[task["name"]] = _task_dependencies(task, field, names)

    target = dag.get("target")
    if target:
        _check_references(str(target), f"{where}.dag.target",
                          lambda tag: context.is_global(tag) or tag.startswith("inputs.parameters."))
        for target_name in str(target).split():
            if "{{" in target_name:
                continue  # resolved when the DAG runs (Argo's validator skips it too)
            if target_name not in names:
                raise _fail(f"{where}.dag.target: task '{target_name}' is not defined")

    cycle = find_cycle(dependencies)
    if cycle:
        raise _fail(f"{where}.tasks dependency cycle detected: {' -> '.join(cycle)}")
    _validate_dag_references(template, tasks, where, context, input_names, task_templates, dependencies)


def _task_names(tasks: list[Any], where: str) -> list[str]:
    """The tasks' names, each checked and unique."""
    names: list[str] = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise _fail(f"{where}.tasks[{index}] must be an object")
        task_name = _check_name(task.get("name"), f"{where}.tasks[{index}]")
        if task_name in names:
            raise _fail(f"{where}.tasks.{task_name}: task name '{task_name}' is not unique")
        names.append(task_name)
    return names


def _task_template(task: Mapping[str, Any], field: str, context: _Context) -> dict[str, Any]:
    """The template a task runs (after refusing the task fields the engine cannot honour)."""
    for key, message in REFUSED_TASK_FIELDS.items():
        if _is_set(task.get(key)):
            raise _fail(f"{field}.{key}: {message}")
    if task.get("templateRef") is not None:
        return task_template_reference(task, field, context.template_getter)
    reference = task.get("template")
    if not reference:
        raise _fail(f"{field}.template is required")
    if reference not in context.templates:
        raise _fail(f"{field}.template '{reference}' is not defined")
    return context.templates[reference]


def _task_dependencies(task: Mapping[str, Any], field: str, names: list[str]) -> list[str]:
    """The names in the task's ``depends``/``dependencies``, in first-mention order, each checked."""
    if task.get("depends") and task.get("dependencies"):
        raise _fail(f"{field}: cannot use both 'depends' and 'dependencies' in the same task")
    for dependency in task.get("dependencies") or []:
        if dependency not in names:
            raise _fail(f"{field} dependency '{dependency}' not defined")
    try:
        expression = specs.task_depends(task)
    except ExpressionError as error:
        raise _fail(f"{field}.depends: invalid expression '{specs.task_depends_text(task)}': {error}") from None
    dependencies: list[str] = []
    if expression is None:
        return dependencies
    for operand in invalid_results(expression):
        raise _fail(f"{field}.depends: task result '{operand.result}' for task '{operand.task}' is invalid")
    for operand in operands(expression):
        if operand.task not in names:
            raise _fail(f"{field} dependency '{operand.task}' not defined")
        if operand.task not in dependencies:
            dependencies.append(operand.task)
    return dependencies


def _validate_dag_references(template: Mapping[str, Any], tasks: list[dict[str, Any]], where: str,
                             context: _Context, input_names: set[str],
                             task_templates: Mapping[str, Mapping[str, Any]],
                             dependencies: Mapping[str, list[str]]) -> None:
    """Each task may use the DAG's inputs and the tasks it (transitively) depends on."""

    def inputs_allowed(tag: str) -> bool:
        if context.is_global(tag) or tag == "inputs.parameters":
            return True
        return tag.startswith("inputs.parameters.") and tag[len("inputs.parameters."):] in input_names

    looped = {task["name"] for task in tasks if task.get("withItems") or task.get("withParam")}
    for task in tasks:
        task_name = task["name"]
        field = f"{where}.tasks.{task_name}"
        reachable = _ancestor_test(task_name, dependencies)

        def allowed(tag: str, reachable: Callable[[str], bool] = reachable) -> bool:
            return inputs_allowed(tag) or _task_output_allowed(tag, task_templates, reachable, looped)

        _validate_loop(task, field, allowed)
        items = _item_names(task)

        def allowed_here(tag: str, items: Callable[[str], bool] | None = items,
                         allowed: Callable[[str], bool] = allowed) -> bool:
            return allowed(tag) or (items is not None and items(tag))

        _validate_arguments(task.get("arguments") or {}, f"{field}.arguments", globals_only=False,
                            context=context, allowed=allowed_here)
        _check_references(task.get("when"), f"{field}.when", allowed_here)
        _check_inputs_supplied(task_templates[task_name], task.get("arguments") or {}, field)
        check_task_artifacts(task, field, template, task_templates, reachable)

    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        reference = (parameter.get("valueFrom") or {}).get("parameter")
        _check_references(
            reference, f"{where}.outputs.parameters.{parameter['name']}.valueFrom.parameter",
            lambda tag: inputs_allowed(tag) or _task_output_allowed(tag, task_templates, lambda name: True, looped),
        )
    check_dag_output_artifacts(template, where, task_templates)


def _check_inputs_supplied(template: Mapping[str, Any], arguments: Mapping[str, Any], field: str) -> None:
    """Every input without a value or default must come from the arguments."""
    given = {parameter.get("name") for parameter in arguments.get("parameters") or [] if isinstance(parameter, dict)}
    for parameter in (template.get("inputs") or {}).get("parameters") or []:
        if parameter.get("value") is None and parameter.get("default") is None and parameter.get("name") not in given:
            raise _fail(f"{field}: inputs.parameters.{parameter.get('name')} was not supplied")
        enum = parameter.get("enum")
        if enum:
            for argument in arguments.get("parameters") or []:
                value = argument.get("value")
                if argument.get("name") == parameter.get("name") and isinstance(value, str) and "{{" not in value \
                        and value not in [str(item) for item in enum]:
                    raise _fail(f"{field}: inputs.parameters.{parameter['name']}: value '{value}' is not in the enum "
                                f"{', '.join(str(item) for item in enum)}")
    check_input_artifacts_supplied(template, arguments, field)


__all__ = ["WorkflowInvalid", "validate_workflow"]
