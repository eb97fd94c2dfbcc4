"""Create-time checks of one template: its kind, inputs and outputs, and a pod template's container.

A script or container template becomes a local process: its command must exist on this
machine, its environment may not come from secrets, its mounts must name volumes the engine has
a folder for. A DAG template's flow is checked by ``validation_flow``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from ..graph import find_cycle
from . import spec as specs
from .images import STAND_INS, container_command
from .naming import CONTAINER_NAME_PATTERN, PARAMETER_NAME_PATTERN
from .templating import parse_go_duration
from .validate_artifacts import artifact_path_variable
from .validation_context import (
    ValidationContext,
    check_expression,
    check_name,
    check_references,
    duration_or_template,
    fail,
    integer_or_template,
    is_set,
    validate_synchronization,
)
from .validation_flow import validate_dag
from .validation_steps import validate_steps, validate_suspend

REFUSED_TEMPLATE_FIELDS = {
    "sidecars": "sidecars are not supported by the local engine",
    "podSpecPatch": "pod spec patches are not supported by the local engine",
    "metrics": "Prometheus metrics are not supported by the local engine",
    "hooks": "lifecycle hooks are not supported by the local engine",
}

REFUSED_KIND_MESSAGES = {
    "resource": "resource templates (Kubernetes objects) are not supported by the local engine",
    "data": "data templates are not supported by the local engine",
    "http": "http templates are not supported by the local engine",
    "plugin": "plugin templates are not supported by the local engine",
}

REFUSED_CONTAINER_FIELDS = {
    "envFrom": "envFrom (secrets and config maps) is not available to the local engine; set env values",
    "volumeDevices": "volume devices are not supported by the local engine",
}
RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")


def validate_template(template: dict[str, Any], context: ValidationContext, where: str | None = None) -> None:
    """Check one template; ``where`` names it in messages (``templates.NAME``, or a task's
    ``...inline`` for an inline template)."""
    where = where or f"templates.{template['name']}"
    kinds = specs.template_kinds(template)
    if not kinds:
        raise fail(f"{where} template type unspecified. choose one of: {', '.join(specs.TEMPLATE_KINDS)}")
    if len(kinds) > 1:
        raise fail(f"{where} multiple template types specified: {', '.join(kinds)}")
    kind = kinds[0]
    if kind in REFUSED_KIND_MESSAGES:
        raise fail(f"{where}.{kind}: {REFUSED_KIND_MESSAGES[kind]}")
    for key, message in REFUSED_TEMPLATE_FIELDS.items():
        if is_set(template.get(key)):
            raise fail(f"{where}.{key}: {message}")
    if template.get("daemon"):
        raise fail(f"{where}.daemon: daemon templates are not supported by the local engine")
    validate_synchronization(template.get("synchronization"), f"{where}.synchronization")
    _validate_memoize(template, where)

    inputs = template.get("inputs") or {}
    input_names: set[str] = set()
    for parameter in inputs.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise fail(f"{where}.inputs.parameters must be a list of parameters")
        parameter_name = check_name(parameter.get("name"), f"{where}.inputs.parameters", pattern=PARAMETER_NAME_PATTERN)
        if parameter_name in input_names:
            raise fail(f"{where}.inputs.parameters.{parameter_name}: parameter name is not unique")
        input_names.add(parameter_name)
        if is_set(parameter.get("valueFrom")):
            raise fail(f"{where}.inputs.parameters.{parameter_name}.valueFrom: config maps are not available "
                        "to the local engine; give a value or a default")

    outputs = template.get("outputs") or {}
    output_names: set[str] = set()
    for parameter in outputs.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise fail(f"{where}.outputs.parameters must be a list of parameters")
        parameter_name = check_name(parameter.get("name"), f"{where}.outputs.parameters", pattern=PARAMETER_NAME_PATTERN)
        output_names.add(parameter_name)
        _validate_output_parameter(parameter, f"{where}.outputs.parameters.{parameter_name}", kind)

    if template.get("parallelism") is not None:
        integer_or_template(template["parallelism"], f"{where}.parallelism", allow_template=False)
    if template.get("failFast") is not None and not isinstance(template["failFast"], bool):
        raise fail(f"{where}.failFast must be true or false")

    def allowed_in_pod(tag: str) -> bool:
        if context.is_global(tag) or tag in ("pod.name", "node.name", "retries", "inputs.parameters"):
            return True
        if tag.startswith("inputs.parameters."):
            return tag[len("inputs.parameters."):] in input_names
        match = re.fullmatch(r"outputs\.parameters\.(.+)\.path", tag)
        return bool(match and match.group(1) in output_names) or artifact_path_variable(tag, template)

    if kind == "containerSet":
        _validate_container_set(template, where, context, allowed_in_pod)
    elif kind in specs.POD_KINDS:
        _validate_pod_template(template, kind, where, context, allowed_in_pod)
    else:
        for key in ("retryStrategy", "timeout", "activeDeadlineSeconds"):
            if is_set(template.get(key)):
                raise fail(f"{where}.{key}: the local engine supports {key} on script and container templates only")
        if kind == "steps":
            validate_steps(template, where, context, input_names)
        elif kind == "suspend":
            validate_suspend(template, where)
        else:
            validate_dag(template, where, context, input_names)


NON_POD_FIELDS = ("retryStrategy", "timeout", "activeDeadlineSeconds")


def validate_template_defaults(spec: Mapping[str, Any], context: ValidationContext) -> None:
    """``spec.templateDefaults`` reaches every template (``mergedTemplateDefaultsInto``): a field the
    engine refuses on a template is refused here, named as the default it comes from."""
    defaults = spec.get("templateDefaults")
    if defaults is None:
        return
    if not isinstance(defaults, dict):
        raise fail("spec.templateDefaults must be a template")
    for key, message in REFUSED_TEMPLATE_FIELDS.items():
        if is_set(defaults.get(key)):
            raise fail(f"spec.templateDefaults.{key}: {message}")
    if defaults.get("daemon"):
        raise fail("spec.templateDefaults.daemon: daemon templates are not supported by the local engine")
    for kind in specs.template_kinds(defaults):
        if kind in REFUSED_KIND_MESSAGES:
            raise fail(f"spec.templateDefaults.{kind}: {REFUSED_KIND_MESSAGES[kind]}")
    for key in NON_POD_FIELDS:
        if not is_set(defaults.get(key)):
            continue
        for name, template in context.templates.items():
            kind = specs.template_kind(template)
            if not specs.is_pod_template(template):
                raise fail(f"spec.templateDefaults.{key}: it applies to every template, and templates.{name} is a "
                           f"{kind} template; the local engine supports {key} on script and container templates "
                           "only")


def _validate_memoize(template: Mapping[str, Any], where: str) -> None:
    """``memoize`` on a pod template (``memoization``): a key, the cache's ConfigMap name, a Go
    duration for ``maxAge``. DAG and steps templates and retried ones are not memoized here."""
    memoize = template.get("memoize")
    if memoize is None:
        return
    field = f"{where}.memoize"
    if not isinstance(memoize, dict):
        raise fail(f"{field} must be an object")
    if not specs.is_pod_template(template):
        raise fail(f"{field}: the local engine memoizes container, script and containerSet templates only")
    if is_set(template.get("retryStrategy")):
        raise fail(f"{field}: memoizing a template with a retryStrategy is not supported by the local engine")
    if not isinstance(memoize.get("key"), str) or not memoize["key"]:
        raise fail(f"{field}.key is required")
    name = ((memoize.get("cache") or {}).get("configMap") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise fail(f"{field}.cache.configMap.name is required")
    max_age = memoize.get("maxAge")
    if max_age and "{{" not in str(max_age):
        try:
            parse_go_duration(str(max_age))
        except ValueError as error:
            raise fail(f"{field}.maxAge: {error}") from None


def _validate_aggregated_output(value_from: Mapping[str, Any], where: str, kind: str) -> None:
    """A steps or DAG template's output: ``parameter`` or ``expression`` (validate.go), and a
    ``default``; the expression must be in the subset the engine runs."""
    for key, value in value_from.items():
        if value is not None and key not in ("parameter", "expression", "default"):
            raise fail(f"{where}.valueFrom.{key}: the local engine supports valueFrom.parameter or "
                       f"valueFrom.expression (and default) for {kind} templates")
    if not value_from.get("parameter") and not value_from.get("expression"):
        raise fail(f"{where}.valueFrom.parameter or expression must be specified for {kind} templates")
    if value_from.get("parameter") and value_from.get("expression"):
        raise fail(f"{where} shouldn't have both `from` and `expression` specified in `ValueFrom` for {kind} "
                   "templates")
    if value_from.get("expression"):
        check_expression(value_from["expression"], f"{where}.valueFrom.expression")


def _validate_output_parameter(parameter: Mapping[str, Any], where: str, kind: str) -> None:
    if is_set(parameter.get("globalName")):
        raise fail(f"{where}.globalName: global outputs are not supported by the local engine")
    value_from = parameter.get("valueFrom")
    if not isinstance(value_from, dict) or not value_from:
        raise fail(f"{where}.valueFrom not specified")
    wanted = "path" if kind in (*specs.POD_KINDS, "containerSet") else "supplied" if kind == "suspend" else "parameter"
    if wanted == "parameter":
        _validate_aggregated_output(value_from, where, kind)
        return
    for key, value in value_from.items():
        if value is None or key in (wanted, "default"):
            continue
        raise fail(f"{where}.valueFrom.{key}: the local engine supports valueFrom.{wanted} (and default) "
                    f"for {kind} templates")
    if value_from.get(wanted) is None or (wanted != "supplied" and not value_from.get(wanted)):
        raise fail(f"{where}.valueFrom.{wanted} is required")
    if wanted == "path" and "{{" not in value_from["path"] and not str(value_from["path"]).startswith("/"):
        raise fail(f"{where}.valueFrom.path must be an absolute path")


def _validate_pod_template(template: dict[str, Any], kind: str, where: str, context: ValidationContext,
                           allowed: Callable[[str], bool]) -> None:
    container = template[kind]
    if not isinstance(container, dict):
        raise fail(f"{where}.{kind} must be an object")
    field = f"{where}.{kind}"
    for key, message in REFUSED_CONTAINER_FIELDS.items():
        if is_set(container.get(key)):
            raise fail(f"{field}.{key}: {message}")

    if kind == "script":
        if not isinstance(container.get("source"), str):
            raise fail(f"{field}.source is required")
        check_references(container["source"], f"{field}.source", allowed)
    _validate_command(container, kind, field, context, allowed)
    _validate_env(container, field, allowed)

    working_directory = container.get("workingDir")
    if working_directory:
        check_references(working_directory, f"{field}.workingDir", allowed)
        if "{{" not in working_directory and not working_directory.startswith("/"):
            raise fail(f"{field}.workingDir must be an absolute path")
    _validate_mounts(template, container, where, field, context)

    if template.get("activeDeadlineSeconds") is not None:
        integer_or_template(template["activeDeadlineSeconds"], f"{where}.activeDeadlineSeconds")
        check_references(str(template["activeDeadlineSeconds"]), f"{where}.activeDeadlineSeconds", allowed)
    if template.get("timeout") is not None:
        duration_or_template(template["timeout"], f"{where}.timeout")
        check_references(str(template["timeout"]), f"{where}.timeout", allowed)
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        value_from = parameter.get("valueFrom") or {}
        check_references(value_from.get("path"), f"{where}.outputs.parameters.{parameter['name']}.valueFrom.path", allowed)

    retry = template.get("retryStrategy")
    if retry is not None:
        _validate_retry(retry, f"{where}.retryStrategy", allowed)
    _validate_init_containers(template, where, context, allowed)


def _validate_container_set(template: dict[str, Any], where: str, context: ValidationContext,
                            allowed: Callable[[str], bool]) -> None:
    """A containerSet: named containers, each run as a process (its command must exist here),
    their dependencies a graph among them; the set's and each container's mounts declared."""
    container_set = template["containerSet"]
    field = f"{where}.containerSet"
    if not isinstance(container_set, dict):
        raise fail(f"{field} must be an object")
    if is_set(container_set.get("retryStrategy")):
        raise fail(f"{field}.retryStrategy: retrying the containers of a set is not supported by the local engine")
    containers = container_set.get("containers")
    if not isinstance(containers, list) or not containers:
        raise fail(f"{field}.containers must have at least one container")
    names: dict[str, list[str]] = {}
    for index, container in enumerate(containers):
        if not isinstance(container, dict) or not isinstance(container.get("name"), str) or not container["name"]:
            raise fail(f"{field}.containers[{index}].name is required")
        _check_container_name(container["name"], f"{field}.containers")
        if container["name"] in names:
            raise fail(f"{field}.containers.{container['name']}: container name is not unique")
        names[container["name"]] = list(container.get("dependencies") or [])
    for container in containers:
        container_field = f"{field}.containers.{container['name']}"
        for key, message in REFUSED_CONTAINER_FIELDS.items():
            if is_set(container.get(key)):
                raise fail(f"{container_field}.{key}: {message}")
        for dependency in names[container["name"]]:
            if dependency not in names:
                raise fail(f"{container_field}.dependencies: container '{dependency}' is not defined")
        _validate_command(container, "container", container_field, context, allowed)
        _validate_env(container, container_field, allowed)
        mounts = list(container_set.get("volumeMounts") or []) + list(container.get("volumeMounts") or [])
        _validate_mounts(template, {"volumeMounts": mounts}, where, container_field, context)
    cycle = find_cycle(names)
    if cycle:
        raise fail(f"{field}.containers dependency cycle detected: {' -> '.join(cycle)}")
    if template.get("timeout") is not None:
        duration_or_template(template["timeout"], f"{where}.timeout")
    if template.get("retryStrategy") is not None:
        _validate_retry(template["retryStrategy"], f"{where}.retryStrategy", allowed)


def _check_container_name(name: str, field: str) -> None:
    """Kubernetes names containers with DNS labels (and the engine names their log files so)."""
    if len(name) > 63 or not CONTAINER_NAME_PATTERN.fullmatch(name):
        raise fail(f"{field}.{name}.name: Invalid value: \"{name}\": a container name must consist of lower case "
                   "alphanumeric characters or '-', start and end with an alphanumeric character, and be at most "
                   "63 characters")


def _validate_init_containers(template: dict[str, Any], where: str, context: ValidationContext,
                              allowed: Callable[[str], bool]) -> None:
    """Each init container runs like main, before it: its command must exist on this machine.
    A ``restartPolicy: Always`` init container is a sidecar, which the engine does not run."""
    init_containers = template.get("initContainers") or []
    if not isinstance(init_containers, list):
        raise fail(f"{where}.initContainers must be a list")
    for index, init in enumerate(init_containers):
        if not isinstance(init, dict) or not isinstance(init.get("name"), str) or not init["name"]:
            raise fail(f"{where}.initContainers[{index}].name is required")
        _check_container_name(init["name"], f"{where}.initContainers")
        field = f"{where}.initContainers.{init['name']}"
        if init.get("restartPolicy") == "Always":
            raise fail(f"{field}.restartPolicy: sidecars are not supported by the local engine")
        for key, message in REFUSED_CONTAINER_FIELDS.items():
            if is_set(init.get(key)):
                raise fail(f"{field}.{key}: {message}")
        _validate_command(init, "container", field, context, allowed)
        _validate_env(init, field, allowed)
        mounts = init.get("volumeMounts") or []
        if init.get("mirrorVolumeMounts"):
            mounts = list(mounts) + list((template.get(specs.template_kind(template)) or {}).get("volumeMounts") or [])
        _validate_mounts(template, {"volumeMounts": mounts}, where, field, context)


def _validate_command(container: Mapping[str, Any], kind: str, field: str, context: ValidationContext,
                      allowed: Callable[[str], bool]) -> None:
    command = container.get("command")
    if kind != "script" and isinstance(command, (list, type(None))):
        command = container_command(container)
    if not command:
        if kind == "script":
            raise fail(f"{field}.command is required: the local engine runs the script with it (for example [python])")
        raise fail(f"{field}.command: a container without a command runs its image's entrypoint, "
                    "which the local engine cannot run (it stands in only for "
                    f"{', '.join(sorted(STAND_INS))}); give the command")
    if not isinstance(command, list) or not all(isinstance(word, str) for word in command):
        raise fail(f"{field}.command must be a list of strings")
    for word in command:
        check_references(word, f"{field}.command", allowed)
    if "{{" not in command[0] and not context.executable_exists(command[0]):
        raise fail(
            f"{field}.command: executable \"{command[0]}\" is not found on this machine's PATH; "
            "the local engine runs commands on this machine, not in the image"
        )
    args = container.get("args") or []
    if not isinstance(args, list):
        raise fail(f"{field}.args must be a list of strings")
    for word in args:
        check_references(word, f"{field}.args", allowed)


def _validate_env(container: Mapping[str, Any], field: str, allowed: Callable[[str], bool]) -> None:
    for variable in container.get("env") or []:
        if not isinstance(variable, dict) or not variable.get("name"):
            raise fail(f"{field}.env: every variable needs a name")
        env_name = variable["name"]
        if is_set(variable.get("valueFrom")):
            source = next(iter(variable["valueFrom"]))
            raise fail(f"{field}.env.{env_name}.valueFrom.{source}: secrets, config maps and pod fields are "
                        "not available to the local engine; give a value")
        check_references(variable.get("value"), f"{field}.env.{env_name}.value", allowed)


def _validate_mounts(template: Mapping[str, Any], container: Mapping[str, Any], where: str, field: str,
                     context: ValidationContext) -> None:
    template_volumes = context.volume_names(template.get("volumes"), f"{where}.volumes")
    for mount in container.get("volumeMounts") or []:
        if not isinstance(mount, dict):
            raise fail(f"{field}.volumeMounts must be a list")
        mount_name = mount.get("name")
        if mount_name not in template_volumes | context.spec_volumes:
            raise fail(f"{field}.volumeMounts.{mount_name}: volume '{mount_name}' is not declared in "
                        "spec.volumes or the template's volumes")
        mount_path = mount.get("mountPath")
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            raise fail(f"{field}.volumeMounts.{mount_name}.mountPath must be an absolute path")
        if is_set(mount.get("subPathExpr")):
            raise fail(f"{field}.volumeMounts.{mount_name}.subPathExpr is not supported by the local engine")


def _validate_retry(retry: Any, field: str, allowed: Callable[[str], bool]) -> None:
    if not isinstance(retry, dict):
        raise fail(f"{field} must be an object")
    if is_set(retry.get("expression")):
        check_expression(retry["expression"], f"{field}.expression")
    if retry.get("limit") is not None:
        integer_or_template(retry["limit"], f"{field}.limit")
        check_references(str(retry["limit"]), f"{field}.limit", allowed)
    policy = retry.get("retryPolicy")
    if policy and policy not in RETRY_POLICIES:
        raise fail(f"{field}.retryPolicy: '{policy}' is not one of {', '.join(RETRY_POLICIES)}")
    backoff = retry.get("backoff")
    if backoff:
        if not isinstance(backoff, dict):
            raise fail(f"{field}.backoff must be an object")
        for key in ("duration", "maxDuration"):
            if backoff.get(key) is not None:
                duration_or_template(backoff[key], f"{field}.backoff.{key}")
        factor = backoff.get("factor")
        if factor is not None:
            try:
                float(factor)
            except (TypeError, ValueError):
                raise fail(f"{field}.backoff.factor must be a number") from None


__all__ = ["REFUSED_CONTAINER_FIELDS", "REFUSED_KIND_MESSAGES", "REFUSED_TEMPLATE_FIELDS", "RETRY_POLICIES",
           "validate_template", "validate_template_defaults"]
