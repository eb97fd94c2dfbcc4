"""The local engine's own limits, checked at create before Argo's validation (``validation``).

Argo accepts these, but the local engine would otherwise skip them without a word (issue 11 #5,
#7) or could not place them safely on this machine (issue 9 #20, issue 11 #2), so they are
refused with a 400 whose message names the field:

* an unsupported kind of template (http, resource, ..., a daemon), checked for every
  template first so that it is named for what it is, not for a reference to its outputs;
* ``{{=...}}`` expression tags anywhere in the spec, and ``workflowMetadata.labelsFrom``
  expressions, outside the subset of Argo's expression language the engine runs
  (``expression_language``): Argo evaluates them everywhere;
* label values Argo would refuse when it applies ``workflowMetadata.labels``, ``hostAliases``,
  ``archiveLogs`` and the debug-pause variables;
* a mount ``subPath`` that leaves its volume (Kubernetes refuses it too);
* a workflow name longer than Argo's 63 characters;
* without a file-system view (``pod_filesystem``), an output parameter's ``valueFrom.default``
  the task could not reach but through ``{{outputs.parameters.NAME.path}}``: the default would
  otherwise silently stand in for a file the task wrote at the machine's own path.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from . import spec as specs
from .expression_language import UnsupportedExpression, parse_expression
from .templating import expression_tags
from .validation import REFUSED_KIND_MESSAGES, WorkflowInvalid

DEBUG_PAUSE_VARIABLES = ("ARGO_DEBUG_PAUSE_BEFORE", "ARGO_DEBUG_PAUSE_AFTER")
# Argo's limit (workflow/validate/validate.go, maxCharsInObjectName): names become label values.
MAX_WORKFLOW_NAME_LENGTH = 63
LABEL_VALUE_PATTERN = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
NO_FILESYSTEM_VIEW = ("this machine does not let the local engine show a task its own file system "
                      "(user namespaces are not available)")


def _refused(message: str) -> WorkflowInvalid:
    return WorkflowInvalid(message)


def _used(value: Any) -> bool:
    """A field counts as used when it holds something (Hera may send empty dicts or lists)."""
    return value not in (None, False, "", [], {})


def validate_local_support(workflow: Any, *, filesystem_view: bool = True) -> None:
    """Raise ``WorkflowInvalid`` for what the local engine must refuse before ``validate_workflow``.

    ``filesystem_view`` says whether tasks see their declared absolute paths (``pod_filesystem``);
    without it an output parameter's ``valueFrom.default`` could silently stand in for a file the
    task wrote at the machine's own path, so such a default is refused unless the template writes
    through ``{{outputs.parameters.NAME.path}}``.
    """
    if not isinstance(workflow, dict) or not isinstance(workflow.get("spec"), dict):
        return  # validate_workflow says what is missing
    name = (workflow.get("metadata") or {}).get("name")
    if isinstance(name, str) and len(name) > MAX_WORKFLOW_NAME_LENGTH:
        raise _refused(f"workflow name \"{name}\" must not be more than {MAX_WORKFLOW_NAME_LENGTH} characters long "
                       f"(currently {len(name)})")
    spec = workflow["spec"]
    templates = [template for template in spec.get("templates") or [] if isinstance(template, dict)]
    _refuse_unsupported_kinds(templates)
    _check_expression_tags(spec, "spec")
    _refuse_silently_ignored_fields(spec, templates)
    for template in templates:
        _check_sub_paths(template)
        if not filesystem_view:
            _refuse_hidden_output_defaults(template)


def _template_where(template: Mapping[str, Any]) -> str:
    return f"templates.{template.get('name')}"


def _refuse_unsupported_kinds(templates: list[dict[str, Any]]) -> None:
    for template in templates:
        for kind in specs.template_kinds(template):
            if kind in REFUSED_KIND_MESSAGES:
                raise _refused(f"{_template_where(template)}.{kind}: {REFUSED_KIND_MESSAGES[kind]}")
        if template.get("daemon"):
            raise _refused(f"{_template_where(template)}.daemon: daemon templates are not supported by the "
                           "local engine")


def _check_expression_tags(value: Any, where: str) -> None:
    """Every ``{{=...}}`` in the spec parses in the subset the engine runs (Argo's validator does
    not look inside them; they fail, if at all, when they run)."""
    if isinstance(value, str):
        if "{{" in value:
            for tag in expression_tags(value):
                _check_expression(tag[1:], where, f"{{{{{tag}}}}}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_expression_tags(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
            _check_expression_tags(item, f"{where}.{label}" if label else f"{where}[{index}]")


def _check_expression(text: str, where: str, shown: str) -> None:
    try:
        parse_expression(text)
    except UnsupportedExpression as error:
        raise _refused(f"{where}: the expression {shown.strip()} is not supported by the local engine: "
                       f"{error}") from None


def _refuse_silently_ignored_fields(spec: Mapping[str, Any], templates: list[dict[str, Any]]) -> None:
    metadata = spec.get("workflowMetadata") or {}
    labels_from = metadata.get("labelsFrom") or {}
    if not isinstance(labels_from, dict):
        raise _refused("spec.workflowMetadata.labelsFrom must be an object")
    for label, source in labels_from.items():
        expression = source.get("expression") if isinstance(source, dict) else None
        if not isinstance(expression, str) or not expression.strip():
            raise _refused(f"spec.workflowMetadata.labelsFrom.{label}.expression is required")
        _check_expression(expression, f"spec.workflowMetadata.labelsFrom.{label}.expression", f"'{expression}'")
    for label, value in (metadata.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE_PATTERN.match(value):
            raise _refused(f"spec.workflowMetadata.labels.{label}: invalid label value \"{value}\": must be 63 "
                           "characters or less, alphanumeric, '-', '_' or '.', and start and end with an alphanumeric")
    if _used(spec.get("hostAliases")):
        raise _refused("spec.hostAliases: host aliases (/etc/hosts entries) are not supported by the local engine")
    if spec.get("archiveLogs"):
        raise _refused("spec.archiveLogs: the local engine keeps each task's log until the workflow is deleted, but "
                       "cannot archive logs as artifacts; remove archiveLogs")
    for template in templates:
        where = _template_where(template)
        if _used(template.get("hostAliases")):
            raise _refused(f"{where}.hostAliases: host aliases (/etc/hosts entries) are not supported by the "
                           "local engine")
        if (template.get("archiveLocation") or {}).get("archiveLogs"):
            raise _refused(f"{where}.archiveLocation.archiveLogs: the local engine keeps each task's log until the "
                           "workflow is deleted, but cannot archive logs as artifacts; remove archiveLogs")
        for kind, container in _mount_holders(template):
            for variable in (container or {}).get("env") or []:
                if isinstance(variable, dict) and variable.get("name") in DEBUG_PAUSE_VARIABLES \
                        and variable.get("value") == "true":
                    raise _refused(f"{where}.{kind}.env.{variable['name']}: debug pauses are not supported by the "
                                   "local engine (a task cannot be paused for kubectl exec); remove the variable")


def _mount_holders(template: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every container of a template (with its mounts and env), named by its field: main, a
    container set's (and the set's shared mounts), the init containers."""
    holders: list[tuple[str, Any]] = [(kind, template.get(kind)) for kind in specs.POD_KINDS]
    container_set = template.get("containerSet") or {}
    if isinstance(container_set, dict):
        holders.append(("containerSet", container_set))
        holders.extend((f"containerSet.containers.{container.get('name')}", container)
                       for container in container_set.get("containers") or [] if isinstance(container, dict))
    holders.extend((f"initContainers.{init.get('name')}", init)
                   for init in template.get("initContainers") or [] if isinstance(init, dict))
    return holders


def _check_sub_paths(template: Mapping[str, Any]) -> None:
    """A mount's ``subPath`` stays inside its volume, as Kubernetes requires."""
    for where, holder in _mount_holders(template):
        for mount in (holder or {}).get("volumeMounts") or []:
            sub_path = mount.get("subPath") if isinstance(mount, dict) else None
            if sub_path and (sub_path.startswith("/") or ".." in sub_path.split("/")):
                raise _refused(f"{_template_where(template)}.{where}.volumeMounts.{mount.get('name')}.subPath: "
                               f"Invalid value: \"{sub_path}\": must be a relative path without '..'")


def _refuse_hidden_output_defaults(template: Mapping[str, Any]) -> None:
    text = json.dumps({kind: template.get(kind) for kind in specs.POD_KINDS})
    for parameter in (template.get("outputs") or {}).get("parameters") or []:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("valueFrom"), dict):
            continue
        value_from = parameter["valueFrom"]
        if value_from.get("path") is None or value_from.get("default") is None:
            continue
        name = parameter.get("name")
        if f"outputs.parameters.{name}.path" in text:
            continue  # the task writes where the engine reads: {{outputs.parameters.NAME.path}}
        raise _refused(
            f"{_template_where(template)}.outputs.parameters.{name}.valueFrom.default: {NO_FILESYSTEM_VIEW}, so a "
            f"task that writes {value_from['path']} writes the machine's own file while the engine reads another "
            f"and would use the default instead; write to {{{{outputs.parameters.{name}.path}}}} in the template, "
            "or remove the default"
        )


__all__ = ["validate_local_support"]
