"""Kubernetes label selectors and Argo's ``fields`` response filter (pure functions).

Label selectors: comma-separated requirements, each ``key``, ``!key``, ``key=value``,
``key==value``, ``key!=value``, ``key in (a,b)`` or ``key notin (a,b)``; all must hold.

``fields`` (Argo's ``util/fields``): a comma-separated list of dotted paths; a leading ``-``
turns the whole list into exclusions. Inclusion keeps a key when its path is a listed path or
lies on the way to one (``status.phase`` keeps ``status`` and, inside it, only ``phase``);
exclusion drops exactly the listed paths. Lists are transparent: ``items.metadata.name`` reaches
into every element of ``items``.

Argo decodes the filtered map back into its Go structs before answering, so struct fields that
are never omitted come back as zero values (``"startedAt": null``, ``"type": ""``);
``restore_workflow_zero_fields`` and ``restore_list_zero_fields`` reproduce that.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Mapping


class SelectorError(ValueError):
    """A label selector that cannot be parsed."""


@dataclass(frozen=True)
class Requirement:
    """One label requirement: ``operator`` is exists, !exists, =, !=, in or notin."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        # != and notin also match objects that lack the label, as in Kubernetes.
        return not present or value not in self.values


_LABEL_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_LABEL_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, current = [], 0, []
    for character in text:
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in {text!r}")
        if character == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    if depth:
        raise SelectorError(f"unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


def _check_key(key: str, whole: str) -> str:
    if not re.fullmatch(_LABEL_KEY, key):
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r} in {whole!r}")
    return key


def _check_value(value: str, whole: str) -> str:
    if not re.fullmatch(_LABEL_VALUE, value):
        raise SelectorError(f"unable to parse requirement: invalid label value {value!r} in {whole!r}")
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a selector; the empty selector matches everything."""
    requirements: list[Requirement] = []
    if not text.strip():
        return requirements
    for raw in _split_requirements(text):
        part = raw.strip()
        if not part:
            raise SelectorError(f"unable to parse requirement: empty requirement in {text!r}")
        set_match = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", part)
        if set_match:
            key = _check_key(set_match.group(1), text)
            values = tuple(_check_value(value.strip(), text) for value in set_match.group(3).split(","))
            requirements.append(Requirement(key, set_match.group(2), values))
            continue
        equality = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", part)
        if equality:
            key = _check_key(equality.group(1), text)
            operator = "!=" if equality.group(2) == "!=" else "="
            requirements.append(Requirement(key, operator, (_check_value(equality.group(3), text),)))
            continue
        if part.startswith("!"):
            requirements.append(Requirement(_check_key(part[1:].strip(), text), "!exists"))
            continue
        requirements.append(Requirement(_check_key(part, text), "exists"))
    return requirements


def labels_match(requirements: list[Requirement], labels: Mapping[str, str] | None) -> bool:
    """True when every requirement holds for ``labels``."""
    labels = labels or {}
    return all(requirement.matches(labels) for requirement in requirements)


def parse_field_selector(text: str) -> list[tuple[str, str, str]]:
    """``metadata.name=x,metadata.namespace!=y`` as (field, operator, value) triples."""
    selectors = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", part)
        if not match:
            raise SelectorError(f"invalid field selector {part!r}")
        selectors.append((match.group(1), "!=" if match.group(2) == "!=" else "=", match.group(3)))
    return selectors


def field_value(document: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path, or None."""
    current: Any = document
    for key in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


# ----------------------------------------------------------------------------------------------
# fields
# ----------------------------------------------------------------------------------------------


def parse_fields(text: str) -> tuple[bool, list[str]]:
    """(exclude, paths) for a ``fields`` value; a leading ``-`` makes every path an exclusion."""
    text = text.strip()
    exclude = text.startswith("-")
    if exclude:
        text = text[1:]
    paths = [path.strip().lstrip("-") if exclude else path.strip() for path in text.split(",")]
    return exclude, [path for path in paths if path]


def _on_the_way(path: str, paths: list[str]) -> bool:
    """True when ``path`` is a proper dotted prefix of a listed path."""
    return any(candidate.startswith(path + ".") for candidate in paths)


def _filter(value: Any, path: str, exclude: bool, paths: list[str]) -> Any:
    if isinstance(value, list):
        return [_filter(item, path, exclude, paths) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if child in paths:
            if not exclude:
                kept[key] = item
            continue
        if _on_the_way(child, paths):
            kept[key] = _filter(item, child, exclude, paths)
        elif exclude:
            kept[key] = item
    return kept


def filter_fields(document: Any, fields: str | None) -> Any:
    """A filtered deep copy of ``document``; an empty ``fields`` returns it whole."""
    if not fields or not fields.strip():
        return copy.deepcopy(document)
    exclude, paths = parse_fields(fields)
    if not paths:
        return copy.deepcopy(document)
    return copy.deepcopy(_filter(document, "", exclude, paths))


# Go struct fields without omitempty (or struct-typed, where omitempty does nothing).
_NODE_ZERO_FIELDS: dict[str, Any] = {"id": "", "name": "", "type": "", "startedAt": None, "finishedAt": None}


def restore_workflow_zero_fields(workflow: dict[str, Any]) -> dict[str, Any]:
    """Put back the zero values Go's encoder writes for a filtered Workflow (in place)."""
    metadata = workflow.setdefault("metadata", {})
    metadata.setdefault("creationTimestamp", None)
    workflow.setdefault("spec", {})
    status = workflow.setdefault("status", {})
    status.setdefault("startedAt", None)
    status.setdefault("finishedAt", None)
    nodes = status.get("nodes")
    if isinstance(nodes, dict):
        for node in nodes.values():
            if isinstance(node, dict):
                for key, zero in _NODE_ZERO_FIELDS.items():
                    node.setdefault(key, zero)
    return workflow


def restore_list_zero_fields(listing: dict[str, Any]) -> dict[str, Any]:
    """Same for a WorkflowList: ``metadata`` is always there and ``items`` is null when empty."""
    listing.setdefault("metadata", {})
    items = listing.get("items")
    if not items:
        listing["items"] = None
    else:
        for item in items:
            restore_workflow_zero_fields(item)
    return listing
