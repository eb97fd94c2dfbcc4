"""Create-time validation: what Argo would reject, plus what the local engine cannot honour.

``validate_workflow`` raises ``WorkflowInvalid`` whose message names the field, in Argo's style
(``templates.main.tasks.B dependency 'X' not defined``). Three kinds of fields:

* honoured: what the engine runs (script/container/dag/steps/suspend templates, parameters,
  env, retries, timeouts, parallelism, failFast (DAG, steps and template), loops
  (``withItems``, ``withParam``, ``withSequence``), ``when``, ``dag.target``, the exit handler
  ``spec.onExit`` and a step's exit hook, ``spec.suspend``, output parameters from files,
  volumes it has a folder for and claim templates (``volume_claims``), artifacts in the
  engine's own repository (``validate_artifacts``), ``templateRef`` and
  ``workflowTemplateRef`` (``template_refs``));
* placement-only: accepted and ignored because they only say *where* a pod runs (resources,
  GPUs, tolerations, node selectors, images, security contexts, TTL, pod GC, ...);
* refused: fields whose meaning the engine cannot honour (sidecars, lifecycle hooks, secrets,
  artifacts outside its own repository, ...). They are refused with a message, never skipped
  silently.

Unknown keys are ignored, as Kubernetes prunes fields its schema does not know.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, Mapping

from .naming import MAX_OBJECT_NAME_LENGTH, OBJECT_NAME_PATTERN
from .runner import executable_available
from .template_refs import TemplateGetter, with_workflow_template
from .validate_artifacts import validate_artifacts
from .validation_context import (
    ValidationContext,
    WorkflowInvalid,
    check_inputs_supplied,
    check_name,
    fail,
    integer_or_template,
    is_set,
    validate_arguments,
    validate_synchronization,
)
from .validation_templates import REFUSED_KIND_MESSAGES, validate_template, validate_template_defaults
from .volume_claims import validate_volume_claims

REFUSED_SPEC_FIELDS = {
    "hooks": "lifecycle hooks are not supported by the local engine",
    "metrics": "Prometheus metrics are not supported by the local engine",
    "podSpecPatch": "pod spec patches are not supported by the local engine",
    "retryStrategy": "a workflow-wide retry strategy is not supported by the local engine; set retryStrategy on each template",
}
SHUTDOWN_STRATEGIES = ("Stop", "Terminate")


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
        raise fail("workflow is required")
    metadata = workflow.get("metadata")
    if not isinstance(metadata, dict):
        raise fail("metadata is required")
    name = metadata.get("name")
    generate_name = metadata.get("generateName")
    if not name and not generate_name:
        raise fail("metadata.name or metadata.generateName is required")
    if name and (len(name) > MAX_OBJECT_NAME_LENGTH or not OBJECT_NAME_PATTERN.match(name)):
        raise fail(
            f"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    if not name and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*)?", generate_name):
        raise fail(f"metadata.generateName: Invalid value: \"{generate_name}\": must be lower case alphanumeric "
                    "characters, '-' or '.', starting with an alphanumeric character")
    spec = workflow.get("spec")
    if not isinstance(spec, dict):
        raise fail("spec is required")

    workflow, spec = with_workflow_template(workflow, templates)
    context = ValidationContext(workflow, volume_claims, executable_exists, templates, workflow_template)
    _validate_spec_fields(spec)
    validate_artifacts(workflow)
    validate_volume_claims(spec)
    validate_arguments(spec.get("arguments") or {}, "spec.arguments", globals_only=True, context=context)

    templates = spec.get("templates")
    if not isinstance(templates, list) or not templates:
        raise fail("spec.templates is required")
    seen: set[str] = set()
    for index, template in enumerate(templates):
        if not isinstance(template, dict):
            raise fail(f"spec.templates[{index}] must be an object")
        template_name = check_name(template.get("name"), f"templates[{index}]")
        if template_name in seen:
            raise fail(f"templates.{template_name} template name '{template_name}' is not unique")
        seen.add(template_name)

    entrypoint = spec.get("entrypoint")
    if not entrypoint and not workflow_template:
        raise fail("spec.entrypoint is required")
    if entrypoint and entrypoint not in context.templates:
        raise fail(f"spec.entrypoint template '{entrypoint}' is not defined")

    validate_template_defaults(spec, context)
    for template in templates:
        validate_template(context.templates[template["name"]], context)

    # The entrypoint takes the workflow's arguments as its inputs, and so does the exit handler.
    if entrypoint and not workflow_template:
        check_inputs_supplied(context.templates[entrypoint], spec.get("arguments") or {}, "spec.arguments")
    _validate_exit_handler(spec, context)


def _validate_exit_handler(spec: Mapping[str, Any], context: ValidationContext) -> None:
    """``spec.onExit`` names a template, which gets the workflow's arguments (``GetExitHook``)."""
    exit_template = spec.get("onExit")
    if not exit_template:
        return
    if not isinstance(exit_template, str) or exit_template not in context.templates:
        raise fail(f"spec.onExit: template name '{exit_template}' undefined")
    check_inputs_supplied(context.templates[exit_template], spec.get("arguments") or {}, "spec.onExit")


def _validate_spec_fields(spec: Mapping[str, Any]) -> None:
    for key, message in REFUSED_SPEC_FIELDS.items():
        if is_set(spec.get(key)):
            raise fail(f"spec.{key}: {message}")
    validate_synchronization(spec.get("synchronization"), "spec.synchronization")
    if spec.get("suspend") is not None and not isinstance(spec["suspend"], bool):
        raise fail("spec.suspend must be true or false")
    shutdown = spec.get("shutdown")
    if shutdown and shutdown not in SHUTDOWN_STRATEGIES:
        raise fail(f"spec.shutdown: unknown strategy '{shutdown}'; use Stop or Terminate")
    if spec.get("parallelism") is not None:
        integer_or_template(spec["parallelism"], "spec.parallelism", allow_template=False)
    if spec.get("activeDeadlineSeconds") is not None:
        integer_or_template(spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds", allow_template=False)


__all__ = ["REFUSED_KIND_MESSAGES", "REFUSED_SPEC_FIELDS", "WorkflowInvalid", "validate_workflow"]
