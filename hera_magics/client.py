"""Access to an Argo Server (or the embedded local engine) over its REST API.

Why our own HTTP code instead of Hera's ``WorkflowsService`` (see ``shared/notes/hera.md`` §2):
Hera sets no request timeout, drops a base href without a trailing slash, raises
``KeyError('message')`` for an error body without ``message``, lets ``requests`` exceptions and
``JSONDecodeError`` (an HTML login page) escape, parses answers into models that break on some
servers, and cannot read the log stream at all. So we keep Hera for what it does well — turning
a Hera ``Workflow`` into the JSON body of a create request — and send every request ourselves:

* every call has a timeout; idempotent calls (GET, DELETE, PUT stop/terminate) are retried with
  exponential backoff on 5xx answers, timeouts and dropped connections;
* every failure becomes one of our ``errors.ArgoServerError`` subclasses with a short message that
  says what to do;
* answers are returned as the raw JSON the server sent (``dict``), never as Hera models;
* the token lives only in the ``Authorization`` header of each request. It is never stored in the
  session, a message, a ``repr`` or a log line, and it is scrubbed from any text a server echoes.

Creating a workflow is not idempotent, so it is never blindly retried; see
``ArgoClient.create_workflow`` for what happens instead.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import urllib3.exceptions

from .config import ArgoConfig
from .errors import (
    ArgoServerError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)

logger = logging.getLogger(__name__)

SUBMISSION_LABEL = "hera-magics/submission"
"""Label put on every workflow we create, with a fresh random value per create call.

It lets us find out whether a create whose answer was lost (a 5xx, a timeout, a dropped
connection) actually created the workflow, without ever submitting it twice."""

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth another try: rate limiting and server or gateway failures (not 501)."""

_AMBIGUOUS_STATUSES = frozenset({500, 502, 503, 504})
"""Failures after which the server may still have done what was asked (a gateway timing out
while the Argo Server goes on, a crash after the write)."""

MAX_BACKOFF_SECONDS = 10.0

USER_AGENT = "hera-magics"

TOKEN_HELP = (
    "Get a new one: Argo UI → User → copy the token, put it in .env as ARGO_TOKEN, "
    "re-run %argo_env"
)
ROLE_HELP = "ask an admin for the argo-developer role (Nebari: Keycloak group)"
TLS_HELP = (
    "if the server uses a self-signed or company certificate, set ARGO_INSECURE_SKIP_VERIFY=true "
    "in .env (or run %argo_env --insecure) and re-run %argo_env"
)
HTML_MESSAGE = (
    "the server answered with an HTML page instead of JSON — the base href is probably wrong or "
    "an auth proxy (login page) is in the way"
)

# Answers are quoted in messages only up to this many characters.
QUOTE_LIMIT = 300

# Phrases in a 5xx message that mean "retrying cannot help" (Argo answers 500 for these).
_FINAL_SERVER_MESSAGES = ("cannot shutdown a completed workflow",)


# --------------------------------------------------------------------------------------------
# pure helpers (tested as tables in tests/test_client.py)


def api_url(host: str, path: str) -> str:
    """Join the configured host (which always ends in ``/``) and a relative API path.

    Plain concatenation rather than ``urljoin``: a base href such as ``/argo/`` must be kept, and
    nothing in ``path`` (a ``:`` or ``..`` in a name) may be read as a scheme or a step upward.
    """
    if not host.endswith("/"):
        host += "/"
    return host + path.lstrip("/")


def path_segment(value: str) -> str:
    """``value`` quoted as one URL path segment (a ``/`` in a name cannot add a segment)."""
    return quote(value, safe="@")


def url_without_query(url: str) -> str:
    """``url`` without its query string and fragment, for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def backoff_delay(attempt: int, backoff: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): ``backoff * 2**(attempt-1)``."""
    if attempt < 1 or backoff <= 0:
        return 0.0
    return min(cap, backoff * 2 ** (attempt - 1))


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """One line of at most ``limit`` characters (``…`` marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(text: str, secret: str | None) -> str:
    """``text`` with each ``secret`` replaced by ``…`` (a server may echo the token back)."""
    if secret and len(secret) >= 4 and secret in text:
        return text.replace(secret, "…")
    return text


def looks_like_html(text: str, content_type: str | None) -> bool:
    """True for an HTML page (a login page, the Argo UI's index.html, a proxy's error page)."""
    if content_type and "html" in content_type.lower():
        return True
    head = text.lstrip()[:100].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<!--"))


def server_message_of(text: str) -> str:
    """The human part of an error body.

    Argo sends ``{"code": N, "message": "..."}``; old servers add ``error``; a proxy may send
    anything. Missing ``message`` is not an error here (Hera raises ``KeyError('message')``).
    """
    stripped = text.strip()
    if not stripped:
        return "(empty answer)"
    try:
        body = json.loads(stripped)
    except ValueError:
        return shorten(stripped)
    if isinstance(body, dict):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return shorten(value)
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return shorten(value["message"])
    return shorten(stripped)


def parse_log_line(line: str) -> list[dict[str, str]]:
    """Log entries ``{"content", "podName"}`` in one line of a log stream.

    Understands both formats the Argo Server sends (notes/argo-api.md §2.9):

    * newline-delimited JSON: ``{"result":{"content":"...","podName":"..."}}``;
    * server-sent events: ``data: {"result":{...}} `` plus blank lines and ``:`` keepalives.

    A line holding several JSON objects separated by spaces is read as several entries. Go omits
    empty strings, so an empty log line arrives without ``content``; it becomes ``""``. An
    ``{"error": {...}}`` object (a failure after the stream started) raises ``StreamError``.
    Anything else that is not JSON raises ``ValueError``.
    """
    text = line.strip()
    if not text or text.startswith(":"):
        return []
    if text.startswith("data:"):
        text = text[len("data:"):].strip()
        if not text:
            return []
    elif text.startswith(("event:", "id:", "retry:")):
        return []
    decoder = json.JSONDecoder()
    entries: list[dict[str, str]] = []
    position = 0
    while position < len(text):
        obj, end = decoder.raw_decode(text, position)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
        if not isinstance(obj, dict):
            raise ValueError(f"a log stream line is not a JSON object: {shorten(line, 80)!r}")
        if "error" in obj and "result" not in obj:
            error = obj["error"]
            if not isinstance(error, dict):
                error = {"message": str(error)}
            raise StreamError(
                str(error.get("message") or "the log stream failed"),
                http_status=error.get("http_code"),
            )
        result = obj.get("result", obj)
        if not isinstance(result, dict):
            raise ValueError(f"a log stream line has no result object: {shorten(line, 80)!r}")
        entries.append(
            {
                "content": str(result.get("content") or ""),
                "podName": str(result.get("podName") or ""),
            }
        )
    return entries


class StreamError(Exception):
    """An error the server reported inside a stream that had already started (internal)."""

    def __init__(self, message: str, *, http_status: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status if isinstance(http_status, int) else None


# --------------------------------------------------------------------------------------------
# the client


@dataclass(frozen=True)
class _Call:
    """What a request is for: enough to retry it safely and to explain its failure."""

    method: str
    path: str
    action: str  # completes "your role cannot ...", e.g. "stop workflow nb-x7k2p"
    namespace: str | None = None
    workflow: str | None = None  # the workflow the path names, for a 404 message
    idempotent: bool = True


class ArgoClient:
    """A small, safe client for the Argo Server REST API (and the embedded local engine).

    ``timeout`` is the number of seconds to wait for a connection and for each read.
    ``retries`` is how many more times an idempotent call is tried after a server failure, a
    timeout or a dropped connection; waits between tries are ``backoff``, ``2*backoff``, ...
    seconds (at most 10). Every method raises an ``errors.ArgoServerError`` subclass on failure.
    """

    def __init__(
        self,
        config: ArgoConfig,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._session = requests.Session()
        self._session.verify = config.verify_ssl
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # A loopback server (the local engine, tests) must never be sent through an HTTP proxy
        # from the environment.
        if (urlsplit(config.host).hostname or "") in ("127.0.0.1", "localhost", "::1"):
            self._session.trust_env = False

    def __repr__(self) -> str:
        return f"ArgoClient(host={self.config.host!r}, namespace={self.config.namespace!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "ArgoClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------

    def create_workflow(self, workflow: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create a workflow; return the created workflow as the server sent it (a ``dict``).

        ``workflow`` is the workflow's JSON as a ``dict`` (``compile.workflow_body`` makes it from a
        Hera ``Workflow``); it is copied, never changed. The namespace is, in order:
        ``namespace``, the workflow's own ``metadata.namespace``, the config's namespace.

        Creating is not idempotent, so a failure is never blindly retried — a retry after a lost
        answer could run the workflow twice. Instead the workflow carries a fresh
        ``hera-magics/submission`` label, and:

        * if the request never reached the server (connection refused, connect timeout) it is
          retried like any other call: nothing can have been created;
        * if it may have reached the server (a 5xx, a read timeout, a dropped connection) we look
          the label up. Found: the create did happen, and that workflow is returned (no run is
          lost). Not found: the error is raised, saying that nothing was created, so the user
          can submit again knowing there is no duplicate.
        """
        body = copy.deepcopy(dict(workflow))
        metadata = body.setdefault("metadata", {})
        target = self._namespace(namespace or metadata.get("namespace"))
        metadata["namespace"] = target
        submission = uuid.uuid4().hex
        metadata.setdefault("labels", {})[SUBMISSION_LABEL] = submission
        call = _Call(
            "POST",
            f"api/v1/workflows/{path_segment(target)}",
            action="create workflows",
            namespace=target,
            idempotent=False,
        )
        try:
            created = self._json(call, body={"workflow": body})
        except (ServerError, ConnectionFailedError) as error:
            if not getattr(error, "may_have_acted", True):
                raise
            found = self._find_submission(submission, target, error)
            if found is None:
                raise
            logger.info("create answer was lost, but the workflow exists: %s", _name_of(found))
            return found
        return self._expect_dict(call, created)

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """The workflow ``name`` as raw JSON; ``fields`` (e.g. ``"status.phase"``) trims it."""
        target = self._namespace(namespace)
        call = _Call(
            "GET",
            f"api/v1/workflows/{path_segment(target)}/{path_segment(name)}",
            action=f"read workflow {name}",
            namespace=target,
            workflow=name,
        )
        params = {"fields": fields} if fields else None
        return self._expect_dict(call, self._json(call, params=params))

    def list_workflows(
        self,
        *,
        label_selector: str | None = None,
        fields: str | None = None,
        field_selector: str | None = None,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Workflows of a namespace (Argo sends ``items: null`` for none; this gives ``[]``).

        ``fields`` uses Argo's list form, e.g. ``"items.metadata.name,items.status.phase"``.
        """
        target = self._namespace(namespace)
        call = _Call(
            "GET",
            f"api/v1/workflows/{path_segment(target)}",
            action="list workflows",
            namespace=target,
        )
        params: dict[str, str] = {}
        if label_selector:
            params["listOptions.labelSelector"] = label_selector
        if field_selector:
            params["listOptions.fieldSelector"] = field_selector
        if fields:
            params["fields"] = fields
        answer = self._expect_dict(call, self._json(call, params=params or None))
        items = answer.get("items") or []
        if not isinstance(items, list):
            raise self._unexpected(call, "its items are not a list")
        return items

    def delete_workflow(self, name: str, namespace: str | None = None) -> None:
        """Delete the workflow ``name`` (its pods go with it)."""
        target = self._namespace(namespace)
        call = _Call(
            "DELETE",
            f"api/v1/workflows/{path_segment(target)}/{path_segment(name)}",
            action=f"delete workflow {name}",
            namespace=target,
            workflow=name,
        )
        self._json(call)

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Stop ``name``: running pods are stopped, exit handlers still run."""
        return self._action(name, "stop", namespace, idempotent=True)

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Terminate ``name``: everything stops at once, exit handlers do not run."""
        return self._action(name, "terminate", namespace, idempotent=True)

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Re-run the failed tasks of a Failed/Error workflow (the same workflow, in place).

        Not retried on failure: a second retry request could restart tasks a second time.
        """
        return self._action(name, "retry", namespace, idempotent=False)

    def workflow_logs(
        self,
        name: str,
        *,
        pod_name: str | None = None,
        follow: bool = False,
        grep: str | None = None,
        namespace: str | None = None,
        container: str = "main",
        tail_lines: int | None = None,
    ) -> Iterator[dict[str, str]]:
        """Log lines of a workflow (or of one pod) as ``{"content", "podName"}`` dicts.

        The request is sent at once, so a 404 or 403 raises here, not on the first line.
        ``logOptions.container=main`` is always set: without it Argo sends nothing for pods with
        a ``wait`` sidecar. ``pod_name`` is a pod name (``status.task_rows`` gives it), not a
        node id. With ``follow`` the stream stays open until the workflow ends, so there is no
        read timeout (Ctrl-C stops following); it asks for server-sent events, whose keepalives
        keep proxies from closing a quiet stream. ``tail_lines`` asks only for the last lines of
        each pod's log (``logOptions.tailLines``).
        """
        target = self._namespace(namespace)
        call = _Call(
            "GET",
            f"api/v1/workflows/{path_segment(target)}/{path_segment(name)}/log",
            action=f"read the logs of workflow {name}",
            namespace=target,
            workflow=name,
        )
        params: dict[str, str] = {"logOptions.container": container}
        if pod_name:
            params["podName"] = pod_name
        if follow:
            params["logOptions.follow"] = "true"
        if grep:
            params["grep"] = grep
        if tail_lines is not None:
            params["logOptions.tailLines"] = str(max(0, int(tail_lines)))
        response, url = self._send(
            call,
            params=params,
            stream=True,
            accept="text/event-stream" if follow else "application/json",
            unlimited_read=follow,
        )
        return self._log_entries(call, response, url)

    def userinfo(self) -> dict[str, Any]:
        """Who the token belongs to (``/api/v1/userinfo``; ``{}`` if the server knows no claims)."""
        call = _Call("GET", "api/v1/userinfo", action="read user info")
        return self._expect_dict(call, self._json(call))

    def version(self) -> dict[str, Any]:
        """The server's version (``/api/v1/version``), e.g. ``{"version": "v3.7.2", ...}``."""
        call = _Call("GET", "api/v1/version", action="read the server version")
        return self._expect_dict(call, self._json(call))

    # -- request plumbing ---------------------------------------------------------------------

    def _namespace(self, namespace: str | None) -> str:
        resolved = namespace or self.config.namespace
        if not resolved:
            raise ConfigError(
                "no Argo namespace is set",
                hint="put ARGO_NAMESPACE=... in .env and re-run %argo_env, or pass a namespace",
            )
        return resolved

    def _token(self) -> str | None:
        return self.config.token.reveal() if self.config.token else None

    def _clean(self, text: str) -> str:
        return scrub(text, self._token())

    def _action(
        self, name: str, action: str, namespace: str | None, *, idempotent: bool
    ) -> dict[str, Any]:
        target = self._namespace(namespace)
        call = _Call(
            "PUT",
            f"api/v1/workflows/{path_segment(target)}/{path_segment(name)}/{action}",
            action=f"{action} workflow {name}",
            namespace=target,
            workflow=name,
            idempotent=idempotent,
        )
        return self._expect_dict(call, self._json(call, body={}))

    def _send(
        self,
        call: _Call,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        stream: bool = False,
        accept: str = "application/json",
        unlimited_read: bool = False,
    ) -> tuple[requests.Response, str]:
        """Send ``call``, retrying what may be retried; return a successful response and its URL.

        For a non-streamed call the whole body has been read when this returns (a connection
        that drops mid-body is a failure to retry, not a surprise for the caller).
        ``unlimited_read`` keeps the connect timeout but lets reads wait for ever (a followed
        log stream is quiet for as long as the task prints nothing).
        """
        url = api_url(self.config.host, call.path)
        shown_url = url_without_query(url)
        headers = {"Accept": accept}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = (self.timeout, None if unlimited_read else self.timeout)
        attempts = 1 + self.retries
        attempt = 0
        while True:
            attempt += 1
            try:
                logger.debug("%s %s (attempt %d)", call.method, shown_url, attempt)
                response = self._session.request(
                    call.method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=timeout,
                    stream=stream,
                    allow_redirects=True,
                )
                if not stream or response.status_code >= 400:
                    response.content  # read it all now: a drop mid-body fails here, inside the try
            except requests.RequestException as exc:
                never_sent = _never_sent(exc)
                retriable = _transient(exc) and (never_sent or call.idempotent)
                if retriable and attempt < attempts:
                    self._pause(attempt, f"{type(exc).__name__} from {shown_url}")
                    continue
                error = self._connection_error(exc, shown_url, attempts=attempt)
                error.may_have_acted = not never_sent  # type: ignore[attr-defined]
                raise error from None
            logger.debug("%s %s -> HTTP %d", call.method, shown_url, response.status_code)
            if response.status_code < 400:
                return response, shown_url
            error = self._status_error(call, response, shown_url)
            if (
                isinstance(error, ServerError)
                and call.idempotent
                and response.status_code in RETRIABLE_STATUSES
                and attempt < attempts
            ):
                response.close()
                self._pause(attempt, f"HTTP {response.status_code} from {shown_url}")
                continue
            if isinstance(error, ServerError) and attempt > 1:
                error.message += f" (tried {attempt} times)"
            # 501 (no such route) and 429 (rate limited) are refusals: nothing was done.
            acted = response.status_code in _AMBIGUOUS_STATUSES
            error.may_have_acted = acted  # type: ignore[attr-defined]
            response.close()
            raise error

    def _pause(self, attempt: int, reason: str) -> None:
        delay = backoff_delay(attempt, self.backoff)
        logger.debug("retrying in %.2fs after %s", delay, reason)
        if delay:
            time.sleep(delay)

    def _json(
        self, call: _Call, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> Any:
        """Send ``call`` and decode its JSON answer (HTML or other non-JSON is an error)."""
        response, url = self._send(call, params=params, body=body)
        text = response.text
        content_type = response.headers.get("Content-Type")
        if looks_like_html(text, content_type):
            raise self._html_error(response, url)
        if not text.strip():
            if call.method == "GET":
                raise self._unexpected(call, f"the answer is empty (HTTP {response.status_code})")
            return {}  # a DELETE or an action may answer with an empty body
        try:
            return json.loads(text)
        except ValueError:
            raise UnexpectedResponseError(
                f"the server answered {call.action!r} with something that is not JSON "
                f"(HTTP {response.status_code}, {content_type or 'no content type'}): "
                f"{self._clean(shorten(text, 80))!r}; URL tried: {url}",
                hint="check that the host points at the Argo Server (%argo_env shows it)",
                status=response.status_code,
            ) from None

    def _expect_dict(self, call: _Call, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise self._unexpected(call, f"it is a JSON {type(answer).__name__}, not an object")
        return answer

    def _unexpected(self, call: _Call, what: str) -> UnexpectedResponseError:
        url = url_without_query(api_url(self.config.host, call.path))
        return UnexpectedResponseError(
            f"the server's answer to {call.action!r} is not what the Argo API sends: {what}; "
            f"URL tried: {url}",
            hint="check that the host points at the Argo Server (%argo_env shows it)",
        )

    def _html_error(self, response: requests.Response, url: str) -> UnexpectedResponseError:
        landed = url_without_query(response.url or url)
        where = f"; URL tried: {url}"
        if landed != url:
            where += f" (redirected to {landed})"
        return UnexpectedResponseError(
            HTML_MESSAGE + where,
            hint="the host must be the Argo Server's URL including its base href, e.g. "
            "https://your-domain/argo/ — %argo_env shows the one in use",
            status=response.status_code,
        )

    def _status_error(
        self, call: _Call, response: requests.Response, url: str
    ) -> ArgoServerError:
        """The error for an HTTP status of 400 or more."""
        status = response.status_code
        text = response.text
        content_type = response.headers.get("Content-Type")
        if looks_like_html(text, content_type) and status < 500:
            # An HTML 4xx page comes from a proxy or the wrong path, not from the Argo API.
            return self._html_error(response, url)
        message = self._clean(server_message_of(text))
        namespace = f" in namespace {call.namespace}" if call.namespace else ""
        common = {"status": status, "server_message": message}
        if status == 400:
            return BadRequestError(
                f"the Argo server rejected the request to {call.action}: {message}", **common
            )
        if status == 401:
            if not self.config.token:
                return AuthenticationError(
                    "the Argo server needs a token and none is set. " + TOKEN_HELP, **common
                )
            return AuthenticationError(
                "the Argo token was refused (wrong or expired). " + TOKEN_HELP,
                hint=f"the server said: {message}",
                **common,
            )
        if status == 403:
            return PermissionDeniedError(
                f"your role cannot {call.action}{namespace}: {message}; {ROLE_HELP}", **common
            )
        if status == 404:
            if call.workflow:
                return NotFoundError(
                    f"workflow {call.workflow} was not found{namespace}",
                    hint="it may have been deleted (a TTL removes finished workflows), or it "
                    "lives in another namespace",
                    **common,
                )
            return NotFoundError(
                f"{url} was not found: {message}",
                hint="check the host and its base href (%argo_env shows them)",
                **common,
            )
        if status == 409:
            hint = None
            if call.method == "POST":
                hint = "a workflow of that name exists; use a generateName prefix, or delete it"
            return ConflictError(f"could not {call.action}: {message}", hint=hint, **common)
        if status >= 500 and any(phrase in message for phrase in _FINAL_SERVER_MESSAGES):
            # Argo answers 500 to stop/terminate a finished workflow; that is a state conflict,
            # and retrying cannot change it.
            return ConflictError(
                f"could not {call.action}: it has already finished ({message})", **common
            )
        if status >= 500 or status == 429:
            if looks_like_html(text, content_type):
                message = f"an HTML error page (HTTP {status}) from a proxy or gateway"
            return ServerError(
                f"the Argo server failed (HTTP {status}) to {call.action}: {message}",
                hint="this is usually temporary; try again in a moment",
                **common,
            )
        return ArgoServerError(
            f"the Argo server answered HTTP {status} to {call.action}: {message}", **common
        )

    def _connection_error(
        self, exc: requests.RequestException, url: str, *, attempts: int
    ) -> ConnectionFailedError:
        """A ``ConnectionFailedError`` describing ``exc`` without quoting anything secret."""
        tried = f" (tried {attempts} times)" if attempts > 1 else ""
        if isinstance(exc, requests.exceptions.SSLError):
            reason = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
                return ConnectionFailedError(
                    f"the TLS certificate of {url} could not be verified{tried}", hint=TLS_HELP
                )
            if "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
                return ConnectionFailedError(
                    f"the TLS handshake with {url} failed: the server does not speak https there",
                    hint="if the server uses plain http, write http:// in the host "
                    "(or set ARGO_SECURE=false) and re-run %argo_env",
                )
            return ConnectionFailedError(
                f"the TLS handshake with {url} failed{tried}", hint=TLS_HELP
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            what = f"no connection within {self.timeout:g}s"
        elif isinstance(exc, requests.exceptions.ReadTimeout):
            what = f"no answer within {self.timeout:g}s"
        elif _has_reason(exc, urllib3.exceptions.NameResolutionError):
            what = "the host name could not be resolved"
        elif _has_reason(exc, urllib3.exceptions.NewConnectionError):
            what = "the connection was refused"
        elif isinstance(exc, requests.exceptions.TooManyRedirects):
            what = "too many redirects (a login proxy sending the request round in circles?)"
        elif isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            what = "the connection was dropped before the answer was complete"
        else:
            what = type(exc).__name__
        return ConnectionFailedError(
            f"could not reach the Argo server: {what}{tried}; URL tried: {url}",
            hint="check that the server is up and the host is right (%argo_env shows it); "
            "for the local engine run %argo_env --local again",
        )

    def _find_submission(
        self, submission: str, namespace: str, original: ArgoServerError
    ) -> dict[str, Any] | None:
        """The workflow with our submission label, or ``None`` (then ``original`` says why)."""
        try:
            found = self.list_workflows(
                label_selector=f"{SUBMISSION_LABEL}={submission}", namespace=namespace
            )
        except ArgoServerError as lookup_error:
            original.message += (
                "; whether the workflow was created is unknown (looking it up failed: "
                f"{shorten(lookup_error.message, 120)})"
            )
            original.hint = (
                f"look for label {SUBMISSION_LABEL}={submission} in the Argo UI before "
                "submitting again"
            )
            return None
        if found:
            return found[0]
        if isinstance(original, ConnectionFailedError):
            original.message += (
                "; no workflow from this submission is on the server yet — check the Argo UI "
                "before submitting again"
            )
        else:
            original.message += "; nothing was created, so it is safe to submit again"
        return None

    def _log_entries(
        self, call: _Call, response: requests.Response, url: str
    ) -> Iterator[dict[str, str]]:
        """Parse a streamed log answer line by line, as the lines arrive."""
        content_type = response.headers.get("Content-Type")
        if content_type and "html" in content_type.lower():
            response.close()
            raise self._html_error(response, url)
        return self._iterate_log_lines(call, response, url)

    def _iterate_log_lines(
        self, call: _Call, response: requests.Response, url: str
    ) -> Iterator[dict[str, str]]:
        first = True
        try:
            for raw_line in _stream_lines(response):
                line = raw_line.decode("utf-8", errors="replace")
                if first and line.strip():
                    first = False
                    if looks_like_html(line, None):
                        raise self._html_error(response, url)
                try:
                    entries = parse_log_line(line)
                except StreamError as stream_error:
                    raise self._stream_error(call, stream_error, url) from None
                except ValueError:
                    raise UnexpectedResponseError(
                        f"the log stream from {url} holds a line that is not JSON: "
                        f"{self._clean(shorten(line, 80))!r}",
                        hint="check that the host points at the Argo Server",
                    ) from None
                yield from entries
        except requests.RequestException as exc:
            error = self._connection_error(exc, url, attempts=1)
            error.message = error.message.replace(
                "could not reach the Argo server", "the log stream broke off"
            )
            raise error from None
        finally:
            response.close()

    def _stream_error(self, call: _Call, error: StreamError, url: str) -> ArgoServerError:
        message = self._clean(shorten(error.message))
        status = error.http_status
        if status == 401:
            return AuthenticationError(
                "the Argo token was refused (wrong or expired). " + TOKEN_HELP, status=status
            )
        if status == 403:
            return PermissionDeniedError(
                f"your role cannot {call.action} in namespace {call.namespace}: {message}; "
                + ROLE_HELP,
                status=status,
                server_message=message,
            )
        if status == 404:
            return NotFoundError(f"the log stream from {url} ended: {message}", status=status)
        return ServerError(
            f"the log stream from {url} failed: {message}", status=status, server_message=message
        )


# --------------------------------------------------------------------------------------------
# small internal helpers


def _name_of(workflow: Mapping[str, Any]) -> str:
    return str((workflow.get("metadata") or {}).get("name") or "?")


def _has_reason(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is somewhere in the chain of causes ``requests`` wraps."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        if isinstance(current, BaseException):
            stack.extend(current.args)
            stack.append(getattr(current, "reason", None))
            stack.append(current.__cause__)
            stack.append(current.__context__)
    return False


def _transient(exc: requests.RequestException) -> bool:
    """True for failures that may pass if we try again (not TLS, redirect loops, bad URLs)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (so even a create may be retried)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return _has_reason(exc, urllib3.exceptions.NewConnectionError)


def _stream_lines(response: requests.Response) -> Iterator[bytes]:
    """The lines of a streamed body, each as soon as it has arrived.

    ``Response.iter_lines()`` waits for 512 bytes before yielding anything, which would hold a
    followed log back; ``read1`` returns whatever has arrived (urllib3 2). Older urllib3 falls
    back to reading byte by byte.
    """
    read = getattr(response.raw, "read1", None)
    byte_by_byte = response.iter_content(chunk_size=1) if read is None else None
    pending = b""
    while True:
        if read is not None:
            try:
                data = read(65536, decode_content=True)
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError) as exc:
                raise _as_requests_error(exc) from None
        else:
            data = next(byte_by_byte, b"")  # type: ignore[arg-type]
        if not data:
            break
        pending += data
        while True:
            cut = pending.find(b"\n")
            if cut < 0:
                break
            line, pending = pending[:cut], pending[cut + 1:]
            yield line.rstrip(b"\r")
    if pending.strip():
        yield pending


def _as_requests_error(exc: Exception) -> requests.RequestException:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(exc))
    return requests.exceptions.ChunkedEncodingError(str(exc))
