"""Cell capture: a ``%%argo_task`` cell and its checked options → a frozen ``TaskSpec``.

``capture_cell`` checks the cell (syntax, IPython syntax, names the pod would not have, the task
name, the inputs) and records what the task is: its kind (function, script or shell cell), its
inputs with their Argo defaults, and the code to ship. Nothing here builds Hera objects or pod
code (``hera_magics.compile`` does) or talks to a server.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import json
import keyword
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .annotations import annotation_kinds
from .argo import MAX_NAME_LENGTH, NAME_PATTERN
from .decorators import read_script_decorator
from .errors import TaskDefinitionError
from .options import TaskOptions
from .pod.contract import PYTHON_DEFAULT_MARKER

# Names the %argo_dag namespace provides itself (``compile.hera_names``); a task may not hide them.
RESERVED_TASK_NAMES = frozenset({"Parameter", "Task"})


def argo_name(name: str) -> str:
    """The Argo-safe form of a notebook name: ``hello_world`` → ``hello-world``, ``My_task`` → ``my-task``.

    Lower-case, because Kubernetes names pods after templates and refuses upper-case pod names.
    """
    return name.replace("_", "-").lower()


def check_name_clash(name: str, tasks: Iterable[str]) -> None:
    """Refuse a task whose Argo name another registered task (of another notebook name) already has."""
    for other in tasks:
        if other != name and argo_name(other) == argo_name(name):
            raise TaskDefinitionError(
                f"tasks {other!r} and {name!r} would both be {argo_name(name)!r} on the cluster "
                "(Argo names are lower-case, with '-' for '_')",
                hint=f"give this task another name, or re-run the cell of {other!r} under the same name to replace it",
            )


def check_argo_name(name: str, *, what: str) -> str:
    """``name`` if Argo accepts it as a template or task name, else a ``TaskDefinitionError``."""
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise TaskDefinitionError(
            f"{what} {name!r} is not a valid Argo name",
            hint="use letters, digits and '-' (or '_' in the notebook), start and end with a letter "
            "or digit, at most 63 characters",
        )
    return name


def closest_names(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three of ``candidates`` that look like ``name`` (for "did you mean ...?")."""
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)


def default_image() -> str:
    """The image of a task without ``--image``: the kernel's Python version."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}"


# ---------------------------------------------------------------------------------------------
# the spec


@dataclass(frozen=True)
class InputSpec:
    """One input of a task. ``default`` is the Argo default (a string), None when required.

    ``kinds`` are its simple annotation (``("int",)``, ``("str", "None")``; empty: not checked),
    which ``%argo_dag`` checks values against. (How the pod decodes it, e.g. an input annotated
    ``str`` stays text, is the pod runtime's business: ``pod/runtime.py`` reads the function's own
    signature.)
    """

    name: str
    default: str | None = None
    kinds: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class TaskSpec:
    """A captured cell: everything needed to build its Argo template."""

    name: str  # the notebook (Python identifier) name
    kind: str  # "function", "script" or "shell"
    cell: str
    code: str  # the cell as shipped (IPython `!` lines already turned into calls)
    inputs: tuple[InputSpec, ...]
    options: TaskOptions
    function_name: str | None = None
    notes: tuple[str, ...] = field(default=())
    returns: tuple[str, ...] = ()  # the function's simple return annotation (see InputSpec.kinds)

    @property
    def argo_name(self) -> str:
        return argo_name(self.name)

    @property
    def has_return(self) -> bool:
        return self.kind == "function"

    @property
    def image(self) -> str:
        return self.options.image or default_image()

    def input_named(self, name: str) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def resources_text(self) -> str:
        options = self.options
        parts = []
        if options.gpu:
            parts.append(f"gpu {options.gpu}" + ("" if options.gpu_resource == "nvidia.com/gpu" else f" ({options.gpu_resource})"))
        if options.cpu:
            parts.append(f"cpu {options.cpu}")
        if options.memory:
            parts.append(f"memory {options.memory}")
        if options.shm:
            parts.append(f"shm {options.shm}")
        if options.retries:
            parts.append(f"retries {options.retries}")
        if options.timeout_seconds:
            parts.append(f"timeout {options.timeout_seconds}s")
        return ", ".join(parts) or "default"

    def inputs_text(self) -> str:
        if not self.inputs:
            return "none"
        return ", ".join(spec.name if spec.required else f"{spec.name}={spec.default}" for spec in self.inputs)

    def summary(self) -> str:
        text = (
            f"task {self.name} ({self.kind}) · image {self.image} · inputs {self.inputs_text()}"
            f" · resources {self.resources_text()}"
        )
        if self.options.conda_env:
            text += f" · conda env {self.options.conda_env}"
        if self.options.volumes:
            text += " · volumes " + ", ".join(volume.describe() for volume in self.options.volumes)
        if self.options.data_volume is not None:
            text += f" · data through volume {self.options.data_volume.describe().split(':')[0]}"
        return text


# ---------------------------------------------------------------------------------------------
# the checks


def _serialise_default(value: Any) -> str:
    """How an Argo parameter carries a Python value: strings raw, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _literal_default(node: ast.expr) -> str:
    try:
        return _serialise_default(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return PYTHON_DEFAULT_MARKER


def _function_inputs(function: ast.FunctionDef) -> tuple[InputSpec, ...]:
    arguments = function.args
    if arguments.vararg or arguments.kwarg:
        raise TaskDefinitionError(
            f"function {function.name}() takes *args or **kwargs; a task needs named inputs",
            hint="give every input its own parameter, e.g. def train(path, lr=0.1)",
        )
    if arguments.posonlyargs:
        raise TaskDefinitionError(f"function {function.name}() has positional-only parameters; remove the '/'")
    positional = arguments.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    specs = []
    for parameter, default in [*zip(positional, defaults), *zip(arguments.kwonlyargs, arguments.kw_defaults)]:
        specs.append(InputSpec(parameter.arg, None if default is None else _literal_default(default),
                               annotation_kinds(parameter.annotation)))
    return tuple(specs)


def _check_not_a_generator(function: ast.FunctionDef) -> None:
    """A generator's values exist only while someone iterates it: in the pod nobody would."""
    own: list[ast.AST] = list(function.body)
    while own:
        node = own.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            raise TaskDefinitionError(
                f"line {node.lineno}: {function.name}() is a generator (it uses yield); a task returns one value",
                hint="collect the values in a list and return it, e.g. return [ ... for ... ]",
            )
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            own.extend(ast.iter_child_nodes(node))


def _script_inputs(declared: Iterable[str]) -> tuple[InputSpec, ...]:
    specs: list[InputSpec] = []
    for item in declared:
        name, has_default, default = item.partition("=")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise TaskDefinitionError(
                f"--inputs {item!r}: {name!r} is not a Python variable name",
                hint="inputs become variables of the script: --inputs path lr=0.1",
            )
        if any(spec.name == name for spec in specs):
            raise TaskDefinitionError(f"--inputs names {name!r} twice")
        specs.append(InputSpec(name, default if has_default else None))
    return tuple(specs)


def _check_task_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        suggestion = re.sub(r"\W", "_", name)
        if keyword.iskeyword(suggestion) or not suggestion.isidentifier():
            suggestion = ("task_" + suggestion) if not suggestion[:1].isalpha() else suggestion + "_task"
        raise TaskDefinitionError(
            f"task name {name!r} is not a Python identifier",
            hint=f"tasks are named like variables so %argo_dag can use them, e.g. {suggestion!r}"
            " (it becomes an Argo-safe name with '-' on the cluster)",
        )
    if name in RESERVED_TASK_NAMES:
        raise TaskDefinitionError(f"task name {name!r} is reserved by %argo_dag; choose another name")
    check_argo_name(argo_name(name), what="task name")


IPYTHON_SYSTEM_CALL = "get_ipython().system("
IPYTHON_ONLY_BUILTINS = frozenset({"display", "get_ipython", "__IPYTHON__"})


def _replace_ipython_syntax(cell: str, transform: Callable[[str], str] | None) -> tuple[str, list[str]]:
    """Turn ``!cmd`` lines into subprocess calls; refuse ``%magic`` and ``x = !cmd``.

    ``transform`` is IPython's reading of a cell (``session.ipython_transform``); without it, IPython
    syntax is a syntax error. Returns the code to ship and notes for the user. Without IPython
    syntax the cell is returned unchanged (comments and all).
    """
    if transform is None:
        return cell, []
    # IPython's transformer drops leading blank lines; keep them, so line numbers stay the cell's.
    body = cell.lstrip("\n")
    leading = cell[: len(cell) - len(body)]
    transformed = leading + transform(body)
    if transformed.rstrip("\n") == cell.rstrip("\n"):
        return cell, []
    original_lines = cell.splitlines()
    new_lines = transformed.splitlines()
    if len(new_lines) != len(original_lines):
        raise TaskDefinitionError(
            "the cell uses IPython cell syntax (%%magic) that cannot run in a plain Python pod",
            hint="remove the %% line; the pod runs the cell with python",
        )
    notes = []
    for number, (before, after) in enumerate(zip(original_lines, new_lines), start=1):
        if before == after:
            continue
        if "get_ipython().system(" in after and after.strip().startswith(IPYTHON_SYSTEM_CALL):
            notes.append(f"line {number}: `{before.strip()}` will run as a shell command (subprocess, fails the task on error)")
            continue
        raise TaskDefinitionError(
            f"line {number}: `{before.strip()}` is IPython syntax that cannot run in a plain Python pod",
            hint="use Python instead (e.g. subprocess.run(...) or the module the magic wraps); "
            "only `!command` lines on their own are turned into shell commands",
        )
    # The import is inline, so the line works wherever it is and binds no name of its own.
    return transformed.replace(IPYTHON_SYSTEM_CALL, '__import__("subprocess").run(shell=True, check=True, args='), notes


def _has_main_guard(tree: ast.Module) -> bool:
    """A top-level ``if __name__ == "__main__":``."""
    for statement in tree.body:
        if isinstance(statement, ast.If) and isinstance(statement.test, ast.Compare):
            names = [node for node in ast.walk(statement.test) if isinstance(node, ast.Name) and node.id == "__name__"]
            constants = [node for node in ast.walk(statement.test)
                         if isinstance(node, ast.Constant) and node.value == "__main__"]
            if names and constants:
                return True
    return False


def _undefined_names(code: str, tree: ast.Module, known: Iterable[str]) -> list[tuple[str, int]]:
    """Names the code reads but never binds (pyflakes), minus ``known`` ones such as inputs."""
    from pyflakes import checker, messages

    report = checker.Checker(tree, filename="<cell>", builtins=set(known))
    found: list[tuple[str, int]] = []
    # Inside a kernel IPython adds these to builtins, so pyflakes takes them as defined;
    # a plain Python pod has none of them.
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    bound |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    bound |= {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in IPYTHON_ONLY_BUILTINS and node.id not in bound:
            found.append((node.id, node.lineno))
            break
    for message in report.messages:
        if isinstance(message, messages.UndefinedName):
            name = message.message_args[0]
            if name not in [item[0] for item in found]:
                found.append((name, message.lineno))
    return found


def _check_names(code: str, tree: ast.Module, known: Iterable[str], notebook_names: Mapping[str, Any] | None,
                 input_hint: str) -> None:
    undefined = _undefined_names(code, tree, known)
    if not undefined:
        return
    notebook_names = notebook_names or {}
    name, line = undefined[0]
    others = [item[0] for item in undefined[1:]]
    also = f" (also undefined: {', '.join(others)})" if others else ""
    if name in notebook_names:
        definition = _defined_elsewhere(name, notebook_names[name])
        if definition is not None:
            message, hint = definition
            raise TaskDefinitionError(f"line {line}: {message}{also}", hint=hint)
        raise TaskDefinitionError(
            f"line {line}: `{name}` is a notebook variable and will not exist in the pod; pass it as an input{also}",
            hint=input_hint.format(name=name),
        )
    if name in ("display", "get_ipython"):
        raise TaskDefinitionError(
            f"line {line}: `{name}` exists only inside IPython, not in the pod's plain Python{also}",
            hint="use print(...) in tasks; results come back with run.result(...)",
        )
    raise TaskDefinitionError(
        f"line {line}: `{name}` is used but never defined in the cell{also}",
        hint="import or define it in the cell (only the cell is shipped to the pod), or make it an input",
    )


def _defined_elsewhere(name: str, value: Any) -> tuple[str, str] | None:
    """(message, hint) for a module, function or class of another cell, which no input can carry."""
    if inspect.ismodule(value):
        module = value.__name__
        statement = f"import {module}" if module == name else f"import {module} as {name}"
        if "." in module and module.rsplit(".", 1)[1] == name:
            statement = f"from {module.rsplit('.', 1)[0]} import {name}"
        return (f"`{name}` is a module imported in another cell; the pod runs only this cell",
                f"import it in this cell: {statement}")
    if not (inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value)):
        return None
    kind = "class" if inspect.isclass(value) else "function"
    home = getattr(value, "__module__", None)
    if home and home != "__main__" and not home.startswith("_"):
        original = getattr(value, "__name__", name)
        statement = f"from {home} import {original}" + (f" as {name}" if original != name else "")
        return (f"`{name}` is a {kind} imported in another cell; the pod runs only this cell",
                f"import it in this cell: {statement}")
    return (f"`{name}` is a {kind} defined in another cell; the pod runs only this cell",
            f"define {name} in this cell too (or put it in a module that the task imports)")


def capture_cell(
    cell: str,
    options: TaskOptions,
    *,
    name: str | None = None,
    notebook_names: Mapping[str, Any] | None = None,
    ipython_transform: Callable[[str], str] | None = None,
) -> TaskSpec:
    """Check a ``%%argo_task`` cell and build its ``TaskSpec``.

    ``notebook_names`` (the notebook's variables) only improves messages: a name the cell reads
    but never binds is explained as a notebook variable that must become an input.
    ``ipython_transform`` (IPython's cell transformer, given by the session) lets ``!cmd`` lines in.
    """
    if not cell.strip():
        raise TaskDefinitionError("the cell is empty; write the task's code below %%argo_task")
    cell = textwrap.dedent(cell)
    if name is not None:
        _check_task_name(name)

    if options.shell:
        if name is None:
            raise TaskDefinitionError("a --shell task needs a name: %%argo_task NAME --shell")
        inputs = _script_inputs(options.inputs)
        _check_shell_script(cell)
        return TaskSpec(name=name, kind="shell", cell=cell, code=cell, inputs=inputs, options=options,
                        notes=options.notes)

    code, notes = _replace_ipython_syntax(cell, ipython_transform)
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        detail = (error.msg or "invalid syntax")
        raise TaskDefinitionError(
            f"syntax error on line {error.lineno}: {detail}; the task was not registered",
            hint=(error.text or "").strip() or None,
        ) from None

    function = _task_function(tree, name, options)
    if name is None:
        assert function is not None
        name = function.name
        _check_task_name(name)
    if function is not None:
        code, options, decorator_notes = read_script_decorator(code, tree, function, options, task_name=name)
        if decorator_notes:
            notes.extend(decorator_notes)
            tree = ast.parse(code)  # the same lines, without the decorator
            function = _task_function(tree, name, options)
            assert function is not None
        _check_not_a_generator(function)
        if _has_main_guard(tree):
            raise TaskDefinitionError(
                "the cell has an `if __name__ == \"__main__\":` block; in the pod it would run, and then the "
                f"task calls {function.name}() itself",
                hint="remove the block: the task calls the function with its inputs",
            )
        if options.inputs:
            raise TaskDefinitionError(
                "--inputs is for script cells; a function cell takes its inputs from the signature",
                hint=f"add parameters to {function.name}(...) instead",
            )
        inputs = _function_inputs(function)
        _check_names(code, tree, [], notebook_names,
                     f"add a parameter `{{name}}` to {function.name}() and pass it in %argo_dag: "
                     f"{name}({{name}}={{name}})")
        kind = "function"
    else:
        inputs = _script_inputs(options.inputs)
        _check_names(code, tree, [spec.name for spec in inputs], notebook_names,
                     f"declare it with %%argo_task {name} --inputs {{name}} and pass it in %argo_dag: "
                     f"{name}({{name}}={{name}})")
        kind = "script"
    assert name is not None
    return TaskSpec(name=name, kind=kind, cell=cell, code=code, inputs=inputs, options=options,
                    function_name=function.name if function is not None else None,
                    notes=tuple(options.notes) + tuple(notes),
                    returns=annotation_kinds(function.returns) if function is not None else ())


def _task_function(tree: ast.Module, name: str | None, options: TaskOptions) -> ast.FunctionDef | None:
    """The function a cell's task calls: the one named ``name``, or the cell's only function.

    None for a script cell (a name given, no function of that name).
    """
    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if name is not None:
        function = next((node for node in functions if node.name == name), None)
    elif len(functions) == 1:
        function = functions[0]
    elif not functions:
        hint = "write %%argo_task NAME (a script cell), or put the code in one function"
        if options.inputs:
            # `--inputs x report` reads report as one more input
            hint = f"the name goes before the options: %%argo_task NAME --inputs {' '.join(options.inputs)}"
        raise TaskDefinitionError("this cell defines no function, so the task needs a name", hint=hint)
    else:
        raise TaskDefinitionError(
            f"this cell defines {len(functions)} functions ({', '.join(f.name for f in functions)}); "
            "say which one is the task",
            hint=f"write %%argo_task {functions[-1].name}",
        )
    if isinstance(function, ast.AsyncFunctionDef):
        raise TaskDefinitionError(
            f"{function.name}() is an async function; tasks are plain functions",
            hint="call asyncio.run(...) inside a plain function",
        )
    return function


def _check_shell_script(cell: str) -> None:
    if "{{" in cell:
        raise TaskDefinitionError(
            "the shell script contains '{{', which Argo would substitute",
            hint="inputs are environment variables in a --shell task: write $name instead of {{...}}",
        )
