"""Which template a task, step or node runs: named templates, inline templates, ``templateDefaults``.

As Argo v4.0.5's controller resolves them (``executeTemplate`` in
``workflow/controller/operator.go``, argoproj/argo-workflows):

* a DAG task or a step names a template (``template:``) or carries its own (``inline:``). An
  inline template has no name: its node has no ``templateName`` (``initializeNode`` writes
  ``orgTmpl.GetTemplateName()``, the task's empty ``template``), so its pod is named
  ``<workflow>-<hash>`` (e2e ``TestWorkflowInlinePodName``: no ``--`` in the pod's name);
* ``spec.templateDefaults`` is merged into every template the controller resolves, inline ones
  too (``mergedTemplateDefaultsInto``): a Kubernetes strategic merge patch of the template onto
  the defaults (``template_refs.strategic_merge``), after the defaults' kind fields that are not the template's own kind are dropped
  (a ``container:`` default reaches container templates only).

A node that has no ``templateName`` ran an inline template: which one is found from its
enclosing DAG or Steps node (its ``boundaryID``) and the task or step its name ends with.
"""

from __future__ import annotations

from typing import Any, Mapping

from .spec import TEMPLATE_KINDS, template_kind, templates_by_name
from .template_refs import strategic_merge

def applicable_defaults(defaults: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults that reach ``template``: no kind field but the template's own kind."""
    kind = template_kind(template)
    return {name: value for name, value in defaults.items()
            if value is not None and (name not in TEMPLATE_KINDS or name == kind)}


def with_defaults(template: dict[str, Any], defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """``template`` with ``spec.templateDefaults`` merged in (itself when there are none)."""
    if not defaults:
        return template
    return strategic_merge(applicable_defaults(defaults, template), template)


def effective_templates(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The workflow's named templates as the controller runs them (``templateDefaults`` merged)."""
    defaults = spec.get("templateDefaults")
    return {name: with_defaults(template, defaults) for name, template in templates_by_name(spec).items()}


def reference_of(holder: Mapping[str, Any]) -> Any:
    """What a DAG task, a step or an exit hook runs: its inline template, else its template's name."""
    inline = holder.get("inline")
    return inline if isinstance(inline, dict) else holder.get("template")


def template_name_of(reference: Any) -> str | None:
    """The ``templateName`` a node running ``reference`` gets (none for an inline template)."""
    return reference if isinstance(reference, str) else None


class TemplateResolver:
    """The templates of one workflow, each resolved once (defaults merged)."""

    def __init__(self, templates: Mapping[str, dict[str, Any]], defaults: Mapping[str, Any] | None) -> None:
        """``templates``: the workflow's templates by key (``template_refs.execution_templates``)."""
        self.defaults = defaults
        self.named = {key: with_defaults(template, defaults) for key, template in templates.items()}
        self._inline: dict[int, dict[str, Any]] = {}

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        """The template ``reference`` (a name or an inline template) runs; None if unknown."""
        if isinstance(reference, dict):
            key = id(reference)
            if key not in self._inline:
                # The spec outlives the resolver, so the inline dict's identity is a stable key.
                self._inline[key] = with_defaults(reference, self.defaults)
            return self._inline[key]
        return self.named.get(reference or "")


__all__ = [
    "TemplateResolver",
    "applicable_defaults",
    "effective_templates",
    "reference_of",
    "template_name_of",
    "with_defaults",
]
