"""A DAG task or a step about to run: its ``when``, its arguments and its loop, resolved.

DAG tasks and steps are decided the same way in Argo's controller (``workflow/controller/`` of
argoproj/argo-workflows, v4.0.5):

* ``resolve``: ``when`` first (a false one stops there, the rest unresolved), then the
  arguments and the loop fields (``resolveDependencyReferences`` in ``dag.go``,
  ``resolveReferences`` in ``steps.go``);
* ``loop_items``: the items of ``withItems``, ``withParam`` or ``withSequence``; when ``when``
  already said no, what cannot be read is no items (``expandTask``, ``expandStep``);
* ``plan_items``: per item, its node name ``NAME(INDEX:LABEL)``, its arguments and its own
  ``when`` (``processItem``).

The lookup given is the caller's scope (a DAG's ``tasks.*``, a steps template's ``steps.*``);
it raises what it likes for a reference that has no value yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..argo import ERROR, SKIPPED
from .expressions import ExpressionError, evaluate_when
from .loops import LoopError, LoopItem, loop_item, param_items, sequence_items
from .parameters import ResolutionError, parameter_text, resolve_task_arguments
from .spec import task_loops
from .templating import ExpressionTag, UnresolvedReference, substitute

Lookup = Callable[[str], "str | None"]


@dataclass
class Resolution:
    """A task or step after its references resolved (``when`` may already have said no)."""

    arguments: dict[str, Any]
    when: str | None
    proceed: bool | None
    loop: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedItem:
    """One item of a looped task or step: its node, its arguments, and whether it runs."""

    name: str
    display_name: str
    arguments: dict[str, Any]
    phase: str | None = None  # Skipped or Error when it does not run
    message: str | None = None


def when_false_message(when: str) -> str:
    """The message of a node whose ``when`` was false (``executeStepGroup``, ``executeDAGTask``)."""
    return f"when '{when}' evaluated false"


def invalid_when_message(when: str, error: ExpressionError) -> str:
    return f"Invalid 'when' expression '{when}': {error}"


def resolve(task: dict[str, Any], lookup: Lookup) -> Resolution:
    """``when`` first (a false one ends here), then the arguments and the loop fields.

    Raises ``ResolutionError`` for a reference without a value or an invalid ``when`` (a loop's
    ``{{item...}}`` stay as written, and a ``when`` that reads them is decided per item), and
    whatever ``lookup`` raises.
    """
    loops = task_loops(task)
    if loops:
        lookup = keep_items(lookup)
    when_text = task.get("when")
    when, proceed = None, None
    try:
        if when_text:
            when = substitute(str(when_text), lookup)
            try:
                # A loop's when may read {{item}}: it is decided per item (govaluate fails on it).
                proceed = None if loops and "{{item" in when else evaluate_when(when)
            except ExpressionError as error:
                if not loops:
                    raise ResolutionError(invalid_when_message(when, error)) from None
            if proceed is False:
                return Resolution({}, when, False, raw_loop_fields(task))
        arguments = resolve_task_arguments(task, lookup)
        loop = substituted_loop_fields(task, lookup)
    except (UnresolvedReference, ExpressionTag) as error:
        raise ResolutionError(str(error)) from None
    return Resolution(arguments, when if when is not None else when_text, proceed, loop)


def keep_items(lookup: Lookup) -> Lookup:
    """``lookup`` that leaves ``{{item...}}`` as written (resolved per item later)."""
    def keeping(tag: str) -> str | None:
        if tag == "item" or tag.startswith("item."):
            return "{{" + tag + "}}"
        return lookup(tag)
    return keeping


def loop_items(resolution: Resolution) -> list[LoopItem]:
    """The items; when ``when`` already said no, what cannot be read is no items."""
    loop = resolution.loop
    try:
        if loop.get("withItems"):
            values = list(loop["withItems"])
        elif loop.get("withParam"):
            values = param_items(loop["withParam"])
        else:
            values = sequence_items(loop.get("withSequence") or {})
    except LoopError:
        if resolution.proceed is False:
            return []
        raise
    return [loop_item(index, value) for index, value in enumerate(values)]


def plan_items(parent_name: str, name: str, resolution: Resolution, items: list[LoopItem],
               lookup: Lookup) -> list[PlannedItem]:
    """Per item: its node name (below ``parent_name``), arguments, and whether its ``when`` lets
    it run. Raises ``ResolutionError`` when an ``{{item...}}`` does not resolve."""
    planned = []
    for item in items:
        item_lookup = _with_item(item.variables, lookup)
        display_name = f"{name}{item.node_suffix()}"
        entry = PlannedItem(f"{parent_name}.{display_name}", display_name, {})
        planned.append(entry)
        if resolution.proceed is False:
            entry.phase, entry.message = SKIPPED, when_false_message(str(resolution.when))
            continue
        try:
            entry.arguments = resolve_task_arguments({"arguments": resolution.arguments}, item_lookup)
            when = substitute(str(resolution.when), item_lookup) if resolution.when else None
        except (UnresolvedReference, ExpressionTag) as error:
            raise ResolutionError(str(error)) from None
        if when is None:
            continue
        try:
            if not evaluate_when(when):
                entry.phase, entry.message = SKIPPED, when_false_message(when)
        except ExpressionError as error:
            entry.phase, entry.message = ERROR, invalid_when_message(when, error)
    return planned


def _with_item(values: dict[str, str], lookup: Lookup) -> Lookup:
    def item_lookup(tag: str) -> str | None:
        if tag in values:
            return values[tag]
        return lookup(tag)
    return item_lookup


def substituted_loop_fields(task: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """The loop fields with their references substituted (``withItems`` stays as written)."""
    loop: dict[str, Any] = {}
    if task.get("withItems"):
        loop["withItems"] = task["withItems"]
    elif task.get("withParam"):
        loop["withParam"] = substitute(parameter_text(task["withParam"]), lookup)
    elif task.get("withSequence") is not None:
        loop["withSequence"] = {key: substitute(parameter_text(value), lookup)
                                for key, value in (task["withSequence"] or {}).items() if value is not None}
    return loop


def raw_loop_fields(task: dict[str, Any]) -> dict[str, Any]:
    """The loop fields as written (what the expansion sees after a false ``when``)."""
    loop: dict[str, Any] = {}
    for key in ("withItems", "withParam", "withSequence"):
        if task.get(key) not in (None, "", []):
            loop[key] = task[key] if key != "withParam" else parameter_text(task[key])
            break
    return loop


__all__ = [
    "PlannedItem",
    "Resolution",
    "invalid_when_message",
    "keep_items",
    "loop_items",
    "plan_items",
    "raw_loop_fields",
    "resolve",
    "substituted_loop_fields",
    "when_false_message",
]
