"""Running one pod's main container as a local process tree.

A ``PodProcess`` starts the command in its own session (so the whole tree can be signalled
with ``os.killpg``, as Kubernetes kills every process of a container), writes stdout and stderr
line by line to the node's log with a timestamp (what ``kubectl logs --timestamps`` shows), keeps
the tail of stdout for ``outputs.result``, and enforces the template's deadline. When the main
process exits, whatever it left running in its process group is killed, as it would be when
the container stops.

A log that cannot be written (the disk is full, the file is over the size limit) never blocks
the task on a full pipe: the readers go on draining both pipes, and the task is stopped with a
message that says why (``LOG_WRITE_FAILED``), so its node fails instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..argo import POD_DEADLINE_MESSAGE, rfc3339_nano

# Argo keeps the last 256 KiB of stdout as outputs.result.
RESULT_LIMIT = 256 * 1024
# Seconds between SIGTERM and SIGKILL when a pod is stopped (Kubernetes' default is 30).
KILL_GRACE_SECONDS = 2.0
# How long to wait for the log readers after the process tree is gone (a process that escaped
# the group may still hold the pipes open).
READER_JOIN_SECONDS = 2.0

PYTHON_WORDS = ("python", "python3")
LOG_WRITE_FAILED = "the task's log could not be written ({reason}): the task was stopped; free some space and retry"

NODE_MARKER_VARIABLE = "HERA_MAGICS_NODE"
"""Set in every pod's environment to ``node_marker(...)``: how an engine that starts again
recognises the process groups its earlier run left behind (``kill_stale_group``)."""


def node_marker(namespace: str, node_id: str) -> str:
    """The value of ``NODE_MARKER_VARIABLE`` for one node."""
    return f"{namespace}/{node_id}"


class CommandNotFound(LookupError):
    """The first word of a command is not an executable on this machine."""

    def __init__(self, word: str) -> None:
        super().__init__(f'executable "{word}" is not found on this machine\'s PATH')
        self.word = word


def executable_available(word: str) -> bool:
    """True when ``word`` can be run here (``python`` always can: it is the engine's interpreter)."""
    try:
        resolve_argv([word])
    except CommandNotFound:
        return False
    return True


def resolve_argv(argv: list[str], python: str | None = None) -> list[str]:
    """The command with ``python`` replaced by this interpreter and the rest found on PATH."""
    if not argv:
        raise CommandNotFound("")
    first = argv[0]
    if first in PYTHON_WORDS:
        return [python or sys.executable, *argv[1:]]
    if os.sep in first:
        if not (os.path.isfile(first) and os.access(first, os.X_OK)):
            raise CommandNotFound(first)
        return list(argv)
    found = shutil.which(first)
    if found is None:
        raise CommandNotFound(first)
    return [found, *argv[1:]]


@dataclass
class PodLaunch:
    """Everything needed to run one pod: the resolved command, where, and what to capture."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    capture_result: bool
    deadline_seconds: float | None = None


@dataclass
class PodOutcome:
    """How the main container ended."""

    exit_code: int | None
    result: str | None
    kill_message: str | None
    started_at: float
    finished_at: float
    signal_number: int | None = None
    # A container set's: each container's exit code (None: it never ended), and the first that
    # did not end with 0 (``container_sets``).
    containers: dict[str, int | None] | None = None
    failed_container: str | None = None


@dataclass
class _StdoutTail:
    """The last ``RESULT_LIMIT`` bytes of stdout (trimmed lazily to keep appends cheap)."""

    chunks: bytearray = field(default_factory=bytearray)

    def add(self, data: bytes) -> None:
        self.chunks.extend(data)
        if len(self.chunks) > 2 * RESULT_LIMIT:
            del self.chunks[: len(self.chunks) - RESULT_LIMIT]

    def text(self) -> str:
        data = bytes(self.chunks[-RESULT_LIMIT:])
        text = data.decode("utf-8", errors="replace")
        # Argo trims exactly one trailing newline.
        return text[:-1] if text.endswith("\n") else text


class LogWriter:
    """Appends timestamped lines to a node's log; shared by the stdout and stderr readers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write_line(self, text: str) -> None:
        line = f"{rfc3339_nano(time.time())} {text}\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError:
                pass  # what the full disk refused is lost; the node says why (LOG_WRITE_FAILED)


class PodProcess:
    """One running main container."""

    def __init__(self, launch: PodLaunch) -> None:
        self.launch = launch
        self._process: subprocess.Popen[bytes] | None = None
        self._kill_message: str | None = None
        self._kill_lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._readers: list[threading.Thread] = []
        self._stdout_tail = _StdoutTail() if launch.capture_result else None
        self._log: LogWriter | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the process; raises OSError when it cannot be started."""
        self._log = LogWriter(self.launch.log_path)
        self.launch.cwd.mkdir(parents=True, exist_ok=True)
        try:
            self._process = subprocess.Popen(
                self.launch.argv,
                cwd=self.launch.cwd,
                env=self.launch.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: killpg reaches the whole tree
                close_fds=True,
            )
        except OSError:
            self._log.close()
            raise
        self.started_at = time.time()
        assert self._process.stdout is not None and self._process.stderr is not None
        for stream, keep in ((self._process.stdout, True), (self._process.stderr, False)):
            reader = threading.Thread(target=self._read, args=(stream, keep), daemon=True,
                                      name=f"log-reader-{self._process.pid}")
            reader.start()
            self._readers.append(reader)
        if self.launch.deadline_seconds is not None:
            timer = threading.Timer(self.launch.deadline_seconds, self.kill, args=(POD_DEADLINE_MESSAGE,))
            timer.daemon = True
            timer.start()
            self._timers.append(timer)

    def _read(self, stream, keep_for_result: bool) -> None:
        assert self._log is not None
        tail = self._stdout_tail if keep_for_result else None
        writing = True
        for raw in iter(stream.readline, b""):
            if tail is not None:
                tail.add(raw)
            if not writing:
                continue  # keep draining: a task must never block on a full pipe
            try:
                self._log.write_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            except OSError as error:
                writing = False
                self.kill(LOG_WRITE_FAILED.format(reason=error.strerror or error))
        stream.close()

    def kill(self, message: str) -> None:
        """Stop the whole tree: SIGTERM now, SIGKILL after a grace period. The first message wins."""
        with self._kill_lock:
            if self._kill_message is not None or self._process is None:
                return
            self._kill_message = message
        self._signal_group(signal.SIGTERM)
        timer = threading.Timer(KILL_GRACE_SECONDS, self._signal_group, args=(signal.SIGKILL,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def _signal_group(self, signal_number: int) -> None:
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal_number)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> PodOutcome:
        """Block until the main process exits, then clean up its group and collect the outcome."""
        assert self._process is not None
        process = self._process
        if hasattr(os, "waitid"):
            # Wait without reaping, so the group id cannot be reused before we kill what is left.
            while True:
                try:
                    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
            self._signal_group(signal.SIGKILL)
            process.wait()
        else:  # pragma: no cover - non-Linux fallback
            process.wait()
            self._signal_group(signal.SIGKILL)
        finished_at = time.time()
        for timer in self._timers:
            timer.cancel()
        for reader in self._readers:
            reader.join(READER_JOIN_SECONDS)
        if self._log is not None:
            self._log.close()
        code = process.returncode
        signal_number = -code if code is not None and code < 0 else None
        exit_code = 128 + signal_number if signal_number else code
        return PodOutcome(
            exit_code=exit_code,
            result=self._stdout_tail.text() if self._stdout_tail is not None else None,
            kill_message=self._kill_message,
            started_at=self.started_at,
            finished_at=finished_at,
            signal_number=signal_number,
        )


def kill_stale_group(pid: int, marker: str) -> bool:
    """Kill the process group ``pid`` left by an earlier engine, if it is still ours.

    A pid can be reused after a reboot or a long time, so the group is only killed when the
    process still carries ``NODE_MARKER_VARIABLE=marker`` in its environment; Linux only.
    """
    environ = Path(f"/proc/{pid}/environ")
    entry = f"{NODE_MARKER_VARIABLE}={marker}".encode()
    try:
        if entry not in environ.read_bytes().split(b"\0"):
            return False
    except OSError:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
