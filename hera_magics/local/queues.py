"""The engine's two waiting lines: process slots for pods, and workflows waiting to be reconciled.

* ``SlotPool``: ``--workers`` process slots, handed out first come, first served. A pod waits
  here (its node stays ``Pending``, no thread of its own) and is skipped once cancelled.
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
from typing import Callable, Generic, TypeVar

from .records import WorkflowKey

Item = TypeVar("Item")


class SlotPool(Generic[Item]):
    """``size`` process slots, handed out first come, first served.

    An item that finds no free slot waits in a line, without a thread of its own (a fan-out of
    thousands of tasks must not be thousands of waiting threads); when a slot is released it
    goes to the first item in the line that is not cancelled, and ``launch`` is called for it.
    """

    def __init__(self, size: int, launch: Callable[[Item], None], cancelled: Callable[[Item], bool]) -> None:
        self.size = size
        self._free = size
        self._launch = launch
        self._cancelled = cancelled
        self._lock = threading.Lock()
        self._waiting: deque[Item] = deque()

    def submit(self, item: Item) -> None:
        """Launch ``item`` now if a slot is free, else when one is."""
        with self._lock:
            if self._free <= 0:
                self._waiting.append(item)
                return
            self._free -= 1
        self._launch(item)

    def release(self) -> None:
        """Give the slot to the next item in the line (or free it)."""
        with self._lock:
            following = None
            while self._waiting:
                candidate = self._waiting.popleft()
                if not self._cancelled(candidate):
                    following = candidate
                    break
            if following is None:
                self._free += 1
        if following is not None:
            self._launch(following)


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
