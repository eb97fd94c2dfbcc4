"""Access to an Argo Server (or the embedded local engine) over its REST API: HTTP only.

Why our own HTTP code instead of Hera's ``WorkflowsService`` (Hera's
``src/hera/workflows/service.py``): it sets no request timeout, drops a base href without a
trailing slash, raises ``KeyError('message')`` for an error body without ``message``, lets
``requests`` exceptions and ``JSONDecodeError`` (an HTML login page) escape, parses answers into
models that break on some servers, and cannot read the log stream at all. So every request is
sent here, with plain dicts in and out:

* a workflow to create is a ``dict`` (its JSON); answers are the raw JSON the server sent
  (``dict``), never Hera models;
* every call has a timeout; idempotent calls (GET, DELETE, PUT stop/terminate) are retried with
  exponential backoff (:func:`retry_delay`) on 5xx answers, timeouts and dropped connections;
* every failure becomes one of our ``errors.ArgoServerError`` subclasses with a short message that
  says what to do (made by :mod:`hera_magics.responses`, which also reads the log stream);
* the token lives only in the ``Authorization`` header, added by an auth object as each request
  is prepared: never in the session, a message, a ``repr``, a log line or a variable of ours, and
  redacted from any text a server echoes. An unexpected exception (a bug, Ctrl-C) out of
  ``requests`` loses the frames below us, whose variables hold the header (``%xmode Verbose``);
* every argument is checked before anything is sent (:mod:`hera_magics.arguments`); a namespace
  or workflow name must be a Kubernetes name.

Creating a workflow is not idempotent, so it is never blindly retried (see ``create_workflow``),
and it has one deadline in all (``create_timeout``, 30 s) for the request and the lookup that
resolves a lost answer: a server that never answers cannot hold the kernel for minutes.

``relocate`` (optional) says where the server is now when it cannot be reached or refuses the
token: the session gives one for the local engine, which restarts on another port with another
token, so old ``WorkflowRun`` handles and status views follow it.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import quote, urlsplit

import requests
import requests.auth
import urllib3.exceptions

from .arguments import Arguments, describe
from .config import ArgoConfig
from .errors import (
    ArgoServerError,
    ArgumentTypeError,
    ConfigError,
    ConnectionFailedError,
    ServerError,
    UnexpectedResponseError,
)
from .responses import (
    ApiCall,
    connection_error,
    has_reason,
    html_error,
    looks_like_html,
    read_log_stream,
    redact_secret,
    shorten,
    status_error,
    unexpected_answer,
    url_without_query,
    without_frames,
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

CREATE_TIMEOUT_SECONDS = 30.0
"""A create gets at most this long in all: connecting, waiting for the answer and, when the answer
was lost, looking the submission up."""

LOOKUP_SHARE = 0.25
"""The part of ``create_timeout`` kept for the lookup after a create whose answer was lost."""

USER_AGENT = "hera-magics"


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


def retry_delay(attempt: int, backoff: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds to wait before HTTP retry number ``attempt`` (1, 2, ...): ``backoff * 2**(attempt-1)``,
    at most ``cap``."""
    if attempt < 1 or backoff <= 0:
        return 0.0
    return min(cap, backoff * 2 ** (attempt - 1))


def new_submission() -> str:
    """A fresh value for the ``hera-magics/submission`` label of one create call."""
    return uuid.uuid4().hex


class _BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer …`` as each request is prepared, from the client's current
    config, so the header value exists only inside ``requests`` (never in our variables)."""

    def __init__(self, client: "ArgoClient") -> None:
        self._client = client

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._client.config.token is not None:
            request.headers["Authorization"] = "Bearer " + self._client.config.token.reveal()
        return request

    def __repr__(self) -> str:
        return "BearerAuth(…)"


# --------------------------------------------------------------------------------------------
# the client


class ArgoClient:
    """A small, safe client for the Argo Server REST API (and the embedded local engine).

    ``timeout`` is the number of seconds to wait for a connection and for each read.
    ``retries`` is how many more times an idempotent call is tried after a server failure, a
    timeout or a dropped connection; waits between tries are ``backoff``, ``2*backoff``, ...
    seconds (at most 10). ``create_timeout`` bounds a create in all (see ``create_workflow``).
    ``relocate(config)`` (optional) gives the config of where the server is now, or ``None``;
    it is asked when the server cannot be reached or refuses the token (a restarted local engine).
    Every method raises an ``errors.ArgoServerError`` subclass on failure.
    """

    def __init__(
        self,
        config: ArgoConfig,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        create_timeout: float = CREATE_TIMEOUT_SECONDS,
        relocate: Callable[[ArgoConfig], ArgoConfig | None] | None = None,
    ) -> None:
        check = Arguments("ArgoClient")
        check.instance("config", config, ArgoConfig, what="an ArgoConfig")
        check.number("timeout", timeout, above=True, what="a number of seconds")
        check.whole_number("retries", retries)
        check.number("backoff", backoff, what="a number of seconds")
        check.number("create_timeout", create_timeout, above=True, what="a number of seconds")
        if relocate is not None and not callable(relocate):
            raise check.wrong_type("relocate", relocate, "a function or None")
        self.config = config
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.create_timeout = create_timeout
        self._relocate = relocate
        self._relocate_lock = threading.Lock()
        self._auth = _BearerAuth(self)
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

    def create_workflow(
        self, workflow: Mapping[str, Any], namespace: str | None = None, *, submission: str | None = None
    ) -> dict[str, Any]:
        """Create a workflow; return the created workflow as the server sent it (a ``dict``).

        ``workflow`` is the workflow's JSON as a ``dict`` (or a create request
        ``{"workflow": {...}}``); it is copied, never changed. The namespace is, in order:
        ``namespace``, the workflow's own ``metadata.namespace``, the config's namespace.

        Creating is not idempotent, so a failure is never blindly retried — a retry after a lost
        answer could run the workflow twice. Instead the workflow carries a
        ``hera-magics/submission`` label (``submission``, or a fresh value), and:

        * if the request never reached the server (connection refused, connect timeout) it is
          retried like any other call: nothing can have been created;
        * if it may have reached the server (a 5xx, a read timeout, a dropped connection) we look
          the label up. Found: the create did happen, and that workflow is returned (no run is
          lost). Not found: the error is raised, saying that nothing was created, so the user
          can submit again knowing there is no duplicate. The lookup failing too: the error says
          that whether it exists is unknown, and ``may_have_created`` is true on it.

        All of it takes at most ``create_timeout`` seconds (30): three quarters for the create,
        the rest (at least) for the lookup.
        """
        check = Arguments("ArgoClient.create_workflow")
        if not isinstance(workflow, Mapping):
            raise ArgumentTypeError(
                f"ArgoClient.create_workflow takes the workflow as a dict, not {describe(workflow)}",
                argument="workflow",
            )
        check.namespace("namespace", namespace, optional=True)
        submission = check.text("submission", submission, optional=True) or new_submission()
        body = copy.deepcopy(dict(workflow))  # we add a label: the caller's dict stays as it was
        if "workflow" in body and "spec" not in body and isinstance(body["workflow"], Mapping):
            body = dict(body["workflow"])
        metadata = body.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise check.wrong_value("workflow", f"has metadata that is {describe(metadata)}, not an object")
        target = self.target_namespace(body, namespace)
        check.workflow_name("workflow's metadata.name", metadata.get("name"), optional=True)
        metadata["namespace"] = target
        labels = metadata.setdefault("labels", {})
        if not isinstance(labels, dict):
            raise check.wrong_value("workflow", f"has metadata.labels that are {describe(labels)}, not an object")
        labels[SUBMISSION_LABEL] = submission
        call = ApiCall(
            "POST",
            f"api/v1/workflows/{path_segment(target)}",
            action="create workflows",
            namespace=target,
            idempotent=False,
        )
        started = time.monotonic()
        lookup_deadline = started + self.create_timeout
        try:
            created = self._json(
                call, body={"workflow": body}, deadline=lookup_deadline - self.create_timeout * LOOKUP_SHARE
            )
        except (ServerError, ConnectionFailedError) as error:
            if not getattr(error, "may_have_acted", True):
                raise
            found = self._find_submission(submission, target, error, deadline=lookup_deadline)
            if found is None:
                raise
            logger.info("create answer was lost, but the workflow exists: %s", _name_of(found))
            return found
        return self._expect_dict(call, created)

    def target_namespace(self, workflow: Mapping[str, Any], namespace: str | None = None) -> str:
        """The namespace a create of ``workflow`` goes to: ``namespace``, else the workflow's own
        ``metadata.namespace``, else the config's (a ``ConfigError`` when none is set)."""
        check = Arguments("ArgoClient.target_namespace")
        check.mapping("workflow", workflow)
        check.namespace("namespace", namespace, optional=True)
        if "workflow" in workflow and "spec" not in workflow and isinstance(workflow["workflow"], Mapping):
            workflow = workflow["workflow"]
        metadata = workflow.get("metadata")
        own = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        if own is not None:
            check.namespace("workflow's metadata.namespace", own)
        return self._namespace(namespace or own)

    def find_submission(
        self, submission: str, namespace: str | None = None, *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        """The workflow a create labelled ``submission`` made, or ``None`` when there is none.

        ``timeout`` bounds the lookup in all (one try when it is short); a failure raises.
        """
        check = Arguments("ArgoClient.find_submission")
        check.text("submission", submission)
        check.namespace("namespace", namespace, optional=True)
        check.number("timeout", timeout, optional=True, above=True, what="a number of seconds")
        deadline = None if timeout is None else time.monotonic() + timeout
        found = self._list(
            self._namespace(namespace), {"listOptions.labelSelector": f"{SUBMISSION_LABEL}={submission}"}, deadline
        )
        return found[0] if found else None

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """The workflow ``name`` as raw JSON; ``fields`` (e.g. ``"status.phase"``) trims it."""
        check = Arguments("ArgoClient.get_workflow")
        check.workflow_name("name", name)
        check.text("fields", fields, optional=True)
        target = self._namespace(check.namespace("namespace", namespace, optional=True))
        call = ApiCall(
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
        check = Arguments("ArgoClient.list_workflows")
        check.text("label_selector", label_selector, optional=True)
        check.text("fields", fields, optional=True)
        check.text("field_selector", field_selector, optional=True)
        target = self._namespace(check.namespace("namespace", namespace, optional=True))
        params: dict[str, str] = {}
        if label_selector:
            params["listOptions.labelSelector"] = label_selector
        if field_selector:
            params["listOptions.fieldSelector"] = field_selector
        if fields:
            params["fields"] = fields
        return self._list(target, params, None)

    def _list(self, target: str, params: dict[str, str], deadline: float | None) -> list[dict[str, Any]]:
        call = ApiCall(
            "GET",
            f"api/v1/workflows/{path_segment(target)}",
            action="list workflows",
            namespace=target,
        )
        answer = self._expect_dict(call, self._json(call, params=params or None, deadline=deadline))
        items = answer.get("items") or []
        if not isinstance(items, list):
            raise unexpected_answer(call, "its items are not a list", url=self._shown_url(call))
        return items

    def delete_workflow(self, name: str, namespace: str | None = None) -> None:
        """Delete the workflow ``name`` (its pods go with it)."""
        check = Arguments("ArgoClient.delete_workflow")
        check.workflow_name("name", name)
        target = self._namespace(check.namespace("namespace", namespace, optional=True))
        call = ApiCall(
            "DELETE",
            f"api/v1/workflows/{path_segment(target)}/{path_segment(name)}",
            action=f"delete workflow {name}",
            namespace=target,
            workflow=name,
        )
        self._json(call)

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Stop ``name``: running pods are stopped, exit handlers still run."""
        self._check_action("stop_workflow", name, namespace)
        return self._action(name, "stop", namespace, idempotent=True)

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Terminate ``name``: everything stops at once, exit handlers do not run."""
        self._check_action("terminate_workflow", name, namespace)
        return self._action(name, "terminate", namespace, idempotent=True)

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Re-run the failed tasks of a Failed/Error workflow (the same workflow, in place).

        Not retried on failure: a second retry request could restart tasks a second time.
        """
        self._check_action("retry_workflow", name, namespace)
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
        check = Arguments("ArgoClient.workflow_logs")
        check.workflow_name("name", name)
        check.workflow_name("pod_name", pod_name, optional=True)
        check.flag("follow", follow)
        check.text("grep", grep, optional=True)
        check.text("container", container)
        check.whole_number("tail_lines", tail_lines, optional=True)
        target = self._namespace(check.namespace("namespace", namespace, optional=True))
        call = ApiCall(
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
            params["logOptions.tailLines"] = str(tail_lines)
        response, url = self._send(
            call,
            params=params,
            stream=True,
            accept="text/event-stream" if follow else "application/json",
            unlimited_read=follow,
        )
        return read_log_stream(call, response, url, clean=self._clean, timeout=self.timeout)

    def get_artifact(self, name: str, node_id: str, artifact: str, *,
                     namespace: str | None = None) -> tuple[str, bytes]:
        """An output artifact of a node, as saved (``/artifacts/...``, Argo's artifact server):
        (its file name, e.g. ``model.tgz``, and its bytes)."""
        check = Arguments("ArgoClient.get_artifact")
        check.workflow_name("name", name)
        check.text("node_id", node_id)
        check.text("artifact", artifact)
        target = self._namespace(check.namespace("namespace", namespace, optional=True))
        call = ApiCall("GET", "/".join(["artifacts", *map(path_segment, (target, name, node_id, artifact))]),
                       action=f"read artifact {artifact} of workflow {name}", namespace=target, workflow=name)
        response, _ = self._send(call, accept="*/*")
        disposition = response.headers.get("Content-Disposition") or ""
        file_name = disposition.partition('filename="')[2].rstrip('"') or artifact
        return file_name, response.content

    def userinfo(self) -> dict[str, Any]:
        """Who the token belongs to (``/api/v1/userinfo``; ``{}`` if the server knows no claims)."""
        call = ApiCall("GET", "api/v1/userinfo", action="read user info")
        return self._expect_dict(call, self._json(call))

    def version(self) -> dict[str, Any]:
        """The server's version (``/api/v1/version``), e.g. ``{"version": "v3.7.2", ...}``."""
        call = ApiCall("GET", "api/v1/version", action="read the server version")
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

    @staticmethod
    def _check_action(method: str, name: Any, namespace: Any) -> None:
        check = Arguments(f"ArgoClient.{method}")
        check.workflow_name("name", name)
        check.namespace("namespace", namespace, optional=True)

    def _moved(self) -> bool:
        """Ask ``relocate`` where the server is now; True when that is somewhere else (switched)."""
        if self._relocate is None:
            return False
        with self._relocate_lock:
            before = self.config
            try:
                moved = self._relocate(before)
            except Exception:  # finding it again is a bonus: never hide the original failure
                logger.exception("could not look for the server again")
                return False
            if moved is None or (moved.host, moved.token) == (before.host, before.token):
                return False
            logger.info("the server moved from %s to %s", before.host, moved.host)
            self.config = moved
            self._session.verify = moved.verify_ssl
            return True

    def _shown_url(self, call: ApiCall) -> str:
        """The URL of ``call`` as messages show it (without a query string)."""
        return url_without_query(api_url(self.config.host, call.path))

    def _clean(self, text: str) -> str:
        return redact_secret(text, self._token())

    def _action(
        self, name: str, action: str, namespace: str | None, *, idempotent: bool
    ) -> dict[str, Any]:
        target = self._namespace(namespace)
        call = ApiCall(
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
        call: ApiCall,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        stream: bool = False,
        accept: str = "application/json",
        unlimited_read: bool = False,
        deadline: float | None = None,
    ) -> tuple[requests.Response, str]:
        """Send ``call``, retrying what may be retried; return a successful response and its URL.

        For a non-streamed call the whole body has been read when this returns (a connection
        that drops mid-body is a failure to retry, not a surprise for the caller).
        ``unlimited_read`` keeps the connect timeout but lets reads wait for ever (a followed
        log stream is quiet for as long as the task prints nothing). ``deadline`` (a
        ``time.monotonic()`` value) bounds every try and ends the retries.
        """
        headers = {"Accept": accept}
        attempts = 1 + self.retries
        attempt = 0
        relocated = False  # the server is looked for again at most once per call
        while True:
            attempt += 1
            url = api_url(self.config.host, call.path)
            shown_url = self._shown_url(call)
            per_try = self.timeout
            if deadline is not None:
                per_try = min(per_try, max(0.05, deadline - time.monotonic()))
            logger.debug("%s %s (attempt %d)", call.method, shown_url, attempt)
            try:
                response = self._request(call.method, url, params=params, body=body, headers=headers,
                                         timeout=(per_try, None if unlimited_read else per_try), stream=stream)
            except requests.RequestException as exc:
                never_sent = _never_sent(exc)
                if never_sent and not relocated and self._moved():
                    relocated, attempt = True, attempt - 1
                    continue
                retriable = _transient(exc) and (never_sent or call.idempotent)
                if retriable and attempt < attempts and self._pause(attempt, f"{type(exc).__name__} from {shown_url}",
                                                                    deadline):
                    continue
                error = connection_error(exc, shown_url, attempts=attempt, timeout=round(per_try, 1))
                error.may_have_acted = not never_sent  # type: ignore[attr-defined]
                raise error from None
            logger.debug("%s %s -> HTTP %d", call.method, shown_url, response.status_code)
            if response.status_code < 400:
                return response, shown_url
            if response.status_code == 401 and not relocated and self._moved():
                response.close()
                relocated, attempt = True, attempt - 1
                continue
            error = status_error(
                call, response, shown_url, clean=self._clean, token_set=bool(self.config.token)
            )
            if (
                isinstance(error, ServerError)
                and call.idempotent
                and response.status_code in RETRIABLE_STATUSES
                and attempt < attempts
                and self._pause(attempt, f"HTTP {response.status_code} from {shown_url}", deadline)
            ):
                response.close()
                continue
            if isinstance(error, ServerError) and attempt > 1:
                error.message += f" (tried {attempt} times)"
            # 501 (no such route) and 429 (rate limited) are refusals: nothing was done.
            acted = response.status_code in _AMBIGUOUS_STATUSES
            error.may_have_acted = acted  # type: ignore[attr-defined]
            response.close()
            raise error

    def _request(self, method: str, url: str, *, params: Mapping[str, str] | None, body: Any,
                 headers: Mapping[str, str], timeout: tuple[float, float | None], stream: bool) -> requests.Response:
        """One try; for a non-streamed call (or a failure) the body is read before returning, so
        a connection that drops mid-body fails here. The auth object adds the token."""
        try:
            response = self._session.request(method, url, params=params, json=body, headers=headers,
                                             auth=self._auth, timeout=timeout, stream=stream, allow_redirects=True)
            if not stream or response.status_code >= 400:
                response.content  # read it all now
            return response
        except requests.RequestException:
            raise
        except BaseException as unexpected:  # a bug or Ctrl-C inside requests
            raise without_frames(unexpected)

    def _pause(self, attempt: int, reason: str, deadline: float | None = None) -> bool:
        """Wait before another try; False (no wait) when the deadline would pass first."""
        delay = retry_delay(attempt, self.backoff)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return False
        logger.debug("retrying in %.2fs after %s", delay, reason)
        if delay:
            time.sleep(delay)
        return True

    def _json(
        self,
        call: ApiCall,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        deadline: float | None = None,
    ) -> Any:
        """Send ``call`` and decode its JSON answer (HTML or other non-JSON is an error)."""
        response, url = self._send(call, params=params, body=body, deadline=deadline)
        text = response.text
        content_type = response.headers.get("Content-Type")
        if looks_like_html(text, content_type):
            raise html_error(response, url)
        if not text.strip():
            if call.method == "GET":
                raise unexpected_answer(call, f"the answer is empty (HTTP {response.status_code})", url=self._shown_url(call))
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

    def _expect_dict(self, call: ApiCall, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise unexpected_answer(call, f"it is a JSON {type(answer).__name__}, not an object", url=self._shown_url(call))
        return answer


    def _find_submission(
        self, submission: str, namespace: str, original: ArgoServerError, *, deadline: float
    ) -> dict[str, Any] | None:
        """The workflow with our submission label, or ``None`` (then ``original`` says why)."""
        try:
            found = self._list(
                namespace, {"listOptions.labelSelector": f"{SUBMISSION_LABEL}={submission}"}, deadline
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
            original.may_have_created = True  # type: ignore[attr-defined]
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


# --------------------------------------------------------------------------------------------
# small internal helpers


def _name_of(workflow: Mapping[str, Any]) -> str:
    return str((workflow.get("metadata") or {}).get("name") or "?")


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
    return has_reason(exc, urllib3.exceptions.NewConnectionError)


