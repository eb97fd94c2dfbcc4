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
from .arguments import Arguments
from .capture import TaskSpec, capture_cell, check_name_clash
from .config import ArgoConfig, Secret, strip_bearer
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
        # Variables a token was read from (--token-var): a local engine started later must not
        # hand them to its tasks (it always leaves out ARGO_TOKEN, HERA_TOKEN...).
        self.token_variables: set[str] = set()

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
        check = Arguments("Session.configure")
        check.path("env_file", env_file, optional=True)
        check.text("host", host, optional=True)
        check.text("namespace", namespace, optional=True)  # its value: resolve_config checks it
        check.text("token_var", token_var, optional=True)
        check.flag("insecure", insecure)
        check.flag("nebari", nebari, optional=True)
        check.mapping("environ", environ, optional=True)
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
        if resolved.token is not None and resolved.sources.get("token") not in (None, "HERA_TOKEN", "ARGO_TOKEN"):
            self.token_variables.add(resolved.sources["token"])
        self._apply(resolved)
        return EnvReport(config=resolved, env_file=path.resolve() if path else None, warnings=tuple(warnings))

    def configure_local(self, *, workers: int | None = None, namespace: str | None = None,
                        nebari: bool | None = None) -> EnvReport:
        """Start (or reuse) the embedded local engine and point this session at it.

        The engine serves Nebari's claims for the namespace (``jupyterhub-<ns>-share``,
        ``conda-store-<ns>-share``) from folders in the state folder, so notebooks that use
        ``--volume home`` or ``--data-volume`` run unchanged. A new engine's tasks do not see the
        token of any ``--token-var`` variable this session read.

        The engine is known by its identity (kept in its state folder), not its port: runs
        submitted to it are found again after it restarts, and their clients follow it.
        """
        from .local import read_engine_state, state_directory
        from .local.launcher import ensure_engine_started

        check = Arguments("Session.configure_local")
        check.whole_number("workers", workers, optional=True, minimum=1)
        check.text("namespace", namespace, optional=True)
        check.flag("nebari", nebari, optional=True)
        namespace = config_module.checked_namespace(namespace, "--namespace") if namespace else "argo"
        folder = state_directory()
        volumes = {claim: folder / "volumes" / claim for claim in nebari_rules.local_claims(namespace)}
        url, token, started = ensure_engine_started(workers=workers, volumes=volumes,
                                                    hidden_variables=self._secret_variables())
        engine_state = read_engine_state(folder) or {}
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
            engine_id=engine_state.get("id") if isinstance(engine_state.get("id"), str) else None,
            engine_folder=str(folder),
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
        Arguments("Session.data_folder").instance("volume", volume, VolumeSpec, what="a VolumeSpec")
        if self.config is not None and self.config.local:
            base = self.local_volumes.get(volume.claim)
            if base is None:
                return None
            return base / volume.sub_path if volume.sub_path else base
        if os.environ.get("HERA_MAGICS_DATA_FOLDER"):
            return Path(os.environ["HERA_MAGICS_DATA_FOLDER"])
        return nebari_rules.jupyter_mount(volume.claim, volume.sub_path)

    def _secret_variables(self) -> tuple[str, ...]:
        """Variables of this process that hold a token this session read (by name or by value)."""
        names = set(self.token_variables)
        token = self.config.token.reveal() if self.config and self.config.token else None
        if token:
            names.update(name for name, value in os.environ.items() if strip_bearer(value) == token)
        return tuple(sorted(names))

    def _apply(self, resolved: ArgoConfig) -> None:
        from hera.shared import global_config

        from .history import server_key

        global_config.host = resolved.host
        # Hera accepts a callable: the Secret gives it the token when asked and shows only
        # '…abcd' in repr(global_config).
        global_config.token = resolved.token
        global_config.namespace = resolved.namespace
        global_config.verify_ssl = resolved.verify_ssl
        if self.last_run is not None:
            before = self.last_run.client.config
            if server_key(before.host, before.engine_id) != server_key(resolved.host, resolved.engine_id):
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
        """A client for the configured server (for the local engine: one that follows it
        through restarts, see :func:`relocated_local_engine`)."""
        from .client import ArgoClient

        config = self.require_config()
        return ArgoClient(config, relocate=relocated_local_engine if config.engine_id else None)

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
        check = Arguments("Session.define_task")
        check.instance("cell", cell, str, what="the cell's code (a str)")  # empty: capture says what to write
        check.text("name", name, optional=True)
        check.instance("options", options, TaskOptions, optional=True, what="a TaskOptions (options.parse_task_options)")
        check.mapping("notebook_names", notebook_names, optional=True)
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
        check = Arguments("Session.build")
        check.instance("expression", expression, str, what="a DAG expression (a str)")  # empty: dag says "no DAG given"
        check.instance("options", options, WorkflowOptions, optional=True,
                       what="a WorkflowOptions (options.parse_workflow_options)")
        check.mapping("notebook", notebook, optional=True)
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
        """Build (unless given a ``BuiltWorkflow``), submit, remember and return a ``WorkflowRun``.

        Ctrl-C while the create is pending raises ``WorkflowInterrupted`` saying whether the
        workflow was created; either way ``attach()`` (``%argo_status --last``) finds it.
        """
        check = Arguments("Session.submit")
        if not isinstance(expression, BuiltWorkflow):
            check.instance("expression", expression, str, what="a DAG expression (a str) or a BuiltWorkflow")
        check.instance("options", options, WorkflowOptions, optional=True,
                       what="a WorkflowOptions (options.parse_workflow_options)")
        check.mapping("notebook", notebook, optional=True)
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
        from .errors import WorkflowInterrupted

        # Until this submission is known, the remembered runs (runs.json) answer attach(): it
        # holds this submission even when its answer never comes.
        self.last_run = None
        try:
            run = WorkflowRun.submit(self.client(), built.workflow, namespace=namespace)
        except WorkflowInterrupted as interrupted:
            self.last_run = interrupted.run  # the created run, or None
            raise
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
        check = Arguments("Session.attach")
        check.workflow_name("name", name, optional=True)
        check.namespace("namespace", namespace, optional=True)
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
        not started yet is waited for (the workflow is asked again every ``poll_seconds``, at
        least ``run.MIN_POLL_SECONDS``). Ctrl-C stops following, never the workflow.
        """
        from .run import MIN_POLL_SECONDS, WorkflowRun

        check = Arguments("Session.follow_logs")
        check.instance("run", run, WorkflowRun, what="a WorkflowRun")
        check.text("task", task, optional=True)
        poll_seconds = max(MIN_POLL_SECONDS, check.number("poll_seconds", poll_seconds, what="a number of seconds"))
        return self._follow(run, task, poll_seconds)

    @staticmethod
    def _follow(run: Any, task: str | None, poll_seconds: float) -> Iterator[str]:
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


def relocated_local_engine(config: ArgoConfig) -> ArgoConfig | None:
    """Where the local engine of ``config`` listens now, when it restarted elsewhere; else None.

    A restarted engine (``kill -9``, a reboot, ``%argo_env --local`` after it died) listens on
    another port with another token but keeps its identity and its workflows: its state file,
    in the folder ``config`` names, says where it is. ``ArgoClient`` asks this when it cannot
    reach the engine or its token is refused, so old runs and status views follow the engine.
    """
    from .local.launcher import pid_alive, read_engine_state

    if not config.engine_id or not config.engine_folder:
        return None
    state = read_engine_state(config.engine_folder) or {}
    url, token = state.get("url"), state.get("token")
    if state.get("id") != config.engine_id or not pid_alive(state.get("pid")):
        return None
    if not isinstance(url, str) or not isinstance(token, str) or not url or not token:
        return None
    return replace(config, host=url, token=Secret(token))


def ipython_transform() -> Callable[[str], str]:
    """IPython's own reading of a cell (``!cmd`` lines, ``%magic``), which capture checks."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell


def notebook_name(user_namespace: Mapping[str, Any]) -> str:
    """The notebook's file name (without .ipynb) when the front end tells us, else ``hera-magics``."""
    session_path = user_namespace.get("__session__") or os.environ.get("JPY_SESSION_NAME") or ""
    stem = Path(str(session_path)).stem if session_path else ""
    return stem or "hera-magics"
