"""Finding, starting and stopping the user's local engine process.

The engine runs as its own detached process (its own session), so a kernel restart neither
kills running workflows nor forgets finished ones. A state file ``local-engine.json`` (mode
0600: it holds the token) in the state folder says where it listens::

    {"url": "http://127.0.0.1:PORT/", "port": PORT, "token": "...", "pid": PID, "workers": N,
     "volumes": {CLAIM: FOLDER}, "filesystemView": true, "id": "..."}

``id`` is the engine's identity, made once per state folder (file ``engine-id``) and kept across
restarts, as its workflows are: the notebook remembers runs by it, not by the port, and finds a
restarted engine through it. ``filesystemView``: whether tasks get their own view of the file
system (``pod_filesystem``).

``ensure_engine`` reuses the engine of that file when its process is alive and answers
``/api/v1/version`` with the token; otherwise it starts a new one with a fresh random token.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import LocalEngineError
from ..state import UnsafeStateFolder, ensure_private_directory, locked, state_directory, write_private

STATE_FILE_NAME = "local-engine.json"
ENGINE_ID_FILE_NAME = "engine-id"
LOG_FILE_NAME = "local-engine.log"
LOCK_FILE_NAME = "local-engine.lock"
# ``python -m hera_magics.local`` also accepts its token from this variable; ``ensure_engine``
# hands it over on the engine's stdin instead, so it is neither on the command line (which every
# user of the machine can read in ``ps``) nor in the environment that tasks inherit.
TOKEN_VARIABLE = "HERA_MAGICS_ENGINE_TOKEN"
# The user's real Argo token (every Nebari Jupyter pod has it in its environment). The engine's
# tasks inherit the engine's environment, so the engine is started without these.
ARGO_TOKEN_VARIABLES = ("ARGO_TOKEN", "HERA_TOKEN", "GLOBAL_CONFIG_TOKEN")
START_TIMEOUT_SECONDS = 60.0
PROBE_TIMEOUT_SECONDS = 3.0


def default_workers() -> int:
    return max(2, os.cpu_count() or 2)


def read_engine_state(state_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The state file's content, or None when there is none (or it is unreadable)."""
    path = state_directory(state_dir) / STATE_FILE_NAME
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def engine_id(state_dir: Path) -> str:
    """The identity of the engine of ``state_dir``: made the first time, the same after restarts."""
    path = state_dir / ENGINE_ID_FILE_NAME
    with contextlib.suppress(OSError):
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing
    identity = secrets.token_hex(8)
    write_private(path, identity + "\n")
    return identity


def write_engine_state(state_dir: Path, state: dict[str, Any]) -> Path:
    """Write the state file with mode 0600 (it holds the token), with the engine's ``id``."""
    ensure_private_directory(state_dir)
    path = state_dir / STATE_FILE_NAME
    write_private(path, json.dumps({**state, "id": engine_id(state_dir)}, indent=2))
    return path


def remove_engine_state(state_dir: Path, pid: int) -> None:
    """Remove the state file if it still describes the engine ``pid``."""
    state = read_engine_state(state_dir)
    if state and state.get("pid") == pid:
        with contextlib.suppress(OSError):
            (state_dir / STATE_FILE_NAME).unlink()


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def probe(url: str, token: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when ``url`` answers ``/api/v1/version`` with 200 for ``token``."""
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/version",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200 and "version" in json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def running_engine(state_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The state of a live, answering engine for this state folder, or None."""
    state = read_engine_state(state_dir)
    if not state or not pid_alive(state.get("pid")):
        return None
    url, token = state.get("url"), state.get("token")
    if not isinstance(url, str) or not isinstance(token, str) or not probe(url, token):
        return None
    return state


def ensure_engine(workers: int | None = None,
                  state_dir: str | os.PathLike[str] | None = None,
                  volumes: dict[str, str | os.PathLike[str]] | None = None) -> tuple[str, str]:
    """``(url, token)`` of the user's running local engine, starting one when needed.

    ``url`` ends in ``/``. A running engine is reused even when ``workers`` or ``volumes``
    differ (its running workflows would be lost otherwise); ``read_engine_state()`` tells
    which it has. ``volumes`` maps claim names to local folders (created if missing).
    """
    url, token, _started = ensure_engine_started(workers, state_dir, volumes)
    return url, token


def ensure_engine_started(workers: int | None = None,
                          state_dir: str | os.PathLike[str] | None = None,
                          volumes: dict[str, str | os.PathLike[str]] | None = None,
                          hidden_variables: tuple[str, ...] = ()) -> tuple[str, str, bool]:
    """Like ``ensure_engine``, plus whether the engine was started now (False: reused).

    ``hidden_variables`` are left out of a new engine's environment (and so of every task's),
    as the Argo token variables always are: the notebook passes a ``--token-var`` variable.
    """
    try:
        folder = state_directory(state_dir)
        ensure_private_directory(folder)
    except UnsafeStateFolder as error:
        raise LocalEngineError(f"the local engine cannot use the state folder {error.path}: it {error.problem}",
                               hint=error.fix) from None
    with locked(folder / LOCK_FILE_NAME):
        state = running_engine(folder)
        if state is not None:
            return state["url"], state["token"], False
        url, token = _start_engine(folder, workers or default_workers(), volumes or {}, hidden_variables)
        return url, token, True


def engine_environment(environ: dict[str, str] | None = None,
                       hidden_variables: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment the engine (and so every local task) starts with: no token of any kind."""
    environment = dict(os.environ if environ is None else environ)
    for name in (TOKEN_VARIABLE, *ARGO_TOKEN_VARIABLES, *hidden_variables):
        environment.pop(name, None)
    return environment


def _start_engine(folder: Path, workers: int, volumes: dict[str, str | os.PathLike[str]],
                  hidden_variables: tuple[str, ...] = ()) -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    environment = engine_environment(hidden_variables=hidden_variables)
    environment["PYTHONUNBUFFERED"] = "1"
    # The engine starts in the state folder: make sure it imports this very hera_magics even
    # when the kernel found it through its working folder rather than an installation.
    package_parent = str(Path(__file__).resolve().parents[2])
    python_path = [entry for entry in environment.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if package_parent not in python_path:
        environment["PYTHONPATH"] = os.pathsep.join(python_path + [package_parent])
    command = [sys.executable, "-m", "hera_magics.local", "--port", "0", "--workers", str(workers),
               "--state-dir", str(folder), "--token-stdin"]
    for claim, local_folder in sorted(volumes.items()):
        Path(local_folder).mkdir(parents=True, exist_ok=True)
        command += ["--volume", f"{claim}={local_folder}"]
    log_path = folder / LOG_FILE_NAME
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            env=environment,
            cwd=str(folder),
            start_new_session=True,  # survives the kernel: no SIGHUP/SIGINT from its terminal
            close_fds=True,
        )
    assert process.stdin is not None
    try:
        process.stdin.write(token.encode("ascii") + b"\n")
        process.stdin.close()
    except OSError:
        pass  # it died at once; the loop below reports it with its log
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = read_engine_state(folder)
        if state and state.get("pid") == process.pid and state.get("token") == token:
            if probe(state["url"], token):
                return state["url"], token
        if process.poll() is not None:
            raise LocalEngineError(
                f"the local engine exited at start-up (exit code {process.returncode})",
                hint=f"see its log: {log_path}\n{_tail(log_path)}",
            )
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        process.terminate()
    raise LocalEngineError(
        f"the local engine did not answer within {START_TIMEOUT_SECONDS:.0f} seconds",
        hint=f"see its log: {log_path}",
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _is_engine_process(pid: int) -> bool:
    """True unless we can see that ``pid`` runs something other than the local engine."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"hera_magics.local" in cmdline.read_bytes()
    except OSError:
        return True


def engine_status(state_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """What ``python -m hera_magics.local status`` shows: None when no engine process runs for the
    state folder, else ``{"url", "pid", "workers", "volumes", "filesystem_view", "answering"}``
    (never the token)."""
    state = read_engine_state(state_dir)
    if not state or not pid_alive(state.get("pid")) or not _is_engine_process(state["pid"]):
        return None
    url, token = state.get("url"), state.get("token")
    answering = isinstance(url, str) and isinstance(token, str) and probe(url, token)
    return {"url": url, "pid": state["pid"], "workers": state.get("workers"),
            "volumes": dict(state.get("volumes") or {}), "filesystem_view": bool(state.get("filesystemView")),
            "answering": answering}


def stop_command(state_dir: str | os.PathLike[str] | None = None) -> str:
    """The shell command that stops the engine of ``state_dir`` with this very interpreter.

    ``sys.executable`` rather than ``python``: the command must work from a terminal where another
    Python (without hera_magics) comes first on PATH. ``--state-dir`` is added unless it is the
    default folder of this environment.
    """
    words = [sys.executable, "-m", "hera_magics.local", "stop"]
    if state_dir is not None and state_directory(state_dir) != state_directory():
        words += ["--state-dir", str(state_directory(state_dir))]
    return shlex.join(words)


def stop_engine(state_dir: str | os.PathLike[str] | None = None, timeout: float = 15.0) -> bool:
    """Stop the engine of this state folder (its running tasks are killed). True if one ran.

    The plain-Python form of ``python -m hera_magics.local stop``; ``stop_command()`` gives that
    command for this interpreter.
    """
    folder = state_directory(state_dir)
    state = read_engine_state(folder)
    if not state:
        return False
    pid = state.get("pid")
    if not pid_alive(pid) or not _is_engine_process(pid):
        remove_engine_state(folder, pid)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError, OSError):
            # Reap it when the caller happens to be its parent, so it does not linger as a zombie.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    remove_engine_state(folder, pid)
    return True
