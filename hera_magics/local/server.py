"""The Argo Server REST API subset, over the standard library's ``ThreadingHTTPServer``.

Shapes follow the real server (``pkg/apiclient/workflow/workflow.proto`` and
``api/openapi-spec/swagger.json`` in argoproj/argo-workflows): JSON bodies encoded like Go's,
errors as ``{"code","message"}`` with grpc-gateway's HTTP statuses, 501 for unknown routes,
streams as newline-delimited ``{"result":...}`` (or server-sent events when ``Accept`` is
exactly ``text/event-stream``). It listens on 127.0.0.1 only and every ``/api`` call needs the
engine's token, compared in constant time. The token is never logged.

Defences against a client that misbehaves (or another user of the machine without the token):
a request is routed and authenticated from its request line and headers *before* its body is
read, and a body above ``MAX_BODY_BYTES`` is refused with 413 unread; a connection that sends
nothing for ``idle_timeout`` seconds is closed; at most ``max_connections`` are open at once (more
are answered 503 and closed); the listen backlog is ``LISTEN_BACKLOG``.

Besides ``/api/v1``, it serves what Argo's artifact server serves (``server/artifacts``):
``/artifacts/{namespace}/{workflow}/{node id}/{artifact}`` and ``/input-artifacts/...`` answer
the saved object as it is (a ``.tgz`` stays a ``.tgz``), with the same authentication.
"""

from __future__ import annotations

import contextlib
import getpass
import hmac
import itertools
import json
import mimetypes
import platform
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from .engine import Engine
from .naming import namespace_problem, object_name_problem
from .records import LATEST
from .schema import (
    WORKFLOW_CREATE_REQUEST,
    WORKFLOW_LINT_REQUEST,
    WORKFLOW_RESUBMIT_REQUEST,
    WORKFLOW_RETRY_REQUEST,
    WORKFLOW_STOP_REQUEST,
    WORKFLOW_SUSPEND_REQUEST,
    WORKFLOW_RESUME_REQUEST,
    WORKFLOW_SET_REQUEST,
    WORKFLOW_TERMINATE_REQUEST,
    SchemaViolation,
    checked_body,
)
from .template_routes import TEMPLATE_ROUTES, TemplateRoutes
from .selectors import (
    SelectorError,
    filter_fields,
    parse_field_selector,
    parse_label_selector,
    restore_list_zero_fields,
    restore_workflow_zero_fields,
)
from .wire import (
    INVALID_ARGUMENT,
    TOKEN_NOT_VALID,
    UNAUTHENTICATED,
    ApiError,
    bad_request,
    go_json,
    not_implemented,
)

LOCAL_HOST = "127.0.0.1"
# The Argo version whose API this engine speaks (the spec Hera 7.1 is generated from).
ARGO_VERSION = "v4.0.5"
SSE_KEEPALIVE_SECONDS = 15.0
# The Kubernetes API server's limit on a request body (its MaxRequestBodyBytes): a larger
# workflow could not be created on a cluster either.
MAX_BODY_BYTES = 3 * 1024 * 1024
# The gRPC code the Argo Server answers an over-large message with (ResourceExhausted); the
# HTTP status is 413, as an HTTP server says it.
RESOURCE_EXHAUSTED = 8
IDLE_TIMEOUT_SECONDS = 30.0
LISTEN_BACKLOG = 128
MAX_CONNECTIONS = 256
_END = object()

Query = dict[str, list[str]]

# The schema definition of each action's request body (``schema.checked_body``).
ACTION_REQUESTS = {
    "stop": WORKFLOW_STOP_REQUEST,
    "terminate": WORKFLOW_TERMINATE_REQUEST,
    "retry": WORKFLOW_RETRY_REQUEST,
    "resubmit": WORKFLOW_RESUBMIT_REQUEST,
    "suspend": WORKFLOW_SUSPEND_REQUEST,
    "resume": WORKFLOW_RESUME_REQUEST,
    "set": WORKFLOW_SET_REQUEST,
}


def _first(query: Query, name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[0] if values else default


def parse_bool(value: str | None, name: str) -> bool:
    """Go's ``strconv.ParseBool``, which grpc-gateway uses for query parameters."""
    if value is None or value == "":
        return False
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise bad_request(f"{name}: invalid boolean {value!r}")


def _parse_int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"{name}: invalid integer {value!r}") from None


def _cookie(header: str, name: str) -> str | None:
    """One cookie's value, percent-decoded (the Argo UI's ``authorization`` cookie holds a space)."""
    for part in header.split(";"):
        key, separator, value = part.strip().partition("=")
        if separator and key == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return unquote(value)
    return None


def _check_path_names(parameters: dict[str, str]) -> None:
    """A namespace or workflow name in the path must be a Kubernetes name: the engine makes file
    paths of them (``%2Fabs``, ``..`` and 300 characters are refused with 400 before anything)."""
    namespace = parameters.get("namespace")
    if namespace is not None and (namespace or "name" in parameters):
        problem = namespace_problem(namespace)
        if problem:
            raise bad_request(problem)
    name = parameters.get("name")
    if name is not None and name != LATEST:
        problem = object_name_problem(name)
        if problem:
            raise bad_request(problem)


class _Route:
    def __init__(self, method: str, pattern: str, handler: str) -> None:
        self.method = method
        self.pattern = re.compile(pattern)
        self.handler = handler


ROUTES = [
    _Route("GET", r"^/api/v1/version$", "get_version"),
    _Route("GET", r"^/api/v1/userinfo$", "get_userinfo"),
    _Route("GET", r"^/api/v1/info$", "get_info"),
    _Route("POST", r"^/api/v1/workflows/(?P<namespace>[^/]+)/lint$", "lint_workflow"),
    _Route("GET", r"^/api/v1/workflows/(?P<namespace>[^/]*)$", "list_workflows"),
    _Route("POST", r"^/api/v1/workflows/(?P<namespace>[^/]+)$", "create_workflow"),
    _Route("GET", r"^/api/v1/workflows/(?P<namespace>[^/]+)/(?P<name>[^/]+)$", "get_workflow"),
    _Route("DELETE", r"^/api/v1/workflows/(?P<namespace>[^/]+)/(?P<name>[^/]+)$", "delete_workflow"),
    _Route("GET", r"^/api/v1/workflows/(?P<namespace>[^/]+)/(?P<name>[^/]+)/log$", "workflow_logs"),
    _Route("GET", r"^/api/v1/workflows/(?P<namespace>[^/]+)/(?P<name>[^/]+)/(?P<pod>[^/]+)/log$", "workflow_logs"),
    _Route("PUT", r"^/api/v1/workflows/(?P<namespace>[^/]+)/(?P<name>[^/]+)/"
                  r"(?P<action>stop|terminate|retry|resubmit|suspend|resume|set)$", "workflow_action"),
    *(_Route(method, pattern, handler) for method, pattern, handler in TEMPLATE_ROUTES),
]

ARTIFACT_ROUTE = re.compile(r"^/(?P<kind>artifacts|input-artifacts)/(?P<namespace>[^/]+)/(?P<name>[^/]+)/"
                            r"(?P<node>[^/]+)/(?P<artifact>[^/]+)$")
"""Argo's artifact server routes (``/artifacts/`` outputs, ``/input-artifacts/`` inputs)."""
ARTIFACT_SECURITY_HEADERS = {
    "Content-Security-Policy": "sandbox allow-same-origin; base-uri 'none'; default-src 'none'; img-src 'self'; "
                               "style-src 'self' 'unsafe-inline'",
    "X-Frame-Options": "SAMEORIGIN",
}

UI_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hera-magics local engine</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>hera-magics local engine</h1>
<p>This is the embedded local engine of <code>hera_magics</code>: it speaks the Argo Server REST API
under <code>/api/v1/</code> and runs workflows as processes on this machine. It has no web UI;
use <code>%argo_status</code> or <code>run.widget</code> in your notebook to watch a workflow.</p>
</body></html>
"""


class BodyTooLarge(Exception):
    """A request body above ``MAX_BODY_BYTES`` (answered 413 without reading it)."""


class EngineServer(ThreadingHTTPServer):
    """The HTTP server bound to 127.0.0.1, holding the engine and its token."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, engine: Engine, token: str, port: int = 0, *,
                 idle_timeout: float = IDLE_TIMEOUT_SECONDS, max_connections: int = MAX_CONNECTIONS) -> None:
        self.engine = engine
        self.token = token
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._connections = 0
        self._connections_lock = threading.Lock()
        super().__init__((LOCAL_HOST, port), ApiHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to ``max_connections``; beyond, a 503 and the door."""
        with self._connections_lock:
            admitted = self._connections < self.max_connections
            if admitted:
                self._connections += 1
        if admitted:
            super().process_request(request, client_address)
            return
        body = go_json({"code": 14, "message": "too many connections to the local engine"}).encode("utf-8")
        with contextlib.suppress(OSError):
            request.settimeout(1.0)
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections -= 1

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.port}/"


class ApiHandler(TemplateRoutes, BaseHTTPRequestHandler):
    """One request: route, authenticate, call the engine, answer like the Argo Server."""

    protocol_version = "HTTP/1.1"
    server_version = "hera-magics-local"
    sys_version = ""
    server: EngineServer

    def setup(self) -> None:
        # StreamRequestHandler applies ``timeout`` to the socket: a connection that sends nothing
        # (between requests, or in the middle of one) for that long is closed.
        self.timeout = self.server.idle_timeout
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    # -- dispatch -------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - names fixed by BaseHTTPRequestHandler
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        # Until the body has been read (or there is none), an early answer must close the
        # connection: the unread body would otherwise be taken for the next request.
        wants_close = self.close_connection  # parse_request's reading of Connection and the HTTP version
        self.close_connection = wants_close or self._has_body()
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if ARTIFACT_ROUTE.match(path) and method in ("GET", "HEAD"):
                self._send_artifact(path)
                return
            if not path.startswith("/api/"):
                self._send_page(method)
                return
            handler, parameters = self._route(method, path)
            self._authenticate()
            _check_path_names(parameters)
            raw_body = self._read_body()
            self.close_connection = wants_close
            body = self._decode_body(raw_body) if method in ("POST", "PUT") else {}
            handler(parameters, query, body)
        except ApiError as error:
            self._send_error(error)
        except BodyTooLarge as error:
            self._send_json({"code": RESOURCE_EXHAUSTED, "message": str(error)}, 413)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # an engine bug: answer like a Go panic would, keep serving
            traceback.print_exc()
            self._send_error(ApiError(13, f"internal error: {type(error).__name__}"))

    def _has_body(self) -> bool:
        return (self.headers.get("Transfer-Encoding", "").lower() == "chunked"
                or self.headers.get("Content-Length", "0").strip() not in ("", "0"))

    def _route(self, method: str, path: str) -> tuple[Callable[..., None], dict[str, str]]:
        for route in ROUTES:
            match = route.pattern.match(path)
            if match and route.method == method:
                parameters = {key: unquote(value) for key, value in match.groupdict().items()}
                return getattr(self, route.handler), parameters
        # grpc-gateway answers both an unknown path and a wrong method with 501.
        raise not_implemented()

    def _authenticate(self) -> None:
        value = self.headers.get("Authorization")
        if not value:
            value = _cookie(self.headers.get("Cookie") or "", "authorization")
        if not value:
            raise ApiError(UNAUTHENTICATED, TOKEN_NOT_VALID)
        scheme, _, credential = value.strip().partition(" ")
        if scheme not in ("Bearer", "Basic"):
            raise ApiError(UNAUTHENTICATED, TOKEN_NOT_VALID)
        expected = self.server.token.encode("utf-8")
        if scheme != "Bearer" or not hmac.compare_digest(credential.strip().encode("utf-8"), expected):
            raise ApiError(UNAUTHENTICATED, "Unauthorized")

    def _read_body(self) -> bytes:
        """The request body (called only after authentication); ``BodyTooLarge`` above the limit."""
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise bad_request("invalid Content-Length") from None
        if length < 0:
            raise bad_request("invalid Content-Length")
        if length > MAX_BODY_BYTES:
            raise BodyTooLarge(f"request body too large: {length} bytes, the limit is {MAX_BODY_BYTES}")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise bad_request("invalid chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            if len(data) + size > MAX_BODY_BYTES:
                raise BodyTooLarge(f"request body too large: more than {MAX_BODY_BYTES} bytes")
            data.extend(self.rfile.read(size))
            self.rfile.readline(1024)

    @staticmethod
    def _decode_body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(INVALID_ARGUMENT, f"invalid character in request body: {error}") from None
        if not isinstance(body, dict):
            raise ApiError(INVALID_ARGUMENT, "the request body must be a JSON object")
        return body

    # -- answers -------------------------------------------------------------------------------------

    def _success_headers(self) -> None:
        self.send_header("Grpc-Metadata-Content-Type", "application/grpc")
        self.send_header("Grpc-Metadata-Argo-Version", ARGO_VERSION)

    def _send_json(self, value: Any, status: int = 200) -> None:
        data = go_json(value).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        if status < 400:
            self._success_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        # The argo-version header is deliberately withheld on errors, as the real server does.
        self._send_json(error.body(), error.http_status)

    def _send_page(self, method: str) -> None:
        data = UI_PAGE.encode("utf-8")
        status = 200 if method in ("GET", "HEAD") else 404
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def _send_artifact(self, path: str) -> None:
        """An artifact's bytes, as Argo's artifact server answers (errors are plain text)."""
        match = ARTIFACT_ROUTE.match(path)
        assert match is not None
        try:
            self._authenticate()
        except ApiError:
            self._send_text(401, "Unauthorized")
            return
        parameters = {key: unquote(value) for key, value in match.groupdict().items()}
        try:
            _check_path_names(parameters)
            file_name, content = self.server.engine.artifact(
                parameters["namespace"], parameters["name"], parameters["node"], parameters["artifact"],
                input_artifact=parameters["kind"] == "input-artifacts")
        except ApiError as error:
            self._send_text(error.http_status, "Not Found" if error.http_status == 404 else "Bad Request")
            return
        data = content if isinstance(content, bytes) else content.read_bytes()
        self.send_response(200)
        self.send_header("Content-Disposition", f'filename="{file_name}"')
        self.send_header("Content-Type", mimetypes.guess_type(file_name)[0] or "application/octet-stream")
        for header, value in ARTIFACT_SECURITY_HEADERS.items():
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, status: int, text: str) -> None:
        """Go's ``http.Error``: the text and a newline, as plain text."""
        data = (text + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Status polls would fill the log: keep changes and failures, skip successful reads.
        try:
            status = int(code)
        except (TypeError, ValueError):
            status = 0
        if self.command == "GET" and 200 <= status < 400:
            return
        super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # Request line and status only: never headers, so the token cannot reach the log.
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    # -- info ------------------------------------------------------------------------------------------

    def get_version(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        self._send_json({
            "version": ARGO_VERSION,
            "buildDate": "",
            "gitCommit": "hera-magics-local",
            "gitTag": ARGO_VERSION,
            "gitTreeState": "clean",
            "goVersion": f"python{platform.python_version()}",
            "compiler": "hera-magics-local",
            "platform": f"{sys.platform}/{platform.machine()}",
        })

    def get_userinfo(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        user = getpass.getuser()
        self._send_json({"issuer": "hera-magics-local", "subject": user, "name": user})

    def get_info(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        self._send_json({"links": [], "columns": [], "modals": {}, "navColor": "",
                         "managedNamespace": ""})

    # -- workflows -----------------------------------------------------------------------------------

    @staticmethod
    def _checked(definition: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body as Argo's schema allows it (nulls dropped), or a 400 naming the wrong field."""
        try:
            return checked_body(definition, body)
        except SchemaViolation as error:
            raise bad_request(str(error)) from None

    def create_workflow(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        body = self._checked(WORKFLOW_CREATE_REQUEST, body)
        namespace = parameters["namespace"]
        if body.get("namespace") and body["namespace"] != namespace:
            body = {**body, "namespace": namespace}
        self._send_json(self.server.engine.create(namespace, body))

    def lint_workflow(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        body = self._checked(WORKFLOW_LINT_REQUEST, body)
        self._send_json(self.server.engine.lint(parameters["namespace"], body))

    def get_workflow(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        fields = _first(query, "fields")
        workflow = self.server.engine.get(parameters["namespace"], parameters["name"], fields)
        if fields:
            workflow = restore_workflow_zero_fields(workflow)
        self._send_json(workflow)

    def list_workflows(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        try:
            labels = parse_label_selector(_first(query, "listOptions.labelSelector", "") or "")
            field_selector = parse_field_selector(_first(query, "listOptions.fieldSelector", "") or "")
        except SelectorError as error:
            raise bad_request(str(error)) from None
        name_filter = _first(query, "nameFilter")
        wanted_name = None
        if name_filter in ("Contains", "Prefix"):
            # nameFilter changes how the metadata.name field selector matches.
            wanted_name = next((value for path, _, value in field_selector if path == "metadata.name"), None)
            field_selector = [selector for selector in field_selector if selector[0] != "metadata.name"]
        items = self.server.engine.list(parameters["namespace"] or None, label_selector=labels,
                                        field_selector=field_selector)
        if wanted_name is not None:
            items = [item for item in items if (wanted_name in item["metadata"]["name"] if name_filter == "Contains"
                                                else item["metadata"]["name"].startswith(wanted_name))]
        offset = _parse_int(_first(query, "listOptions.continue"), "listOptions.continue") or 0
        limit = _parse_int(_first(query, "listOptions.limit"), "listOptions.limit")
        page = items[offset:offset + limit] if limit else items[offset:]
        metadata: dict[str, Any] = {"resourceVersion": str(max(
            [int(item["metadata"].get("resourceVersion") or 0) for item in items] or [0]))}
        if limit and offset + limit < len(items):
            metadata["continue"] = str(offset + limit)
        listing: dict[str, Any] = {"metadata": metadata, "items": page or None}
        fields = _first(query, "fields")
        if fields:
            listing = filter_fields(listing, fields)
        self._send_json(restore_list_zero_fields(listing))

    def delete_workflow(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        self.server.engine.delete(parameters["namespace"], parameters["name"])
        self._send_json({})

    def workflow_action(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        engine = self.server.engine
        namespace, name, action = parameters["namespace"], parameters["name"], parameters["action"]
        if action in ACTION_REQUESTS:
            body = self._checked(ACTION_REQUESTS[action], body)
        if action == "stop":
            self._send_json(engine.shutdown(namespace, name, "Stop", body.get("nodeFieldSelector") or "",
                                            body.get("message") or ""))
        elif action == "terminate":
            self._send_json(engine.shutdown(namespace, name, "Terminate"))
        elif action == "retry":
            self._send_json(engine.retry(namespace, name, body))
        elif action == "resubmit":
            self._send_json(engine.resubmit(namespace, name, body))
        elif action == "suspend":
            self._send_json(engine.suspend(namespace, name))
        elif action == "resume":
            self._send_json(engine.resume(namespace, name, body.get("nodeFieldSelector") or ""))
        else:
            self._send_json(engine.set_nodes(namespace, name, body))

    def workflow_logs(self, parameters: dict[str, str], query: Query, body: dict[str, Any]) -> None:
        grep_text = _first(query, "grep")
        try:
            grep = re.compile(grep_text) if grep_text else None
        except re.error as error:
            raise bad_request(f"grep: invalid regular expression: {error}") from None
        timestamps = parse_bool(_first(query, "logOptions.timestamps"), "logOptions.timestamps")
        since = _parse_int(_first(query, "logOptions.sinceSeconds"), "logOptions.sinceSeconds")
        lines = self.server.engine.logs(
            parameters["namespace"],
            parameters["name"],
            pod=parameters.get("pod") or _first(query, "podName") or None,
            container=_first(query, "logOptions.container"),
            follow=parse_bool(_first(query, "logOptions.follow"), "logOptions.follow"),
            grep=grep,
            tail_lines=_parse_int(_first(query, "logOptions.tailLines"), "logOptions.tailLines"),
            since_seconds=float(since) if since else None,
        )
        # Errors before the first line (404) must be ordinary JSON errors: start the generator
        # before sending the headers.
        first = next(lines, _END)
        self._stream(first, lines, timestamps)

    def _stream(self, first: Any, lines: Iterator[Any], timestamps: bool) -> None:
        server_sent_events = self.headers.get("Accept") == "text/event-stream"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if server_sent_events else "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        if server_sent_events:
            self.send_header("X-Content-Type-Options", "nosniff")
        self._success_headers()
        self.end_headers()
        last_write = time.monotonic()
        items = itertools.chain([] if first is _END else [first], lines)
        try:
            for item in items:
                if item is None:
                    if server_sent_events and time.monotonic() - last_write >= SSE_KEEPALIVE_SECONDS:
                        self._write_chunk(b":\n")
                        last_write = time.monotonic()
                    continue
                content = f"{item.timestamp} {item.content}" if timestamps else item.content
                message = go_json({"result": {"content": content, "podName": item.pod_name}})
                text = f"data: {message} \n\n\n" if server_sent_events else message + "\n"
                self._write_chunk(text.encode("utf-8"))
                last_write = time.monotonic()
            self._write_chunk(b"")
        finally:
            close = getattr(lines, "close", None)
            if close:
                close()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()


def make_server(engine: Engine, token: str, port: int = 0, *,
                idle_timeout: float = IDLE_TIMEOUT_SECONDS) -> EngineServer:
    """An ``EngineServer`` on 127.0.0.1 (port 0 picks a free port)."""
    return EngineServer(engine, token, port, idle_timeout=idle_timeout)
