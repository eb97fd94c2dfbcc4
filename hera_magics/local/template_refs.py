"""WorkflowTemplates in a workflow: ``templateRef``, ``workflowTemplateRef``, and template scopes.

As Argo v4.0.5 (argoproj/argo-workflows: ``workflow/templateresolution/context.go``,
``pkg/apis/workflow/v1alpha1/workflow_types.go`` ``resolveTemplateReference``,
``workflow/util/merge.go`` ``JoinWorkflowSpec``, ``operator.go`` ``setStoredWfSpec``):

* a task with ``templateRef: {name: W, template: X}`` runs template ``X`` of the WorkflowTemplate
  ``W`` (``clusterScope: true``: the ClusterWorkflowTemplate ``W``); inside it, a task naming
  ``template: Y`` means ``Y`` of ``W``. The templates a workflow reaches are kept in
  ``status.storedTemplates`` under ``namespaced/W/X`` (``cluster/W/X``), so a later change of
  ``W`` does not change a running workflow;
* a node records how it was reached: ``templateName`` (a name in its caller's scope) or
  ``templateRef``, and ``templateScope``, the caller's scope (``local/<workflow>``, or
  ``namespaced/W`` inside ``W``);
* a workflow with ``spec.workflowTemplateRef`` runs the template's spec merged with its own
  (Kubernetes' strategic merge: lists of named things merge by name, the workflow's values win;
  the workflow's argument parameters replace the template's whole) from
  ``status.storedWorkflowTemplateSpec``; its own nodes' scope is then ``local/`` (the merged
  spec belongs to no named object).

The engine runs all of this through one map of templates by *key* (``execution_templates``): a
local template's key is its name (so everything that knew a workflow by template names keeps
working), a template reached by name inside ``W`` is ``namespaced/W/Y``, and one reached through
a ``templateRef`` from scope ``S`` is ``S>namespaced/W/X``. Each DAG task's (and step's)
reference is rewritten to such a key; a node records the Argo fields its key stands for
(``node_template_fields``), and a node's key is read back from them (``template_key_of``).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator, Mapping

from .invalid import WorkflowInvalid
from .spec import STORED_SPEC, execution_spec

STORED_TEMPLATES = "storedTemplates"
NAMESPACED = "namespaced"
CLUSTER = "cluster"
LOCAL = "local"
REFERENCE_MARK = ">"

# Lists whose items merge by a key in a strategic merge (``patchMergeKey`` in Argo's and
# Kubernetes' types); every other list is replaced whole.
MERGE_KEYS = {
    "templates": "name", "volumes": "name", "parameters": "name", "artifacts": "name", "tasks": "name",
    "initContainers": "name", "sidecars": "name", "env": "name", "imagePullSecrets": "name",
    "tolerations": "key", "hostAliases": "ip", "volumeMounts": "mountPath", "ports": "containerPort",
}

TemplateGetter = Callable[[str, bool], "dict[str, Any] | None"]
"""``(name, cluster_scope) -> WorkflowTemplate object or None``."""


class TemplateNotFound(WorkflowInvalid):
    """The WorkflowTemplate a ``workflowTemplateRef`` names does not exist (a 404, as Argo's)."""


def no_templates(name: str, cluster_scope: bool) -> dict[str, Any] | None:
    """The template getter where there are none."""
    return None


# -- scopes and keys --------------------------------------------------------------------------------------


def local_scope(workflow: Mapping[str, Any]) -> str:
    """The scope of a workflow's own templates: ``local/<name>``, ``local/`` for a
    ``workflowTemplateRef`` workflow (Argo runs its merged spec as an unnamed workflow)."""
    if (workflow.get("status") or {}).get(STORED_SPEC) is not None or (workflow.get("spec") or {}).get("workflowTemplateRef"):
        return f"{LOCAL}/"
    return f"{LOCAL}/{(workflow.get('metadata') or {}).get('name', '')}"


def _resource_scope(reference: Mapping[str, Any]) -> str:
    return f"{CLUSTER if reference.get('clusterScope') else NAMESPACED}/{reference.get('name')}"


def stored_key(scope: str, template_name: str) -> str:
    """Argo's ``status.storedTemplates`` key of template ``template_name`` of the scope ``namespaced/W``."""
    return f"{scope}/{template_name}"


def reference_key(caller_scope: str, reference: Mapping[str, Any]) -> str:
    """The key of a ``templateRef`` called from ``caller_scope``."""
    return f"{caller_scope}{REFERENCE_MARK}{stored_key(_resource_scope(reference), str(reference.get('template')))}"


def name_key(caller_scope: str, template_name: str) -> str:
    """The key of ``template: NAME`` in ``caller_scope`` (the name itself in a workflow's scope)."""
    return template_name if caller_scope.startswith(f"{LOCAL}/") else stored_key(caller_scope, template_name)


def template_real_name(key: str) -> str:
    """The template's own name (what a pod name is made of) from its key."""
    return key.rsplit("/", 1)[-1] if "/" in key else key


def node_template_fields(key: str, scope_of_local: str) -> dict[str, Any]:
    """The fields a node records for the template ``key``: ``templateName`` or ``templateRef``,
    then ``templateScope``."""
    if REFERENCE_MARK in key:
        caller, target = key.split(REFERENCE_MARK, 1)
        kind, resource, template = target.split("/", 2)
        reference: dict[str, Any] = {"name": resource, "template": template}
        if kind == CLUSTER:
            reference["clusterScope"] = True
        return {"templateRef": reference, "templateScope": caller}
    if "/" in key:
        scope, name = key.rsplit("/", 1)
        return {"templateName": name, "templateScope": scope}
    return {"templateName": key, "templateScope": scope_of_local}


def scope_inside(key: str, scope_of_local: str) -> str:
    """The scope in which template ``key`` names other templates (Argo's
    ``tmplCtx.GetTemplateScope()`` once the template is resolved): ``namespaced/W`` for a
    template of ``W``, however it was reached; ``scope_of_local`` for the workflow's own."""
    target = key.split(REFERENCE_MARK, 1)[1] if REFERENCE_MARK in key else key
    return target.rsplit("/", 1)[0] if "/" in target else scope_of_local


def template_key_of(node: Mapping[str, Any]) -> str:
    """The key of the template a node ran, read back from its ``node_template_fields``."""
    scope = str(node.get("templateScope") or "")
    reference = node.get("templateRef")
    if isinstance(reference, Mapping) and reference.get("name"):
        return reference_key(scope, reference)
    name = str(node.get("templateName") or "")
    return name_key(scope, name) if scope and not scope.startswith(f"{LOCAL}/") else name


# -- rewriting a template's references to keys -------------------------------------------------------------


def _callers(template: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every DAG task and step of a template (what names other templates); a step group is a
    list of steps or ``{"steps": [...]}``, as ``steps_executor.step_groups`` reads it."""
    for task in (template.get("dag") or {}).get("tasks") or []:
        if isinstance(task, dict):
            yield task
    for group in template.get("steps") or []:
        steps = group.get("steps") if isinstance(group, dict) else group
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict):
                yield step


def _rewritten(template: Mapping[str, Any], key: str, scope: str) -> dict[str, Any]:
    """A copy of ``template`` named ``key`` whose tasks and steps name templates by key (a pod
    template of the workflow's own is used as it is)."""
    if key == template.get("name") and next(_callers(template), None) is None:
        return template  # type: ignore[return-value]
    copied = copy.deepcopy(dict(template))
    copied["name"] = key
    for caller in _callers(copied):
        reference = caller.get("templateRef")
        if isinstance(reference, dict) and reference.get("name"):
            caller["template"] = reference_key(scope, reference)
            del caller["templateRef"]
        elif isinstance(caller.get("template"), str):
            caller["template"] = name_key(scope, caller["template"])
        if isinstance(caller.get("onExit"), str) and caller["onExit"]:
            caller["onExit"] = name_key(scope, caller["onExit"])
        hook = (caller.get("hooks") or {}).get("exit") if isinstance(caller.get("hooks"), dict) else None
        if isinstance(hook, dict) and isinstance(hook.get("template"), str):
            hook["template"] = name_key(scope, hook["template"])
    return copied


def execution_templates(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every template the workflow can run, by key (see the module's help)."""
    scope = local_scope(workflow)
    templates: dict[str, dict[str, Any]] = {}
    for template in execution_spec(workflow).get("templates") or []:
        if isinstance(template, dict):
            templates[template.get("name", "")] = _rewritten(template, template.get("name", ""), scope)
    stored = (workflow.get("status") or {}).get(STORED_TEMPLATES) or {}
    for key, template in stored.items():
        templates[key] = _rewritten(template, key, key.rsplit("/", 1)[0])
    for template in list(templates.values()):
        for caller in _callers(template):
            key = caller.get("template")
            if isinstance(key, str) and REFERENCE_MARK in key and key not in templates:
                target = key.split(REFERENCE_MARK, 1)[1]
                if target in templates:
                    templates[key] = {**templates[target], "name": key}
    return templates


# -- resolving references at create ----------------------------------------------------------------------


def referenced_template(reference: Any, field: str, get: TemplateGetter, *,
                        cluster_only: bool = False) -> tuple[str, dict[str, Any]]:
    """The template a ``templateRef`` names, with its ``namespaced/W/X`` key; ``WorkflowInvalid``
    as Argo's validator words it when it cannot be found."""
    if not isinstance(reference, dict):
        raise WorkflowInvalid(f"{field}.templateRef must be an object")
    name, template_name = reference.get("name"), reference.get("template")
    if not name:
        raise WorkflowInvalid(f"{field} resource name is required")
    if not template_name:
        raise WorkflowInvalid(f"{field} template name is required")
    if cluster_only and not reference.get("clusterScope"):
        raise WorkflowInvalid(f"{field}.templateRef: a ClusterWorkflowTemplate can only refer to other "
                              "ClusterWorkflowTemplates (clusterScope: true)")
    holder = get(str(name), bool(reference.get("clusterScope")))
    found = next((template for template in ((holder or {}).get("spec") or {}).get("templates") or []
                  if isinstance(template, dict) and template.get("name") == template_name), None)
    if found is None:
        raise WorkflowInvalid(f"{field} template reference {name}.{template_name} not found")
    return stored_key(_resource_scope(reference), str(template_name)), found


def task_template_reference(task: Mapping[str, Any], field: str, get: TemplateGetter) -> dict[str, Any]:
    """The template a task's ``templateRef`` names (``validateTemplateHolder``'s checks)."""
    if task.get("template"):
        raise WorkflowInvalid(f"{field} template name cannot be specified with templateRef.")
    return referenced_template(task.get("templateRef"), field, get)[1]


def stored_templates(spec: Mapping[str, Any], get: TemplateGetter, *, cluster_only: bool = False,
                     own_scope: str | None = None) -> dict[str, dict[str, Any]]:
    """Every template ``spec``'s templates reach through ``templateRef`` (and, inside a
    WorkflowTemplate, by name), by ``storedTemplates`` key; found breadth first, each once."""
    found: dict[str, dict[str, Any]] = {}
    pending: list[tuple[str, Mapping[str, Any]]] = [(own_scope or f"{LOCAL}/", template)
                                                    for template in spec.get("templates") or [] if isinstance(template, dict)]
    holders: dict[str, Mapping[str, Any]] = {}
    while pending:
        scope, template = pending.pop()
        for caller in _callers(template):
            field = f"templates.{template.get('name')}.{'tasks' if template.get('dag') else 'steps'}.{caller.get('name')}"
            reference = caller.get("templateRef")
            if reference is not None:
                key, target = referenced_template(reference, field, get, cluster_only=cluster_only)
                target_scope = key.rsplit("/", 1)[0]
                holders.setdefault(target_scope, get(str(reference["name"]), bool(reference.get("clusterScope"))) or {})
            elif not scope.startswith(f"{LOCAL}/") and isinstance(caller.get("template"), str):
                target_scope, key = scope, stored_key(scope, caller["template"])
                target = next((item for item in (holders.get(scope, {}).get("spec") or {}).get("templates") or []
                               if item.get("name") == caller["template"]), None)
                if target is None:
                    raise WorkflowInvalid(f"{field} template reference {scope.split('/', 1)[1]}.{caller['template']} "
                                          "not found")
            else:
                continue
            if key not in found:
                found[key] = copy.deepcopy(target)
                pending.append((target_scope, target))
    return found


# -- workflowTemplateRef: the merged spec ------------------------------------------------------------------


def strategic_merge(original: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes' strategic merge of ``patch`` onto ``original`` (``patch`` wins), for the lists
    Argo's types merge by key (``MERGE_KEYS``); other lists are replaced."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            merged[key] = strategic_merge(original[key], value, key) if key in original else copy.deepcopy(value)
        return merged
    merge_key = MERGE_KEYS.get(field)
    if merge_key and isinstance(original, list) and isinstance(patch, list):
        merged_list = copy.deepcopy(original)
        positions = {item.get(merge_key): index for index, item in enumerate(merged_list) if isinstance(item, dict)}
        for item in patch:
            key = item.get(merge_key) if isinstance(item, dict) else None
            if key is not None and key in positions:
                merged_list[positions[key]] = strategic_merge(merged_list[positions[key]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def join_workflow_spec(spec: Mapping[str, Any], template_spec: Mapping[str, Any]) -> dict[str, Any]:
    """Argo's ``JoinWorkflowSpec``: the WorkflowTemplate's spec with the workflow's merged over it;
    an argument parameter the workflow gives a value replaces the template's whole."""
    merged = strategic_merge(dict(template_spec), dict(spec))
    own = {parameter.get("name"): parameter for parameter in (spec.get("arguments") or {}).get("parameters") or []
           if isinstance(parameter, dict) and _has_value(parameter)}
    theirs = {parameter.get("name"): parameter
              for parameter in (template_spec.get("arguments") or {}).get("parameters") or []
              if isinstance(parameter, dict) and _has_value(parameter)}
    for index, parameter in enumerate((merged.get("arguments") or {}).get("parameters") or []):
        if _has_value(parameter):
            chosen = own.get(parameter.get("name")) or theirs.get(parameter.get("name"))
            if chosen is not None:
                merged["arguments"]["parameters"][index] = copy.deepcopy(chosen)
    if "suspend" in spec or "suspend" in merged:
        if spec.get("suspend") != merged.get("suspend"):
            merged["suspend"] = spec.get("suspend")
            if merged["suspend"] is None:
                del merged["suspend"]
    return merged


def workflow_template_of(spec: Mapping[str, Any], get: TemplateGetter | None) -> dict[str, Any] | None:
    """The WorkflowTemplate ``spec.workflowTemplateRef`` names (None without one); raises
    ``WorkflowInvalid`` as Argo's validator does (``TemplateNotFound`` when it does not exist)."""
    reference = spec.get("workflowTemplateRef")
    if not reference:
        return None
    if not isinstance(reference, dict) or not reference.get("name"):
        raise WorkflowInvalid("spec.workflowTemplateRef.name is required")
    if spec.get("templates"):
        raise WorkflowInvalid("Templates is invalid field in spec if workflow referred WorkflowTemplate reference")
    cluster = bool(reference.get("clusterScope"))
    holder = (get or no_templates)(str(reference["name"]), cluster)
    if holder is None:
        kind = "clusterworkflowtemplates" if cluster else "workflowtemplates"
        raise TemplateNotFound(f'{kind}.argoproj.io "{reference["name"]}" not found')
    return holder


def with_workflow_template(workflow: dict[str, Any], get: TemplateGetter | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``workflow`` as it runs: with a ``workflowTemplateRef``, its spec merged with the
    template's (``join_workflow_spec``, the reference itself left out); else unchanged."""
    spec = workflow["spec"]
    holder = workflow_template_of(spec, get)
    if holder is None:
        return workflow, spec
    merged = join_workflow_spec(spec, holder.get("spec") or {})
    merged.pop("workflowTemplateRef", None)
    return {**workflow, "spec": merged}, merged


def resolve_references(workflow: Mapping[str, Any], get: TemplateGetter) -> dict[str, Any]:
    """What a new workflow keeps of the templates it uses (its status fields): the merged spec of a
    ``workflowTemplateRef`` (``storedWorkflowTemplateSpec``) and every template it reaches
    (``storedTemplates``; for a ``workflowTemplateRef``, all of the template's, as Argo's
    validation stores them)."""
    spec = workflow["spec"]
    kept: dict[str, Any] = {}
    holder = workflow_template_of(spec, get)
    run_spec: Mapping[str, Any] = spec
    stored: dict[str, dict[str, Any]] = {}
    if holder is not None:
        run_spec = join_workflow_spec(spec, holder.get("spec") or {})
        kept[STORED_SPEC] = run_spec
        scope = _resource_scope(spec["workflowTemplateRef"])
        for template in (holder.get("spec") or {}).get("templates") or []:
            stored[stored_key(scope, template.get("name", ""))] = copy.deepcopy(template)
    stored.update(stored_templates(run_spec, get))
    if stored:
        kept[STORED_TEMPLATES] = stored
    return kept


def reached_scopes(workflow: Mapping[str, Any], stored: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The templates a workflow reaches in other WorkflowTemplates, by scope (``namespaced/W``),
    for validating them with the workflow's parameters as Argo does at create; a
    ``workflowTemplateRef``'s own scope is left out (its templates run as the workflow's own)."""
    reference = (workflow.get("spec") or {}).get("workflowTemplateRef")
    own = _resource_scope(reference) if isinstance(reference, dict) else None
    scopes: dict[str, list[dict[str, Any]]] = {}
    for key, template in stored.items():
        scope = key.rsplit("/", 1)[0]
        if scope != own:
            scopes.setdefault(scope, []).append(dict(template))
    return scopes


def _has_value(parameter: Mapping[str, Any]) -> bool:
    """Argo's ``Parameter.HasValue``."""
    return any(parameter.get(key) is not None for key in ("value", "default", "valueFrom"))


__all__ = [
    "MERGE_KEYS",
    "STORED_TEMPLATES",
    "TemplateGetter",
    "TemplateNotFound",
    "execution_templates",
    "join_workflow_spec",
    "local_scope",
    "name_key",
    "no_templates",
    "node_template_fields",
    "reached_scopes",
    "reference_key",
    "referenced_template",
    "resolve_references",
    "scope_inside",
    "stored_key",
    "stored_templates",
    "strategic_merge",
    "task_template_reference",
    "template_key_of",
    "template_real_name",
    "with_workflow_template",
    "workflow_template_of",
]
