"""``.map(...)`` of ``%argo_dag``: one node per item, as Argo's ``withItems`` / ``withParam``.

``train(path=prep).map(lr=[0.1, 0.01])`` runs ``train`` once per value; a list known in the
notebook becomes ``withItems`` (several mapped keywords zip: item i takes the i-th value of
each), another node's output becomes ``withParam`` (the width is known only when that node has
run). Arguments of the call itself are the same for every item. A downstream task that takes
the mapped node receives the list of the items' return values, in item order (Argo collects
them; the pod decodes them, see ``pod/collected.py``).

Options of ``.map``: ``parallelism=N`` (at most N items at once: the loop runs inside a DAG
template of its own with ``parallelism: N``, as Argo bounds a loop) and ``keep_going=True``
(failed items do not fail the map: downstream gets the values of the items that succeeded).

No IPython, no Hera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .capture import TaskSpec
from .errors import DagError
from .values import item_value

MAP_OPTIONS = ("parallelism", "keep_going")
ITEMS_INPUT = "hera-magics-items"
"""The input of a map's own DAG template (``parallelism=``) that carries a ``withParam`` list."""


@dataclass(frozen=True)
class Loop:
    """How a mapped node fans out.

    ``items``: the ``withItems`` list (a value per item, or a dict of the keys per item when
    they zip); ``source``: the ``withParam`` reference (``{{tasks.X.outputs...}}``) and
    ``source_node`` the node it reads; ``parallelism`` and ``keep_going`` as given to ``.map``.
    """

    keys: tuple[str, ...]
    items: tuple[Any, ...] | None = None
    source: str | None = None
    source_node: str | None = None
    parallelism: int | None = None
    keep_going: bool = False

    @property
    def zipped(self) -> bool:
        return len(self.keys) > 1

    @property
    def wrapped(self) -> bool:
        """Whether the loop runs in a DAG template of its own (to bound its parallelism)."""
        return self.parallelism is not None

    def argument(self, key: str) -> str:
        """What input ``key`` of each item receives: Argo's ``{{item}}`` or ``{{item.key}}``."""
        return "{{item.%s}}" % key if self.zipped else "{{item}}"


def split_map_keywords(task: TaskSpec, keywords: Mapping[str, Any]) -> tuple[dict[str, Any], int | None, bool]:
    """``(mapped keywords, parallelism, keep_going)`` of a ``.map(...)`` call.

    ``parallelism`` and ``keep_going`` are options unless the task has an input of that name and
    the value is a list (then it is mapped like any input).
    """
    mapped = dict(keywords)
    options: dict[str, Any] = {}
    for name in MAP_OPTIONS:
        if name in mapped and not (task.input_named(name) is not None and _is_list_like(mapped[name])):
            options[name] = mapped.pop(name)
    parallelism = options.get("parallelism")
    if parallelism is not None and (isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1):
        raise DagError(f"{task.name}.map(parallelism={parallelism!r}): give a whole number of items, 1 or more")
    keep_going = options.get("keep_going", False)
    if not isinstance(keep_going, bool):
        raise DagError(f"{task.name}.map(keep_going={keep_going!r}): give True or False")
    if not mapped:
        raise DagError(f"{task.name}.map() has nothing to map over",
                       hint=f"give an input and its list: {task.name}.map({_first_input(task)}=[...])")
    return mapped, parallelism, keep_going


def _first_input(task: TaskSpec) -> str:
    return task.inputs[0].name if task.inputs else "x"


def _is_list_like(value: Any) -> bool:
    return isinstance(value, (list, tuple, range)) or (hasattr(value, "tolist") and not isinstance(value, str))


def as_list(task: TaskSpec, key: str, value: Any) -> list[Any]:
    """A static list to map over (a list, tuple, range or numpy/pandas 1-d values), or a ``DagError``."""
    if hasattr(value, "tolist") and not isinstance(value, (str, list, tuple)):
        value = value.tolist()
    if isinstance(value, (list, tuple, range)):
        return list(value)
    kind = type(value).__name__
    hint = f"give a list: {task.name}.map({key}=[...]), or another task whose return value is a list"
    if isinstance(value, (dict, set, frozenset)):
        hint = f"a {kind} has no item order to map over; give a list, e.g. {key}=sorted(...)"
    raise DagError(f"{task.name}.map({key}=...): a {kind} is not a list to map over", hint=hint)


def static_items(task: TaskSpec, node: str, lists: Mapping[str, list[Any]]) -> tuple[Any, ...]:
    """The ``withItems`` list of mapped keywords known in the notebook (zipped when several)."""
    lengths = {key: len(values) for key, values in lists.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key} has {length}" for key, length in lengths.items())
        raise DagError(f"node {node!r}: the mapped inputs zip item by item, so they need equal lengths: {shown}",
                       hint="give lists of the same length, or map one input and pass the others in the call")
    if not next(iter(lengths.values())):
        raise DagError(f"node {node!r}: the list to map over is empty, so there is nothing to run",
                       hint="give at least one item")
    zipped = len(lists) > 1
    columns = {key: [item_value(value, task, key, node=node, index=index, zipped=zipped)
                     for index, value in enumerate(values)] for key, values in lists.items()}
    if not zipped:
        return tuple(next(iter(columns.values())))
    count = next(iter(lengths.values()))
    return tuple({key: columns[key][index] for key in lists} for index in range(count))
