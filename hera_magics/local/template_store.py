"""WorkflowTemplates and ClusterWorkflowTemplates: the objects behind their REST routes.

As the Argo Server's ``WorkflowTemplateService`` and ``ClusterWorkflowTemplateService``
(``server/workflowtemplate``, ``server/clusterworkflowtemplate`` in argoproj/argo-workflows,
v4.0.5), over Kubernetes' object rules:

* create validates the template (``validate.ValidateWorkflowTemplate``: as a workflow whose
  entrypoint may be missing and whose arguments may have no value yet, its ``templateRef`` s
  resolved) and labels its creator; a name taken is 409 ``already exists``;
* get and delete answer 404 ``workflowtemplates.argoproj.io "NAME" not found``; list returns the
  templates of a namespace (all of them for the cluster kind) sorted by name, filtered by a label
  selector and ``namePattern`` (a substring of the name);
* update needs the ``resourceVersion`` it read (Hera's ``WorkflowTemplate.update`` gets it
  first): a missing one is refused, a stale one is 409; the actor labels say who updated;
* lint validates and answers the template as it would be created.

Each object is a JSON file, ``<engine dir>/workflow-templates/<namespace>/<name>.json`` or
``<engine dir>/cluster-workflow-templates/<name>.json`` (private, written atomically), loaded
when the engine starts. One lock guards the store; a reader gets a copy.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..argo import LABEL_CREATOR, rfc3339
from ..state import ensure_private_directory, write_private
from .naming import OBJECT_NAME_PATTERN, generated_name, namespace_problem
from .records import METADATA_ORDER
from .selectors import Requirement, labels_match
from .template_refs import TemplateGetter
from .wire import ALREADY_EXISTS, NOT_FOUND, ApiError, bad_request

LABEL_ACTOR = "workflows.argoproj.io/actor"
LABEL_ACTION = "workflows.argoproj.io/action"
GENERATED_NAME_ATTEMPTS = 100


@dataclass(frozen=True)
class TemplateKind:
    """What differs between the namespaced and the cluster-scoped kind."""

    kind: str
    resource: str
    folder: str
    cluster: bool


WORKFLOW_TEMPLATE = TemplateKind("WorkflowTemplate", "workflowtemplates", "workflow-templates", False)
CLUSTER_WORKFLOW_TEMPLATE = TemplateKind("ClusterWorkflowTemplate", "clusterworkflowtemplates",
                                         "cluster-workflow-templates", True)

Validator = Callable[[dict[str, Any], TemplateGetter, bool], None]
"""``(template object, getter, cluster) -> None``; raises ``WorkflowInvalid`` (the engine's checks)."""


class TemplateStore:
    """Every WorkflowTemplate (by namespace) and ClusterWorkflowTemplate the engine knows."""

    def __init__(self, root: Path, validate: Validator, user: str) -> None:
        self.root = root
        self.validate = validate
        self.user = user
        self._lock = threading.Lock()
        self._objects: dict[tuple[bool, str, str], dict[str, Any]] = {}
        self._version = itertools.count(1)

    # -- disk -------------------------------------------------------------------------------------------

    def _path(self, kind: TemplateKind, namespace: str, name: str) -> Path:
        folder = self.root / kind.folder
        return (folder / f"{name}.json") if kind.cluster else (folder / namespace / f"{name}.json")

    def load(self) -> None:
        """Read every saved template; unreadable files and files not named after their object are skipped."""
        highest = 0
        for kind in (WORKFLOW_TEMPLATE, CLUSTER_WORKFLOW_TEMPLATE):
            pattern = "*.json" if kind.cluster else "*/*.json"
            for path in sorted((self.root / kind.folder).glob(pattern)):
                try:
                    obj = json.loads(path.read_text(encoding="utf-8"))
                    metadata = obj["metadata"]
                    name, namespace = metadata["name"], "" if kind.cluster else metadata["namespace"]
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if path != self._path(kind, namespace, name):
                    continue
                self._objects[(kind.cluster, namespace, name)] = obj
                highest = max(highest, int(metadata.get("resourceVersion") or 0))
        self._version = itertools.count(highest + 1)

    def _save(self, kind: TemplateKind, namespace: str, obj: dict[str, Any]) -> None:
        path = self._path(kind, namespace, obj["metadata"]["name"])
        ensure_private_directory(path.parent)
        write_private(path, json.dumps(obj, separators=(",", ":")))

    # -- lookups ------------------------------------------------------------------------------------------

    def getter(self, namespace: str) -> TemplateGetter:
        """The templates a workflow of ``namespace`` can name: its namespace's, and the cluster's.

        Each template is copied once per getter (one getter serves one request), so a workflow
        with a thousand references to one template costs one copy."""
        seen: dict[tuple[str, bool], dict[str, Any] | None] = {}

        def get(name: str, cluster: bool) -> dict[str, Any] | None:
            if (name, cluster) not in seen:
                with self._lock:
                    found = self._objects.get((cluster, "" if cluster else namespace, name))
                    seen[(name, cluster)] = copy.deepcopy(found) if found is not None else None
            return seen[(name, cluster)]
        return get

    def _cluster_getter(self, name: str, cluster: bool) -> dict[str, Any] | None:
        # A ClusterWorkflowTemplate is validated without a namespace: it can only name cluster templates.
        return self.getter("")(name, True) if cluster else None

    def get(self, kind: TemplateKind, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._find(kind, namespace, name))

    def _find(self, kind: TemplateKind, namespace: str, name: str) -> dict[str, Any]:
        found = self._objects.get((kind.cluster, "" if kind.cluster else namespace, name))
        if found is None:
            raise ApiError(NOT_FOUND, f'{kind.resource}.argoproj.io "{name}" not found')
        return found

    def list(self, kind: TemplateKind, namespace: str, *, labels: list[Requirement] | None = None,
             name_pattern: str = "") -> list[dict[str, Any]]:
        """The templates of ``namespace`` (every namespace when empty), sorted by name."""
        with self._lock:
            items = [copy.deepcopy(obj) for (cluster, space, name), obj in self._objects.items()
                     if cluster == kind.cluster and (kind.cluster or not namespace or space == namespace)
                     and name_pattern in name and labels_match(labels or [], obj["metadata"].get("labels"))]
        return sorted(items, key=lambda obj: obj["metadata"]["name"])

    def resource_version(self) -> str:
        with self._lock:
            versions = [int(obj["metadata"].get("resourceVersion") or 0) for obj in self._objects.values()]
        return str(max(versions or [0]))

    # -- changes ------------------------------------------------------------------------------------------

    def _checked(self, kind: TemplateKind, namespace: str, template: Any, *, lint: bool = False) -> dict[str, Any]:
        """The template of a request, labelled and validated (a 400 naming the field otherwise)."""
        from .invalid import WorkflowInvalid

        if not isinstance(template, dict):
            raise bad_request(f"{'cluster ' if kind.cluster else ''}workflow template was not found in the request body")
        template = copy.deepcopy(template)
        metadata = template.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata is required")
        if not kind.cluster:
            if metadata.get("namespace") and metadata["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            metadata["namespace"] = namespace
        # The Argo Server answers typed objects without kind and apiVersion (as for workflows).
        template.pop("apiVersion", None)
        template.pop("kind", None)
        name = metadata.get("name")
        if name and (len(name) > 63 or not OBJECT_NAME_PATTERN.match(name)):
            if len(name) > 63:
                raise bad_request(f'workflow template name "{name}" must not be more than 63 characters long '
                                  f"(currently {len(name)})")
            raise bad_request(f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist '
                              "of lower case alphanumeric characters, '-' or '.'")
        if not name and not metadata.get("generateName") and not lint:
            raise bad_request("metadata.name or metadata.generateName is required")
        try:
            self.validate(template, self._cluster_getter if kind.cluster else self.getter(namespace), kind.cluster)
        except WorkflowInvalid as error:
            raise bad_request(str(error)) from None
        return template

    def lint(self, kind: TemplateKind, namespace: str, template: Any) -> dict[str, Any]:
        checked = self._checked(kind, namespace, template, lint=True)
        checked["metadata"].setdefault("labels", {})[LABEL_CREATOR] = self.user
        return checked

    def create(self, kind: TemplateKind, namespace: str, template: Any) -> dict[str, Any]:
        template = self._checked(kind, namespace, template)
        metadata = template["metadata"]
        metadata.setdefault("labels", {})[LABEL_CREATOR] = self.user
        space = "" if kind.cluster else namespace
        with self._lock:
            name = metadata.get("name")
            if not name:
                for _ in range(GENERATED_NAME_ATTEMPTS):
                    name = generated_name(metadata["generateName"])
                    if (kind.cluster, space, name) not in self._objects:
                        break
            if (kind.cluster, space, name) in self._objects:
                raise ApiError(ALREADY_EXISTS, f'{kind.resource}.argoproj.io "{name}" already exists')
            metadata.update(name=name, uid=str(uuid.uuid4()), generation=1, creationTimestamp=rfc3339())
            self._stamp(template)
            self._save(kind, space, template)
            self._objects[(kind.cluster, space, name)] = template
            return copy.deepcopy(template)

    def update(self, kind: TemplateKind, namespace: str, name: str, template: Any) -> dict[str, Any]:
        if not isinstance(template, dict):
            raise bad_request(f"{'Cluster' if kind.cluster else ''}WorkflowTemplate is not found in Request body")
        name = (template.get("metadata") or {}).get("name") or name
        template = {**template, "metadata": {**(template.get("metadata") or {}), "name": name}}
        template = self._checked(kind, namespace, template)
        metadata = template["metadata"]
        labels = metadata.setdefault("labels", {})
        labels[LABEL_ACTOR] = self.user
        labels[LABEL_ACTION] = "Update"
        space = "" if kind.cluster else namespace
        with self._lock:
            current = self._find(kind, namespace, name)["metadata"]
            given = metadata.get("resourceVersion")
            if not given:
                raise bad_request(f'{kind.resource}.argoproj.io "{name}" is invalid: metadata.resourceVersion: '
                                  "Invalid value: 0x0: must be specified for an update")
            if str(given) != current.get("resourceVersion"):
                raise ApiError(ALREADY_EXISTS, f'Operation cannot be fulfilled on {kind.resource}.argoproj.io "{name}": '
                                               "the object has been modified; please apply your changes to the latest "
                                               "version and try again")
            metadata.update(uid=current.get("uid"), creationTimestamp=current.get("creationTimestamp"),
                            generation=int(current.get("generation") or 1) + 1)
            self._stamp(template)
            self._save(kind, space, template)
            self._objects[(kind.cluster, space, name)] = template
            return copy.deepcopy(template)

    def delete(self, kind: TemplateKind, namespace: str, name: str) -> None:
        space = "" if kind.cluster else namespace
        with self._lock:
            self._find(kind, namespace, name)
            del self._objects[(kind.cluster, space, name)]
            self._path(kind, space, name).unlink(missing_ok=True)

    def _stamp(self, template: dict[str, Any]) -> None:
        """A new resourceVersion, and the metadata in Kubernetes' key order (lock held)."""
        metadata = template["metadata"]
        metadata["resourceVersion"] = str(next(self._version))
        template["metadata"] = {**{key: metadata[key] for key in METADATA_ORDER if key in metadata},
                                **{key: value for key, value in metadata.items() if key not in METADATA_ORDER}}


def checked_namespace(namespace: str) -> None:
    """A namespace in a template route must be a Kubernetes name (it becomes a folder)."""
    problem = namespace_problem(namespace)
    if problem:
        raise bad_request(problem)


__all__ = ["CLUSTER_WORKFLOW_TEMPLATE", "TemplateKind", "TemplateStore", "WORKFLOW_TEMPLATE", "checked_namespace"]
