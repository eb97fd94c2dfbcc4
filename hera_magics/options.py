"""The options of ``%%argo_task`` and ``%argo_dag``, each declared once.

An ``Option`` holds a flag's help, its argparse keywords and how its value is checked and
converted. The magics build their argument parsers from ``TASK_OPTIONS`` and ``DAG_OPTIONS``;
``parse_task_options`` and ``parse_workflow_options`` turn the raw values (an argparse namespace,
or keywords from plain Python) into the typed, checked ``TaskOptions`` and ``WorkflowOptions``.
Every mistake raises ``TaskDefinitionError`` (``DagError`` for workflow options) with a hint.

No IPython, no Hera, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from . import nebari
from .argo import NAME_PATTERN
from .errors import DagError, TaskDefinitionError
from .pod.contract import DATA_MOUNT, INPUT_ENV_PREFIX, PATH_PREFIX_VARIABLE

QUANTITY_PATTERN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
# Units people write by habit, and the Kubernetes unit that means the same.
HABIT_UNITS = {"KB": "k", "MB": "M", "GB": "G", "TB": "T", "KiB": "Ki", "MiB": "Mi", "GiB": "Gi",
               "TiB": "Ti", "kb": "k", "mb": "M", "gb": "G", "tb": "T"}
DURATION_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DNS_LABEL_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


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
    """``KEY=VALUE`` (the value may be empty)."""
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise TaskDefinitionError(f"{flag} {text!r} must be KEY=VALUE", hint=f"for example {flag} {example}")
    return key.strip(), value


def parse_env(text: str) -> tuple[str, str]:
    """``--env NAME=VALUE``; names the pod contract uses are refused."""
    name, value = parse_key_value(text, flag="--env", example="ENV_VAR1=1")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise TaskDefinitionError(f"--env {text!r}: {name!r} is not a valid environment variable name")
    if name.startswith(INPUT_ENV_PREFIX) or name == PATH_PREFIX_VARIABLE:
        raise TaskDefinitionError(f"--env {name}: names starting with HERA_MAGICS_ are reserved")
    return name, value


def parse_secret_env(text: str) -> tuple[str, str, str]:
    """``--secret-env VAR=SECRET:KEY`` as ``(variable, secret, key)``."""
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=([a-z0-9][-a-z0-9.]*):(.+)$", text.strip())
    if not match:
        raise TaskDefinitionError(
            f"--secret-env {text!r} must be VAR=SECRET:KEY",
            hint="for example --secret-env AWS_KEY=my-secret:access-key",
        )
    return match.group(1), match.group(2), match.group(3)


def parse_label(text: str) -> tuple[str, str]:
    """``--label KEY=VALUE`` with Kubernetes' rules for label keys and values."""
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
    """A toleration: ``value`` None means any value (operator Exists)."""

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


@dataclass(frozen=True)
class VolumeSpec:
    """A volume claim to mount. ``short`` is a Nebari short name (home, shared, conda) whose claim
    is known only once the namespace and user are (see ``resolved``)."""

    claim: str
    sub_path: str | None
    mount_path: str | None
    read_only: bool
    short: str | None = None

    @property
    def volume_name(self) -> str:
        """A name unique per template and DNS-safe."""
        base = re.sub(r"[^a-z0-9-]", "-", f"{self.claim}-{self.sub_path or ''}".lower()).strip("-")
        base = re.sub(r"-+", "-", base)
        digest = hashlib.sha1(f"{self.claim}/{self.sub_path}:{self.mount_path}".encode()).hexdigest()[:6]
        return (base[:50] or "volume") + "-" + digest

    def describe(self) -> str:
        """As the user wrote it: ``home``, ``claim/sub:/mnt:ro``."""
        source = self.short or self.claim
        if self.sub_path:
            source += "/" + self.sub_path
        return source + (f":{self.mount_path}" if self.mount_path else "") + (":ro" if self.read_only else "")

    def resolved(self, *, namespace: str | None, username: str | None) -> VolumeSpec:
        """The claim behind a Nebari short name (see ``nebari.short_volume_claim``); others as they are."""
        if self.short is None:
            return self
        claim, sub_path, mount_path = nebari.short_volume_claim(
            self.short, self.sub_path, self.mount_path, namespace=namespace, username=username)
        return VolumeSpec(claim, sub_path, mount_path, self.read_only)


def _split_volume_source(text: str, source: str) -> tuple[str, str | None, str | None]:
    """(claim or short name, sub path, short name or None) of ``CLAIM[/SUBPATH]`` / ``home`` / ``shared/G``."""
    head, _, sub_path = source.partition("/")
    if head in nebari.SHORT_VOLUMES:
        return head, nebari.check_short_volume(text, head, sub_path), head
    if not NAME_PATTERN.match(head) or head.lower() != head:
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


def _check_image(image: str) -> str:
    if not image.strip() or any(ch.isspace() for ch in image):
        raise TaskDefinitionError(f"--image {image!r} is not an image reference", hint="for example --image python:3.11")
    return image


def _check_gpu(gpu: int) -> int:
    if gpu < 1:
        raise TaskDefinitionError(f"--gpu {gpu}: the number of GPUs must be 1 or more")
    return gpu


def _check_gpu_resource(resource: str) -> str:
    if not re.match(r"^[a-z0-9.-]+/[a-z0-9.-]+$", resource):
        raise TaskDefinitionError(
            f"--gpu-resource {resource!r} is not an extended resource name",
            hint="for example amd.com/gpu or nvidia.com/gpu",
        )
    return resource


def _check_retries(retries: int) -> int:
    if retries < 0:
        raise TaskDefinitionError(f"--retries {retries}: must be 0 or more")
    return retries


def _command_words(command: str) -> tuple[str, ...]:
    try:
        words = tuple(shlex.split(command))
    except ValueError as error:
        raise TaskDefinitionError(f"--command {command!r}: {error}") from None
    if not words:
        raise TaskDefinitionError("--command is empty", hint='for example --command "torchrun --nproc-per-node 2"')
    return words


def _check_workdir(workdir: str) -> str:
    if not workdir.startswith("/"):
        raise TaskDefinitionError(f"--workdir {workdir!r} must be an absolute path", hint="for example --workdir /home/me/project")
    return workdir


def _check_conda_env(env: str) -> str:
    if not env.strip() or any(ch.isspace() for ch in env) or env.count("/") > 1 and not env.startswith("/"):
        raise TaskDefinitionError(
            f"--conda-env {env!r} is not a conda-store environment",
            hint="write ENV (your namespace), NAMESPACE/ENV (e.g. nebari-git/dask) or an environment's absolute path",
        )
    return env


def _check_name_prefix(name: str) -> str:
    stripped = name.rstrip("-")
    if not DNS_LABEL_PATTERN.match(stripped) or len(stripped) > 52:
        raise DagError(
            f"--name {name!r} is not a valid workflow name prefix",
            hint="use lower-case letters, digits and '-', at most 52 characters, e.g. --name train-run",
        )
    return stripped + "-"


def _check_namespace(namespace: str) -> str:
    if not DNS_LABEL_PATTERN.match(namespace):
        raise DagError(f"--namespace {namespace!r} is not a valid Kubernetes namespace")
    return namespace


def _check_service_account(account: str) -> str:
    if not DNS_SUBDOMAIN_PATTERN.match(account):
        raise DagError(f"--service-account {account!r} is not a valid service account name")
    return account


def _check_parallelism(parallelism: int) -> int:
    if parallelism < 1:
        raise DagError(f"--parallelism {parallelism}: must be 1 or more")
    return parallelism


def _check_on_exit(text: str) -> str:
    """``--on-exit TASK`` or ``--on-exit 'TASK(x=1)'``: a task name or a call of one (checked as Python only)."""
    import ast

    try:
        expression = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        expression = None
    target = expression.func if isinstance(expression, ast.Call) else expression
    if not isinstance(target, ast.Name):
        raise DagError(f"--on-exit {text!r} is not a task",
                       hint="write --on-exit TASK, or --on-exit 'TASK(x=1)' to give it arguments")
    return text.strip()


def _check_pull_secret(secret: str) -> str:
    if not DNS_SUBDOMAIN_PATTERN.match(secret):
        raise DagError(f"--image-pull-secret {secret!r} is not a valid secret name")
    return secret


# ---------------------------------------------------------------------------------------------
# the declarations


Convert = Callable[[Any, list], Any]


def _each(check: Callable[[Any], Any]) -> Convert:
    """For a repeatable option: check every value given."""
    return lambda values, notes: tuple(check(value) for value in values)


def _quantity(flag: str) -> Convert:
    return lambda value, notes: parse_quantity(value, what=flag, notes=notes)


def _duration(flag: str) -> Convert:
    return lambda value, notes: parse_duration(value, what=flag)


def _plain(check: Callable[[Any], Any]) -> Convert:
    return lambda value, notes: check(value)


@dataclass(frozen=True)
class Option:
    """One option of a magic: its flag, help, argparse keywords, and what it becomes.

    ``fills`` is the ``TaskOptions``/``WorkflowOptions`` field it fills (None: the magic itself
    uses it, e.g. ``--dry-run``); ``convert(value, notes)`` checks a given value and returns the
    field's value, adding to ``notes`` what it changed (``2GB`` read as ``2G``).
    """

    flag: str
    help: str
    argparse: Mapping[str, Any] = field(default_factory=dict)
    fills: str | None = None
    convert: Convert | None = None

    @property
    def dest(self) -> str:
        """The argparse destination (``--gpu-resource`` → ``gpu_resource``)."""
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.argparse.get("action") not in ("store_true", "store_false", "store_const")

    def value(self, raw: Any, notes: list[str]) -> Any:
        """The field's value for a raw value that was given."""
        return self.convert(raw, notes) if self.convert is not None else raw


TASK_OPTIONS: tuple[Option, ...] = (
    Option("--image", "container image (default: python:X.Y like this kernel)", {"default": None},
           "image", _plain(_check_image)),
    Option("--env", "environment variable (repeatable)", {"action": "append", "default": [], "metavar": "K=V"},
           "env", _each(parse_env)),
    Option("--secret-env", "environment variable from a Kubernetes secret (repeatable)",
           {"action": "append", "default": [], "metavar": "VAR=SECRET:KEY"}, "secret_env", _each(parse_secret_env)),
    Option("--inputs", "inputs of a script cell", {"nargs": "+", "default": [], "metavar": "NAME[=DEFAULT]"},
           "inputs", lambda values, notes: tuple(values)),
    Option("--gpu", "GPUs (default 1) + toleration", {"nargs": "?", "type": int, "const": 1, "default": None,
                                                      "metavar": "N"}, "gpu", _plain(_check_gpu)),
    Option("--gpu-resource", "GPU resource key (default nvidia.com/gpu)", {"default": None},
           "gpu_resource", _plain(_check_gpu_resource)),
    Option("--shm", "in-memory /dev/shm of this size, e.g. 2Gi", {"default": None, "metavar": "SIZE"},
           "shm", _quantity("--shm")),
    Option("--cpu", "CPU request, e.g. 4 or 500m", {"default": None}, "cpu", _quantity("--cpu")),
    Option("--memory", "memory request and limit, e.g. 16Gi", {"default": None}, "memory", _quantity("--memory")),
    Option("--command", 'command that runs the script (default "python -u")', {"default": None},
           "command", _plain(_command_words)),
    Option("--retries", "retry a failed task N times", {"type": int, "default": None},
           "retries", _plain(_check_retries)),
    Option("--timeout", "task deadline, e.g. 30m, 2h", {"default": None, "metavar": "DURATION"},
           "timeout_seconds", _duration("--timeout")),
    Option("--node-selector", "node selector (repeatable)", {"action": "append", "default": [], "metavar": "K=V"},
           "node_selector",
           _each(lambda item: parse_key_value(item, flag="--node-selector", example="nvidia.com/gpu.product=A100"))),
    Option("--toleration", "toleration (repeatable)",
           {"action": "append", "default": [], "metavar": "KEY[=VALUE]:EFFECT"}, "tolerations", _each(parse_toleration)),
    Option("--volume", "mount an existing volume claim (repeatable)",
           {"action": "append", "default": [], "metavar": "CLAIM[/SUBPATH]:MOUNT[:ro]"}, "volumes", _each(parse_volume)),
    Option("--label", "pod label (repeatable)", {"action": "append", "default": [], "metavar": "K=V"},
           "labels", _each(parse_label)),
    Option("--shell", "the cell is a shell script; inputs are environment variables", {"action": "store_true"},
           "shell"),
    Option("--workdir", "working directory of the task", {"default": None}, "workdir", _plain(_check_workdir)),
    Option("--conda-env", "run with a conda-store environment's python (Nebari), never `conda run`",
           {"default": None, "metavar": "[NAMESPACE/]ENV"}, "conda_env", _plain(_check_conda_env)),
    Option("--data-volume", "move inputs and the return value through files on this volume (home, shared/GROUP "
           "or CLAIM[/SUBPATH]; default home) instead of Argo parameters: any Python object, any size",
           {"nargs": "?", "const": "home", "default": None, "metavar": "VOLUME"},
           "data_volume", _plain(parse_data_volume)),
)

DAG_OPTIONS: tuple[Option, ...] = (
    Option("--name", "workflow name prefix (default: the notebook's name)", {"default": None, "metavar": "PREFIX"},
           "generate_name", _plain(_check_name_prefix)),
    Option("--dry-run", "show the YAML and return the Hera Workflow; submit nothing", {"action": "store_true"}),
    Option("--yaml", "also write the workflow YAML to FILE", {"default": None, "metavar": "FILE"}),
    Option("--wait", "block until it ends; raise WorkflowFailed if it fails", {"action": "store_true"}),
    Option("--timeout", "workflow deadline (activeDeadlineSeconds)", {"default": None, "metavar": "DURATION"},
           "timeout_seconds", _duration("--timeout")),
    Option("--namespace", "namespace (default: from %%argo_env)", {"default": None},
           "namespace", _plain(_check_namespace)),
    Option("--service-account", "service account of the workflow's pods", {"default": None},
           "service_account", _plain(_check_service_account)),
    Option("--parallelism", "at most N tasks at the same time", {"type": int, "default": None},
           "parallelism", _plain(_check_parallelism)),
    Option("--label", "workflow label (repeatable)", {"action": "append", "default": [], "metavar": "K=V"},
           "labels", _each(parse_label)),
    Option("--ttl", "delete the workflow this long after it ends", {"default": None, "metavar": "DURATION"},
           "ttl_seconds", _duration("--ttl")),
    Option("--image-pull-secret", "registry secret (repeatable)",
           {"action": "append", "default": [], "metavar": "NAME"}, "image_pull_secrets", _each(_check_pull_secret)),
    Option("--no-fail-fast", "keep running other branches after a task fails", {"action": "store_true"},
           "fail_fast", lambda value, notes: not value),
    Option("--on-exit", "run TASK when the workflow ends, whatever happened (its status and failures inputs, if "
           "any, receive the workflow's phase and its failed tasks)", {"default": None, "metavar": "TASK"},
           "on_exit", _plain(_check_on_exit)),
    Option("--no-widget", "do not show the live status table", {"action": "store_true"}),
)


def given(raw: Any) -> bool:
    """Whether an option was given at all (argparse leaves None, False or an empty list)."""
    return not (raw is None or raw is False or isinstance(raw, (list, tuple)) and not raw)


def _converted(options: Iterable[Option], raw: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """The fields of the options given in ``raw`` (keyed by ``Option.dest``), checked in declared order."""
    declared = {option.dest: option for option in options}
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r}; options: {', '.join(sorted(declared))}")
    fields: dict[str, Any] = {}
    for option in declared.values():
        value = raw.get(option.dest)
        if option.fills is not None and given(value):
            fields[option.fills] = option.value(value, notes)
    return fields


# ---------------------------------------------------------------------------------------------
# %%argo_task


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


def parse_task_options(**raw: Any) -> TaskOptions:
    """Check raw ``%%argo_task`` option values and return them as ``TaskOptions``.

    Keywords are the options' argparse names (``gpu=2, shm="2Gi", volume=["home"]``), exactly as
    ``TASK_OPTIONS`` declares them; a magic passes ``vars(args)`` without the task name.
    """
    notes: list[str] = []
    fields = _converted(TASK_OPTIONS, raw, notes)
    if "gpu_resource" in fields and "gpu" not in fields:
        raise TaskDefinitionError("--gpu-resource needs --gpu [N]")
    if "conda_env" in fields and ("command" in fields or fields.get("shell")):
        raise TaskDefinitionError("--conda-env chooses the python that runs the cell; it cannot go with --command or --shell")
    return TaskOptions(**fields, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# %argo_dag


@dataclass(frozen=True)
class WorkflowOptions:
    """The workflow options of ``%argo_dag``, already checked."""

    generate_name: str = "hera-magics-"
    namespace: str | None = None
    service_account: str | None = None
    parallelism: int | None = None
    labels: tuple[tuple[str, str], ...] = ()
    ttl_seconds: int | None = None
    timeout_seconds: int | None = None
    fail_fast: bool = True
    image_pull_secrets: tuple[str, ...] = ()
    on_exit: str | None = None


def workflow_prefix(name: str) -> str:
    """A valid ``generateName``: lower-case DNS characters ending in ``-``."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not prefix or not prefix[0].isalnum():
        prefix = "hera-magics"
    return prefix[:52].rstrip("-") + "-"


def parse_workflow_options(*, default_name: str = "hera-magics", **raw: Any) -> WorkflowOptions:
    """Check raw ``%argo_dag`` option values and return the workflow's ``WorkflowOptions``.

    Keywords are the options' argparse names (``name="nightly", ttl="1d"``); options the magic
    handles itself (``dry_run``, ``yaml``, ``wait``, ``no_widget``) are accepted and ignored.
    ``default_name`` (the notebook's name) makes the prefix when ``--name`` is not given.
    """
    try:
        fields = _converted(DAG_OPTIONS, raw, [])
    except TaskDefinitionError as error:
        raise DagError(error.message, hint=error.hint) from None
    fields.setdefault("generate_name", workflow_prefix(default_name))
    return WorkflowOptions(**fields)


def split_dag_line(line: str) -> tuple[str, str]:
    """Split ``--flag value ... EXPRESSION``: the options come first, the expression is the rest.

    Options are read as shell words (``--yaml 'my file.yaml'``); the expression is returned
    exactly as written (it is Python, with its own quotes and spaces). Which flags take a value
    comes from ``DAG_OPTIONS``. A ``ValueError`` says when a quote is not closed.
    """
    takes_value = {option.flag for option in DAG_OPTIONS if option.takes_value}
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    expects_value = False
    position = 0
    while True:
        start = len(line) - len(line[position:].lstrip())
        if start >= len(line):
            return line, ""
        if not expects_value and line[start] != "-":
            return line[:start], line[start:]
        lexer.instream.seek(start)
        try:
            word = lexer.get_token()
        except ValueError:
            if lexer.state in ("'", '"'):
                raise ValueError(f"no closing {lexer.state} in {line[start:]!r}") from None
            raise
        position = lexer.instream.tell()
        expects_value = not expects_value and "=" not in (word or "") and word in takes_value


def misplaced_dag_option(expression: str) -> str | None:
    """The first word of an expression that is a ``%argo_dag`` flag (options go first), or None."""
    flags = {option.flag for option in DAG_OPTIONS}
    return next((word for word in expression.split() if word.split("=", 1)[0] in flags), None)
