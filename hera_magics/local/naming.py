"""Names, ids and timestamps exactly as Argo and Kubernetes make them (pure functions).

* Node ids: ``<workflow>-<fnv32a(node name)>`` in decimal; the root node's id is the workflow name.
* Pod names (the "v2" scheme, Argo's default since v3.4): ``<workflow>-<template>-<same hash>``.
* Generated names: ``generateName`` plus 5 characters from Kubernetes' alphabet.
* Times: RFC 3339 with whole seconds and ``Z``, as Go's ``metav1.Time`` encodes them.
"""

from __future__ import annotations

import calendar
import re
import secrets
import time

from ..status import fnv32a  # one hash for the client and the engine: they must agree


# Kubernetes' rand.String alphabet: no vowels (no accidental words) and no look-alike 0/1/3.
GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATE_NAME_RANDOM_LENGTH = 5
# Kubernetes truncates generateName so that the final name stays within 63 characters.
GENERATE_NAME_MAX_PREFIX = 58

# Argo keeps pod names within Kubernetes' 253 characters: prefix + "-" + up to 10 digits.
POD_NAME_MAX_PREFIX = 253 - 10 - 1


def node_id(workflow_name: str, node_name: str) -> str:
    """The id Argo gives the node called ``node_name``; the root node's id is the workflow name."""
    if node_name == workflow_name:
        return workflow_name
    return f"{workflow_name}-{fnv32a(node_name)}"


def pod_name(workflow_name: str, node_name: str, template_name: str | None) -> str:
    """The v2 pod name of a Pod node (what the log endpoint's ``podName`` must be)."""
    if node_name == workflow_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    return f"{prefix[:POD_NAME_MAX_PREFIX]}-{fnv32a(node_name)}"


def generated_name(generate_name: str) -> str:
    """``generateName`` plus 5 random characters, as the Kubernetes API server does it."""
    prefix = generate_name[:GENERATE_NAME_MAX_PREFIX]
    suffix = "".join(secrets.choice(GENERATE_NAME_ALPHABET) for _ in range(GENERATE_NAME_RANDOM_LENGTH))
    return prefix + suffix


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


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 UTC time (with or without fractional seconds)."""
    match = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = float(match.group(7)) if match.group(7) else 0.0
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + fraction
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


def dns_friendly(text: str) -> str:
    """A label value made from free text the way Argo makes the creator label.

    Lower-cased, every run of characters outside ``a-z0-9.-_`` replaced by ``-``, trimmed to
    63 characters and to an alphanumeric first and last character.
    """
    value = re.sub(r"[^a-z0-9._-]+", "-", text.lower())[:63]
    return value.strip("-._")


TASK_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
TEMPLATE_NAME_PATTERN = TASK_NAME_PATTERN
PARAMETER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
# A Kubernetes object name (DNS-1123 subdomain).
OBJECT_NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_FIELD_NAME_LENGTH = 128
MAX_OBJECT_NAME_LENGTH = 253
