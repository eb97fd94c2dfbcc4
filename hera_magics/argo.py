"""Argo's vocabulary: phases, node types, labels, ids, pod names and times, defined once.

The notebook side (status rows, the widget, ``WorkflowRun``) reads what an Argo Server writes,
and the local engine writes what Argo's controller would. Both import these names from here, so
the two sides cannot drift apart: a pod name the engine gives is the pod name the client asks
the log endpoint for.

Sources in Argo's repository: phases ``pkg/apis/workflow/v1alpha1/workflow_types.go``; node ids
and pod names ``workflow/util/pod_name.go``; progress ``workflow/progress/updater.go``.

This module imports nothing from the package (it is a leaf both sides may use).
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import date, datetime, timezone
from typing import Any, Mapping

# -- phases -----------------------------------------------------------------------------------

PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
ERROR = "Error"
SKIPPED = "Skipped"
OMITTED = "Omitted"

FINAL_PHASES = frozenset({SUCCEEDED, FAILED, ERROR})
"""Workflow phases after which nothing changes any more (Argo's "completed")."""

FAILED_PHASES = frozenset({FAILED, ERROR})
"""Node phases that mean the task did not do its work."""

NOT_RUN_PHASES = frozenset({SKIPPED, OMITTED})
"""Node phases of tasks that never ran (``when`` false, or ``depends`` not met)."""

DONE_PHASES = frozenset({SUCCEEDED, SKIPPED, OMITTED})
"""Node phases that Argo's ``progress`` counts as done."""

FULFILLED_PHASES = FINAL_PHASES | NOT_RUN_PHASES
"""Node phases after which a node never changes (Argo's ``Fulfilled()``)."""

# -- node types -------------------------------------------------------------------------------

CONTAINER_NODE_TYPES = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup"})
"""Node types that only group other nodes."""

EXECUTABLE_NODE_TYPES = frozenset({"Pod", "Container", "HTTP", "Plugin", "Suspend"})
"""Node types Argo counts in ``progress``."""

# -- messages Argo writes, word for word --------------------------------------------------------

OMITTED_MESSAGE = "omitted: depends condition not met"

# The controller's own (``workflow/controller/operator.go``).
NO_MORE_RETRIES_MESSAGE = "No more retries left"
MAX_DURATION_MESSAGE = "Max duration limit exceeded"
WORKFLOW_DEADLINE_MESSAGE = "Step exceeded its deadline"
MAX_RECURSION_DEPTH_MESSAGE = ("Maximum recursion depth exceeded. "
                               "See https://argo-workflows.readthedocs.io/en/latest/scaling/#maximum-recursion-depth")
# Kubernetes' kubelet writes this when a pod outlives ``activeDeadlineSeconds``; Argo passes it on.
POD_DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def shutdown_node_message(strategy: str) -> str:
    """What a node stopped by ``spec.shutdown`` says (``Stop`` or ``Terminate``)."""
    # Argo's format string has two spaces here; clients match it, so keep them.
    return f"workflow shutdown with strategy:  {strategy}"


def shutdown_workflow_message(strategy: str) -> str:
    """What a workflow stopped by ``spec.shutdown`` says."""
    return f"Stopped with strategy '{strategy}'"


# -- labels and annotations ---------------------------------------------------------------------

LABEL_PHASE = "workflows.argoproj.io/phase"
LABEL_COMPLETED = "workflows.argoproj.io/completed"
LABEL_CREATOR = "workflows.argoproj.io/creator"
LABEL_RESUBMITTED_FROM = "workflows.argoproj.io/resubmitted-from-workflow"
ARGO_LABEL_PREFIX = "workflows.argoproj.io/"
"""Argo's own labels start with this; a resubmitted workflow does not copy them."""
POD_NAME_FORMAT_ANNOTATION = "workflows.argoproj.io/pod-name-format"

# -- names ------------------------------------------------------------------------------------

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
"""A template, task or claim name: letters, digits and '-', starting and ending alphanumeric."""

MAX_NAME_LENGTH = 63
"""The longest such name (a Kubernetes label value)."""

# -- ids and pod names ------------------------------------------------------------------------------

_FNV32_OFFSET_BASIS = 2166136261
_FNV32_PRIME = 16777619

MAX_POD_NAME_PREFIX = 253 - 10 - 1
"""Kubernetes names are at most 253 characters; the pod name's hash suffix takes up to 10 digits
plus a dash, so Argo cuts the ``<workflow>-<template>`` prefix to 242 characters."""


def fnv32a(text: str) -> int:
    """The 32-bit FNV-1a hash of ``text``'s UTF-8 bytes, as Argo uses in node ids and pod names."""
    value = _FNV32_OFFSET_BASIS
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * _FNV32_PRIME) % 2**32
    return value


def node_id(workflow_name: str, node_name: str) -> str:
    """The id Argo gives the node called ``node_name``; the root node's id is the workflow name."""
    if node_name == workflow_name:
        return workflow_name
    return f"{workflow_name}-{fnv32a(node_name)}"


def pod_name(workflow_name: str, node_name: str, template_name: str | None) -> str:
    """The "v2" pod name of a Pod node (Argo's default since v3.4).

    The workflow name for the root node, else ``<workflow>-<template>-<fnv32a(node name)>`` with
    the prefix cut to 242 characters (without a template: ``<workflow>-<hash>``, the node id).
    """
    if node_name == workflow_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    return f"{prefix[:MAX_POD_NAME_PREFIX]}-{fnv32a(node_name)}"


def node_template_name(node: Mapping[str, Any]) -> str:
    """The template a node ran: ``templateName``, else ``templateRef.template``, else ``""``."""
    if node.get("templateName"):
        return str(node["templateName"])
    reference = node.get("templateRef") or {}
    return str(reference.get("template") or "") if isinstance(reference, Mapping) else ""


def pod_name_of_node(workflow_name: str, node: Mapping[str, Any], *, version: str = "v2") -> str:
    """The pod name of a node as the server reports it: ``v1`` is the node id, ``v2`` as above."""
    identifier = str(node.get("id") or "")
    name = str(node.get("name") or "")
    if version == "v1" or not name:
        return identifier
    return pod_name(workflow_name, name, node_template_name(node) or None)


def pod_name_version(workflow: Mapping[str, Any]) -> str:
    """The workflow's pod-name format: ``"v1"`` if its annotation says so, else ``"v2"``."""
    annotations = (workflow.get("metadata") or {}).get("annotations") or {}
    return "v1" if annotations.get(POD_NAME_FORMAT_ANNOTATION) == "v1" else "v2"


# -- times ----------------------------------------------------------------------------------------


def rfc3339(timestamp: float | None = None) -> str:
    """Whole-second UTC time with ``Z``, e.g. ``2024-08-13T23:59:20Z`` (how Argo encodes times)."""
    moment = time.time() if timestamp is None else timestamp
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def rfc3339_nano(timestamp: float) -> str:
    """UTC time with nanoseconds, the form Kubernetes puts in front of log lines (timestamps=true)."""
    whole = int(timestamp)
    nanoseconds = int(round((timestamp - whole) * 1e9))
    if nanoseconds >= 1_000_000_000:
        whole, nanoseconds = whole + 1, nanoseconds - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanoseconds:09d}Z"


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (any fraction of a second, any offset).

    Raises ``ValueError`` for anything else; ``parse_time`` is the forgiving form for display.
    """
    match = _RFC3339.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = float(match.group(7)) if match.group(7) else 0.0
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + fraction
    zone = match.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


def parse_time(value: Any) -> datetime | None:
    """An Argo time (RFC 3339 string, ``datetime``, or ``None``/``""``) as an aware UTC datetime.

    A naive ``datetime`` (what ``yaml.safe_load`` gives for ``2019-06-26T09:11:58Z``) is taken to
    be UTC, which is what Argo writes; fractions finer than microseconds are cut. Anything
    unreadable gives ``None`` rather than an error: a status table must not break on one odd field.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python before 3.11 accepts only 3 or 6 fractional digits; normalise to 6.
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        head, fraction, zone = match.groups()
        if fraction:
            fraction = (fraction[1:] + "000000")[:6]
            text = f"{head}.{fraction}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
