"""Names the engine makes or checks as Kubernetes and Argo's validation do (pure functions).

* Generated names: ``generateName`` plus 5 characters from Kubernetes' alphabet.
* The patterns Argo's validation applies to task, template, parameter and object names.

Node ids, pod names and times, which the notebook side reads too, are in ``hera_magics.argo``.
"""

from __future__ import annotations

import re
import secrets

# Kubernetes' rand.String alphabet: no vowels (no accidental words) and no look-alike 0/1/3.
GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATE_NAME_RANDOM_LENGTH = 5
# Kubernetes truncates generateName so that the final name stays within 63 characters.
GENERATE_NAME_MAX_PREFIX = 58


def generated_name(generate_name: str) -> str:
    """``generateName`` plus 5 random characters, as the Kubernetes API server does it."""
    prefix = generate_name[:GENERATE_NAME_MAX_PREFIX]
    suffix = "".join(secrets.choice(GENERATE_NAME_ALPHABET) for _ in range(GENERATE_NAME_RANDOM_LENGTH))
    return prefix + suffix


def dns_friendly(text: str) -> str:
    """A label value made from free text the way Argo makes the creator label.

    Lower-cased, every run of characters outside ``a-z0-9.-_`` replaced by ``-``, trimmed to
    63 characters and to an alphanumeric first and last character.
    """
    value = re.sub(r"[^a-z0-9._-]+", "-", text.lower())[:63]
    return value.strip("-._")


TASK_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
PARAMETER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
# A Kubernetes object name (DNS-1123 subdomain).
OBJECT_NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_FIELD_NAME_LENGTH = 128
MAX_OBJECT_NAME_LENGTH = 253

# A namespace is a DNS-1123 label (Kubernetes); Argo limits a workflow's name to 63 characters
# (workflow/validate/validate.go, maxCharsInObjectName: names become label values).
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAMESPACE_LENGTH = 63
# A container's name is a DNS-1123 label too (Kubernetes); the engine names its log file after it.
CONTAINER_NAME_PATTERN = NAMESPACE_PATTERN
MAX_WORKFLOW_NAME_LENGTH = 63


def namespace_problem(namespace: object) -> str | None:
    """Why ``namespace`` is not a Kubernetes namespace name (Kubernetes' wording), or None."""
    if not isinstance(namespace, str) or not namespace:
        return "a namespace is required"
    if len(namespace) > MAX_NAMESPACE_LENGTH:
        return (f"namespace \"{namespace[:20]}...\" ({len(namespace)} characters) is invalid: "
                f"must be no more than {MAX_NAMESPACE_LENGTH} characters")
    if not NAMESPACE_PATTERN.match(namespace):
        return (f"namespace \"{namespace}\" is invalid: a lowercase RFC 1123 label must consist of lower case "
                "alphanumeric characters or '-', and must start and end with an alphanumeric character")
    return None


def object_name_problem(name: object, kind: str = "workflow") -> str | None:
    """Why ``name`` is not a Kubernetes object name (a DNS-1123 subdomain), or None."""
    if not isinstance(name, str) or not name:
        return f"a {kind} name is required"
    if len(name) > MAX_OBJECT_NAME_LENGTH:
        return f"{kind} name \"{name[:20]}...\" is invalid: must be no more than {MAX_OBJECT_NAME_LENGTH} characters"
    if not OBJECT_NAME_PATTERN.match(name):
        return (f"{kind} name \"{name}\" is invalid: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    return None
