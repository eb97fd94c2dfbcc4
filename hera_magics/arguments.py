"""Checks at the public Python boundary: every argument's type and value, with its name in the message.

``Session``, ``WorkflowRun``, ``ArgoClient`` and the config functions check what they are given
before they do anything (send a request, start the engine, write a file), so a mistake ends in
a short ``ArgumentTypeError`` (a ``TypeError``) or ``ArgumentValueError`` (a ``ValueError``)
that names the method and the argument, never deep inside ``requests`` or ``urllib``::

    check = Arguments("ArgoClient.get_workflow")
    name = check.workflow_name("name", name)
    namespace = check.namespace("namespace", namespace, optional=True)

Rules shared by every check: ``None`` is accepted only where ``optional=True``; a string is
never empty; a ``bool`` is not a number (``timeout=True`` is a mistake, not one second). A value
that may be secret is never quoted: only its type is named.

Kubernetes names are checked here too (:data:`NAMESPACE_PATTERN`, :data:`NAME_PATTERN`): a
namespace or a workflow name becomes part of a URL path on the notebook side and a folder in the
local engine, so ``../x`` or ``a/b`` must be refused before it is sent.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Mapping, TypeVar

from .errors import ArgumentTypeError, ArgumentValueError

NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A Kubernetes namespace: an RFC 1123 label (lower-case letters, digits and ``-``)."""

NAMESPACE_MAX_LENGTH = 63

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A Kubernetes object name (workflow, pod): an RFC 1123 subdomain (labels joined by ``.``)."""

NAME_MAX_LENGTH = 253

NAMESPACE_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
NAME_RULE = "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"

Kind = TypeVar("Kind")


def is_namespace(text: str) -> bool:
    """True when ``text`` is a valid Kubernetes namespace."""
    return len(text) <= NAMESPACE_MAX_LENGTH and bool(NAMESPACE_PATTERN.match(text))


def is_object_name(text: str) -> bool:
    """True when ``text`` is a valid Kubernetes object name (a workflow's, a pod's)."""
    return len(text) <= NAME_MAX_LENGTH and bool(NAME_PATTERN.match(text))


def describe(value: Any) -> str:
    """How a wrong value is named in a message: ``None``, ``an int (42)``, ``a list`` — never a
    string's content (it may be a token)."""
    if value is None:
        return "None"
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    if isinstance(value, (bool, int, float)):
        return f"{article} {kind} ({value!r})"
    return f"{article} {kind}"


def quoted(text: str, limit: int = 60) -> str:
    """A name quoted for a message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class Arguments:
    """The argument checks of one public function; ``where`` (e.g. ``"WorkflowRun.wait"``)
    starts every message."""

    def __init__(self, where: str) -> None:
        self.where = where

    # -- failures -------------------------------------------------------------------------------

    def wrong_type(self, argument: str, value: Any, expected: str) -> ArgumentTypeError:
        return ArgumentTypeError(
            f"{self.where}: {argument} must be {expected}, not {describe(value)}", argument=argument
        )

    def wrong_value(self, argument: str, problem: str, hint: str | None = None) -> ArgumentValueError:
        return ArgumentValueError(f"{self.where}: {argument} {problem}", argument=argument, hint=hint)

    # -- checks ---------------------------------------------------------------------------------

    def text(self, argument: str, value: Any, *, optional: bool = False, what: str = "a str") -> Any:
        """A non-empty ``str`` (or ``None`` when optional); returned unchanged."""
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.wrong_type(argument, value, what)
        if not value.strip():
            raise self.wrong_value(argument, "must not be empty" if not value else "must not be blank")
        return value

    def namespace(self, argument: str, value: Any, *, optional: bool = False) -> Any:
        """A Kubernetes namespace (or ``None`` when optional)."""
        if self.text(argument, value, optional=optional, what="a namespace (a str)") is None:
            return None
        if not is_namespace(value):
            raise self.wrong_value(argument, f"{quoted(value)} is not a Kubernetes namespace: {NAMESPACE_RULE}")
        return value

    def workflow_name(self, argument: str, value: Any, *, optional: bool = False) -> Any:
        """A Kubernetes object name, as workflows and pods have (or ``None`` when optional)."""
        if self.text(argument, value, optional=optional, what="a workflow name (a str)") is None:
            return None
        if not is_object_name(value):
            raise self.wrong_value(argument, f"{quoted(value)} is not a Kubernetes name: {NAME_RULE}")
        return value

    def number(
        self, argument: str, value: Any, *, optional: bool = False, minimum: float = 0.0, above: bool = False,
        what: str = "a number",
    ) -> Any:
        """An ``int`` or ``float`` (not NaN) of at least ``minimum`` (more than it when ``above``)."""
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong_type(argument, value, what)
        if math.isnan(value) or (above and value <= minimum) or value < minimum:
            bound = f"more than {minimum:g}" if above else f"at least {minimum:g}"
            raise self.wrong_value(argument, f"must be {bound}, not {value!r}")
        return value

    def whole_number(self, argument: str, value: Any, *, optional: bool = False, minimum: int = 0) -> Any:
        """An ``int`` (not a ``bool``) of at least ``minimum``."""
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(argument, value, "a whole number (an int)")
        if value < minimum:
            raise self.wrong_value(argument, f"must be at least {minimum}, not {value!r}")
        return value

    def flag(self, argument: str, value: Any, *, optional: bool = False) -> Any:
        """``True`` or ``False`` (or ``None`` when optional): ``"no"`` is not ``False``."""
        if value is None and optional:
            return None
        if not isinstance(value, bool):
            raise self.wrong_type(argument, value, "True or False")
        return value

    def mapping(self, argument: str, value: Any, *, optional: bool = False, what: str = "a dict") -> Any:
        """A ``Mapping`` (a ``dict``...)."""
        if value is None and optional:
            return None
        if not isinstance(value, Mapping):
            raise self.wrong_type(argument, value, what)
        return value

    def instance(self, argument: str, value: Any, kind: type[Kind], *, optional: bool = False,
                 what: str | None = None) -> Kind | None:
        """An instance of ``kind``."""
        if value is None and optional:
            return None
        if not isinstance(value, kind):
            raise self.wrong_type(argument, value, what or f"a {kind.__name__}")
        return value

    def path(self, argument: str, value: Any, *, optional: bool = False) -> Any:
        """A file path: a non-empty ``str`` or an ``os.PathLike``."""
        if value is None and optional:
            return None
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
            if isinstance(value, bytes):
                raise self.wrong_type(argument, value, "a path (a str or a pathlib.Path)")
        return self.text(argument, value, what="a path (a str or a pathlib.Path)")
