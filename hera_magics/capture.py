"""Cell capture: a ``%%argo_task`` cell and its options → ``TaskSpec`` → Hera ``Script``.

The pipeline is pure: ``parse_task_options`` checks the flags, ``capture_cell`` checks the cell and
builds a frozen ``TaskSpec`` (including the exact script source the pod runs), and
``build_script`` turns a spec into a Hera ``Script`` template. Nothing here talks to a server.

How inputs reach the pod (see docs/internals.md): input ``x`` is the Argo input parameter ``x``,
handed to the process as the environment variable ``HERA_MAGICS_INPUT_x``. A small preamble decodes
it. Values are never spliced into the source, so no value can become code.
"""

from __future__ import annotations

import ast
import base64
import difflib
import json
import keyword
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import TaskDefinitionError

INPUT_ENV_PREFIX = "HERA_MAGICS_INPUT_"
PATH_PREFIX_ENV = "HERA_MAGICS_PATH_PREFIX"
RETURN_PATH = "/tmp/hera-magics/return"
RETURN_PARAMETER = "return"
DATA_MOUNT = "/hera-magics-data"
DATA_NODE_INPUT = "hera-magics-node"  # tells a --data-volume task which node it is
# An Argo parameter default can only be a string. A Python default that is not a literal
# (``lr=DEFAULT_LR``) is left to Python: the pod sees this marker and omits the argument.
PYTHON_DEFAULT_MARKER = "__hera_magics_python_default__"
# Names the %argo_dag namespace provides itself; a task may not hide them.
RESERVED_TASK_NAMES = frozenset({"Parameter", "Task"})
ARGO_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
MAX_ARGO_NAME = 63

QUANTITY_PATTERN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
# Units people write by habit, and the Kubernetes unit that means the same.
HABIT_UNITS = {"KB": "k", "MB": "M", "GB": "G", "TB": "T", "KiB": "Ki", "MiB": "Mi", "GiB": "Gi",
               "TiB": "Ti", "kb": "k", "mb": "M", "gb": "G", "tb": "T"}
DURATION_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


# ---------------------------------------------------------------------------------------------
# option values


def parse_quantity(value: str, *, what: str, notes: list[str] | None = None) -> str:
    """Check a Kubernetes quantity (``2Gi``, ``500m``, ``4``); ``2GB`` becomes ``2G``, said in notes."""
    text = value.strip()
    if QUANTITY_PATTERN.match(text):
        return text
    match = re.match(r"^([0-9]+(?:\.[0-9]+)?)([A-Za-z]+)$", text)
    if match and match.group(2) in HABIT_UNITS:
        converted = match.group(1) + HABIT_UNITS[match.group(2)]
        if notes is not None:
            notes.append(f"{what} {text} read as {converted} (Kubernetes writes 10^9 bytes as G, 2^30 as Gi)")
        return converted
    raise TaskDefinitionError(
        f"{what} {value!r} is not a Kubernetes quantity",
        hint="write a number with an optional unit: 4, 500m (CPU), 512Mi, 16Gi, 2G",
    )


def parse_duration(value: str, *, what: str) -> int:
    """A duration (``90``, ``30s``, ``30m``, ``2h``, ``1d``, ``1h30m``) in seconds."""
    text = value.strip()
    if text.isdigit():
        seconds = int(text)
    else:
        match = DURATION_PATTERN.match(text)
        if not text or not match or not any(match.groups()):
            raise TaskDefinitionError(
                f"{what} {value!r} is not a duration",
                hint="write seconds or a number with s, m, h or d: 90, 30s, 30m, 2h, 1d, 1h30m",
            )
        days, hours, minutes, secs = (int(group or 0) for group in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if seconds <= 0:
        raise TaskDefinitionError(f"{what} {value!r} must be longer than zero")
    return seconds


def parse_key_value(text: str, *, flag: str, example: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise TaskDefinitionError(f"{flag} {text!r} must be KEY=VALUE", hint=f"for example {flag} {example}")
    return key.strip(), value


def parse_env(text: str) -> tuple[str, str]:
    name, value = parse_key_value(text, flag="--env", example="ENV_VAR1=1")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise TaskDefinitionError(f"--env {text!r}: {name!r} is not a valid environment variable name")
    if name.startswith(INPUT_ENV_PREFIX) or name == PATH_PREFIX_ENV:
        raise TaskDefinitionError(f"--env {name}: names starting with HERA_MAGICS_ are reserved")
    return name, value


def parse_secret_env(text: str) -> tuple[str, str, str]:
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=([a-z0-9][-a-z0-9.]*):(.+)$", text.strip())
    if not match:
        raise TaskDefinitionError(
            f"--secret-env {text!r} must be VAR=SECRET:KEY",
            hint="for example --secret-env AWS_KEY=my-secret:access-key",
        )
    return match.group(1), match.group(2), match.group(3)


def parse_label(text: str) -> tuple[str, str]:
    key, value = parse_key_value(text, flag="--label", example="team=vision")
    if not re.match(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", key) or len(key) > 317:
        raise TaskDefinitionError(f"--label {text!r}: {key!r} is not a valid Kubernetes label key")
    if value and (len(value) > 63 or not re.match(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", value)):
        raise TaskDefinitionError(
            f"--label {text!r}: {value!r} is not a valid label value",
            hint="label values are at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
        )
    return key, value


@dataclass(frozen=True)
class TolerationSpec:
    key: str
    value: str | None
    effect: str


def parse_toleration(text: str) -> TolerationSpec:
    """``KEY[=VALUE]:EFFECT``, e.g. ``nvidia.com/gpu:NoSchedule`` or ``dedicated=nebari:NoSchedule``."""
    head, separator, effect = text.rpartition(":")
    if not separator or effect not in TOLERATION_EFFECTS or not head:
        raise TaskDefinitionError(
            f"--toleration {text!r} must be KEY[=VALUE]:EFFECT",
            hint="EFFECT is one of NoSchedule, PreferNoSchedule, NoExecute; "
            "for example --toleration dedicated=gpu:NoSchedule",
        )
    key, has_value, value = head.partition("=")
    return TolerationSpec(key=key, value=value if has_value else None, effect=effect)


NEBARI_SHORT_VOLUMES = ("home", "shared", "conda")


@dataclass(frozen=True)
class VolumeSpec:
    """A volume claim to mount. ``short`` is a Nebari short name (home, shared, conda) whose claim
    is known only once the namespace and user are (see ``resolve_volume``)."""

    claim: str
    sub_path: str | None
    mount_path: str | None
    read_only: bool
    short: str | None = None

    @property
    def volume_name(self) -> str:
        # Volume names must be unique per template and DNS-safe.
        base = re.sub(r"[^a-z0-9-]", "-", f"{self.claim}-{self.sub_path or ''}".lower()).strip("-")
        base = re.sub(r"-+", "-", base)
        return (base[:50] or "volume") + "-" + _short_hash(f"{self.claim}/{self.sub_path}:{self.mount_path}")

    def describe(self) -> str:
        source = self.short or self.claim
        if self.sub_path:
            source += "/" + self.sub_path
        return source + (f":{self.mount_path}" if self.mount_path else "") + (":ro" if self.read_only else "")


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()[:6]


def _split_volume_source(text: str, source: str) -> tuple[str, str | None, str | None]:
    """(claim or short name, sub path, short name or None) of ``CLAIM[/SUBPATH]`` / ``home`` / ``shared/G``."""
    head, _, sub_path = source.partition("/")
    if head in NEBARI_SHORT_VOLUMES:
        if head == "shared" and not sub_path.strip("/"):
            raise TaskDefinitionError(f"{text!r}: name the group: shared/GROUP")
        if head != "shared" and sub_path:
            raise TaskDefinitionError(f"{text!r}: {head} takes no sub-folder; write {head}:MOUNT")
        return head, sub_path.strip("/") or None, head
    if not ARGO_NAME_PATTERN.match(head) or head.lower() != head:
        raise TaskDefinitionError(f"{text!r}: {head!r} is not a valid claim name")
    return head, sub_path.strip("/") or None, None


def parse_volume(text: str) -> VolumeSpec:
    """``CLAIM[/SUBPATH]:MOUNT[:ro]``, or a Nebari short name: ``home``, ``shared/GROUP``, ``conda``
    (whose mount point may be left out: ``/home/<user>``, ``/shared/GROUP``, ``/home/conda``)."""
    parts = text.split(":")
    read_only = False
    if len(parts) >= 2 and parts[-1] in ("ro", "rw"):
        read_only = parts[-1] == "ro"
        parts = parts[:-1]
    if not parts or not parts[0] or len(parts) > 2 or (len(parts) == 2 and not parts[1].startswith("/")):
        raise TaskDefinitionError(
            f"--volume {text!r} must be CLAIM[/SUBPATH]:MOUNT[:ro] (or home, shared/GROUP, conda)",
            hint="MOUNT is an absolute path; for example --volume my-claim/data:/mnt/data:ro or --volume home",
        )
    claim, sub_path, short = _split_volume_source(f"--volume {text}", parts[0])
    mount = parts[1] if len(parts) == 2 else None
    if mount is None and short is None:
        raise TaskDefinitionError(
            f"--volume {text!r} must be CLAIM[/SUBPATH]:MOUNT[:ro] (or home, shared/GROUP, conda)",
            hint="a claim needs a mount point: --volume my-claim:/mnt/data",
        )
    return VolumeSpec(claim=claim, sub_path=sub_path, mount_path=mount, read_only=read_only, short=short)


def parse_data_volume(text: str) -> VolumeSpec:
    """``--data-volume``: ``home`` (the default), ``shared/GROUP`` or ``CLAIM[/SUBPATH]``."""
    if ":" in text:
        raise TaskDefinitionError(
            f"--data-volume {text!r} takes no mount point (the data folder is mounted at {DATA_MOUNT})",
            hint="write --data-volume home, --data-volume shared/GROUP or --data-volume CLAIM[/SUBPATH]",
        )
    claim, sub_path, short = _split_volume_source(f"--data-volume {text}", text)
    if short == "conda":
        raise TaskDefinitionError("--data-volume conda: the conda-store volume is not for data",
                                  hint="use --data-volume home or shared/GROUP")
    return VolumeSpec(claim=claim, sub_path=sub_path, mount_path=DATA_MOUNT, read_only=False, short=short)


def resolve_volume(volume: VolumeSpec, *, namespace: str | None, username: str | None) -> VolumeSpec:
    """The claim behind a Nebari short name, as the Nebari workflow controller allows it:
    ``home`` → ``jupyterhub-<ns>-share`` at ``home/<user>``; ``shared/G`` → the same claim at
    ``shared/G``; ``conda`` → ``conda-store-<ns>-share``."""
    if volume.short is None:
        return volume
    if not namespace:
        raise TaskDefinitionError(
            f"volume {volume.short!r} needs the namespace (its claim is named after it)",
            hint="set ARGO_NAMESPACE (or --namespace), or give the claim: --volume jupyterhub-NS-share/...:MOUNT",
        )
    if volume.short == "home":
        if not username:
            raise TaskDefinitionError(
                "volume 'home' needs your user name",
                hint="set JUPYTERHUB_USER (Nebari sets it), or give the claim and sub-path yourself",
            )
        return VolumeSpec(f"jupyterhub-{namespace}-share", f"home/{username}", volume.mount_path or f"/home/{username}",
                          volume.read_only)
    if volume.short == "shared":
        return VolumeSpec(f"jupyterhub-{namespace}-share", f"shared/{volume.sub_path}",
                          volume.mount_path or f"/shared/{volume.sub_path}", volume.read_only)
    return VolumeSpec(f"conda-store-{namespace}-share", None, volume.mount_path or "/home/conda", volume.read_only)


def conda_python(env: str, *, username: str | None) -> str:
    """The python of a conda-store environment, as Nebari lays them out:
    ``NAMESPACE/ENV`` → ``/home/conda/NAMESPACE/envs/NAMESPACE-ENV/bin/python``; a bare ``ENV`` is
    in the user's own namespace; an absolute path is an environment folder."""
    if env.startswith("/"):
        return env.rstrip("/") + "/bin/python"
    namespace, separator, name = env.partition("/")
    if not separator:
        if not username:
            raise TaskDefinitionError(
                f"--conda-env {env}: which conda-store namespace? your user name is not known",
                hint="write --conda-env NAMESPACE/ENV, e.g. --conda-env nebari-git/dask",
            )
        namespace, name = username, env
    prefix = f"{namespace}-"
    folder = name if name.startswith(prefix) else prefix + name
    return f"/home/conda/{namespace}/envs/{folder}/bin/python"


def argo_name(name: str) -> str:
    """The Argo-safe form of a notebook name: ``hello_world`` → ``hello-world``."""
    return name.replace("_", "-")


def check_argo_name(name: str, *, what: str) -> str:
    if len(name) > MAX_ARGO_NAME or not ARGO_NAME_PATTERN.match(name):
        raise TaskDefinitionError(
            f"{what} {name!r} is not a valid Argo name",
            hint="use letters, digits and '-' (or '_' in the notebook), start and end with a letter "
            "or digit, at most 63 characters",
        )
    return name


def default_image() -> str:
    return f"python:{sys.version_info.major}.{sys.version_info.minor}"


# ---------------------------------------------------------------------------------------------
# the spec


@dataclass(frozen=True)
class InputSpec:
    """One input of a task. ``default`` is the Argo default (a string), None when required."""

    name: str
    default: str | None = None
    raw_string: bool = False  # annotated ``str``: the pod gets the value undecoded

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class TaskOptions:
    """The options of ``%%argo_task``, already checked."""

    image: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    secret_env: tuple[tuple[str, str, str], ...] = ()
    inputs: tuple[str, ...] = ()
    gpu: int = 0
    gpu_resource: str = "nvidia.com/gpu"
    shm: str | None = None
    cpu: str | None = None
    memory: str | None = None
    command: tuple[str, ...] | None = None
    retries: int | None = None
    timeout_seconds: int | None = None
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[TolerationSpec, ...] = ()
    volumes: tuple[VolumeSpec, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    shell: bool = False
    workdir: str | None = None
    conda_env: str | None = None
    data_volume: VolumeSpec | None = None
    notes: tuple[str, ...] = ()


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

    @property
    def argo_name(self) -> str:
        return argo_name(self.name)

    @property
    def source(self) -> str:
        """What the pod runs (without the data-volume helpers, which a workflow may add)."""
        return pod_source(self)

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
# capture


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


def _annotation_is_str(annotation: ast.expr | None) -> bool:
    return isinstance(annotation, ast.Name) and annotation.id == "str" or (
        isinstance(annotation, ast.Constant) and annotation.value == "str"
    )


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
    for parameter, default in zip(positional, defaults):
        specs.append(InputSpec(parameter.arg, None if default is None else _literal_default(default),
                               _annotation_is_str(parameter.annotation)))
    for parameter, default in zip(arguments.kwonlyargs, arguments.kw_defaults):
        specs.append(InputSpec(parameter.arg, None if default is None else _literal_default(default),
                               _annotation_is_str(parameter.annotation)))
    return tuple(specs)


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


def _replace_ipython_syntax(cell: str) -> tuple[str, list[str]]:
    """Turn ``!cmd`` lines into subprocess calls; refuse ``%magic`` and ``x = !cmd``.

    Returns the code to ship and notes for the user. Without IPython syntax the cell is returned
    unchanged (comments and all).
    """
    from IPython.core.inputtransformer2 import TransformerManager

    # IPython's transformer drops leading blank lines; keep them, so line numbers stay the cell's.
    body = cell.lstrip("\n")
    leading = cell[: len(cell) - len(body)]
    transformed = leading + TransformerManager().transform_cell(body)
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
    # Inline, so it works wherever the line is (the helpers of the preamble may come later).
    shipped = transformed.replace(IPYTHON_SYSTEM_CALL, 'import_module("subprocess").run(shell=True, check=True, args=')
    shipped = shipped.replace('import_module("subprocess")', '__import__("subprocess")')
    return shipped, notes


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


def capture_cell(
    cell: str,
    options: TaskOptions,
    *,
    name: str | None = None,
    notebook_names: Mapping[str, Any] | None = None,
) -> TaskSpec:
    """Check a ``%%argo_task`` cell and build its ``TaskSpec``.

    ``notebook_names`` (the notebook's variables) only improves messages: a name the cell reads
    but never binds is explained as a notebook variable that must become an input.
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

    code, notes = _replace_ipython_syntax(cell)
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        detail = (error.msg or "invalid syntax")
        raise TaskDefinitionError(
            f"syntax error on line {error.lineno}: {detail}; the task was not registered",
            hint=(error.text or "").strip() or None,
        ) from None

    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    if name is None:
        if len(functions) == 1:
            function = functions[0]
            name = function.name
            _check_task_name(name)
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
    else:
        function = next((node for node in functions if node.name == name), None)

    if isinstance(function, ast.AsyncFunctionDef):
        raise TaskDefinitionError(
            f"{function.name}() is an async function; tasks are plain functions",
            hint="call asyncio.run(...) inside a plain function",
        )

    if function is not None:
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
                    notes=tuple(options.notes) + tuple(notes))


# ---------------------------------------------------------------------------------------------
# the source the pod runs

_PREAMBLE = """\
import json as _hera_magics_json, os as _hera_magics_os, sys as _hera_magics_sys
def _hera_magics_input(name, text_only=False):  # inputs arrive as environment variables, never as code
    value = _hera_magics_os.environ["HERA_MAGICS_INPUT_" + name]
    if value.startswith(%(encoded)r):  # a value with Argo's braces travels base64-encoded
        value = __import__("base64").b64decode(value[len(%(encoded)r):]).decode("utf-8")
    try:
        decoded = _hera_magics_json.loads(value)
    except ValueError:
        return value
    if text_only:  # annotated str: a JSON string is unwrapped, anything else stays text
        return decoded if isinstance(decoded, str) else value
    if isinstance(decoded, dict) and list(decoded) == ["__hera_magics_file__"]:  # a value on the data volume
        return _hera_magics_data.load_value(_hera_magics_data_root(), decoded["__hera_magics_file__"])
    return decoded
def _hera_magics_excepthook(kind, value, trace, first=%(first)d, last=%(last)d, label=%(label)r):
    # Tracebacks name the cell's own lines ("<cell train>", line 3) and leave out our wrapper.
    import traceback
    def frames(trace):
        shown = []
        for frame in traceback.extract_tb(trace):
            filename, line = frame.filename, frame.lineno
            if filename == __file__:
                if not first <= line <= last:
                    continue
                filename, line = label, line - first + 1
            shown.append('  File "%%s", line %%s, in %%s\\n' %% (filename, line, frame.name)
                         + ("    %%s\\n" %% frame.line.strip() if frame.line else ""))
        return shown
    def report(error):
        cause, context = error.__cause__, error.__context__
        text = []
        if cause is not None:
            text = report(cause) + ["\\nThe above exception was the direct cause of the following exception:\\n\\n"]
        elif context is not None and not error.__suppress_context__:
            text = report(context) + ["\\nDuring handling of the above exception, another exception occurred:\\n\\n"]
        shown = frames(error.__traceback__) or traceback.format_tb(error.__traceback__)[-1:]
        header = ["Traceback (most recent call last):\\n"] if shown else []
        return text + header + shown + traceback.format_exception_only(type(error), error)
    _hera_magics_sys.stderr.write("".join(report(value)))
_hera_magics_sys.excepthook = _hera_magics_excepthook
"""
ENCODED_PREFIX = "__hera_magics_base64__:"
_DATA_FILES_HELPER = """\
# hera_magics.datafiles, inlined so that the pod needs no hera_magics: values on the data volume
import types as _hera_magics_types
_hera_magics_data = _hera_magics_types.ModuleType("hera_magics_datafiles")
exec(compile({source!r}, "hera_magics/datafiles.py", "exec"), _hera_magics_data.__dict__)
def _hera_magics_data_root():
    return _hera_magics_os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + _hera_magics_os.environ["HERA_MAGICS_DATA_DIR"]
"""

_CALL_AND_RETURN = """\
_hera_magics_arguments = {{}}
for _hera_magics_name, _hera_magics_text_only in {inputs!r}:
    if _hera_magics_os.environ["HERA_MAGICS_INPUT_" + _hera_magics_name] != {marker!r}:
        _hera_magics_arguments[_hera_magics_name] = _hera_magics_input(_hera_magics_name, _hera_magics_text_only)
try:
    _hera_magics_value = {function}(**_hera_magics_arguments)
except SystemExit as _hera_magics_exit:
    if _hera_magics_exit.code not in (None, 0):
        raise
    _hera_magics_value = None  # sys.exit(0): the task ended well and returned nothing
def _hera_magics_plain(value):  # numpy scalars and arrays become numbers and lists
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError("{function}() returned an object of type " + type(value).__name__ + ", which is not JSON; "
                    "return numbers, strings, lists or dicts, or give the task --data-volume")
if _hera_magics_os.environ.get("HERA_MAGICS_DATA_NODE"):  # --data-volume: a file on the data volume
    _hera_magics_data.save_value(_hera_magics_value, _hera_magics_data_root(), _hera_magics_os.environ[
        "HERA_MAGICS_WORKFLOW"] + "/" + _hera_magics_os.environ["HERA_MAGICS_DATA_NODE"] + "/return")
else:  # the output parameter "return", as JSON
    try:
        _hera_magics_text = _hera_magics_json.dumps(_hera_magics_value, default=_hera_magics_plain)
    except TypeError as _hera_magics_error:
        raise TypeError(str(_hera_magics_error)) from None  # without the json library's frames
    _hera_magics_path = _hera_magics_os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + {return_path!r}
    _hera_magics_os.makedirs(_hera_magics_os.path.dirname(_hera_magics_path), exist_ok=True)
    with open(_hera_magics_path, "w", encoding="utf-8") as _hera_magics_file:
        _hera_magics_file.write(_hera_magics_text)
"""


def _data_files_helper() -> str:
    import inspect

    from . import datafiles

    return _DATA_FILES_HELPER.format(source=inspect.getsource(datafiles))


def _preamble(*, first: int, last: int, label: str) -> str:
    return _PREAMBLE % {"encoded": ENCODED_PREFIX, "first": first, "last": last, "label": label}


def _cell_block(code: str, label: str) -> str:
    """The cell as the pod runs it.

    Argo resolves ``{{...}}`` inside a script's source, so a cell that contains ``{{`` is shipped
    base64-encoded and executed from there (its traceback lines still show, via linecache).
    Any other cell is shipped as written, so the YAML stays readable.
    """
    if "{{" not in code:
        return code if code.endswith("\n") else code + "\n"
    encoded = base64.b64encode(code.encode("utf-8")).decode("ascii")
    return (
        "# the cell contains Argo's template braces, which Argo would substitute; it travels base64-encoded\n"
        "import base64 as _hera_magics_base64, linecache as _hera_magics_linecache\n"
        f"_hera_magics_code = _hera_magics_base64.b64decode({encoded!r}).decode('utf-8')\n"
        f"_hera_magics_linecache.cache[{label!r}] = (len(_hera_magics_code), None, "
        f"_hera_magics_code.splitlines(True), {label!r})\n"
        f"exec(compile(_hera_magics_code, {label!r}, 'exec'))\n"
    )


def _hoist_future_imports(code: str) -> tuple[str, str]:
    """``from __future__`` imports must come first in a file, so they move above the preamble.

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


def _line_count(text: str) -> int:
    return text.count("\n")


def pod_source(spec: "TaskSpec", *, data_files: bool = False) -> str:
    """The script the pod runs for ``spec``; ``data_files`` adds the helpers for values on a volume.

    A function cell comes first, as written, so its tracebacks have the notebook's line numbers;
    the helpers and the call follow it. A script cell needs its inputs bound before it runs, so
    the helpers come first and the traceback hook renumbers the cell's lines.
    """
    if spec.kind == "shell":
        return spec.code if spec.code.endswith("\n") else spec.code + "\n"
    label = f"<cell {spec.name}>"
    data_helper = _data_files_helper() if data_files else ""
    if spec.kind == "function":
        assert spec.function_name is not None
        cell = _cell_block(spec.code, label)
        last = _line_count(cell) if "{{" not in spec.code else 0
        call = _CALL_AND_RETURN.format(
            function=spec.function_name,
            inputs=[(item.name, item.raw_string) for item in spec.inputs],
            marker=PYTHON_DEFAULT_MARKER,
            return_path=RETURN_PATH,
        )
        return (cell + f"# --- hera-magics: call {spec.function_name}() with the task's inputs, keep what it returns ---\n"
                + _preamble(first=1, last=last, label=label) + data_helper + call)
    future, code = _hoist_future_imports(spec.code)
    bindings = "".join(f"{item.name} = _hera_magics_input({item.name!r})\n" for item in spec.inputs)
    head_without_hook = future + data_helper + bindings + "# --- cell ---\n"
    cell = _cell_block(code, label)
    preamble_lines = _line_count(_preamble(first=0, last=0, label=label))
    first = _line_count(head_without_hook) + preamble_lines + 1
    last = first + _line_count(cell) - 1 if "{{" not in code else 0
    return future + _preamble(first=first, last=last, label=label) + data_helper + bindings + "# --- cell ---\n" + cell


def _check_shell_script(cell: str) -> None:
    if "{{" in cell:
        raise TaskDefinitionError(
            "the shell script contains '{{', which Argo would substitute",
            hint="inputs are environment variables in a --shell task: write $name instead of {{...}}",
        )


# ---------------------------------------------------------------------------------------------
# Hera


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


def _toleration(item: TolerationSpec):
    from hera.workflows.models import Toleration

    return Toleration(key=item.key, operator="Equal" if item.value is not None else "Exists",
                      value=item.value, effect=item.effect)


def task_command(spec: TaskSpec, context: PodContext) -> list[str]:
    options = spec.options
    if options.command:
        return list(options.command)
    if spec.kind == "shell":
        return ["sh"]
    if options.conda_env:
        # The environment's own python, never `conda run` (it holds output back until exit).
        return [conda_python(options.conda_env, username=context.username), "-u"]
    return list(context.python_command or ("python", "-u"))


def build_script(spec: TaskSpec, context: PodContext = PodContext()):
    """The Hera ``Script`` template for a task."""
    from hera.workflows import EmptyDirVolume, Env, ExistingVolume, Parameter, RetryStrategy, Script, SecretEnv
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

    resources = None
    if options.gpu or options.cpu or options.memory:
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
        resources = ResourceRequirements(requests=requests or None, limits=limits or None)

    tolerations = []
    if options.gpu:
        from hera.workflows.models import Toleration

        tolerations.append(Toleration(key=options.gpu_resource, operator="Exists", effect="NoSchedule"))
        tolerations.extend(_toleration(item) for item in context.gpu_tolerations)
    tolerations.extend(_toleration(item) for item in options.tolerations)

    volumes: list[Any] = []
    if options.shm:
        volumes.append(EmptyDirVolume(name="dshm", mount_path="/dev/shm", medium="Memory", size_limit=options.shm))
    for volume in options.volumes:
        volume = resolve_volume(volume, namespace=context.namespace, username=context.username)
        volumes.append(ExistingVolume(name=volume.volume_name, claim_name=volume.claim, sub_path=volume.sub_path,
                                      mount_path=volume.mount_path, read_only=volume.read_only or None))

    data_files = context.data_volume is not None
    if data_files:
        data = context.data_volume
        volumes.append(ExistingVolume(name="hera-magics-data", claim_name=data.claim, sub_path=data.sub_path,
                                      mount_path=DATA_MOUNT))
        env.append(Env(name="HERA_MAGICS_DATA_DIR", value=DATA_MOUNT))
        env.append(Env(name="HERA_MAGICS_WORKFLOW", value="{{workflow.name}}"))
    outputs = None
    if options.data_volume is not None:
        if not data_files:
            raise TaskDefinitionError(f"task {spec.name} uses --data-volume but the workflow mounts none")
        # Which node am I? The DAG passes each node its own name, so a return value has one file per node.
        inputs.append(Parameter(name=DATA_NODE_INPUT))
        env.append(Env(name="HERA_MAGICS_DATA_NODE", value="{{inputs.parameters.%s}}" % DATA_NODE_INPUT))
    elif spec.has_return:
        outputs = [Parameter(name=RETURN_PARAMETER, value_from=ValueFrom(path=RETURN_PATH))]

    return Script(
        name=spec.argo_name,
        source=pod_source(spec, data_files=data_files),
        image=spec.image,
        command=task_command(spec, context),
        inputs=inputs or None,
        outputs=outputs,
        env=env or None,
        resources=resources,
        tolerations=tolerations or None,
        volumes=volumes or None,
        node_selector=dict(options.node_selector) or None,
        retry_strategy=RetryStrategy(limit=options.retries) if options.retries else None,
        active_deadline_seconds=options.timeout_seconds,
        labels=dict(options.labels) or None,
        working_dir=options.workdir,
    )


def closest_names(name: str, candidates: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)


def parse_task_options(
    *,
    image: str | None = None,
    env: Iterable[str] = (),
    secret_env: Iterable[str] = (),
    inputs: Iterable[str] = (),
    gpu: int | None = None,
    gpu_resource: str | None = None,
    shm: str | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    command: str | None = None,
    retries: int | None = None,
    timeout: str | None = None,
    node_selector: Iterable[str] = (),
    toleration: Iterable[str] = (),
    volume: Iterable[str] = (),
    label: Iterable[str] = (),
    shell: bool = False,
    workdir: str | None = None,
    conda_env: str | None = None,
    data_volume: str | None = None,
) -> TaskOptions:
    """Check the raw option values of ``%%argo_task`` and return them as ``TaskOptions``."""
    import shlex

    notes: list[str] = []
    if image is not None and (not image.strip() or any(ch.isspace() for ch in image)):
        raise TaskDefinitionError(f"--image {image!r} is not an image reference", hint="for example --image python:3.11")
    if gpu is not None and gpu < 1:
        raise TaskDefinitionError(f"--gpu {gpu}: the number of GPUs must be 1 or more")
    if gpu_resource is not None and not re.match(r"^[a-z0-9.-]+/[a-z0-9.-]+$", gpu_resource):
        raise TaskDefinitionError(
            f"--gpu-resource {gpu_resource!r} is not an extended resource name",
            hint="for example amd.com/gpu or nvidia.com/gpu",
        )
    if gpu_resource is not None and gpu is None:
        raise TaskDefinitionError("--gpu-resource needs --gpu [N]")
    if retries is not None and retries < 0:
        raise TaskDefinitionError(f"--retries {retries}: must be 0 or more")
    command_words: tuple[str, ...] | None = None
    if command is not None:
        try:
            command_words = tuple(shlex.split(command))
        except ValueError as error:
            raise TaskDefinitionError(f"--command {command!r}: {error}") from None
        if not command_words:
            raise TaskDefinitionError("--command is empty", hint='for example --command "torchrun --nproc-per-node 2"')
    selectors = tuple(parse_key_value(item, flag="--node-selector", example="nvidia.com/gpu.product=A100")
                      for item in node_selector)
    if workdir is not None and not workdir.startswith("/"):
        raise TaskDefinitionError(f"--workdir {workdir!r} must be an absolute path", hint="for example --workdir /home/me/project")
    if conda_env is not None and (not conda_env.strip() or any(ch.isspace() for ch in conda_env)
                                  or conda_env.count("/") > 1 and not conda_env.startswith("/")):
        raise TaskDefinitionError(
            f"--conda-env {conda_env!r} is not a conda-store environment",
            hint="write ENV (your namespace), NAMESPACE/ENV (e.g. nebari-git/dask) or an environment's absolute path",
        )
    if conda_env is not None and (command is not None or shell):
        raise TaskDefinitionError("--conda-env chooses the python that runs the cell; it cannot go with --command or --shell")
    return TaskOptions(
        image=image,
        env=tuple(parse_env(item) for item in env),
        secret_env=tuple(parse_secret_env(item) for item in secret_env),
        inputs=tuple(inputs),
        gpu=gpu or 0,
        gpu_resource=gpu_resource or "nvidia.com/gpu",
        shm=parse_quantity(shm, what="--shm", notes=notes) if shm is not None else None,
        cpu=parse_quantity(cpu, what="--cpu", notes=notes) if cpu is not None else None,
        memory=parse_quantity(memory, what="--memory", notes=notes) if memory is not None else None,
        command=command_words,
        retries=retries,
        timeout_seconds=parse_duration(timeout, what="--timeout") if timeout is not None else None,
        node_selector=selectors,
        tolerations=tuple(parse_toleration(item) for item in toleration),
        volumes=tuple(parse_volume(item) for item in volume),
        labels=tuple(parse_label(item) for item in label),
        shell=shell,
        workdir=workdir,
        conda_env=conda_env,
        data_volume=parse_data_volume(data_volume) if data_volume is not None else None,
        notes=tuple(notes),
    )
