"""The names a ``%argo_dag`` expression works with: registered tasks and the nodes made from them.

In the expression every registered task is a ``TaskHandle``. Calling it makes a node
(``train(lr=0.1)`` → a ``NodeHandle``); ``>>`` makes edges; passing a node as an argument passes
its return value (``b(x=a)``) or what it printed (``b(x=a.result)``); ``.map(...)`` fans a node
out (``mapping``), ``.when(...)`` makes it conditional (``conditions``), ``.named("x")`` names
it. Everything is recorded in the ``DagBuilder`` (``hera_magics.dag``), which checks the whole.

No IPython, no Hera.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from .annotations import describe, kinds_meet
from .capture import TaskSpec, closest_names
from .conditions import Condition, Operand, compare, literal_operand, truth_of
from .errors import DagError
from .mapping import Loop, as_list, split_map_keywords, static_items
from .pod.contract import COLLECTED_PREFIX, RETURN_PARAMETER
from .pod.datafiles import file_reference, return_value_path
from .values import check_annotation, parameter_text

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .dag import DagBuilder

WORKFLOW_NAME = "{{workflow.name}}"
# Notebook values bigger than this go through the data volume when the task has one.
LARGEST_PARAMETER_BYTES = 32 * 1024


class ArgoReference(str):
    """An Argo expression we made on purpose (``{{tasks.a.outputs.result}}``): passed to Argo as is.

    Any other argument text that contains ``{{`` is the user's data, which Argo would try to
    substitute; it travels encoded instead (``values.parameter_text``).
    """


class CollectedReference(ArgoReference):
    """A map's outputs (``COLLECTED_PREFIX`` + Argo's reference): the pod makes it the list of return values."""


class _Compared:
    """Comparisons that make a ``Condition`` (``evaluate > 0.9``) for ``.when(...)``.

    Only what a condition can compare with makes one: a library holding the text (Hera's
    ``Parameter`` compares its value with a sentinel object) still gets a plain answer.
    """

    def _operand(self) -> Operand:
        raise NotImplementedError

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return _compare(self, other, "==") if _comparable(other) else NotImplemented

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return _compare(self, other, "!=") if _comparable(other) else NotImplemented

    def __lt__(self, other: Any) -> Any:
        return _compare(self, other, "<")

    def __le__(self, other: Any) -> Any:
        return _compare(self, other, "<=")

    def __gt__(self, other: Any) -> Any:
        return _compare(self, other, ">")

    def __ge__(self, other: Any) -> Any:
        return _compare(self, other, ">=")


class OutputReference(_Compared, ArgoReference):
    """What a node printed (``a.result``): Argo's ``outputs.result``, usable in ``.when(a.result == "ok")``."""

    node_name: str

    def __new__(cls, node_name: str) -> OutputReference:
        reference = super().__new__(cls, "{{tasks.%s.outputs.result}}" % node_name)
        reference.node_name = node_name
        return reference

    __hash__ = str.__hash__

    def _operand(self) -> Operand:
        return Operand(str(self), (self.node_name,), "printed", f"{self.node_name}.result")


def _comparable(other: Any) -> bool:
    return isinstance(other, (str, int, float, bool, _Chainable, Condition))


def _compare(left: Any, other: Any, operator: str) -> Condition:
    right = other._operand() if isinstance(other, (_Chainable, OutputReference)) else literal_operand(other)
    return compare(left._operand(), operator, right)


def _a(kind: str) -> str:
    return ("an " if kind[:1].lower() in "aeiou" else "a ") + kind


def _nodes_of(value: Any, *, side: str) -> list[str]:
    if isinstance(value, TaskHandle):
        return [value._node(bare=True).node_name]
    if isinstance(value, NodeHandle):
        return [value.node_name]
    if isinstance(value, (list, tuple)):
        names: list[str] = []
        for item in value:
            if isinstance(item, (list, tuple)):
                raise DagError("nested lists are not allowed in >>; write a >> [b, c] >> d")
            names.extend(_nodes_of(item, side=side))
        return names
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    raise DagError(
        f"the {side} side of >> is {shown} ({_a(type(value).__name__)}), not a task",
        hint="write task >> task, task >> [task, task] or [task, task] >> task",
    )


class _Chainable(_Compared):
    """``>>`` as in Hera (``a >> b`` makes b depend on a and returns b), and comparisons for ``.when``."""

    _builder: DagBuilder

    def __str__(self) -> str:
        # f"{a}" would silently pass the text "<task a>" (and not make a a node).
        name = self._task.name if isinstance(self, TaskHandle) else getattr(self, "node_name", "a")
        raise DagError(
            f"`{name}` is a task; it cannot be turned into text inside a DAG expression",
            hint=f"pass {name} itself as an argument (its return value) or {name}.result (what it printed)",
        )

    def __format__(self, spec: str) -> str:
        return self.__str__()

    def _node_names(self) -> list[str]:
        raise NotImplementedError

    def __rshift__(self, other: Any) -> Any:
        downstream = _nodes_of(other, side="right")
        for upstream in self._node_names():
            for name in downstream:
                self._builder.add_edge(upstream, name)
        if isinstance(other, TaskHandle):
            return other._node(bare=True)
        return other

    def __rrshift__(self, other: Any) -> Any:
        upstream = _nodes_of(other, side="left")
        for name in self._node_names():
            for before in upstream:
                self._builder.add_edge(before, name)
        return self if isinstance(self, NodeHandle) else self._node(bare=True)  # type: ignore[attr-defined]

    def __lshift__(self, other: Any) -> Any:
        upstream = _nodes_of(other, side="right")
        for name in self._node_names():
            for before in upstream:
                self._builder.add_edge(before, name)
        return other

    # A node stands for its return value in a comparison (``_Compared``): evaluate > 0.9 is a Condition.
    __hash__ = object.__hash__

    def __invert__(self) -> Condition:
        """``~check``: the task did not return true."""
        return ~truth_of(self._operand())

    def __and__(self, other: Any) -> Any:
        raise DagError("`&` combines conditions; put each comparison in parentheses",
                       hint=".when((evaluate > 0.9) & (size < 100))")

    __rand__ = __or__ = __ror__ = __and__

    def __bool__(self) -> bool:
        return True


class NodeHandle(_Chainable):
    """One node of the DAG, as returned by calling a task."""

    def __init__(self, builder: DagBuilder, node_name: str) -> None:
        self._builder = builder
        self.node_name = node_name

    def _node_names(self) -> list[str]:
        return [self.node_name]

    @property
    def name(self) -> str:
        return self.node_name

    @property
    def _spec(self) -> Any:
        return self._builder.nodes[self.node_name]

    @property
    def result(self) -> str:
        """This node's stdout (Argo ``outputs.result``)."""
        if self._spec.loop is not None:
            raise DagError(f"{self.node_name} is a map: what its items printed cannot be collected",
                           hint=f"pass {self.node_name} itself: the list of the items' return values")
        self._builder.mark_used(self.node_name)
        return OutputReference(self.node_name)

    @property
    def value(self) -> str:
        """This node's return value (the ``return`` output parameter); a map's: the list of them."""
        node = self._spec
        task = node.task
        self._builder.mark_used(self.node_name)
        if node.loop is not None:
            if not task.has_return:
                raise DagError(f"{self.node_name} maps a script task, whose printed output cannot be collected",
                               hint=f"make {task.name} a function that returns its value")
            reference = ("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, RETURN_PARAMETER) if node.loop.wrapped
                         else "{{tasks.%s.outputs.parameters}}" % self.node_name)
            return CollectedReference(COLLECTED_PREFIX + reference)
        if not task.has_return:
            # A script task's only output is what it prints.
            return self.result
        if task.options.data_volume is not None:
            return ArgoReference(json.dumps(file_reference(return_value_path(WORKFLOW_NAME, self.node_name))))
        return ArgoReference("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, RETURN_PARAMETER))

    def get_parameter(self, name: str) -> str:
        self._builder.mark_used(self.node_name)
        return ArgoReference("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, name))

    def _operand(self) -> Operand:
        node = self._spec
        task = node.task
        if node.loop is not None:
            raise DagError(f"{self.node_name} is a map: it hands on a list (a value per item), and a condition "
                           "compares one value", hint="compare what a task that takes the list returns, e.g. "
                           f"best(scores={self.node_name}) > 0.9")
        if task.options.data_volume is not None:
            raise DagError(f"{self.node_name} returns its value through the data volume, which a condition cannot "
                           "read", hint="compare the result of a task without --data-volume")
        self._builder.mark_used(self.node_name)
        if task.has_return:
            return Operand("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, RETURN_PARAMETER),
                           (self.node_name,), "value", self.node_name, task.returns)
        return OutputReference(self.node_name)._operand()

    def named(self, name: str) -> NodeHandle:
        """Give this node its own name (another node of the same task, or a name people read)."""
        self._builder.rename(self.node_name, name)
        self.node_name = name
        return self

    def map(self, **keywords: Any) -> NodeHandle:
        """One node per item: ``train(path=p).map(lr=[0.1, 0.01], parallelism=2, keep_going=True)``."""
        node = self._spec
        task = node.task
        if node.used:
            raise DagError(f"map node {self.node_name!r} where you make it, before it is used",
                           hint=f"write {task.name}(...).map(...) >> ..., then use it")
        if node.loop is not None:
            raise DagError(f"node {self.node_name!r} is mapped twice", hint="give every mapped input to one .map(...)")
        if task.options.data_volume is not None:
            raise DagError(f"{task.name} has --data-volume, and its items would share one file on the volume",
                           hint="a map's items return their values as parameters: remove --data-volume, "
                           "or write your own files and return their paths")
        mapped, parallelism, keep_going = split_map_keywords(task, keywords)
        for key in mapped:
            _check_input(task, key, self.node_name)
            if key in node.arguments:
                raise DagError(f"node {self.node_name!r}: {key!r} is given in the call and in .map(...)",
                               hint="give it in one place: the call's arguments are the same for every item")
        dynamic = {key: value for key, value in mapped.items()
                   if isinstance(value, (_Chainable, OutputReference))}
        if dynamic and len(mapped) > 1:
            raise DagError(f"node {self.node_name!r}: a map over another task's list maps one input",
                           hint="to pair values, let that task return a list of dicts and take each dict whole")
        if dynamic:
            (key, value), = dynamic.items()
            source, source_node = self._list_source(value, key)
            loop = Loop((key,), source=source, source_node=source_node, parallelism=parallelism, keep_going=keep_going)
        else:
            lists = {key: as_list(task, key, value) for key, value in mapped.items()}
            loop = Loop(tuple(lists), items=static_items(task, self.node_name, lists), parallelism=parallelism,
                        keep_going=keep_going)
        node.loop = loop
        for key in loop.keys:
            node.arguments[key] = loop.argument(key)
        return self

    def _list_source(self, value: Any, key: str) -> tuple[str, str]:
        """(Argo reference, node) of another node's list that a map fans out over (``withParam``)."""
        if isinstance(value, OutputReference):
            return str(value), value.node_name
        producer = value._node(bare=True) if isinstance(value, TaskHandle) else value
        if producer.node_name == self.node_name:
            raise DagError(f"node {self.node_name!r} cannot map over its own output")
        spec = producer._spec
        self._builder.mark_used(producer.node_name)
        if spec.loop is not None:
            if spec.loop.wrapped or not spec.task.has_return:
                raise DagError(f"node {self.node_name!r} maps over the items of map {producer.node_name!r}, which "
                               "has parallelism= or returns nothing",
                               hint="remove parallelism= from the first map (or use %argo_dag --parallelism)")
            return "{{tasks.%s.outputs.parameters.%s}}" % (producer.node_name, RETURN_PARAMETER), producer.node_name
        if spec.task.options.data_volume is not None:
            raise DagError(f"{producer.node_name} returns its value through the data volume; a map needs its list "
                           "as a parameter", hint=f"remove --data-volume from {spec.task.name}")
        if not spec.task.has_return:
            return "{{tasks.%s.outputs.result}}" % producer.node_name, producer.node_name
        if not kinds_meet(spec.task.returns, ("list",)):
            raise DagError(f"{self.node_name}.map({key}={producer.node_name}): {producer.node_name} returns "
                           f"{describe(spec.task.returns)}, not a list", hint="map over a task that returns a list")
        return "{{tasks.%s.outputs.parameters.%s}}" % (producer.node_name, RETURN_PARAMETER), producer.node_name

    def when(self, condition: Any) -> NodeHandle:
        """Run this node only if ``condition`` holds when it is due: ``deploy.when(evaluate > 0.9)``."""
        node = self._spec
        if isinstance(condition, (_Chainable, OutputReference)):
            condition = truth_of(condition._operand())
        if not isinstance(condition, Condition):
            raise DagError(f"{self.node_name}.when(...) takes a comparison of a task's result, not "
                           f"{_a(type(condition).__name__)}",
                           hint=".when(evaluate > 0.9), .when(check == \"ok\"), combined with &, | and ~")
        if node.when is not None:
            raise DagError(f"node {self.node_name!r} has two conditions", hint="combine them: .when(a & b)")
        if self.node_name in condition.sources:
            raise DagError(f"node {self.node_name!r}: its condition uses its own result")
        node.when = condition
        return self

    def __repr__(self) -> str:
        return f"<node {self.node_name}>"


def _check_input(task: TaskSpec, key: str, node: str) -> None:
    if task.input_named(key) is None:
        suggestions = closest_names(key, [spec.name for spec in task.inputs])
        raise DagError(f"node {node!r}: task `{task.name}` has no input {key!r}"
                       + (f"; did you mean {suggestions[0]!r}?" if suggestions else ""),
                       hint=f"inputs of {task.name}: {task.inputs_text()}")


class TaskHandle(_Chainable):
    """A registered task inside a DAG expression: call it to make a node, mention it bare for the default node."""

    def __init__(self, builder: DagBuilder, task: TaskSpec) -> None:
        self._builder = builder
        self._task = task

    def _node(self, *, bare: bool) -> NodeHandle:
        return NodeHandle(self._builder, self._builder.add_node(self._task, None, bare=bare))

    def _node_names(self) -> list[str]:
        return [self._node(bare=True).node_name]

    def _operand(self) -> Operand:
        return self._node(bare=True)._operand()

    @property
    def result(self) -> str:
        return self._node(bare=True).result

    def get_parameter(self, name: str) -> str:
        return self._node(bare=True).get_parameter(name)

    def map(self, **keywords: Any) -> NodeHandle:
        """A node of this task per item: ``process.map(path=list_files)``."""
        return self().map(**keywords)

    def when(self, condition: Any) -> NodeHandle:
        """This task's node, run only if ``condition`` holds."""
        return self._node(bare=True).when(condition)

    def named(self, name: str) -> NodeHandle:
        """A node of this task (default arguments) named ``name``."""
        return self().named(name)

    def __call__(self, *args: Any, **kwargs: Any) -> NodeHandle:
        task = self._task
        # name= and arguments= are Hera's (the node's name, its arguments) unless the task has such an input.
        node_name = kwargs.pop("name") if "name" in kwargs and task.input_named("name") is None else None
        arguments = kwargs.pop("arguments") if "arguments" in kwargs and task.input_named("arguments") is None else None
        if node_name is not None and not isinstance(node_name, str):
            raise DagError(f"{task.name}(name=...): a node name is text, not {_a(type(node_name).__name__)}")
        values: dict[str, Any] = {}
        if len(args) > len(task.inputs):
            raise DagError(
                f"{task.name}() takes {len(task.inputs)} inputs but {len(args)} positional arguments were given",
                hint=f"inputs of {task.name}: {task.inputs_text()}",
            )
        for input_spec, value in zip(task.inputs, args):
            values[input_spec.name] = value
        for key, value in _hera_arguments(arguments, task, self._builder.parameter_type).items():
            values[key] = value
        for key, value in kwargs.items():
            if key in values:
                raise DagError(f"{task.name}(): input {key!r} is given twice")
            values[key] = value
        for value in values.values():
            if isinstance(value, TaskHandle):
                value._node(bare=True)  # the nodes it reads come first (the order people read YAML in)
        handle = NodeHandle(self._builder, self._builder.add_node(task, node_name, bare=False))
        handle._spec.arguments.update(
            {key: self._argument_text(key, value, handle.node_name) for key, value in values.items()})
        return handle

    def _argument_text(self, key: str, value: Any, node: str) -> str:
        task = self._task
        if isinstance(value, TaskHandle):
            value = value._node(bare=True)
        if isinstance(value, NodeHandle):
            reference = value.value
            self._check_reference(key, value, reference, node)
            return str(reference)
        if isinstance(value, Condition):
            raise DagError(f"{task.name}({key}=...): a condition is for .when(...), not an argument")
        if isinstance(value, (list, tuple)) and any(isinstance(item, (TaskHandle, NodeHandle)) for item in value):
            raise DagError(
                f"{task.name}({key}=[...]): a list of task outputs cannot be one argument",
                hint="pass each output as its own input, or map a task and pass the map (its list of values)",
            )
        if isinstance(value, ArgoReference):
            return str(value)
        if task.options.data_volume is not None:
            check_annotation(value, task, key, node=node)
            try:
                text = value if isinstance(value, str) else json.dumps(value)
            except (TypeError, ValueError):
                text = None
            if text is None or len(text) > LARGEST_PARAMETER_BYTES:
                # Too big (or not JSON) for a parameter: it goes to the data volume at submission.
                path = f"inputs/{self._builder.submission}/{len(self._builder.files)}-{key}"
                self._builder.files[path] = value
                return json.dumps(file_reference(path))
            return text
        return parameter_text(value, task, key, node=node)

    def _check_reference(self, key: str, producer: NodeHandle, reference: str, node: str) -> None:
        """A node's output into input ``key``: what we know of both sides must fit."""
        task = self._task
        spec = task.input_named(key)
        accepted = spec.kinds if spec is not None else ()
        if isinstance(reference, CollectedReference):
            if task.kind == "shell":
                raise DagError(f"{task.name}({key}={producer.node_name}): a --shell task cannot take a map's list",
                               hint="take it in a Python task")
            if accepted and "list" not in accepted:
                raise DagError(f"node {node!r}: {producer.node_name} is a map and hands on a list, but input {key!r} "
                               f"of `{task.name}` is annotated {describe(accepted)}",
                               hint=f"annotate it list (def {task.name}(..., {key}: list))")
            return
        produced = producer._spec.task.returns if producer._spec.task.has_return else ()
        if not kinds_meet(produced, accepted):
            raise DagError(f"node {node!r}: {producer.node_name} returns {describe(produced)}, but input {key!r} of "
                           f"`{task.name}` is annotated {describe(accepted)}", hint="change one of the annotations")

    def __repr__(self) -> str:
        return f"<task {self._task.name}>"

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        raise DagError(
            f"task `{self._task.name}` has no attribute {attribute!r}",
            hint=f"use {self._task.name}.result (what it printed) or pass {self._task.name} itself (its return value); "
            f"{self._task.name}.map(...), .when(...) and .named(...) make nodes",
        )


def _hera_arguments(arguments: Any, task: TaskSpec, parameter_type: type | None) -> dict[str, Any]:
    """Hera's ``arguments=`` forms: a dict, a ``Parameter`` or a list of them."""
    if arguments is None:
        return {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    items = arguments if isinstance(arguments, (list, tuple)) else [arguments]
    result: dict[str, Any] = {}
    for item in items:
        if parameter_type is not None and isinstance(item, parameter_type):
            result[item.name] = item.value
        elif isinstance(item, Mapping):
            result.update(item)
        else:
            raise DagError(
                f"{task.name}(arguments=...): {type(item).__name__} is not a Parameter",
                hint="write arguments={'x': 1}, arguments=[Parameter(name='x', value='1')] or simply x=1",
            )
    return result


def materialise(value: Any) -> Any:
    """A task mentioned on its own as a statement (``a``, ``[a, b]``) is a node."""
    if isinstance(value, TaskHandle):
        value._node(bare=True)
    elif isinstance(value, (list, tuple)):
        for item in value:
            materialise(item)
    return value
