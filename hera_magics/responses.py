"""Reading an Argo Server's answers: failures become our errors, the log stream becomes entries.

Every way a request can fail ends here as one ``errors.ArgoServerError`` subclass with a short
message that says what to do (:func:`status_error` for HTTP statuses, :func:`connection_error`
for connections, TLS and timeouts, :func:`html_error` for a login page or a wrong base href,
:func:`stream_error` for a failure inside a started log stream). Quoted server text is
shortened and passed through the client's ``clean`` (which redacts the token).

The log stream comes in the two formats of the Argo Server's stream forwarder
(:func:`parse_log_line`), read line by line as it arrives (:func:`stream_lines`).

HTTP only: nothing here knows Hera or the notebook. :mod:`hera_magics.client` sends the
requests and uses these functions to read what came back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3.exceptions

from .errors import (
    ArgoServerError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    HeraMagicsError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)

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


@dataclass(frozen=True)
class ApiCall:
    """What a request is for: enough to retry it safely and to explain its failure."""

    method: str
    path: str
    action: str  # completes "your role cannot ...", e.g. "stop workflow nb-x7k2p"
    namespace: str | None = None
    workflow: str | None = None  # the workflow the path names, for a 404 message
    idempotent: bool = True


# --------------------------------------------------------------------------------------------
# pure helpers (tested as tables in tests/test_client.py)


def url_without_query(url: str) -> str:
    """``url`` without its query string and fragment, for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """One line of at most ``limit`` characters (``…`` marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` with each occurrence of ``secret`` (our token) replaced by ``…``: a server or a
    proxy may echo it back. Credential-shaped text in general is masked by the status view."""
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


# --------------------------------------------------------------------------------------------
# errors


def unexpected_answer(call: ApiCall, what: str, *, url: str) -> UnexpectedResponseError:
    """The error for an answer that is not what the Argo API sends (``what`` says how)."""
    return UnexpectedResponseError(
        f"the server's answer to {call.action!r} is not what the Argo API sends: {what}; "
        f"URL tried: {url}",
        hint="check that the host points at the Argo Server (%argo_env shows it)",
    )


def html_error(response: requests.Response, url: str) -> UnexpectedResponseError:
    """The error for an HTML page where JSON was expected (a login page, a wrong base href)."""
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


def status_error(
    call: ApiCall,
    response: requests.Response,
    url: str,
    *,
    clean: Callable[[str], str],
    token_set: bool,
) -> ArgoServerError:
    """The error for an HTTP status of 400 or more.

    ``clean`` redacts the token from quoted text; ``token_set`` says whether one was sent.
    """
    status = response.status_code
    text = response.text
    content_type = response.headers.get("Content-Type")
    if looks_like_html(text, content_type) and status < 500:
        # An HTML 4xx page comes from a proxy or the wrong path, not from the Argo API.
        return html_error(response, url)
    message = clean(server_message_of(text))
    namespace = f" in namespace {call.namespace}" if call.namespace else ""
    common = {"status": status, "server_message": message}
    if status == 400:
        return BadRequestError(
            f"the Argo server rejected the request to {call.action}: {message}", **common
        )
    if status == 401:
        if not token_set:
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


def connection_error(
    exc: requests.RequestException, url: str, *, attempts: int, timeout: float
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
        what = f"no connection within {timeout:g}s"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        what = f"no answer within {timeout:g}s"
    elif has_reason(exc, urllib3.exceptions.NameResolutionError):
        what = "the host name could not be resolved"
    elif has_reason(exc, urllib3.exceptions.NewConnectionError):
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


def stream_error(
    call: ApiCall, error: StreamError, url: str, *, clean: Callable[[str], str]
) -> ArgoServerError:
    """The error for a failure the server reported inside a started stream."""
    message = clean(shorten(error.message))
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


def has_reason(exc: BaseException, kind: type[BaseException]) -> bool:
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


# --------------------------------------------------------------------------------------------
# the log stream


def parse_log_line(line: str) -> list[dict[str, str]]:
    """Log entries ``{"content", "podName"}`` in one line of a log stream.

    Understands both formats the Argo Server sends (its stream forwarder, argoproj/pkg
    ``grpc/http``, over grpc-gateway's ``ForwardResponseStream``; Argo's own reader is
    ``pkg/apiclient/http1/server-sent-events-client.go``):

    * newline-delimited JSON: ``{"result":{"content":"...","podName":"..."}}``;
    * server-sent events (``Accept: text/event-stream``): ``data: {"result":{...}} `` plus blank
      lines and ``:`` keepalives.

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


def stream_lines(response: requests.Response) -> Iterator[bytes]:
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


def read_log_stream(
    call: ApiCall, response: requests.Response, url: str, *, clean: Callable[[str], str], timeout: float
) -> Iterator[dict[str, str]]:
    """The entries of a streamed log answer, parsed line by line as the lines arrive.

    An HTML page, a line that is not JSON, an error the server reports inside the stream and a
    connection that breaks off become our errors; ``clean`` redacts the token from quoted text.
    """
    content_type = response.headers.get("Content-Type")
    if content_type and "html" in content_type.lower():
        response.close()
        raise html_error(response, url)
    return _iterate_log_lines(call, response, url, clean, timeout)


def _iterate_log_lines(
    call: ApiCall, response: requests.Response, url: str, clean: Callable[[str], str], timeout: float
) -> Iterator[dict[str, str]]:
    first = True
    try:
        for raw_line in stream_lines(response):
            line = raw_line.decode("utf-8", errors="replace")
            if first and line.strip():
                first = False
                if looks_like_html(line, None):
                    raise html_error(response, url)
            try:
                entries = parse_log_line(line)
            except StreamError as failure:
                raise stream_error(call, failure, url, clean=clean) from None
            except ValueError:
                raise UnexpectedResponseError(
                    f"the log stream from {url} holds a line that is not JSON: {clean(shorten(line, 80))!r}",
                    hint="check that the host points at the Argo Server",
                ) from None
            yield from entries
    except requests.RequestException as exc:
        error = connection_error(exc, url, attempts=1, timeout=timeout)
        error.message = error.message.replace("could not reach the Argo server", "the log stream broke off")
        raise error from None
    except (HeraMagicsError, GeneratorExit):
        raise
    except BaseException as unexpected:  # Ctrl-C while following, a bug in urllib3
        raise without_frames(unexpected)
    finally:
        response.close()


def without_frames(error: BaseException) -> BaseException:
    """``error`` with no traceback and no chained exceptions, to re-raise an unexpected error
    (a bug, Ctrl-C) that came out of ``requests``: the frames of ``requests``, ``urllib3`` and
    ``http.client`` hold the Authorization header in their variables (``%xmode Verbose`` would
    print it)."""
    error.__traceback__ = None
    error.__context__ = None
    error.__cause__ = None
    error.__suppress_context__ = True
    return error


def _as_requests_error(exc: Exception) -> requests.RequestException:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(exc))
    return requests.exceptions.ChunkedEncodingError(str(exc))


__all__ = [
    "ApiCall",
    "StreamError",
    "connection_error",
    "html_error",
    "looks_like_html",
    "parse_log_line",
    "read_log_stream",
    "redact_secret",
    "server_message_of",
    "shorten",
    "status_error",
    "stream_error",
    "stream_lines",
    "unexpected_answer",
    "url_without_query",
    "without_frames",
]
