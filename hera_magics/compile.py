"""From specs to what Argo receives: ``TaskSpec`` → Hera ``Script``, ``DagSpec`` → Hera ``Workflow`` → JSON.

The only module that imports ``hera.workflows`` (lazily, so that importing it is cheap; ``preload``
imports Hera ahead of time). It also writes the source each pod runs: the user's cell, the line
``{{workflow.parameters.hera-magics-runtime}}`` and a short call into the pod runtime
(``hera_magics.pod.runtime``). The runtime travels once per workflow, as the value of that
workflow parameter (``contract.RUNTIME_PARAMETER``): one line of Python that runs the runtime's
text, compressed, in a namespace of its own (``runtime_loader``). Argo, and the local engine,
put it in place of the placeholder when they start each pod.

Argo substitutes ``{{workflow.parameters.X}}`` into a template's JSON with the value
``strconv.Quote``-escaped, globals first and then inputs (argo-workflows
``workflow/common/util.go`` ``SubstituteParams``, ``util/template/simple_template.go``). So the
loader must never contain ``{{`` and must be printable ASCII (Go's quoting of control characters
is not valid JSON); ``runtime_loader`` checks both.
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import inspect
import zlib
from dataclasses import dataclass, replace
from typing import Any, Mapping

from .capture import TaskSpec
from .dag import DAG_TEMPLATE_NAME, EXIT_TEMPLATE_NAME, DagNode, DagSpec, data_volume_of
from .errors import DagError, TaskDefinitionError
from .mapping import ITEMS_INPUT
from .nebari import conda_python
from .options import TolerationSpec, VolumeSpec, WorkflowOptions
from .pod import collected as collected_values
from .pod import contract, datafiles, runtime
from .pod.contract import (
    DATA_DIR_VARIABLE,
    DATA_MOUNT,
    DATA_NODE_INPUT,
    DATA_NODE_VARIABLE,
    DATA_VOLUME_NAME,
    INPUT_ENV_PREFIX,
    RETURN_PARAMETER,
    RETURN_PATH,
    RUNTIME_PARAMETER,
    WORKFLOW_VARIABLE,
)

# The namespace the runtime runs in; the task's call goes through it.
RUNTIME_NAMESPACE = "_hera_magics"
# Where Argo puts the runtime loader in each Python task's script.
RUNTIME_PLACEHOLDER = "{{workflow.parameters.%s}}\n" % RUNTIME_PARAMETER
ENCODED_CELL_NOTE = "# the cell contains Argo's template braces, which Argo would substitute; it travels base64-encoded\n"


def preload() -> None:
    """Import Hera now (about a second), e.g. in a thread while the user writes the next cells."""
    import hera.workflows  # noqa: F401


def hera_names() -> dict[str, Any]:
    """Hera's names a pasted ``with DAG(...)`` body uses (``capture.RESERVED_TASK_NAMES``)."""
    from hera.workflows import Parameter, Task

    return {"Parameter": Parameter, "Task": Task}


# ---------------------------------------------------------------------------------------------
# the pod runtime, shipped once per workflow


@functools.lru_cache(maxsize=4)
def runtime_loader(data_files: bool = False, collected: bool = False) -> str:
    """The value of the runtime parameter: one line that runs ``runtime_source`` in ``_hera_magics``.

    Compressed, because a workflow carries it whole (its YAML stays short), and base85-encoded,
    which keeps it free of quotes, backslashes and line breaks. Base85 has ``{`` in its alphabet:
    if the encoding happens to hold Argo's ``{{``, a line break more at the end of the text
    changes every byte of it.
    """
    source = runtime_source(data_files, collected)
    for padding in range(32):
        packed = base64.b85encode(zlib.compress((source + "\n" * padding).encode("ascii"), 9)).decode("ascii")
        if "{{" not in packed:
            break
    loader = (f'{RUNTIME_NAMESPACE} = {{}}; exec(__import__("zlib").decompress(__import__("base64").b85decode('
              f'"{packed}")), {RUNTIME_NAMESPACE})')
    if "{{" in loader or "\n" in loader or not loader.isascii() or not loader.isprintable():
        raise AssertionError("the runtime loader must be one printable ASCII line without '{{' (Argo quotes it)")
    return loader


@functools.lru_cache(maxsize=4)
def runtime_source(data_files: bool = False, collected: bool = False) -> str:
    """The text of the pod runtime as a workflow ships it.

    It is ``pod/runtime.py`` (after ``pod/datafiles.py`` for a workflow with a data volume, and
    ``pod/collected.py`` for one whose tasks take a map's outputs or the workflow's failures), in
    one flat namespace: the package-relative imports go (they name exactly these definitions), the
    ``contract`` names become their values, and docstrings, comments and annotations are left out.
    Blocks are indented by one space instead of four (it compresses better).
    """
    modules = [module for module, wanted in ((datafiles, data_files), (collected_values, collected), (runtime, True))
               if wanted]
    tree = ast.Module(body=[statement for module in modules
                            for statement in _for_the_pod(inspect.getsource(module)).body], type_ignores=[])
    return _one_space_indentation(ast.unparse(tree)) + "\n"


def _one_space_indentation(text: str) -> str:
    """``text`` (as ``ast.unparse`` writes it: four spaces a level, no string spans lines) with one space a level."""
    lines = []
    for line in text.splitlines():
        code = line.lstrip(" ")
        lines.append(" " * ((len(line) - len(code)) // 4) + code)
    narrow = "\n".join(lines)
    if ast.dump(ast.parse(narrow)) != ast.dump(ast.parse(text)):
        raise AssertionError("re-indenting the pod runtime changed its meaning")
    return narrow


def _for_the_pod(source: str) -> ast.Module:
    """A module's tree as the pod runs it: contract names as values; no docstrings, annotations, relative imports."""
    tree = ast.parse(source)
    values = {name: value for name, value in vars(contract).items() if name.isupper()}

    def value_of(node: Any) -> Any:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in values:
            return ast.copy_location(ast.Constant(values[node.id]), node)
        return node

    for node in ast.walk(tree):
        for name, child in ast.iter_fields(node):
            if isinstance(child, list):
                child[:] = [value_of(item) for item in child]
            else:
                setattr(node, name, value_of(child))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            node.body = [statement for statement in node.body
                         if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                                 and isinstance(statement.value.value, str))] or [ast.Pass()]
        if isinstance(node, ast.FunctionDef):
            node.returns = None
            for argument in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                argument.annotation = None
    tree.body = [statement for statement in tree.body
                 if not (isinstance(statement, ast.ImportFrom) and (statement.level or statement.module == "__future__"))]
    return tree


def pod_source(spec: TaskSpec) -> str:
    """The script the pod runs for ``spec``: the cell as written and a short call into the runtime.

    A function cell comes first, so its tracebacks have the notebook's line numbers; the call
    follows it. A script cell needs its inputs bound before it runs, so the call comes first
    (after the cell's ``from __future__`` imports, which must open the file). A cell containing
    ``{{`` would be substituted by Argo: it travels base64-encoded and the runtime runs it.
    """
    if spec.kind == "shell":
        return _ending_in_newline(spec.code)
    inputs = [item.name for item in spec.inputs]
    if "{{" in spec.code:
        encoded = base64.b64encode(spec.code.encode("utf-8")).decode("ascii")
        run_cell = _call(runtime.run_encoded_cell, f"globals(), {spec.name!r}, {encoded!r}")
        if spec.kind == "function":
            return ENCODED_CELL_NOTE + RUNTIME_PLACEHOLDER + run_cell + _call(runtime.run_function, spec.function_name)
        arguments = f"globals(), {spec.name!r}" + (f", inputs={inputs!r}" if inputs else "")
        return ENCODED_CELL_NOTE + RUNTIME_PLACEHOLDER + _call(runtime.run_script, arguments) + run_cell
    if spec.kind == "function":
        cell = _ending_in_newline(spec.code)
        last = cell.count("\n")
        return cell + RUNTIME_PLACEHOLDER + _call(runtime.run_function, f"{spec.function_name}, cell_lines=(1, {last})")
    future, code = _hoist_future_imports(spec.code)
    cell = _ending_in_newline(code)
    first = future.count("\n") + 3  # after the imports, the runtime and the call
    last = first + cell.count("\n") - 1
    arguments = f"globals(), {spec.name!r}, cell_lines=({first}, {last})"
    call = _call(runtime.run_script, arguments + (f", inputs={inputs!r}" if inputs else ""))
    return future + RUNTIME_PLACEHOLDER + call + cell


def _call(function: Any, arguments: str) -> str:
    """The line that calls the runtime's ``function``."""
    return f'{RUNTIME_NAMESPACE}["{function.__name__}"]({arguments})\n'


def _ending_in_newline(code: str) -> str:
    return code if code.endswith("\n") else code + "\n"


def _hoist_future_imports(code: str) -> tuple[str, str]:
    """``from __future__`` imports must come first in a file, so they move above the runtime call.

    Their lines in the cell are blanked, not removed, so line numbers stay the same.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "", code
    lines = code.splitlines(keepends=True)
    hoisted = []
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            for index in range(statement.lineno - 1, statement.end_lineno or statement.lineno):
                hoisted.append(lines[index])
                lines[index] = "\n"
        elif not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
            break
    return "".join(hoisted), "".join(lines)


# ---------------------------------------------------------------------------------------------
# templates


@dataclass(frozen=True)
class PodContext:
    """What a template needs to know about where it will run, beyond its own cell and options.

    ``python_command`` replaces ``python -u`` (Nebari mode: the kernel's own interpreter);
    ``gpu_tolerations`` are added to GPU tasks (Nebari's ``dedicated`` taint); ``data_volume``
    (already resolved) is mounted at ``DATA_MOUNT`` in every template of a workflow in which
    some task moves values through a volume.
    """

    namespace: str | None = None
    username: str | None = None
    python_command: tuple[str, ...] | None = None
    gpu_tolerations: tuple[TolerationSpec, ...] = ()
    data_volume: VolumeSpec | None = None


def task_command(spec: TaskSpec, context: PodContext) -> list[str]:
    """The command that runs the task's source file."""
    options = spec.options
    if options.command:
        return list(options.command)
    if spec.kind == "shell":
        return ["sh"]
    if options.conda_env:
        # The environment's own python, never `conda run` (it holds output back until exit).
        return [conda_python(options.conda_env, username=context.username), "-u"]
    return list(context.python_command or ("python", "-u"))


def _toleration(item: TolerationSpec) -> Any:
    from hera.workflows.models import Toleration

    return Toleration(key=item.key, operator="Equal" if item.value is not None else "Exists",
                      value=item.value, effect=item.effect)


def _resources(spec: TaskSpec) -> Any:
    options = spec.options
    if not (options.gpu or options.cpu or options.memory):
        return None
    # Kubernetes' own model: Hera's Resources helper accepts only some quantity forms
    # (no "2G" for memory), while the cluster accepts every quantity we validated.
    from hera.workflows.models import Quantity, ResourceRequirements

    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    if options.cpu:
        requests["cpu"] = Quantity(options.cpu)
    if options.memory:
        requests["memory"] = limits["memory"] = Quantity(options.memory)
    if options.gpu:
        requests[options.gpu_resource] = limits[options.gpu_resource] = Quantity(str(options.gpu))
    return ResourceRequirements(requests=requests or None, limits=limits or None)


def _volumes(spec: TaskSpec, context: PodContext) -> list[Any]:
    from hera.workflows import EmptyDirVolume, ExistingVolume

    options = spec.options
    volumes: list[Any] = []
    if options.shm:
        volumes.append(EmptyDirVolume(name="dshm", mount_path="/dev/shm", medium="Memory", size_limit=options.shm))
    for volume in options.volumes:
        volume = volume.resolved(namespace=context.namespace, username=context.username)
        volumes.append(ExistingVolume(name=volume.volume_name, claim_name=volume.claim, sub_path=volume.sub_path,
                                      mount_path=volume.mount_path, read_only=volume.read_only or None))
    if context.data_volume is not None:
        data = context.data_volume
        volumes.append(ExistingVolume(name=DATA_VOLUME_NAME, claim_name=data.claim, sub_path=data.sub_path,
                                      mount_path=DATA_MOUNT))
    return volumes


def build_script(spec: TaskSpec, context: PodContext = PodContext()) -> Any:
    """The Hera ``Script`` template for a task (its workflow must carry ``runtime_parameter``)."""
    from hera.workflows import Env, Parameter, RetryStrategy, Script, SecretEnv
    from hera.workflows.models import ValueFrom

    options = spec.options
    env: list[Any] = []
    for input_spec in spec.inputs:
        variable = input_spec.name if spec.kind == "shell" else INPUT_ENV_PREFIX + input_spec.name
        env.append(Env(name=variable, value="{{inputs.parameters.%s}}" % input_spec.name))
    env.extend(Env(name=name, value=value) for name, value in options.env)
    env.extend(SecretEnv(name=name, secret_name=secret, secret_key=key) for name, secret, key in options.secret_env)
    inputs = [Parameter(name=item.name, default=item.default) if item.default is not None
              else Parameter(name=item.name) for item in spec.inputs]

    tolerations = []
    if options.gpu:
        from hera.workflows.models import Toleration

        tolerations.append(Toleration(key=options.gpu_resource, operator="Exists", effect="NoSchedule"))
        tolerations.extend(_toleration(item) for item in context.gpu_tolerations)
    tolerations.extend(_toleration(item) for item in options.tolerations)

    if context.data_volume is not None:
        env.append(Env(name=DATA_DIR_VARIABLE, value=DATA_MOUNT))
        env.append(Env(name=WORKFLOW_VARIABLE, value="{{workflow.name}}"))
    outputs = None
    if options.data_volume is not None:
        if context.data_volume is None:
            raise TaskDefinitionError(f"task {spec.name} uses --data-volume but the workflow mounts none")
        # Which node am I? The DAG passes each node its own name, so a return value has one file per node.
        inputs.append(Parameter(name=DATA_NODE_INPUT))
        env.append(Env(name=DATA_NODE_VARIABLE, value="{{inputs.parameters.%s}}" % DATA_NODE_INPUT))
    elif spec.has_return:
        outputs = [Parameter(name=RETURN_PARAMETER, value_from=ValueFrom(path=RETURN_PATH))]

    return Script(
        name=spec.argo_name,
        source=pod_source(spec),
        image=spec.image,
        command=task_command(spec, context),
        inputs=inputs or None,
        outputs=outputs,
        env=env or None,
        resources=_resources(spec),
        tolerations=tolerations or None,
        volumes=_volumes(spec, context) or None,
        node_selector=dict(options.node_selector) or None,
        retry_strategy=RetryStrategy(limit=options.retries) if options.retries else None,
        active_deadline_seconds=options.timeout_seconds,
        labels=dict(options.labels) or None,
        working_dir=options.workdir,
    )


def runtime_parameter(data_files: bool = False, collected: bool = False) -> Any:
    """The workflow argument that ships the pod runtime to every Python task of a workflow."""
    from hera.workflows import Parameter

    return Parameter(name=RUNTIME_PARAMETER, value=runtime_loader(data_files, collected))


# ---------------------------------------------------------------------------------------------
# workflows


def build_workflow(
    dag: DagSpec,
    options: WorkflowOptions,
    *,
    namespace: str | None,
    context: PodContext | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> Any:
    """The Hera ``Workflow`` for a validated DAG."""
    from hera.workflows import DAG, Workflow
    from hera.workflows.models import LocalObjectReference, TTLStrategy

    context = replace(context or PodContext(), namespace=namespace)
    context = replace(context, data_volume=data_volume_of(dag, namespace=namespace, username=context.username))
    try:
        templates = {task.name: build_script(task, context) for task in dag.tasks}
    except TaskDefinitionError as error:
        raise DagError(error.message, hint=error.hint) from None
    labels = dict(extra_labels or {})
    labels.update(dict(options.labels))
    needs_runtime = any(task.kind != "shell" for task in dag.tasks)
    # A keep_going map's failed items must not stop the DAG scheduling its other items (failFast).
    fail_fast = options.fail_fast and not dag.keeps_going
    with Workflow(
        generate_name=options.generate_name,
        entrypoint=DAG_TEMPLATE_NAME,
        namespace=namespace,
        service_account_name=options.service_account,
        parallelism=options.parallelism,
        labels=labels or None,
        ttl_strategy=TTLStrategy(seconds_after_completion=options.ttl_seconds) if options.ttl_seconds else None,
        active_deadline_seconds=options.timeout_seconds,
        image_pull_secrets=[LocalObjectReference(name=name) for name in options.image_pull_secrets] or None,
        on_exit=EXIT_TEMPLATE_NAME if dag.exit_node is not None else None,
        arguments=[runtime_parameter(context.data_volume is not None, dag.collects)] if needs_runtime else None,
        workflows_service=_token_free_service_class()(),
    ) as workflow:
        with DAG(name=DAG_TEMPLATE_NAME, fail_fast=None if fail_fast else False):
            for node in dag.nodes:
                _dag_task(node, dag, templates)
        for node in dag.nodes:
            if node.loop is not None and node.loop.wrapped:
                _map_template(node, templates)
        if dag.exit_node is not None:
            with DAG(name=EXIT_TEMPLATE_NAME):
                _dag_task(dag.exit_node, DagSpec(nodes=[dag.exit_node]), templates)
    return workflow


def map_template_name(node: DagNode) -> str:
    """The DAG template a map with ``parallelism=`` runs in (no task template can have this name)."""
    return f"hera-magics-map-{node.name.lower()}"


def _arguments(node: DagNode) -> dict[str, str]:
    # str(): our references are str subclasses; Hera gets plain text.
    arguments = {key: str(value) for key, value in node.arguments.items()}
    if node.task.options.data_volume is not None:
        arguments[DATA_NODE_INPUT] = node.name
    return arguments


def _dag_task(node: DagNode, dag: DagSpec, templates: Mapping[str, Any]) -> Any:
    """The DAG task of ``node`` (inside the DAG being built): its template, arguments, edges, map, condition."""
    from hera.workflows import Task
    from hera.workflows.models import ContinueOn

    loop = node.loop
    common = {"name": node.name, "depends": dag.depends_text(node),
              "when": node.when.expression if node.when is not None else None}
    arguments = _arguments(node)
    if loop is None:
        return Task(template=templates[node.task.name], arguments=arguments or None, **common)
    if not loop.wrapped:
        return Task(template=templates[node.task.name], arguments=arguments,
                    with_items=list(loop.items) if loop.items is not None else None, with_param=loop.source,
                    continue_on=ContinueOn(failed=True, error=True) if loop.keep_going else None, **common)
    # parallelism=N: the loop runs in a DAG template of its own, which takes the call's arguments
    # (and a withParam list) as inputs and hands on the items' outputs.
    outer = {key: value for key, value in arguments.items() if key not in loop.keys}
    if loop.source is not None:
        outer[ITEMS_INPUT] = loop.source
    return Task(template=map_template_name(node), arguments=outer or None, **common)


def _map_template(node: DagNode, templates: Mapping[str, Any]) -> Any:
    """The DAG template of a map with ``parallelism=N``: the loop, at most N items at once."""
    from hera.workflows import DAG, Parameter, Task
    from hera.workflows.models import ContinueOn, ValueFrom

    loop = node.loop
    assert loop is not None and loop.parallelism is not None
    passed = [key for key in _arguments(node) if key not in loop.keys]
    inner = {key: "{{inputs.parameters.%s}}" % key for key in passed}
    inner.update({key: loop.argument(key) for key in loop.keys})
    inputs = [Parameter(name=key) for key in passed] + ([Parameter(name=ITEMS_INPUT)] if loop.source else [])
    outputs = None
    if node.task.has_return:
        outputs = [Parameter(name=RETURN_PARAMETER,
                             value_from=ValueFrom(parameter="{{tasks.%s.outputs.parameters}}" % node.name))]
    with DAG(name=map_template_name(node), parallelism=loop.parallelism, fail_fast=False if loop.keep_going else None,
             inputs=inputs or None, outputs=outputs) as template:
        Task(name=node.name, template=templates[node.task.name], arguments=inner,
             with_items=list(loop.items) if loop.items is not None else None,
             with_param="{{inputs.parameters.%s}}" % ITEMS_INPUT if loop.source else None,
             continue_on=ContinueOn(failed=True, error=True) if loop.keep_going else None)
    return template


@functools.lru_cache(maxsize=None)
def _token_free_service_class() -> type:
    """``TokenFreeWorkflowsService``: Hera's ``WorkflowsService`` without a stored token.

    Hera's service copies ``global_config.token`` into ``self.token`` when it is made, so every
    built ``Workflow`` (the one ``--dry-run`` returns) would carry the token in its ``repr``,
    ``vars()`` and pickle. This one reads it from ``global_config`` on each request instead, so
    ``workflow.create()`` still works. Made on first use (Hera loads lazily); module
    ``__getattr__`` serves it by name, so a pickled workflow loads again.
    """
    from hera.shared import global_config
    from hera.workflows.service import WorkflowsService

    def token(self: Any) -> str | None:
        value = global_config.token
        if not value:
            return None
        return value if len(value.strip().split()) > 1 else "Bearer " + value

    def ignore(self: Any, value: Any) -> None:  # Hera's __init__ assigns one: keep none
        pass

    service = type("TokenFreeWorkflowsService", (WorkflowsService,), {
        "token": property(token, ignore), "__module__": __name__,
        "__doc__": "Hera's WorkflowsService, reading the token from hera.shared.global_config on each request.",
    })
    return service


def __getattr__(name: str) -> Any:
    if name == "TokenFreeWorkflowsService":
        return _token_free_service_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def workflow_body(workflow: Any) -> dict[str, Any]:
    """The JSON of a workflow to create, from a Hera ``Workflow``, a Hera model or a ``dict``.

    A Hera ``Workflow`` is built and serialised exactly as Hera's own ``create_workflow`` does
    (``WorkflowCreateRequest`` dumped by alias without unset, default or ``None`` fields), so the
    server receives what Hera would send. A ``dict`` is deep-copied (the client adds a label to
    it) and may also be a create request ``{"workflow": {...}}``.
    """
    if isinstance(workflow, Mapping):
        body = copy.deepcopy(dict(workflow))
        if "workflow" in body and "spec" not in body and isinstance(body["workflow"], Mapping):
            body = dict(body["workflow"])
        return body
    if hasattr(workflow, "build") and callable(workflow.build):
        from hera.workflows.models import WorkflowCreateRequest

        request = WorkflowCreateRequest(workflow=workflow.build())
        dumped = request.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_unset=True, exclude_defaults=True
        )
        return dumped["workflow"]
    if hasattr(workflow, "model_dump"):
        return workflow.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(
        f"cannot submit a {type(workflow).__name__}: pass a Hera Workflow or a workflow dict"
    )
