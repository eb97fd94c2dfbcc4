"""The engine's HTTP server against clients that misbehave, over real sockets (issue 9 #22).

Each test talks raw HTTP to a real engine process: a body is never read before the token is
checked, a body above the limit is refused unread with an Argo-style 413, an idle connection is
closed, too many connections are turned away, and the listen backlog is a normal one.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess

import pytest

from hera_magics.local.server import LISTEN_BACKLOG, MAX_BODY_BYTES
from tests.local_helpers import start_engine, wait_for, workflow


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("limits") / "state", extra=["--idle-timeout", "2"])
    yield running
    running.stop()


def _connect(engine) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", engine.port), timeout=30)
    return connection


def _read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 answer with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {key.strip().lower(): value.strip() for key, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = connection.recv(65536)
        assert chunk
        rest += chunk
    return status, headers, rest[:length]


def _closed_by_peer(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_body_is_not_read_before_the_token_is_checked(engine):
    # Claim a 2 MB body and send none of it: the answer must come without waiting for the body.
    connection = _connect(engine)
    try:
        connection.sendall(b"POST /api/v1/workflows/argo HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n")
        status, headers, body = _read_answer(connection)
        assert status == 401
        assert json.loads(body)["code"] == 16
        assert headers.get("connection") == "close"
        assert _closed_by_peer(connection)
    finally:
        connection.close()


def test_a_wrong_route_with_a_body_is_answered_unread(engine):
    connection = _connect(engine)
    try:
        connection.sendall(b"POST /api/v1/nothing-here HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           + engine.token.encode() + b"\r\nContent-Length: 2000000\r\n\r\n")
        status, _, body = _read_answer(connection)
        assert status == 501 and json.loads(body)["code"] == 12
        assert _closed_by_peer(connection)
    finally:
        connection.close()


def test_a_body_above_the_limit_is_refused_with_413_unread(engine):
    connection = _connect(engine)
    try:
        connection.sendall(b"POST /api/v1/workflows/argo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           + engine.token.encode()
                           + f"\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
        status, headers, body = _read_answer(connection)
        answer = json.loads(body)
        assert status == 413
        assert answer["code"] == 8 and "too large" in answer["message"] and str(MAX_BODY_BYTES) in answer["message"]
        assert headers.get("connection") == "close"
    finally:
        connection.close()


def test_a_chunked_body_above_the_limit_is_refused(engine):
    answer = engine.request("POST", "api/v1/workflows/argo",
                            data=(b"x" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2)),
                            headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == 8


def test_a_body_within_the_limit_still_works_on_a_kept_alive_connection(engine):
    body = {"workflow": workflow([{"name": "main", "container": {"image": "alpine", "command": ["true"]}}])}
    for _ in range(2):  # the same pooled connection twice
        answer = engine.request("POST", "api/v1/workflows/argo", json=body)
        assert answer.status_code == 200, answer.text
    engine.wait(answer.json()["metadata"]["name"])


def test_an_idle_connection_is_closed(engine):
    # The engine was started with --idle-timeout 2: a connection that never sends a request, and
    # one that stops after half a request, are both closed by the engine.
    silent = _connect(engine)
    half = _connect(engine)
    try:
        half.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_peer(silent)
        assert _closed_by_peer(half)
    finally:
        silent.close()
        half.close()
    assert engine.request("GET", "api/v1/version").status_code == 200


def test_too_many_connections_are_turned_away_and_the_engine_recovers(tmp_path):
    running = start_engine(tmp_path / "state", extra=["--idle-timeout", "60"])
    sockets = []
    try:
        # Beyond MAX_CONNECTIONS (256) the engine answers 503 and closes: it never runs out of
        # file descriptors or threads because of idle sockets.
        for _ in range(300):
            sockets.append(socket.create_connection(("127.0.0.1", running.port), timeout=30))
        extra = sockets[-1]
        status, _, body = _read_answer(extra)
        assert status == 503 and json.loads(body)["code"] == 14
        for connection in sockets:
            connection.close()
        sockets.clear()
        wait_for(lambda: running.request("GET", "api/v1/version").status_code == 200, timeout=30,
                 what="the engine to accept requests again")
    finally:
        for connection in sockets:
            connection.close()
        running.stop()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the listen backlog")
def test_the_listen_backlog_is_a_normal_one(engine):
    listing = subprocess.run(["ss", "-ltnH", f"sport = :{engine.port}"], capture_output=True, text=True,
                             check=True).stdout.split()
    # For a listening socket, ss's Send-Q column is the backlog.
    assert int(listing[2]) == LISTEN_BACKLOG >= 128


def test_unauthenticated_bodies_do_not_grow_the_engine(engine):
    """Five clients announcing 2 MB bodies without the token leave the engine's memory as it was."""

    def resident_kib() -> int:
        for line in open(f"/proc/{engine.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    before = resident_kib()
    for _ in range(5):
        connection = _connect(engine)
        try:
            connection.sendall(b"POST /api/v1/workflows/argo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
            try:
                connection.sendall(b"{" * 1_000_000)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _read_answer(connection)[0] == 401
        finally:
            connection.close()
    assert resident_kib() - before < 5 * 2000
