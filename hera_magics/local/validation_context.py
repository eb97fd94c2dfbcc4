"""What every create-time check shares: the error, the workflow-wide context, and small checks.

``ValidationContext`` is what the whole workflow makes available to each template (its
templates, global parameters, labels, annotations, volumes); the functions check one field
each and raise ``WorkflowInvalid`` with a message naming it, in Argo's style
(``workflow/validate/validate.go`` in argoproj/argo-workflows).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, Mapping

from .naming import MAX_FIELD_NAME_LENGTH, PARAMETER_NAME_PATTERN, TASK_NAME_PATTERN
from .expression_language import UnsupportedExpression, parse_expression
from .parameters import WORKFLOW_FAILURES, WORKFLOW_VARIABLES
from .invalid import WorkflowInvalid
from .template_refs import TemplateGetter, no_templates
from .templates import effective_templates
from .templating import TAG_PATTERN, parse_go_duration, variables_in
from .validate_artifacts import check_input_artifacts_supplied
from .volume_claims import claim_template_names


def fail(message: str) -> WorkflowInvalid:
    return WorkflowInvalid(message)


def is_set(value: Any) -> bool:
    """A field counts as used when it holds something (Hera may send empty dicts or lists)."""
    return value not in (None, False, "", [], {})


def check_name(value: Any, field: str, *, pattern: re.Pattern[str] = TASK_NAME_PATTERN) -> str:
    if not isinstance(value, str) or not value:
        raise fail(f"{field}.name is required")
    if len(value) > MAX_FIELD_NAME_LENGTH or not pattern.match(value):
        raise fail(
            f"{field}.name '{value}' is invalid: name must consist of alpha-numeric characters or '-', "
            "and must start with an alpha-numeric character"
            + (" (parameter names may also contain '_')" if pattern is PARAMETER_NAME_PATTERN else "")
        )
    return value


def check_references(text: Any, field: str, allowed: Callable[[str], bool]) -> None:
    """Every Argo variable in ``text`` must be one that resolves at that place."""
    if not isinstance(text, str):
        return
    for tag in variables_in(text):
        if not allowed(tag):
            raise fail(f"{field}: failed to resolve {{{{{tag}}}}}")


def check_expression(text: Any, field: str) -> None:
    """An expression field (``retryStrategy.expression``, ``valueFrom.expression``, ...) must be a
    string in the subset of Argo's expression language the engine runs."""
    if not isinstance(text, str):
        raise fail(f"{field} must be a string")
    try:
        # its {{...}} tags are substituted before it runs: any of them stands for a value here
        parse_expression(TAG_PATTERN.sub(" __tag__ ", text))
    except UnsupportedExpression as error:
        raise fail(f"{field}: the expression '{text.strip()}' is not supported by the local engine: {error}") from None


def integer_or_template(value: Any, field: str, *, allow_template: bool = True) -> None:
    if isinstance(value, bool):
        raise fail(f"{field} must be an integer")
    if isinstance(value, int):
        if value < 0:
            raise fail(f"{field} must not be negative")
        return
    if isinstance(value, str):
        if allow_template and "{{" in value:
            return
        if re.fullmatch(r"\d+", value.strip()):
            return
    raise fail(f"{field} must be an integer, got {value!r}")


def duration_or_template(value: Any, field: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    if isinstance(value, str):
        if "{{" in value:
            return
        try:
            parse_go_duration(value)
            return
        except ValueError as error:
            raise fail(f"{field}: {error}") from None
    raise fail(f"{field} must be a duration such as 30s, 5m or 1h")


class ValidationContext:
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
        # As the controller runs them: with spec.templateDefaults merged in.
        self.templates = effective_templates(self.spec)
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
                raise fail(f"{field} must be a list of volumes")
            name = volume.get("name")
            if not name:
                raise fail(f"{field}.name is required")
            where = f"{field}.{name}"
            kinds = [key for key in volume if key != "name" and volume[key] is not None]
            if kinds == ["emptyDir"]:
                names.add(name)
                continue
            if kinds == ["persistentVolumeClaim"]:
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim not in self.volume_claims:
                    raise fail(
                        f"{where}.persistentVolumeClaim: claim \"{claim}\" has no local folder; "
                        f"start the local engine with --volume {claim}=/path/to/folder"
                    )
                names.add(name)
                continue
            kind = kinds[0] if kinds else "(none)"
            raise fail(f"{where}.{kind}: {kind} volumes are not supported by the local engine "
                        "(only emptyDir and persistentVolumeClaim with --volume)")
        return names


def validate_arguments(arguments: Mapping[str, Any], field: str, *, globals_only: bool,
                        context: ValidationContext, allowed: Callable[[str], bool] | None = None) -> None:
    if not isinstance(arguments, dict):
        raise fail(f"{field} must be an object")
    names: set[str] = set()
    for parameter in arguments.get("parameters") or []:
        if not isinstance(parameter, dict):
            raise fail(f"{field}.parameters must be a list of parameters")
        name = check_name(parameter.get("name"), f"{field}.parameters", pattern=PARAMETER_NAME_PATTERN)
        where = f"{field}.parameters.{name}"
        if name in names:
            raise fail(f"{where}: parameter name '{name}' is not unique")
        names.add(name)
        if is_set(parameter.get("valueFrom")):
            raise fail(f"{where}.valueFrom: config maps and secrets are not available to the local engine; give a value")
        if parameter.get("value") is None and not (globals_only and context.workflow_template):
            raise fail(f"{where}.value is required")
        if globals_only:
            check_references(parameter.get("value"), f"{where}.value", context.is_global)
        elif allowed is not None:
            check_references(parameter.get("value"), f"{where}.value", allowed)


def check_inputs_supplied(template: Mapping[str, Any], arguments: Mapping[str, Any], field: str) -> None:
    """Every input without a value or default must come from the arguments."""
    given = {parameter.get("name") for parameter in arguments.get("parameters") or [] if isinstance(parameter, dict)}
    for parameter in (template.get("inputs") or {}).get("parameters") or []:
        if parameter.get("value") is None and parameter.get("default") is None and parameter.get("name") not in given:
            raise fail(f"{field}: inputs.parameters.{parameter.get('name')} was not supplied")
        enum = parameter.get("enum")
        if enum:
            for argument in arguments.get("parameters") or []:
                value = argument.get("value")
                if argument.get("name") == parameter.get("name") and isinstance(value, str) and "{{" not in value \
                        and value not in [str(item) for item in enum]:
                    raise fail(f"{field}: inputs.parameters.{parameter['name']}: value '{value}' is not in the enum "
                                f"{', '.join(str(item) for item in enum)}")
    check_input_artifacts_supplied(template, arguments, field)


SEMAPHORES = ("semaphores are not available to the local engine: it has no ConfigMaps to read their limits "
              "from; use mutexes")
DATABASE_LOCKS = ("database locks are not available to the local engine (Argo's default controller has no "
                  "synchronization database either, and fails such a workflow); remove database")


def validate_synchronization(value: Any, field: str) -> None:
    """``synchronization``: mutexes (``mutexes``, or the deprecated ``mutex``), each named;
    semaphores and database locks are refused (``synchronization`` module)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise fail(f"{field} must be an object")
    for key in ("semaphore", "semaphores"):
        if is_set(value.get(key)):
            raise fail(f"{field}.{key}: {SEMAPHORES}")
    mutexes = value.get("mutexes")
    if mutexes is not None and not isinstance(mutexes, list):
        raise fail(f"{field}.mutexes must be a list")
    entries = ([("mutex", value["mutex"])] if value.get("mutex") is not None else []) + \
        [(f"mutexes[{index}]", mutex) for index, mutex in enumerate(mutexes or [])]
    for where, mutex in entries:
        if not isinstance(mutex, dict) or not isinstance(mutex.get("name"), str) or not mutex["name"]:
            raise fail(f"{field}.{where}.name is required")
        if mutex.get("database"):
            raise fail(f"{field}.{where}.database: {DATABASE_LOCKS}")
        if "/" in mutex["name"] or "/" in str(mutex.get("namespace") or ""):
            raise fail(f"{field}.{where}.name: invalid mutex name '{mutex['name']}'")


__all__ = [
    "ValidationContext",
    "WorkflowInvalid",
    "check_expression",
    "check_inputs_supplied",
    "check_name",
    "check_references",
    "duration_or_template",
    "fail",
    "integer_or_template",
    "is_set",
    "validate_arguments",
    "validate_synchronization",
]
