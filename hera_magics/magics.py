"""The IPython magics: they parse arguments, call the ``Session`` API and display the result."""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, line_magic, cell_magic, magics_class, no_var_expand
from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from .errors import DagError, HeraMagicsError, WorkflowFailed
from .session import Session, notebook_name


def parse_argstring(magic: Any, line: str) -> Any:
    """Parse a magic's line with POSIX quoting, so ``--command "torchrun -n 2"`` loses its quotes.

    (IPython's own ``parse_argstring`` keeps quote characters in the values.)
    """
    try:
        words = shlex.split(line, posix=True)
    except ValueError as error:
        raise UsageError(f"cannot parse the options: {error}") from None
    if "-h" in words or "--help" in words:
        print(magic.__doc__)  # the generated help: usage line, description, every option
        return None
    return magic.parser.parse_args(words)


def _print(lines: list[str] | str) -> None:
    print(lines if isinstance(lines, str) else "\n".join(lines))


class _YamlText(str):
    """A YAML document that shows itself as text in any front end."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


@magics_class
class ArgoMagics(Magics):
    """%argo_env, %%argo_task, %argo_tasks, %argo_dag, %argo_status, %argo_logs."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = Session()

    # -- %argo_env ------------------------------------------------------------------------------

    @magic_arguments()
    @argument("env_file", nargs="?", default=None, help="a .env file (default: the nearest .env upward)")
    @argument("--host", default=None, help="the Argo server URL (overrides GLOBAL_CONFIG_HOST / ARGO_SERVER)")
    @argument("--namespace", default=None, help="namespace (overrides GLOBAL_CONFIG_NAMESPACE / ARGO_NAMESPACE)")
    @argument("--token-var", default=None, help="read the token from this variable instead of HERA_TOKEN / ARGO_TOKEN")
    @argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    @argument("--check", action="store_true", help="ask the server who you are and its Argo version")
    @argument("--local", action="store_true", help="start (or reuse) the embedded local engine on this machine")
    @argument("--workers", type=int, default=None, help="with --local: how many tasks run at the same time")
    @argument("--nebari", dest="nebari", action="store_const", const=True, default=None,
              help="Nebari mode on (normally detected)")
    @argument("--no-nebari", dest="nebari", action="store_const", const=False, help="Nebari mode off")
    @line_magic
    def argo_env(self, line: str) -> None:
        """Connect to Argo: load .env / Nebari's ARGO_* variables into Hera's config.

        The token is never shown (only its last 4 characters). Examples::

            %argo_env                 # nearest .env, then the environment
            %argo_env ~/argo.env --check
            %argo_env --local         # no cluster: run workflows as local processes
        """
        args = parse_argstring(self.argo_env, line)
        if args is None:  # -h printed the help
            return None
        if args.workers is not None and not args.local:
            raise HeraMagicsError("--workers only applies with --local")
        if args.workers is not None and args.workers < 1:
            raise HeraMagicsError(f"--workers {args.workers}: must be 1 or more")
        if args.local:
            if args.env_file or args.host or args.token_var:
                raise HeraMagicsError("--local runs its own engine; do not combine it with an env file, --host or --token-var")
            report = self.session.configure_local(workers=args.workers, namespace=args.namespace,
                                                  nebari=args.nebari)
        else:
            report = self.session.configure(
                args.env_file, host=args.host, namespace=args.namespace, token_var=args.token_var,
                insecure=args.insecure, nebari=args.nebari,
            )
        _print(report.lines())
        if args.check:
            answer = self.session.check()
            user = answer["userinfo"]
            who = user.get("subject") or user.get("name") or user.get("email") or "(no identity claims)"
            if user.get("serviceAccountName"):
                who += f" (service account {user.get('serviceAccountNamespace', '?')}/{user['serviceAccountName']})"
            _print([f"check      OK: you are {who}", f"           Argo {answer['version'].get('version', '?')}"])

    # -- %%argo_task ----------------------------------------------------------------------------

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="task name (default: the cell's only function)")
    @argument("--image", default=None, help="container image (default: python:X.Y like this kernel)")
    @argument("--env", action="append", default=[], metavar="K=V", help="environment variable (repeatable)")
    @argument("--secret-env", action="append", default=[], metavar="VAR=SECRET:KEY",
              help="environment variable from a Kubernetes secret (repeatable)")
    @argument("--inputs", nargs="+", default=[], metavar="NAME[=DEFAULT]", help="inputs of a script cell")
    @argument("--gpu", nargs="?", type=int, const=1, default=None, metavar="N", help="GPUs (default 1) + toleration")
    @argument("--gpu-resource", default=None, help="GPU resource key (default nvidia.com/gpu)")
    @argument("--shm", default=None, metavar="SIZE", help="in-memory /dev/shm of this size, e.g. 2Gi")
    @argument("--cpu", default=None, help="CPU request, e.g. 4 or 500m")
    @argument("--memory", default=None, help="memory request and limit, e.g. 16Gi")
    @argument("--command", default=None, help='command that runs the script (default "python -u")')
    @argument("--retries", type=int, default=None, help="retry a failed task N times")
    @argument("--timeout", default=None, metavar="DURATION", help="task deadline, e.g. 30m, 2h")
    @argument("--node-selector", action="append", default=[], metavar="K=V", help="node selector (repeatable)")
    @argument("--toleration", action="append", default=[], metavar="KEY[=VALUE]:EFFECT", help="toleration (repeatable)")
    @argument("--volume", action="append", default=[], metavar="CLAIM[/SUBPATH]:MOUNT[:ro]",
              help="mount an existing volume claim (repeatable)")
    @argument("--label", action="append", default=[], metavar="K=V", help="pod label (repeatable)")
    @argument("--shell", action="store_true", help="the cell is a shell script; inputs are environment variables")
    @argument("--workdir", default=None, help="working directory of the task")
    @argument("--conda-env", default=None, metavar="[NAMESPACE/]ENV",
              help="run with a conda-store environment's python (Nebari), never `conda run`")
    @argument("--data-volume", nargs="?", const="home", default=None, metavar="VOLUME",
              help="move inputs and the return value through files on this volume (home, shared/GROUP "
                   "or CLAIM[/SUBPATH]; default home) instead of Argo parameters: any Python object, any size")
    @no_var_expand
    @cell_magic
    def argo_task(self, line: str, cell: str) -> None:
        """Capture this cell as an Argo task (a Hera script template).

        A function cell (one top-level function, or NAME names a function of the cell) ships the
        whole cell and calls the function with its inputs; the return value comes back as JSON.
        Any other cell is a script cell: give it a NAME and declare inputs with --inputs.
        Re-running the cell replaces the task. Examples::

            %%argo_task --gpu --shm 2Gi
            def train(path: str, lr: float = 0.1) -> dict: ...

            %%argo_task report --inputs metrics
            print("best:", metrics)
        """
        args = parse_argstring(self.argo_task, line)
        if args is None:  # -h printed the help
            return None
        spec, previous = self.session.define_task(
            cell, args.name, notebook_names=self.shell.user_ns,
            image=args.image, env=args.env, secret_env=args.secret_env, inputs=args.inputs, gpu=args.gpu,
            gpu_resource=args.gpu_resource, shm=args.shm, cpu=args.cpu, memory=args.memory,
            command=args.command, retries=args.retries, timeout=args.timeout,
            node_selector=args.node_selector, toleration=args.toleration, volume=args.volume,
            label=args.label, shell=args.shell, workdir=args.workdir, conda_env=args.conda_env,
            data_volume=args.data_volume,
        )
        lines = [("replaced " if previous else "") + spec.summary()]
        lines.extend(f"  note: {note}" for note in spec.notes)
        _print(lines)

    @line_magic
    def argo_tasks(self, line: str) -> None:
        """Show the registered tasks: name, kind, image, inputs, resources."""
        if line.strip():
            raise HeraMagicsError("%argo_tasks takes no arguments")
        if not self.session.tasks:
            print("no tasks registered yet; define one with a %%argo_task cell")
            return
        rows = [("task", "kind", "image", "inputs", "resources")]
        rows.extend((spec.name, spec.kind, spec.image, spec.inputs_text(), spec.resources_text())
                    for spec in self.session.tasks.values())
        widths = [max(len(row[index]) for row in rows) for index in range(5)]
        _print(["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows])

    # -- %argo_dag ------------------------------------------------------------------------------

    @magic_arguments()
    @argument("expression", nargs="*", help="the DAG, e.g. a >> [b, c(x=a)] >> d")
    @argument("--name", default=None, metavar="PREFIX", help="workflow name prefix (default: the notebook's name)")
    @argument("--dry-run", action="store_true", help="show the YAML and return the Hera Workflow; submit nothing")
    @argument("--yaml", default=None, metavar="FILE", help="also write the workflow YAML to FILE")
    @argument("--wait", action="store_true", help="block until it ends; raise WorkflowFailed if it fails")
    @argument("--timeout", default=None, metavar="DURATION", help="workflow deadline (activeDeadlineSeconds)")
    @argument("--namespace", default=None, help="namespace (default: from %%argo_env)")
    @argument("--service-account", default=None, help="service account of the workflow's pods")
    @argument("--parallelism", type=int, default=None, help="at most N tasks at the same time")
    @argument("--label", action="append", default=[], metavar="K=V", help="workflow label (repeatable)")
    @argument("--ttl", default=None, metavar="DURATION", help="delete the workflow this long after it ends")
    @argument("--image-pull-secret", action="append", default=[], metavar="NAME", help="registry secret (repeatable)")
    @argument("--no-fail-fast", action="store_true", help="keep running other branches after a task fails")
    @argument("--no-widget", action="store_true", help="do not show the live status table")
    @no_var_expand
    @line_cell_magic
    def argo_dag(self, line: str, cell: str | None = None) -> Any:
        """Build a workflow from registered tasks, validate it and submit it.

        ``a >> b`` runs b after a; ``a >> [b, c]`` fans out; ``[b, c] >> d`` fans in;
        ``b(x=a)`` passes a's return value (``a.result``: what it printed) and adds the edge;
        ``c(name="c2")`` makes another node of the same task. Returns a WorkflowRun
        (``--dry-run``: the Hera Workflow). Examples::

            run = %argo_dag prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)
            %argo_dag --dry-run a >> [b, c]
        """
        # Options come first; the expression is the rest of the line (or the cell).
        options_text, expression = _split_options(line) if cell is None else (line, cell)
        args = parse_argstring(self.argo_dag, options_text)
        if args is None:  # -h printed the help
            return None
        if cell is not None and args.expression:
            raise DagError("give the DAG either on the line or in the cell, not both")
        if cell is None:
            expression = " ".join(args.expression) if not expression else expression
            misplaced = [word for word in expression.split() if word.split("=", 1)[0] in DAG_OPTIONS]
            if misplaced:
                raise DagError(
                    f"{misplaced[0]} comes after the DAG expression; options go first",
                    hint=f"%argo_dag {misplaced[0]} ... a >> b",
                )
        if args.dry_run and args.wait:
            raise DagError("--wait cannot be combined with --dry-run (nothing is submitted)")
        built = self.session.build(
            expression, notebook=self.shell.user_ns, default_name=notebook_name(self.shell.user_ns),
            name=args.name, namespace=args.namespace, service_account=args.service_account,
            parallelism=args.parallelism, label=args.label, ttl=args.ttl, timeout=args.timeout,
            no_fail_fast=args.no_fail_fast, image_pull_secret=args.image_pull_secret,
        )
        if args.yaml:
            print(f"wrote {built.write_yaml(args.yaml)}")
        if args.dry_run:
            display(_YamlText(built.to_yaml()))
            return _quiet_workflow(built.workflow)
        run = self.session.submit(built)
        if args.no_widget:
            print(f"submitted {run.name} in {run.namespace}: {run.url}")
        else:
            _show_widget(run)  # also with --wait: the table keeps updating while the cell blocks
        if args.wait:
            try:
                run.wait()
            except WorkflowFailed as failure:
                # The cell raised, so `run = %argo_dag --wait ...` assigned nothing.
                failure.hint = "the run was not assigned; get it back with: run = %argo_status --last; " + (
                    failure.hint or "")
                raise
        return run

    # -- %argo_status / %argo_logs ---------------------------------------------------------------

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="workflow name (default: the last one submitted)")
    @argument("--last", action="store_true", help="the last workflow submitted (also after a kernel restart)")
    @argument("--no-widget", action="store_true", help="print the task table instead of the live widget")
    @line_magic
    def argo_status(self, line: str) -> Any:
        """Re-attach the live status table to a workflow; returns its WorkflowRun."""
        args = parse_argstring(self.argo_status, line)
        if args is None:  # -h printed the help
            return None
        if args.name and args.last:
            raise HeraMagicsError("give a workflow NAME or --last, not both")
        run = self.session.attach(args.name)
        if args.no_widget:
            from .status import summary, task_rows
            from .view.render import render_text

            print(render_text(summary(run.data), task_rows(run.data)))
        else:
            _show_widget(run)
        return run

    @magic_arguments()
    @argument("name", help="workflow name (or 'last')")
    @argument("task", nargs="?", default=None, help="one task (default: every task)")
    @argument("--follow", action="store_true", help="keep printing until the workflow ends")
    @line_magic
    def argo_logs(self, line: str) -> None:
        """Print the logs of a workflow, or of one of its tasks."""
        args = parse_argstring(self.argo_logs, line)
        if args is None:  # -h printed the help
            return None
        run = self.session.attach(None if args.name == "last" else args.name)
        if args.follow:
            try:
                for text in self.session.follow_logs(run, args.task):
                    print(text, flush=True)
            except KeyboardInterrupt:
                print("stopped following the log; the workflow keeps running", flush=True)
                return
        else:
            print(run.logs(args.task))


DAG_VALUE_OPTIONS = {"--name", "--yaml", "--timeout", "--namespace", "--service-account", "--parallelism",
                     "--label", "--ttl", "--image-pull-secret"}


DAG_OPTIONS = DAG_VALUE_OPTIONS | {"--dry-run", "--wait", "--no-fail-fast", "--no-widget"}


def _shell_word_end(line: str, start: int) -> int:
    """Where the shell word starting at ``start`` ends (quotes and backslashes respected)."""
    quote = None
    index = start
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                index += 1
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        elif char.isspace():
            break
        index += 1
    if quote:
        raise UsageError(f"cannot parse the options: no closing {quote} in {line[start:]!r}")
    return index


def _split_options(line: str) -> tuple[str, str]:
    """Split ``--flag value ... EXPRESSION``: the options come first, the expression is the rest.

    Options are read with shell quoting (``--yaml 'my file.yaml'``); the expression is left exactly
    as written (it is Python, with its own quotes and spaces).
    """
    index = 0
    expects_value = False
    while True:
        while index < len(line) and line[index].isspace():
            index += 1
        if index >= len(line):
            return line, ""
        if not expects_value and line[index] != "-":
            return line[:index], line[index:]
        end = _shell_word_end(line, index)
        word = line[index:end]
        if expects_value:
            expects_value = False
        elif "=" not in word and word in DAG_VALUE_OPTIONS:
            expects_value = True
        index = end


_DRY_RUN_CLASSES: dict[type, type] = {}


def _quiet_workflow(workflow: Any) -> Any:
    """The Hera Workflow, with a one-line repr: the YAML was shown already, once.

    It stays a ``Workflow`` (a subclass made once per Hera class) so that ``w.create()``,
    ``w.to_yaml()`` and the rest work as usual.
    """
    kind = type(workflow)
    if kind not in _DRY_RUN_CLASSES:
        def _repr_pretty_(self: Any, printer: Any, cycle: bool) -> None:
            printer.text(f"<Workflow {self.generate_name or self.name} (dry run) — YAML above; .to_yaml() for text>")

        _DRY_RUN_CLASSES[kind] = type("DryRunWorkflow", (kind,), {"_repr_pretty_": _repr_pretty_})
    workflow.__class__ = _DRY_RUN_CLASSES[kind]
    return workflow


def _show_widget(run: Any) -> None:
    view = run.widget
    if not view.rows:
        view.poll_once()  # show the current state at once, not an empty "Pending" table
    # With a display id the view can re-send this display when the run ends, so front ends
    # without widgets (nbconvert, papermill) keep the final table, not the first poll.
    view.attach_display(display(view, display_id=True))
    view.start()


