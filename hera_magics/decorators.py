"""Hera's ``@script(...)`` pasted on a task function: its arguments become ``%%argo_task`` options.

Cells pasted from Hera code (and from the Nebari page the seed comes from) carry
``@script(env=[Env(name="ENV_VAR1", value="1")])`` on their functions. The pod calls the function
itself, so the decorator would do nothing there and its settings would be lost without a word.
Instead, ``read_script_decorator`` reads its arguments from the cell's syntax tree (the cell is
never run in the notebook, and no Hera is imported): those that map to our options are taken
(and the summary says so), any other one is refused with the option to use instead. The
decorator's lines, and Hera imports nothing else in the cell uses, are blanked in the code the
pod runs (blank, so tracebacks keep the cell's line numbers).

No IPython, no Hera.
"""

from __future__ import annotations

import ast
import dataclasses
import shlex
from typing import Any, Callable

from .errors import TaskDefinitionError
from .options import TaskOptions, parse_task_options

# Hera's keyword -> the %%argo_task option a user should use instead, for those we cannot take.
REFUSED_KEYWORDS = {
    "tolerations": "--toleration KEY[=VALUE]:EFFECT",
    "volumes": "--volume CLAIM[/SUBPATH]:MOUNT[:ro]",
    "volume_mounts": "--volume CLAIM[/SUBPATH]:MOUNT[:ro]",
    "inputs": "the function's parameters (they are the task's inputs)",
    "outputs": "the function's return value",
    "args": '--command "..."',
    "image_pull_policy": "nothing (the cluster's default pull policy applies)",
    "retry_strategy": "--retries N",
}
# Keywords that change nothing for a task whose whole cell is shipped and called by us.
NO_EFFECT_KEYWORDS = ("constructor", "add_cwd_to_sys_path")


def hera_script_decorator(function: ast.FunctionDef) -> ast.expr | None:
    """The function's ``@script``/``@script(...)``/``@<module>.script(...)`` decorator, if it has one."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Name) and target.id == "script") or (
                isinstance(target, ast.Attribute) and target.attr == "script"):
            return decorator
    return None


def read_script_decorator(code: str, tree: ast.Module, function: ast.FunctionDef, options: TaskOptions,
                          *, task_name: str) -> tuple[str, TaskOptions, tuple[str, ...]]:
    """``(code, options, notes)`` with the function's Hera ``@script(...)`` taken into account.

    ``code`` no longer holds the decorator (nor Hera imports only it used); ``options`` are the
    line's options merged with the decorator's (given twice: a ``TaskDefinitionError``); the
    notes say what was read. Without such a decorator everything comes back unchanged.
    """
    decorator = hera_script_decorator(function)
    if decorator is None:
        return code, options, ()
    keywords = _keywords(decorator, function.name)
    raw: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in keywords.items():
        _take(name, value, raw, notes, function=function.name, task_name=task_name)
    from_decorator = parse_task_options(**raw)
    merged = _merge(options, from_decorator)
    taken = " ".join(_shown(name, value) for name, value in raw.items())
    summary = f"@script(...) read as {taken}" if taken else "@script() removed (the task calls the function itself)"
    code = _without_lines(code, [decorator])
    code = _without_unused_hera_imports(code)
    return code, merged, (summary, *notes, *from_decorator.notes)


def _keywords(decorator: ast.expr, function: str) -> dict[str, ast.expr]:
    if not isinstance(decorator, ast.Call):
        return {}
    if decorator.args:
        raise TaskDefinitionError(f"@script(...) on {function}() has positional arguments; Hera takes keywords only")
    found = {}
    for keyword in decorator.keywords:
        if keyword.arg is None:
            raise TaskDefinitionError(f"@script(**...) on {function}(): write the settings out as keywords",
                                      hint="for example @script(image='python:3.11') or %%argo_task --image python:3.11")
        found[keyword.arg] = keyword.value
    return found


def _literal(node: ast.expr, what: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise TaskDefinitionError(
            f"@script({what}=...) is not a literal value, so it cannot be read without running the cell",
            hint="write it as a literal, or use the %%argo_task option instead (%%argo_task? lists them)",
        ) from None


def _call_keywords(node: ast.expr, kinds: tuple[str, ...], positional: tuple[str, ...], what: str,
                   allowed: Callable[[str, set[str]], None]) -> tuple[str, dict]:
    """``("Env", {"name": ..., "value": ...})`` for ``Env(name=..., value=...)`` (or ``Env("A", "1")``).

    ``allowed(kind, names)`` refuses keywords we cannot take, before their values are read.
    """
    target = node.func if isinstance(node, ast.Call) else None
    kind = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
    if not isinstance(node, ast.Call) or kind not in kinds:
        raise TaskDefinitionError(f"@script({what}=...): expected {' or '.join(f'{k}(...)' for k in kinds)}")
    arguments = dict(zip(positional, node.args))
    arguments.update({keyword.arg: keyword.value for keyword in node.keywords if keyword.arg})
    allowed(kind, set(arguments))
    return kind, {name: _literal(argument, what) for name, argument in arguments.items()}


def _take(name: str, value: ast.expr, raw: dict[str, Any], notes: list[str], *, function: str, task_name: str) -> None:
    """Put the decorator keyword ``name`` into ``raw`` (``parse_task_options`` keywords), or refuse it."""
    if name == "env":
        _take_env(value, raw)
    elif name == "image":
        raw["image"] = str(_literal(value, name))
    elif name == "resources":
        _take_resources(value, raw)
    elif name in ("timeout", "active_deadline_seconds"):
        raw["timeout"] = str(_literal(value, name))
    elif name == "node_selector":
        raw["node_selector"] = [f"{key}={item}" for key, item in dict(_literal(value, name)).items()]
    elif name == "labels":
        raw["label"] = [f"{key}={item}" for key, item in dict(_literal(value, name)).items()]
    elif name == "working_dir":
        raw["workdir"] = str(_literal(value, name))
    elif name == "command":
        command = _literal(value, name)
        raw["command"] = shlex.join(command) if isinstance(command, (list, tuple)) else str(command)
    elif name == "retry_strategy" and isinstance(value, ast.Call):
        _kind, values = _call_keywords(value, ("RetryStrategy",), (), name, _only_retry_limit)
        raw["retries"] = int(values.get("limit", 0))
    elif name == "name":
        given = str(_literal(value, name))
        if given.replace("_", "-").lower() != task_name.replace("_", "-").lower():
            raise TaskDefinitionError(
                f"@script(name={given!r}) would name the template differently from the task {task_name!r}",
                hint=f"name the task with %%argo_task {given.replace('-', '_')} instead, and remove name=",
            )
    elif name in NO_EFFECT_KEYWORDS:
        notes.append(f"@script({name}=...) has no effect here: the whole cell is shipped and the task calls "
                     f"{function}() itself")
    elif name in REFUSED_KEYWORDS:
        raise TaskDefinitionError(f"@script({name}=...) cannot be taken from the decorator",
                                  hint=f"use {REFUSED_KEYWORDS[name]} instead, and remove it from @script")
    else:
        raise TaskDefinitionError(f"@script({name}=...) has no %%argo_task option",
                                  hint="remove it, or see %%argo_task? for what a task can set")


def _only_retry_limit(kind: str, names: set[str]) -> None:
    if names - {"limit"}:
        raise TaskDefinitionError(
            f"@script(retry_strategy=RetryStrategy({', '.join(sorted(names - {'limit'}))}=...)) has no "
            "%%argo_task option", hint="--retries N sets the number of retries; remove the other settings")


def _env_keywords(kind: str, names: set[str]) -> None:
    if kind == "SecretEnv":
        if names != {"name", "secret_name", "secret_key"}:
            raise TaskDefinitionError("@script(env=[SecretEnv(...)]) needs name, secret_name and secret_key",
                                      hint="or use --secret-env VAR=SECRET:KEY")
    elif names - {"name", "value"} or "name" not in names:
        raise TaskDefinitionError("@script(env=[Env(...)]) takes name and value here",
                                  hint="use --env NAME=VALUE (or --secret-env VAR=SECRET:KEY for secrets)")


def _resource_keywords(kind: str, names: set[str]) -> None:
    unknown = names - {"cpu_request", "memory_request", "memory_limit", "gpus", "gpu_flag"}
    if "cpu_limit" in unknown:
        raise TaskDefinitionError("@script(resources=Resources(cpu_limit=...)): %%argo_task sets no CPU limit",
                                  hint="--cpu sets the CPU request; remove cpu_limit")
    if unknown:
        raise TaskDefinitionError(f"@script(resources=Resources({sorted(unknown)[0]}=...)) has no %%argo_task option",
                                  hint="use --cpu, --memory, --gpu [N] and --gpu-resource")


def _take_env(value: ast.expr, raw: dict[str, Any]) -> None:
    if isinstance(value, ast.Dict):
        pairs = dict(_literal(value, "env"))
        raw.setdefault("env", []).extend(f"{key}={item}" for key, item in pairs.items())
        return
    items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
    for item in items:
        kind, values = _call_keywords(item, ("Env", "SecretEnv"), ("name", "value"), "env", _env_keywords)
        if kind == "SecretEnv":
            raw.setdefault("secret_env", []).append(f"{values['name']}={values['secret_name']}:{values['secret_key']}")
            continue
        text = values.get("value")
        raw.setdefault("env", []).append(f"{values['name']}={'' if text is None else text}")


def _take_resources(value: ast.expr, raw: dict[str, Any]) -> None:
    _kind, values = _call_keywords(value, ("Resources",), (), "resources", _resource_keywords)
    if "cpu_request" in values:
        raw["cpu"] = str(values["cpu_request"])
    memory = {values.get("memory_request"), values.get("memory_limit")} - {None}
    if len(memory) > 1:
        raise TaskDefinitionError("@script(resources=...): memory_request and memory_limit differ",
                                  hint="--memory sets both to one value: write the same value twice, or one of them")
    if memory:
        raw["memory"] = str(memory.pop())
    if values.get("gpus"):
        raw["gpu"] = int(values["gpus"])
    if values.get("gpu_flag"):
        raw["gpu_resource"] = str(values["gpu_flag"])


def _shown(name: str, value: Any) -> str:
    """One option as the user would type it (``--env A=1 --env B=2``)."""
    flag = "--" + {"label": "label", "secret_env": "secret-env", "node_selector": "node-selector",
                   "gpu_resource": "gpu-resource"}.get(name, name.replace("_", "-"))
    values = value if isinstance(value, list) else [value]
    return " ".join(f"{flag} {shlex.quote(str(item))}" for item in values)


def _merge(line: TaskOptions, decorator: TaskOptions) -> TaskOptions:
    """The line's options plus the decorator's; a setting given by both is an error, lists add up."""
    defaults = TaskOptions()
    merged: dict[str, Any] = {}
    for option in dataclasses.fields(TaskOptions):
        mine, theirs, default = (getattr(line, option.name), getattr(decorator, option.name),
                                 getattr(defaults, option.name))
        if option.name == "notes":
            merged["notes"] = mine
        elif isinstance(default, tuple):
            keys = [item[0] for item in mine + theirs if isinstance(item, tuple)]
            duplicate = next((key for key in keys if keys.count(key) > 1), None)
            if duplicate is not None:
                raise TaskDefinitionError(f"{duplicate!r} is set both on the %%argo_task line and in @script(...)",
                                          hint="keep one of them")
            merged[option.name] = mine + theirs
        elif theirs != default and mine != default and mine != theirs:
            raise TaskDefinitionError(
                f"{option.name.replace('_', '-')} is set both on the %%argo_task line ({mine}) and in @script(...) "
                f"({theirs})", hint="keep one of them")
        else:
            merged[option.name] = theirs if theirs != default else mine
    return TaskOptions(**merged)


def _without_lines(code: str, nodes: list[ast.AST]) -> str:
    """``code`` with the lines of ``nodes`` blank (a decorator's lines include its ``@``)."""
    lines = code.splitlines(keepends=True)
    for node in nodes:
        for index in range(node.lineno - 1, (node.end_lineno or node.lineno)):
            lines[index] = "\n"
    return "".join(lines)


def _without_unused_hera_imports(code: str) -> str:
    """Blank ``from hera... import`` / ``import hera...`` statements whose names the code no longer uses."""
    tree = ast.parse(code)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.value.id for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    line_owners: dict[int, int] = {}
    for statement in tree.body:
        for line in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1):
            line_owners[line] = line_owners.get(line, 0) + 1
    unused = []
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom):
            is_hera = (statement.module or "").split(".")[0] == "hera"
        elif isinstance(statement, ast.Import):
            is_hera = all(alias.name.split(".")[0] == "hera" for alias in statement.names)
        else:
            continue
        names = {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
        alone = all(line_owners[line] == 1 for line in range(statement.lineno, (statement.end_lineno or 0) + 1))
        if is_hera and alone and not names & used:
            unused.append(statement)
    return _without_lines(code, unused)
