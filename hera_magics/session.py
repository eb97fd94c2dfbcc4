"""The plain-Python API behind the magics: one ``Session`` holds the connection and the tasks.

Every magic is a thin layer over a ``Session`` method, so scripts and tests can do the same
without IPython::

    from hera_magics import Session
    session = Session()
    session.configure_local()
    session.define_task("def add(a: int, b: int):\\n    return a + b\\n")
    run = session.submit("add(a=1, b=2)")
    run.wait(); run.result("add")   # -> 3

A failing call changes nothing: the registry and the config are replaced only after every check
passed.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from . import compile as compiler
from . import config as config_module
from . import nebari as nebari_rules
from .capture import TaskSpec, capture_cell, check_name_clash
from .config import ArgoConfig, Secret
from .dag import DagSpec, data_volume_of, evaluate
from .errors import ConfigError, DagError
from .options import TaskOptions, TolerationSpec, VolumeSpec, WorkflowOptions
from .pod.contract import DATA_MOUNT

CHECK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class EnvReport:
    """What ``configure`` did, for the summary: the config plus warnings and the file used."""

    config: ArgoConfig
    env_file: Path | None
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        lines = [f"env file   {self.env_file if self.env_file else 'none (process environment only)'}"]
        lines.extend(self.config.summary_lines())
        if self.config.nebari:
            lines.append(
                "           Nebari mode: workflows carry jupyterflow-override, so the Nebari workflow "
                "controller replaces each task's image with your Jupyter pod's image, home and "
                "conda environments; your Jupyter pod must be running when a workflow starts."
            )
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        return lines


@dataclass(frozen=True)
class BuiltWorkflow:
    dag: DagSpec
    options: WorkflowOptions
    workflow: Any  # hera.workflows.Workflow
    data_volume: Any = None  # the resolved VolumeSpec of --data-volume tasks, if any

    def to_yaml(self) -> str:
        return self.workflow.to_yaml()

    def write_yaml(self, path: str | os.PathLike[str]) -> Path:
        """Write the workflow's YAML to ``path``; returns the path written."""
        target = Path(path).expanduser()
        try:
            target.write_text(self.to_yaml(), encoding="utf-8")
        except OSError as error:
            raise DagError(f"--yaml {path}: cannot write the file ({error.strerror})") from None
        return target


class Session:
    """Connection settings, registered tasks and the last run of one notebook (or script)."""

    def __init__(self) -> None:
        self.config: ArgoConfig | None = None
        self.tasks: dict[str, TaskSpec] = {}
        self.last_run: Any = None
        self.local_volumes: dict[str, Path] = {}

    # -- connection -------------------------------------------------------------------------

    def configure(
        self,
        env_file: str | os.PathLike[str] | None = None,
        *,
        host: str | None = None,
        namespace: str | None = None,
        token_var: str | None = None,
        insecure: bool = False,
        nebari: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> EnvReport:
        """Load ``env_file`` (default: the nearest ``.env``) and resolve the connection.

        The rules (later wins) are ``config.resolve_config``'s, listed in the README.

        The process environment is not modified; the values are applied to Hera's global config
        and to this session only.
        """
        environment = dict(os.environ if environ is None else environ)
        warnings: list[str] = []
        path: Path | None
        if env_file is not None:
            path = Path(env_file).expanduser()
            file_values = config_module.read_env_file(path)
            variables = config_module.merge_variables(environment, file_values, file_overrides=True)
        else:
            path = config_module.find_env_file()
            file_values = config_module.read_env_file(path) if path else {}
            variables = config_module.merge_variables(environment, file_values, file_overrides=False)
        if path is not None and config_module.env_file_is_shared(path):
            warnings.append(f"{path} can be read by other users and holds your token; run: chmod 600 {path}")
        resolved = config_module.resolve_config(
            variables, host=host, namespace=namespace, token_var=token_var, insecure=insecure, nebari=nebari
        )
        if resolved.token is None:
            warnings.append("no token found (HERA_TOKEN or ARGO_TOKEN); the server will probably answer 401")
        if resolved.namespace is None:
            warnings.append("no namespace set; add ARGO_NAMESPACE to .env or pass --namespace")
        self._apply(resolved)
        return EnvReport(config=resolved, env_file=path.resolve() if path else None, warnings=tuple(warnings))

    def configure_local(self, *, workers: int | None = None, namespace: str | None = None,
                        nebari: bool | None = None) -> EnvReport:
        """Start (or reuse) the embedded local engine and point this session at it.

        The engine serves Nebari's claims for the namespace (``jupyterhub-<ns>-share``,
        ``conda-store-<ns>-share``) from folders in the state folder, so notebooks that use
        ``--volume home`` or ``--data-volume`` run unchanged.
        """
        from .local import read_engine_state, state_directory
        from .local.launcher import ensure_engine_started

        namespace = namespace or "argo"
        folder = state_directory()
        volumes = {claim: folder / "volumes" / claim for claim in nebari_rules.local_claims(namespace)}
        url, token, started = ensure_engine_started(workers=workers, volumes=volumes)
        engine_state = read_engine_state() or {}
        served = engine_state.get("volumes") or {}
        warnings = []
        running_workers = engine_state.get("workers")
        if not started and workers is not None and running_workers != workers:
            warnings.append(
                f"the running local engine keeps its {running_workers} workers (--workers {workers} applies "
                "only to a new engine); to change it, stop it when nothing runs "
                f"(%argo_env --local --stop) and run %argo_env --local --workers {workers} again"
            )
        missing = [claim for claim in volumes if claim not in served]
        if missing:
            warnings.append(
                f"the running local engine serves no folder for {', '.join(missing)}, so --volume home / "
                "--data-volume will be refused in this namespace; stop it when nothing runs "
                "(%argo_env --local --stop) and run %argo_env --local again"
            )
        username = os.environ.get("JUPYTERHUB_USER") or os.environ.get("PREFERRED_USERNAME") or getpass.getuser()
        resolved = ArgoConfig(
            host=url,
            token=Secret(token),
            namespace=namespace,
            local=True,
            nebari=bool(nebari),
            username=username,
            sources={"host": "--local",
                     "token": "local engine (fresh random token)" if started else "the local engine's own token",
                     "namespace": "--namespace" if namespace != "argo" else "--local default",
                     "nebari": "--nebari" if nebari else "--local"},
        )
        self._apply(resolved)
        self.local_volumes = {claim: Path(path) for claim, path in served.items()}
        return EnvReport(config=resolved, env_file=None, warnings=tuple(warnings))

    def stop_local(self) -> bool:
        """Stop this user's local engine (``%argo_env --local --stop``); True if one was running.

        Its running tasks are killed; finished workflows stay in its state folder for the next
        engine. A session connected to it is disconnected (``%argo_env --local`` starts a new one).
        """
        from .local import stop_engine

        stopped = stop_engine()
        if self.config is not None and self.config.local:
            self.config = None
        return stopped

    def data_folder(self, volume: VolumeSpec) -> Path | None:
        """Where this notebook sees a (resolved) data volume, or None when it cannot.

        Local engine: the folder it serves the claim from. Nebari: the Jupyter pod mounts
        ``home/<user>`` at ``/home/<user>`` and ``shared/G`` at ``/shared/G``. Elsewhere
        ``$HERA_MAGICS_DATA_FOLDER`` says where the volume is mounted.
        """
        if self.config is not None and self.config.local:
            base = self.local_volumes.get(volume.claim)
            if base is None:
                return None
            return base / volume.sub_path if volume.sub_path else base
        if os.environ.get("HERA_MAGICS_DATA_FOLDER"):
            return Path(os.environ["HERA_MAGICS_DATA_FOLDER"])
        return nebari_rules.jupyter_mount(volume.claim, volume.sub_path)

    def _apply(self, resolved: ArgoConfig) -> None:
        from hera.shared import global_config

        global_config.host = resolved.host
        global_config.token = resolved.token.reveal() if resolved.token else None
        global_config.namespace = resolved.namespace
        global_config.verify_ssl = resolved.verify_ssl
        if self.last_run is not None and self.last_run.client.config.host != resolved.host:
            self.last_run = None  # a run of another server: attach() must not return it
        self.config = resolved

    def require_config(self) -> ArgoConfig:
        if self.config is None:
            raise ConfigError(
                "not connected to an Argo server yet",
                hint="run %argo_env (reads .env) or %argo_env --local (runs workflows on this machine)",
            )
        return self.config

    def client(self):
        from .client import ArgoClient

        return ArgoClient(self.require_config())

    def check(self) -> dict[str, Any]:
        """Ask the server who we are and which Argo it runs (``%argo_env --check``).

        One try with a short timeout: a diagnosis should come in seconds, not minutes.
        """
        from .client import ArgoClient

        client = ArgoClient(self.require_config(), timeout=CHECK_TIMEOUT_SECONDS, retries=0)
        return {"userinfo": client.userinfo(), "version": client.version()}

    # -- tasks ------------------------------------------------------------------------------

    def define_task(
        self,
        cell: str,
        name: str | None = None,
        options: TaskOptions | None = None,
        *,
        notebook_names: Mapping[str, Any] | None = None,
    ) -> tuple[TaskSpec, TaskSpec | None]:
        """Capture a cell as a task (replacing one of the same name); returns (new, replaced).

        ``options`` come from ``options.parse_task_options`` (e.g. ``parse_task_options(gpu=1)``).
        ``notebook_names`` (the notebook's variables) only improve the messages.
        """
        spec = capture_cell(cell, options or TaskOptions(), name=name, notebook_names=notebook_names,
                            ipython_transform=ipython_transform())
        check_name_clash(spec.name, self.tasks)
        previous = self.tasks.get(spec.name)
        self.tasks[spec.name] = spec
        return spec, previous

    # -- workflows --------------------------------------------------------------------------

    def _nebari_on(self) -> bool:
        return bool(self.config and self.config.nebari)

    def build(
        self,
        expression: str,
        options: WorkflowOptions | None = None,
        *,
        notebook: Mapping[str, Any] | None = None,
    ) -> BuiltWorkflow:
        """Evaluate a DAG expression and build its Hera ``Workflow`` (nothing is sent).

        ``options`` come from ``options.parse_workflow_options`` (e.g. ``name="nightly"``);
        ``notebook`` holds the variables the expression may use.
        """
        workflow_options = options or WorkflowOptions()
        dag = evaluate(expression, self.tasks, notebook, names=compiler.hera_names(), on_exit=workflow_options.on_exit)
        namespace = workflow_options.namespace or (self.config.namespace if self.config else None)
        username = self.config.username if self.config else None
        context = compiler.PodContext(username=username)
        labels: dict[str, str] = {}
        if self._nebari_on():
            # The override gives pods this Jupyter pod's image and conda environments: run the
            # kernel's own python, unbuffered so logs stream.
            context = replace(context, python_command=(str(Path(sys.prefix) / "bin" / "python"), "-u"),
                              gpu_tolerations=(TolerationSpec(**nebari_rules.GPU_TOLERATION),))
            labels.update(nebari_rules.workflow_labels(username))
            if workflow_options.ttl_seconds is None:
                workflow_options = replace(workflow_options, ttl_seconds=nebari_rules.DEFAULT_TTL_SECONDS)
        workflow = compiler.build_workflow(
            dag,
            workflow_options,
            namespace=namespace,
            context=context,
            extra_labels=labels,
        )
        data_volume = data_volume_of(dag, namespace=namespace, username=username)
        return BuiltWorkflow(dag=dag, options=workflow_options, workflow=workflow, data_volume=data_volume)

    def submit(self, expression: str | BuiltWorkflow, options: WorkflowOptions | None = None, *,
               notebook: Mapping[str, Any] | None = None):
        """Build (unless given a ``BuiltWorkflow``), submit, remember and return a ``WorkflowRun``."""
        config = self.require_config()
        built = expression if isinstance(expression, BuiltWorkflow) else self.build(expression, options,
                                                                                    notebook=notebook)
        namespace = built.workflow.namespace or config.namespace
        if not namespace:
            raise ConfigError(
                "no namespace to submit to",
                hint="add ARGO_NAMESPACE=... to .env and re-run %argo_env, or pass --namespace NAME",
            )
        from .run import WorkflowRun

        data_folder = None
        if built.data_volume is not None:
            data_folder = self.data_folder(built.data_volume)
            if built.dag.files:
                self._write_input_files(built, data_folder)
        built.workflow.namespace = namespace
        run = WorkflowRun.submit(self.client(), built.workflow, namespace=namespace)
        run.data_folder = data_folder
        self.last_run = run
        return run

    def _write_input_files(self, built: BuiltWorkflow, data_folder: Path | None) -> None:
        from .pod.datafiles import save_value

        if data_folder is None:
            raise ConfigError(
                f"large inputs travel through the data volume {built.data_volume.describe()}, "
                "which this notebook cannot see",
                hint="set HERA_MAGICS_DATA_FOLDER to where that volume is mounted here, or pass smaller values",
            )
        for relative_path, value in built.dag.files.items():
            try:
                save_value(value, str(data_folder), relative_path)
            except Exception as error:  # pickling a user's object can fail with any exception type
                raise DagError(f"cannot write an input to {data_folder}: {type(error).__name__}: {error}") from None

    def attach(self, name: str | None = None, *, namespace: str | None = None):
        """A ``WorkflowRun`` for a workflow submitted earlier (``None``: the last one submitted)."""
        self.require_config()
        from .run import WorkflowRun

        if name is None and self.last_run is not None:
            run = self.last_run
        else:
            run = WorkflowRun.attach(self.client(), name, namespace=namespace)
        run.refresh()
        if run.data_folder is None:
            from .results import data_volume_claim

            claim = data_volume_claim(run.data)
            if claim is not None:
                run.data_folder = self.data_folder(VolumeSpec(claim[0], claim[1], DATA_MOUNT, False))
        return run

    def follow_logs(self, run: Any, task: str | None = None, *, poll_seconds: float = 0.5) -> Iterator[str]:
        """Lines of a workflow's (or one task's) log as they are written, until it ends.

        A workflow's lines start with their task's name, as in ``run.logs()``. A task that has
        not started yet is waited for (the workflow is asked again every ``poll_seconds``).
        """
        from .status import task_rows

        if task is not None:
            pod_name = run.wait_for_pod(task, poll_seconds)
            for entry in run.client.workflow_logs(run.name, pod_name=pod_name, follow=True, namespace=run.namespace):
                yield entry["content"]
            return
        task_of_pod: dict[str, str] = {}
        asked_about: set[str] = set()

        def learn(workflow: Mapping[str, Any]) -> None:
            # Added to, never replaced: a retried task's earlier attempts keep their name.
            task_of_pod.update((row["pod_name"], row["task"]) for row in task_rows(workflow) if row.get("pod_name"))

        learn(run.data)
        for entry in run.client.workflow_logs(run.name, follow=True, namespace=run.namespace):
            pod = entry.get("podName") or ""
            if pod not in task_of_pod and pod not in asked_about:
                asked_about.add(pod)  # a pod started since: ask the server once for its task
                learn(run.fetch())
            yield f"{task_of_pod.get(pod, pod)} | {entry['content']}"


def ipython_transform() -> Callable[[str], str]:
    """IPython's own reading of a cell (``!cmd`` lines, ``%magic``), which capture checks."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell


def notebook_name(user_namespace: Mapping[str, Any]) -> str:
    """The notebook's file name (without .ipynb) when the front end tells us, else ``hera-magics``."""
    session_path = user_namespace.get("__session__") or os.environ.get("JPY_SESSION_NAME") or ""
    stem = Path(str(session_path)).stem if session_path else ""
    return stem or "hera-magics"
