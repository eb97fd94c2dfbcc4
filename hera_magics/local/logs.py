"""A workflow's pod logs, merged by time, as ``GET .../workflows/{name}/log`` streams them.

Each Pod node's main container writes ``<node dir>/main.log`` (an init container or a container
set's other containers ``<node dir>/<name>.log``), one line per output line with its
RFC 3339 timestamp in front (``runner.LogWriter``). Reading a workflow's log takes the new
complete lines of every started pod, merges them by timestamp, filters them (``podName``,
``grep``, ``sinceSeconds``, ``tailLines`` on the first read) and, with ``follow``, polls until the
workflow has completed and no pod is active.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..argo import PENDING, node_template_name, parse_rfc3339, pod_name
from .naming import CONTAINER_NAME_PATTERN
from .pod_launch import MAIN_CONTAINER
from .pods import Pods
from .records import WorkflowRecord, WorkflowTable
from .store import WorkflowStore


@dataclass
class LogLine:
    timestamp: str
    content: str
    pod_name: str


def workflow_logs(table: WorkflowTable, pods: Pods, namespace: str, name: str, *, pod: str | None = None,
                  container: str | None = None, follow: bool = False, grep: re.Pattern[str] | None = None,
                  tail_lines: int | None = None, since_seconds: float | None = None,
                  poll_seconds: float = 0.25) -> Iterator[LogLine | None]:
    """Log lines of a workflow's pods, merged by time; ``None`` marks an idle moment in a follow.

    As on Argo, a pod's containers are asked for by name: without ``container`` there are no
    lines (the real server skips its multi-container pods the same way); ``main`` is the
    template's container, an init container's or a container set's name gives its lines.
    """
    with table.lock:
        table.find(namespace, name)  # 404 before the stream starts
    if container != MAIN_CONTAINER and not (container and CONTAINER_NAME_PATTERN.fullmatch(container)):
        return
    reader = _LogReader(table.store, namespace, name, pod, tail_lines, container)
    since = time.time() - since_seconds if since_seconds else None
    while True:
        with table.lock:
            record = table.get((namespace, name))
            if record is None:
                return
            finished = record.completed and not pods.has_active(record.key)
            started = started_pods(record)
        batch = reader.read(started)
        for line in batch:
            if since is not None and line.timestamp and parse_rfc3339(line.timestamp) < since:
                continue
            if grep is not None and not grep.search(line.content):
                continue
            yield line
        if not follow or finished:
            return
        if not batch:
            yield None
        time.sleep(poll_seconds)


def started_pods(record: WorkflowRecord) -> list[tuple[str, str]]:
    """(node id, pod name) of every Pod node that has left Pending, in start order."""
    pods = []
    for node in sorted(record.nodes.values(), key=lambda node: node.get("startedAt") or ""):
        if node.get("type") == "Pod" and node.get("phase") != PENDING:
            pods.append((node["id"], pod_name(record.name, node["name"], node_template_name(node) or None)))
    return pods


@dataclass
class _LogReader:
    """Reads what each node's log file gained since the last read, complete lines only."""

    store: WorkflowStore
    namespace: str
    name: str
    pod: str | None
    tail_lines: int | None
    container: str = MAIN_CONTAINER
    offsets: dict[str, int] = field(default_factory=dict)
    partial: dict[str, bytes] = field(default_factory=dict)
    first_read: bool = True

    def read(self, started: list[tuple[str, str]]) -> list[LogLine]:
        """The new lines of the started pods (of ``pod`` only, if given), sorted by timestamp."""
        batch: list[LogLine] = []
        for node_key, name_of_pod in started:
            if self.pod and name_of_pod != self.pod:
                continue
            path = self.store.log_path(self.namespace, self.name, node_key).with_name(f"{self.container}.log")
            parsed = [parse_line(line, name_of_pod) for line in self._new_lines(path, node_key)]
            if self.first_read and self.tail_lines is not None:
                parsed = parsed[-self.tail_lines:] if self.tail_lines > 0 else []
            batch.extend(parsed)
        batch.sort(key=lambda line: line.timestamp)
        self.first_read = False
        return batch

    def _new_lines(self, path: Path, key: str) -> list[str]:
        try:
            with open(path, "rb") as file:
                file.seek(self.offsets.get(key, 0))
                data = file.read()
        except OSError:
            return []
        self.offsets[key] = self.offsets.get(key, 0) + len(data)
        data = self.partial.pop(key, b"") + data
        *complete, rest = data.split(b"\n")
        if rest:
            self.partial[key] = rest
        return [line.decode("utf-8", errors="replace") for line in complete]


def parse_line(line: str, name_of_pod: str) -> LogLine:
    """A log file line (``<timestamp> <content>``) as a ``LogLine``."""
    timestamp, _, content = line.partition(" ")
    return LogLine(timestamp, content, name_of_pod)
