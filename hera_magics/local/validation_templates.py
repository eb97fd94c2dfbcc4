"""Create-time checks of one template: its kind, inputs and outputs, and a pod template's container.

A script or container template becomes a local process: its command must exist on this
machine, its environment may not come from secrets, its mounts must name volumes the engine has
a folder for. A DAG template's flow is checked by ``validation_flow``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from . import spec as specs
from .naming import PARAMETER_NAME_PATTERN
from .images import STAND_INS, container_command
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
)
from .validation_flow import validate_dag
from .validation_steps import validate_steps, validate_suspend

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
    "containerSet": "container sets are not supported by the local engine",
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


def validate_template(template: dict[str, Any], context: ValidationContext) -> None:
    name = template["name"]
    where = f"templates.{name}"
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

    if kind in specs.POD_KINDS:
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
    wanted = "path" if kind in specs.POD_KINDS else "supplied" if kind == "suspend" else "parameter"
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
           "validate_template"]
