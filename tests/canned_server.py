"""A canned HTTP server for fault-injection tests: real sockets, scripted answers.

The server runs ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` port 0 in a thread of the
test process. Each test scripts the answers for a route (method + path) up front::

    with CannedServer() as server:
        server.script("GET", "/api/v1/workflows/argo/wf", Answer(500, ERROR), Answer(200, WF))
        client = ArgoClient(ArgoConfig(host=server.url, token=Secret("T")))
        client.get_workflow("wf", namespace="argo")
        assert len(server.requests_to("GET", "/api/v1/workflows/argo/wf")) == 2

Answers for a route are given in order and the last one repeats, so a route scripted with one
answer always gives it. An answer may also be a callable that receives the ``Recorded`` request
and returns an ``Answer`` (for answers that depend on the query or the body). Unscripted routes
get Argo's own answer for an unknown route: 501 ``{"code":12,"message":"Not Implemented"}``.

Faults an answer can inject:

* ``delay``: wait that many seconds before answering (a hung server). Closing the server ends the
  wait at once, so a test never waits for a hung handler.
* ``drop="before"``: close the socket without answering.
* ``drop="mid-body"``: send the status line, the headers with a ``Content-Length`` larger than
  what follows, half of the body, then close the socket.
* ``chunks``: send the body in pieces with ``chunk_pause`` seconds between them (a log stream).
  With ``chunk_gate`` the server sends the first piece, then waits (up to 10 s) for the test to
  set the event before sending the rest, and records in ``gate_was_open`` whether it was set in
  time — a way to prove that a client hands out lines as they arrive without timing anything.
* ``gate``: hold the answer until the test sets the event (a server that is slow exactly as long
  as the test wants). ``wait_for_request`` tells the test that such a request has arrived.

``CannedServer(token=...)`` answers every request without ``Authorization: Bearer <token>`` with
Argo's 401, as a real server would, so a test also proves that the client sent the token.

The server speaks HTTP/1.0 (one request per connection; the body ends when the socket closes),
which keeps every fault deterministic.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    """One scripted answer. ``body`` may be a ``dict``/``list`` (sent as JSON), ``str`` or ``bytes``."""

    status: int = 200
    body: Any = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: str | None = None  # None, "before" or "mid-body"
    chunks: list[Any] | None = None
    chunk_pause: float = 0.0
    chunk_gate: threading.Event | None = None
    gate_was_open: bool | None = None  # set by the server: was the gate opened in time?
    gate: threading.Event | None = None  # hold the whole answer until the test sets it

    def encoded_body(self) -> tuple[bytes, str]:
        """The body as bytes and its default content type."""
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "application/json"
        return bytes(self.body), "application/json"


@dataclass
class Recorded:
    """A request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Scripted = Union[Answer, Callable[[Recorded], Answer]]


def argo_error(status: int, code: int, message: str) -> Answer:
    """An error the way the Argo Server sends it: ``{"code": <grpc code>, "message": ...}``."""
    return Answer(status, {"code": code, "message": message})


class CannedServer:
    """A scripted HTTP server on 127.0.0.1; use as a context manager."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self._routes: dict[tuple[str, str], list[Scripted]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._closing = threading.Event()
        self.requests: list[Recorded] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> "CannedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # -- scripting ----------------------------------------------------------------------------

    def script(self, method: str, path: str, *answers: Scripted) -> None:
        """Answer ``method path`` with ``answers`` in order; the last one repeats."""
        if not answers:
            raise ValueError("script at least one answer")
        with self._lock:
            self._routes[(method.upper(), path)] = list(answers)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def wait_for_request(self, method: str, path: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until ``count`` requests to ``method path`` have arrived (answered or held)."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(1 for r in self.requests if r.method == method and r.path == path) >= count,
                timeout,
            )

    def _next_answer(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            self._arrived.notify_all()
            if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
                return argo_error(401, 16, "token not valid")
            queue = self._routes.get((request.method, request.path))
            if not queue:
                return argo_error(501, 12, "Not Implemented")
            scripted = queue.pop(0) if len(queue) > 1 else queue[0]
        return scripted(request) if callable(scripted) else scripted

    def _wait_for_gate(self, gate: threading.Event) -> bool:
        """Hold until the test opens ``gate`` (True) or the server closes (False)."""
        while not gate.wait(0.02):
            if self._closing.is_set():
                return False
        return True

    # -- the handler --------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={key: value for key, value in self.headers.items()},
                    body=body,
                )
                answer = server._next_answer(recorded)
                if answer.delay and server._closing.wait(answer.delay):
                    return
                if answer.gate is not None and not server._wait_for_gate(answer.gate):
                    return
                if answer.drop == "before":
                    self.close_connection = True
                    return
                payload, default_type = answer.encoded_body()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type or default_type)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.drop == "mid-body":
                    self.send_header("Content-Length", str(len(payload) * 2 + 10))
                    self.end_headers()
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if answer.chunks is not None:
                    self.end_headers()
                    for index, chunk in enumerate(answer.chunks):
                        if index and answer.chunk_pause and server._closing.wait(answer.chunk_pause):
                            return
                        if index == 1 and answer.chunk_gate is not None:
                            answer.gate_was_open = answer.chunk_gate.wait(10)
                        data = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                        self.wfile.write(data)
                        self.wfile.flush()
                    return
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return Handler
