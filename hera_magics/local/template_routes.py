"""The WorkflowTemplate and ClusterWorkflowTemplate routes of the Argo Server REST API.

Paths and bodies as Argo's ``api/openapi-spec/swagger.json`` (v4.0.5) states them:

* ``/api/v1/workflow-templates/{namespace}``: ``GET`` list (``namePattern``,
  ``listOptions.labelSelector``), ``POST`` create (``{"template": ...}``), ``POST .../lint``;
  ``/api/v1/workflow-templates/{namespace}/{name}``: ``GET``, ``PUT`` (``{"template": ...}``),
  ``DELETE`` (answers ``{}``);
* the same under ``/api/v1/cluster-workflow-templates`` without a namespace.

Each body is checked against Argo's JSON schema first (``schema``), as for workflows; the work is
``template_store.TemplateStore``'s. ``TemplateRoutes`` is mixed into the server's request handler.
"""

from __future__ import annotations

from typing import Any

from .schema import DEFINITION_PREFIX
from .selectors import SelectorError, parse_label_selector
from .template_store import CLUSTER_WORKFLOW_TEMPLATE, WORKFLOW_TEMPLATE, TemplateKind
from .wire import bad_request

NAMESPACED_PATH = r"^/api/v1/workflow-templates/(?P<namespace>[^/]+)"
CLUSTER_PATH = r"^/api/v1/cluster-workflow-templates"

TEMPLATE_ROUTES = [
    ("POST", NAMESPACED_PATH + r"/lint$", "lint_workflow_template"),
    ("GET", NAMESPACED_PATH + r"$", "list_workflow_templates"),
    ("POST", NAMESPACED_PATH + r"$", "create_workflow_template"),
    ("GET", NAMESPACED_PATH + r"/(?P<name>[^/]+)$", "get_workflow_template"),
    ("PUT", NAMESPACED_PATH + r"/(?P<name>[^/]+)$", "update_workflow_template"),
    ("DELETE", NAMESPACED_PATH + r"/(?P<name>[^/]+)$", "delete_workflow_template"),
    ("POST", CLUSTER_PATH + r"/lint$", "lint_workflow_template"),
    ("GET", CLUSTER_PATH + r"$", "list_workflow_templates"),
    ("POST", CLUSTER_PATH + r"$", "create_workflow_template"),
    ("GET", CLUSTER_PATH + r"/(?P<name>[^/]+)$", "get_workflow_template"),
    ("PUT", CLUSTER_PATH + r"/(?P<name>[^/]+)$", "update_workflow_template"),
    ("DELETE", CLUSTER_PATH + r"/(?P<name>[^/]+)$", "delete_workflow_template"),
]
"""(method, path pattern, handler) of each route."""


def _kind(parameters: dict[str, str]) -> TemplateKind:
    return WORKFLOW_TEMPLATE if "namespace" in parameters else CLUSTER_WORKFLOW_TEMPLATE


def _request(kind: TemplateKind, action: str) -> str:
    """The schema definition of a request body (``WorkflowTemplateCreateRequest``, ...)."""
    return f"{DEFINITION_PREFIX}{kind.kind}{action}Request"


class TemplateRoutes:
    """The handlers, mixed into ``server.ApiHandler``, whose ``server.engine``, ``_checked`` (the
    schema check) and ``_send_json`` they use."""

    server: Any
    _checked: Any
    _send_json: Any

    def create_workflow_template(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        body = self._checked(_request(kind, "Create"), body)
        self._send_json(self.server.engine.templates.create(kind, parameters.get("namespace", ""), body.get("template")))

    def lint_workflow_template(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        body = self._checked(_request(kind, "Lint"), body)
        self._send_json(self.server.engine.templates.lint(kind, parameters.get("namespace", ""), body.get("template")))

    def get_workflow_template(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        self._send_json(self.server.engine.templates.get(kind, parameters.get("namespace", ""), parameters["name"]))

    def update_workflow_template(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        body = self._checked(_request(kind, "Update"), body)
        self._send_json(self.server.engine.templates.update(kind, parameters.get("namespace", ""), parameters["name"],
                                                             body.get("template")))

    def delete_workflow_template(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        self.server.engine.templates.delete(kind, parameters.get("namespace", ""), parameters["name"])
        self._send_json({})

    def list_workflow_templates(self, parameters: dict[str, str], query: Any, body: dict[str, Any]) -> None:
        kind = _kind(parameters)
        try:
            labels = parse_label_selector((query.get("listOptions.labelSelector") or [""])[0])
        except SelectorError as error:
            raise bad_request(str(error)) from None
        store = self.server.engine.templates
        items = store.list(kind, parameters.get("namespace", ""), labels=labels,
                           name_pattern=(query.get("namePattern") or [""])[0])
        self._send_json({"metadata": {"resourceVersion": store.resource_version()}, "items": items or None})


__all__ = ["TEMPLATE_ROUTES", "TemplateRoutes"]
