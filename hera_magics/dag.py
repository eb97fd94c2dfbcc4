"""``%argo_dag``: evaluate a DAG expression over registered tasks → a validated ``DagSpec``.

The expression (or cell) is ordinary Python evaluated in a namespace where every registered task
is a ``TaskHandle``. Handles build nodes (``train(lr=0.1)``), edges (``a >> [b, c]``) and output
references (``b(x=a)``, ``b(x=a.result)``), recording everything in a ``DagBuilder``. Nothing is
built or submitted here (``hera_magics.compile`` makes the Hera ``Workflow``); ``validate``
checks the whole graph.

The same namespace can also understand Hera's own spelling — ``arguments={...}``,
``arguments=[Parameter(...)]``, ``t1: Task = hello_world()`` — so the body of a seed-style
``with DAG(...)`` block pastes in verbatim: the caller passes Hera's names in (``names=``), so
this module needs no Hera itself.
"""

from __future__ import annotations

import ast
import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .capture import TaskSpec, argo_name, check_argo_name, closest_names
from .errors import DagError, TaskDefinitionError
from .graph import find_cycle, topological_order
from .options import VolumeSpec
from .pod.contract import ENCODED_PREFIX, FILE_MARKER, RETURN_PARAMETER
from .pod.datafiles import file_reference, return_value_path

DAG_TEMPLATE_NAME = "hera-magics-dag"
# ``{{tasks.NAME.outputs.result}}`` / ``{{tasks.NAME.outputs.parameters.P}}`` inside argument values.
OUTPUT_REFERENCE = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9-]+)\.outputs\.(result|parameters\.([A-Za-z0-9_-]+))\s*\}\}")
# A return value on the data volume is the file reference ``{FILE_MARKER: return_value_path(WORKFLOW, NODE)}``.
WORKFLOW_NAME = "{{workflow.name}}"
# Notebook values bigger than this go through the data volume when the task has one.
LARGEST_PARAMETER_BYTES = 32 * 1024


class ArgoReference(str):
    """An Argo expression we made on purpose (``{{tasks.a.outputs.result}}``): passed to Argo as is.

    Any other argument text that contains ``{{`` is the user's data, which Argo would try to
    substitute; it travels encoded instead (see ``TaskHandle._argument_text``).
    """


# Largest argument value: it reaches the process as one environment variable, and Linux refuses
# a single one of 128 KiB or more (MAX_ARG_STRLEN); Argo objects are small anyway (etcd).
LARGEST_ARGUMENT_BYTES = 128 * 1024 - 1


def encode_value(value: Any) -> str:
    """How a notebook value travels as an Argo parameter: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        raise DagError(
            f"a value of type {type(value).__name__} cannot be passed as a task argument",
            hint="arguments travel as JSON: pass numbers, strings, lists or dicts (or a path to a file)",
        ) from None


@dataclass
class DagNode:
    name: str  # the Argo task name (unique in the DAG)
    task: TaskSpec
    arguments: dict[str, str] = field(default_factory=dict)
    explicit_depends: list[str] = field(default_factory=list)

    def implied_depends(self) -> list[str]:
        """The nodes whose outputs the arguments use, in order."""
        found: list[str] = []
        for value in self.arguments.values():
            sources = [match.group(1) for match in OUTPUT_REFERENCE.finditer(value)]
            sources.append(returned_file_source(value))
            found.extend(source for source in sources if source is not None and source not in found)
        return found

    def depends(self) -> list[str]:
        ordered = list(self.explicit_depends)
        ordered.extend(name for name in self.implied_depends() if name not in ordered)
        return ordered


def returned_file_source(value: str) -> str | None:
    """The node whose return value on the data volume ``value`` refers to, or None."""
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or list(decoded) != [FILE_MARKER] or not isinstance(decoded[FILE_MARKER], str):
        return None
    parts = decoded[FILE_MARKER].split("/")
    return parts[1] if len(parts) == 3 and decoded[FILE_MARKER] == return_value_path(WORKFLOW_NAME, parts[1]) else None


class DagBuilder:
    """Collects nodes and edges while the expression runs.

    ``parameter_type`` is Hera's ``Parameter`` when the caller provides Hera's names, so that
    ``arguments=[Parameter(...)]`` works.
    """

    def __init__(self, tasks: Mapping[str, TaskSpec], parameter_type: type | None = None) -> None:
        import uuid

        self.tasks = dict(tasks)
        self.parameter_type = parameter_type
        self.nodes: dict[str, DagNode] = {}
        # notebook values that travel as files on the data volume: path under .hera-magics -> value
        self.files: dict[str, Any] = {}
        self.submission = uuid.uuid4().hex[:12]
        # the node a bare task name stands for (made by a bare mention or a call without name=)
        self.default_node: dict[str, str] = {}

    def add_node(self, task: TaskSpec, node_name: str | None, arguments: dict[str, str], *, bare: bool) -> "NodeHandle":
        if node_name is None:
            if task.name in self.default_node:
                existing = self.default_node[task.name]
                if bare:
                    return NodeHandle(self, existing)
                raise DagError(
                    f"`{task.name}` is already a node of this DAG; a task is one node unless you name the others",
                    hint=f'give this call its own node name: {task.name}(..., name="{task.argo_name}-2"); '
                    f"or call {task.name}(...) before mentioning `{task.name}` bare",
                )
            node_name = task.argo_name
            self.default_node[task.name] = node_name
        else:
            try:
                check_argo_name(node_name, what="node name")
            except TaskDefinitionError as error:
                raise DagError(error.message, hint=error.hint) from None
        if node_name in self.nodes:
            raise DagError(
                f"two nodes are named {node_name!r}",
                hint="give each node of the same task a different name=\"...\"",
            )
        self.nodes[node_name] = DagNode(name=node_name, task=task, arguments=arguments)
        return NodeHandle(self, node_name)

    def add_edge(self, upstream: str, downstream: str) -> None:
        node = self.nodes[downstream]
        if upstream not in node.explicit_depends:
            node.explicit_depends.append(upstream)


def _nodes_of(value: Any, builder: DagBuilder, *, side: str) -> list[str]:
    if isinstance(value, TaskHandle):
        return [value._node(bare=True).node_name]
    if isinstance(value, NodeHandle):
        return [value.node_name]
    if isinstance(value, (list, tuple)):
        names: list[str] = []
        for item in value:
            if isinstance(item, (list, tuple)):
                raise DagError("nested lists are not allowed in >>; write a >> [b, c] >> d")
            names.extend(_nodes_of(item, builder, side=side))
        return names
    raise DagError(
        f"the {side} side of >> is a {type(value).__name__}, not a task",
        hint="write task >> task, task >> [task, task] or [task, task] >> task",
    )


class _Chainable:
    """``>>`` as in Hera: ``a >> b`` makes b depend on a and returns b (or the list)."""

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
        downstream = _nodes_of(other, self._builder, side="right")
        for upstream in self._node_names():
            for name in downstream:
                self._builder.add_edge(upstream, name)
        if isinstance(other, TaskHandle):
            return other._node(bare=True)
        return other

    def __rrshift__(self, other: Any) -> Any:
        upstream = _nodes_of(other, self._builder, side="left")
        for name in self._node_names():
            for before in upstream:
                self._builder.add_edge(before, name)
        return self if isinstance(self, NodeHandle) else self._node(bare=True)  # type: ignore[attr-defined]

    def __lshift__(self, other: Any) -> Any:
        upstream = _nodes_of(other, self._builder, side="right")
        for name in self._node_names():
            for before in upstream:
                self._builder.add_edge(before, name)
        return other


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
    def result(self) -> str:
        """This node's stdout (Argo ``outputs.result``)."""
        return ArgoReference("{{tasks.%s.outputs.result}}" % self.node_name)

    @property
    def value(self) -> str:
        """This node's return value (the ``return`` output parameter)."""
        task = self._builder.nodes[self.node_name].task
        if not task.has_return:
            # A script task's only output is what it prints.
            return self.result
        if task.options.data_volume is not None:
            return ArgoReference(json.dumps(file_reference(return_value_path(WORKFLOW_NAME, self.node_name))))
        return ArgoReference("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, RETURN_PARAMETER))

    def get_parameter(self, name: str) -> str:
        return ArgoReference("{{tasks.%s.outputs.parameters.%s}}" % (self.node_name, name))

    def __repr__(self) -> str:
        return f"<node {self.node_name}>"


class TaskHandle(_Chainable):
    """A registered task inside a DAG expression: call it to make a node, mention it bare for the default node."""

    def __init__(self, builder: DagBuilder, task: TaskSpec) -> None:
        self._builder = builder
        self._task = task

    def _node(self, *, bare: bool) -> NodeHandle:
        return self._builder.add_node(self._task, None, {}, bare=bare)

    def _node_names(self) -> list[str]:
        return [self._node(bare=True).node_name]

    @property
    def result(self) -> str:
        return self._node(bare=True).result

    def get_parameter(self, name: str) -> str:
        return self._node(bare=True).get_parameter(name)

    def __call__(self, *args: Any, name: str | None = None, arguments: Any = None, **kwargs: Any) -> NodeHandle:
        task = self._task
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
        encoded = {key: self._argument_text(key, value) for key, value in values.items()}
        return self._builder.add_node(task, name, encoded, bare=False)

    def _argument_text(self, key: str, value: Any) -> str:
        if isinstance(value, TaskHandle):
            return value._node(bare=True).value
        if isinstance(value, NodeHandle):
            return value.value
        if isinstance(value, (list, tuple)) and any(isinstance(item, (TaskHandle, NodeHandle)) for item in value):
            raise DagError(
                f"{self._task.name}({key}=[...]): a list of task outputs cannot be one argument",
                hint="pass each output as its own input",
            )
        if self._task.options.data_volume is not None and not isinstance(value, ArgoReference):
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
        if isinstance(value, ArgoReference):
            return value
        try:
            text = encode_value(value)
        except DagError as error:
            hint = error.hint
            if self._task.kind != "shell":
                hint = (hint or "") + f"; or give {self._task.name} --data-volume to pass any Python object as a file"
            raise DagError(f"{self._task.name}({key}=...): {error.message}", hint=hint) from None
        if len(text.encode("utf-8")) > LARGEST_ARGUMENT_BYTES:
            raise DagError(
                f"{self._task.name}({key}=...): the value is {len(text.encode('utf-8')) // 1024} KiB, too large for "
                "an Argo parameter (at most 128 KiB)",
                hint=f"give {self._task.name} --data-volume to pass large values as files, or pass a path to the data",
            )
        if "{{" in text:
            if self._task.kind == "shell":
                raise DagError(
                    f"{self._task.name}({key}=...): the value contains '{{{{', which Argo would substitute",
                    hint="a --shell task receives values as they are; pass it to a Python task instead",
                )
            # The pod's preamble decodes it, so the user's braces arrive untouched.
            return ENCODED_PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii")
        return text

    def __repr__(self) -> str:
        return f"<task {self._task.name}>"

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        raise DagError(
            f"task `{self._task.name}` has no attribute {attribute!r}",
            hint=f"use {self._task.name}.result (what it printed) or pass {self._task.name} itself (its return value)",
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


@dataclass
class DagSpec:
    """A validated DAG: nodes in DAG order, each with its dependencies, and the notebook values
    that travel as files on the data volume (written at submission)."""

    nodes: list[DagNode]
    files: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks(self) -> list[TaskSpec]:
        seen: dict[str, TaskSpec] = {}
        for node in self.nodes:
            seen.setdefault(node.task.name, node.task)
        return list(seen.values())


def evaluate(code: str, tasks: Mapping[str, TaskSpec], notebook: Mapping[str, Any] | None = None, *,
             names: Mapping[str, Any] | None = None) -> DagSpec:
    """Run a DAG expression or cell and return the validated ``DagSpec``.

    ``notebook`` holds the notebook's variables; ``names`` more names the expression may use,
    above the notebook's (``compile.hera_names()``: Hera's ``Parameter`` and ``Task``).
    """
    if not code.strip():
        raise DagError("no DAG given", hint="for example: %argo_dag prepare >> train(lr=0.1) >> report")
    if not tasks:
        raise DagError("no tasks are registered yet", hint="define tasks with %%argo_task cells first")
    names = dict(names or {})
    builder = DagBuilder(tasks, names.get("Parameter"))
    namespace: dict[str, Any] = dict(notebook or {})
    namespace.update(names)
    namespace.update({name: TaskHandle(builder, spec) for name, spec in tasks.items()})
    try:
        tree = ast.parse(code, "<argo_dag>", "exec")
    except SyntaxError as error:
        raise DagError(f"syntax error on line {error.lineno}: {error.msg}", hint=(error.text or "").strip() or None) from None
    namespace[MATERIALISE] = _materialise
    compiled = compile(ast.fix_missing_locations(_MaterialiseStatements().visit(tree)), "<argo_dag>", "exec")
    try:
        exec(compiled, namespace)
    except DagError:
        raise
    except NameError as error:
        missing = getattr(error, "name", None) or str(error)
        suggestions = closest_names(missing, tasks)
        dashed = [name for name in tasks if argo_name(name).startswith(missing + "-")]
        if dashed:
            # hello-world reads as hello minus world
            raise DagError(
                f"unknown name `{missing}`: in %argo_dag a '-' is a minus sign",
                hint=f"write task names as in the notebook: {dashed[0]}",
            ) from None
        if suggestions:
            raise DagError(
                f"unknown task `{missing}`; did you mean {' or '.join(f'`{s}`' for s in suggestions)}?",
                hint=f"registered tasks: {', '.join(sorted(tasks))} (see %argo_tasks)",
            ) from None
        raise DagError(
            f"`{missing}` is neither a registered task nor a notebook variable",
            hint=f"registered tasks: {', '.join(sorted(tasks))} (see %argo_tasks); define variables before %argo_dag",
        ) from None
    except Exception as error:  # the user's expression raised: report it where it happened
        line = _error_line(error)
        raise DagError(f"{'line ' + str(line) + ': ' if line else ''}{type(error).__name__}: {error}") from None
    return validate(builder)


MATERIALISE = "__hera_magics_materialise__"


class _MaterialiseStatements(ast.NodeTransformer):
    """A task mentioned on its own (``a``, ``[a, b]``) is a node: wrap each expression statement."""

    def visit_Expr(self, node: ast.Expr) -> ast.Expr:
        call = ast.Call(func=ast.Name(id=MATERIALISE, ctx=ast.Load()), args=[node.value], keywords=[])
        return ast.copy_location(ast.Expr(value=ast.copy_location(call, node.value)), node)

    # statements inside functions or loops are the user's own business
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node


def _materialise(value: Any) -> Any:
    if isinstance(value, TaskHandle):
        value._node(bare=True)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _materialise(item)
    return value


def _error_line(error: BaseException) -> int | None:
    trace = error.__traceback__
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<argo_dag>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def validate(builder: DagBuilder) -> DagSpec:
    """Check inputs, references and cycles before anything is sent."""
    nodes = builder.nodes
    if not nodes:
        raise DagError("the expression made no tasks", hint="name at least one task: %argo_dag my_task")
    for node in nodes.values():
        task = node.task
        for key in node.arguments:
            if task.input_named(key) is None:
                suggestions = closest_names(key, [spec.name for spec in task.inputs])
                raise DagError(
                    f"node {node.name!r}: task `{task.name}` has no input {key!r}"
                    + (f"; did you mean {suggestions[0]!r}?" if suggestions else ""),
                    hint=f"inputs of {task.name}: {task.inputs_text()}",
                )
        for spec in task.inputs:
            if spec.required and spec.name not in node.arguments:
                raise DagError(
                    f"node {node.name!r}: required input {spec.name!r} of `{task.name}` is not given",
                    hint=f"pass it: {task.name}({spec.name}=...)",
                )
        for key, value in node.arguments.items():
            for match in OUTPUT_REFERENCE.finditer(value):
                source, parameter = match.group(1), match.group(3)
                if source not in nodes:
                    raise DagError(
                        f"node {node.name!r}: input {key!r} uses the output of {source!r}, which is not a node of this DAG",
                        hint=f"nodes: {', '.join(nodes)}",
                    )
                if source == node.name:
                    raise DagError(f"node {node.name!r}: input {key!r} uses its own output")
                if parameter is not None and not (parameter == RETURN_PARAMETER and nodes[source].task.has_return):
                    raise DagError(
                        f"node {node.name!r}: input {key!r} uses output parameter {parameter!r} of {source!r}, "
                        "which it does not have",
                        hint=f"use {source}.result for what it prints",
                    )
        for upstream in node.explicit_depends:
            if upstream == node.name:
                raise DagError(f"node {node.name!r} depends on itself")
    _check_cycles(nodes)
    # Show tasks in the order work flows (Argo does not care; people reading YAML do).
    return DagSpec(nodes=[nodes[name] for name in dag_order(DagSpec(nodes=list(nodes.values())))],
                   files=dict(builder.files))


def _check_cycles(nodes: Mapping[str, DagNode]) -> None:
    cycle = find_cycle({name: node.depends() for name, node in nodes.items()})
    if cycle:
        raise DagError(
            f"the DAG has a cycle: {' >> '.join(cycle)}",
            hint="a task cannot (indirectly) wait for itself; remove one of these edges",
        )


# ---------------------------------------------------------------------------------------------
# what the workflow needs besides its templates


def data_volume_of(dag: DagSpec, *, namespace: str | None, username: str | None) -> VolumeSpec | None:
    """The one (resolved) data volume the workflow's --data-volume tasks share, or None."""
    found: dict[tuple[str, str | None], VolumeSpec] = {}
    users: dict[tuple[str, str | None], str] = {}
    for task in dag.tasks:
        if task.options.data_volume is None:
            continue
        try:
            volume = task.options.data_volume.resolved(namespace=namespace, username=username)
        except TaskDefinitionError as error:
            raise DagError(f"task {task.name}: {error.message}", hint=error.hint) from None
        key = (volume.claim, volume.sub_path)
        found.setdefault(key, volume)
        users.setdefault(key, task.name)
    if len(found) > 1:
        described = ", ".join(f"{users[key]} uses {key[0]}/{key[1] or ''}" for key in found)
        raise DagError(f"the tasks of one workflow must share one data volume: {described}",
                       hint="give every task the same --data-volume")
    return next(iter(found.values()), None)


def dag_order(dag: DagSpec) -> list[str]:
    """Node names in an order where each comes after everything it depends on; among the ready
    ones, the order they were made in, so the result is stable."""
    position = {node.name: index for index, node in enumerate(dag.nodes)}
    return topological_order({node.name: node.depends() for node in dag.nodes}, key=position.__getitem__)
