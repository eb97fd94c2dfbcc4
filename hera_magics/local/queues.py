"""The engine's two waiting lines: process slots for pods, and workflows waiting to be reconciled.

* ``SlotPool``: ``--workers`` process slots, handed out first come, first served. A pod waits
  here (its node stays ``Pending``) and can stop waiting when it is cancelled.
* ``ReconcileQueue``: the keys of workflows the controller thread should reconcile, each at most
  once in the line, some only after a delay (a retry backoff, a deadline). Argo's controller has
  the same rate-limited work queue (``workflow/controller/controller.go``, ``wfQueue``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque

from .records import WorkflowKey


class SlotPool:
    """``size`` process slots handed out first come, first served; waiting can be cancelled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._condition = threading.Condition()
        self._waiting: deque[object] = deque()

    def acquire(self, cancelled: threading.Event) -> bool:
        """Wait for a slot; False (and no slot) when ``cancelled`` is set first."""
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
            try:
                return self._wait_for_turn(ticket, cancelled)
            finally:
                self._waiting.remove(ticket)
                self._condition.notify_all()

    def _wait_for_turn(self, ticket: object, cancelled: threading.Event) -> bool:
        while not cancelled.is_set():
            if self._free > 0 and self._waiting[0] is ticket:
                self._free -= 1
                return True
            self._condition.wait(0.2)
        return False

    def release(self) -> None:
        with self._condition:
            self._free += 1
            self._condition.notify_all()


class ReconcileQueue:
    """Workflow keys to reconcile, each at most once in the queue, some after a delay."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._ready: dict[WorkflowKey, None] = {}
        self._delayed: list[tuple[float, int, WorkflowKey]] = []
        self._sequence = itertools.count()

    def add(self, key: WorkflowKey, delay: float = 0.0) -> None:
        with self._condition:
            if delay > 0:
                heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._sequence), key))
            else:
                self._ready[key] = None
            self._condition.notify_all()

    def get(self, stopping: threading.Event) -> WorkflowKey | None:
        """The next key to reconcile; None once ``stopping`` is set."""
        with self._condition:
            while not stopping.is_set():
                now = time.monotonic()
                self._release_due(now)
                if self._ready:
                    key = next(iter(self._ready))
                    del self._ready[key]
                    return key
                timeout = self._delayed[0][0] - now if self._delayed else 0.5
                self._condition.wait(min(max(timeout, 0.01), 0.5))
            return None

    def _release_due(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self._ready[key] = None
