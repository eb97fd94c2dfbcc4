"""Helpers for tests that wait on real runs and press Ctrl-C at the moment a user would.

Ctrl-C is a real SIGINT sent to the main thread once its stack shows it is in the named function;
every wait is a deadline loop that polls, never a fixed sleep.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, Callable

from tests.conftest import magics_of

DEADLINE_SECONDS = 60


def until(condition: Callable[[], Any], what: str, seconds: float = DEADLINE_SECONDS) -> Any:
    """Poll ``condition`` until it is truthy (returned) or the deadline passes (fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def main_thread_in(*names: str) -> bool:
    """True when the main thread's stack has a frame of a function called one of ``names``."""
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name in names:
            return True
        frame = frame.f_back
    return False


class InBackground:
    """Run ``work`` in a daemon thread; ``join()`` re-raises what it raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - handed to the test thread
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(DEADLINE_SECONDS)
        assert not self.thread.is_alive(), "background helper still running"
        if self.error is not None:
            raise self.error


def ctrl_c_when(*names: str) -> InBackground:
    """Press Ctrl-C (SIGINT to the main thread) once the main thread runs one of ``names``."""
    def press() -> None:
        until(lambda: main_thread_in(*names), f"the main thread to reach {names}")
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    return InBackground(press)


def engine_phase(shell: Any, name: str) -> str:
    session = magics_of(shell).session
    answer = session.client().get_workflow(name, fields="status.phase")
    return str((answer.get("status") or {}).get("phase") or "")


def define(shell: Any, cell: str, line: str = "") -> None:
    shell.run_cell_magic("argo_task", line, cell)


GATED_TASK = """def gated(gate: str):
    import os, time
    print("waiting for the gate", flush=True)
    while not os.path.exists(gate):
        time.sleep(0.05)
    print("through the gate", flush=True)
"""
