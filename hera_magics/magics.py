"""The IPython magics: they parse arguments, call the ``Session`` API and display the result."""

from __future__ import annotations

import shlex
from typing import Any, Callable, Iterable, TypeVar

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from .errors import DagError, HeraMagicsError, WorkflowFailed, WorkflowInterrupted
from .options import (
    DAG_OPTIONS,
    TASK_OPTIONS,
    Option,
    misplaced_dag_option,
    parse_task_options,
    parse_workflow_options,
    split_dag_line,
)
from .run import STOP_LINE, detached_message
from .session import Session, notebook_name

Function = TypeVar("Function", bound=Callable[..., Any])


def without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment``: a ``#`` that starts a word outside quotes, as in a shell.

    So ``%argo_env   # reads .env`` works, while ``--env COLOR=#fff`` and ``'#1'`` keep their ``#``.
    """
    quote = None
    escaped = False
    word_start = True  # at the start, or after whitespace that no backslash or quote protects
    for index, character in enumerate(line):
        if escaped:
            escaped, word_start = False, False
        elif character == "\\" and quote != "'":
            escaped, word_start = True, False
        elif quote is not None:
            quote = None if character == quote else quote
        elif character in "'\"":
            quote, word_start = character, False
        elif character == "#" and word_start:
            return line[:index]
        else:
            word_start = character.isspace()
    return line


def parse_argstring(magic: Any, line: str) -> Any:
    """Parse a magic's line with POSIX quoting, so ``--command "torchrun -n 2"`` loses its quotes.

    (IPython's own ``parse_argstring`` keeps quote characters in the values.) A trailing
    ``# comment`` is left out. ``-h``/``--help`` prints the magic's help and returns None.
    """
    try:
        words = shlex.split(without_comment(line), posix=True)
    except ValueError as error:
        raise UsageError(f"cannot parse the options: {error}") from None
    if "-h" in words or "--help" in words:
        print(magic.__doc__)  # the generated help: usage line, description, every option
        return None
    return magic.parser.parse_args(words)


def declared_arguments(options: Iterable[Option]) -> Callable[[Function], Function]:
    """IPython ``@argument`` decorators for declared options, in the order declared (that of the help)."""
    def decorate(function: Function) -> Function:
        for option in reversed(tuple(options)):
            function = argument(option.flag, help=option.help, **option.argparse)(function)
        return function

    return decorate


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
    @argument("--stop", action="store_true",
              help="with --local: stop your local engine (tasks still running are killed)")
    @line_magic
    def argo_env(self, line: str) -> None:
        """Connect to Argo: load .env / Nebari's ARGO_* variables into Hera's config.

        The token is never shown (only its last 4 characters). Examples::

            %argo_env                 # nearest .env, then the environment
            %argo_env ~/argo.env --check
            %argo_env --local         # no cluster: run workflows as local processes
            %argo_env --local --stop  # stop the local engine
        """
        args = parse_argstring(self.argo_env, line)
        if args is None:  # -h printed the help
            return None
        if args.stop:
            if not args.local:
                raise HeraMagicsError("--stop stops the local engine: write %argo_env --local --stop")
            if args.env_file or args.host or args.token_var or args.check or args.workers is not None or args.namespace:
                raise HeraMagicsError("%argo_env --local --stop takes no other options")
            stopped = self.session.stop_local()
            print("stopped the local engine (tasks still running were killed)" if stopped
                  else "no local engine was running")
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
    @declared_arguments(TASK_OPTIONS)
    @no_var_expand
    @line_cell_magic
    def argo_task(self, line: str, cell: str | None = None) -> None:
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
        if cell is None:
            raise UsageError("%%argo_task captures the code of its cell: write %%argo_task (two %) on the first "
                             "line of a cell, with the task's code below it")
        raw = vars(args)
        name = raw.pop("name")
        spec, previous = self.session.define_task(cell, name, parse_task_options(**raw),
                                                  notebook_names=self.shell.user_ns)
        lines = [("replaced " if previous else "") + spec.summary()]
        lines.extend(f"  note: {note}" for note in spec.notes)
        _print(lines)

    @magic_arguments()
    @line_magic
    def argo_tasks(self, line: str) -> None:
        """Show the registered tasks: name, kind, image, inputs, resources."""
        words = without_comment(line).split()
        if words and words != ["-h"] and words != ["--help"]:
            raise HeraMagicsError("%argo_tasks takes no arguments", hint="%argo_tasks -h shows its help")
        if parse_argstring(self.argo_tasks, line) is None:  # -h printed the help
            return
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
    @declared_arguments(DAG_OPTIONS)
    @no_var_expand
    @line_cell_magic
    def argo_dag(self, line: str, cell: str | None = None) -> Any:
        """Build a workflow from registered tasks, validate it and submit it.

        ``a >> b`` runs b after a; ``a >> [b, c]`` fans out; ``[b, c] >> d`` fans in;
        ``b(x=a)`` passes a's return value (``a.result``: what it printed) and adds the edge;
        ``c(x=1).named("c2")`` makes another node of the same task;
        ``train(path=p).map(lr=[0.1, 0.01])`` runs one node per item (another task's list:
        ``process.map(path=list_files)``; ``parallelism=N``, ``keep_going=True``), and a task
        taking the map receives the list of the items' return values;
        ``deploy(model=evaluate).when(evaluate > 0.9)`` runs only if the comparison holds
        (``&``, ``|``, ``~`` combine). Returns a WorkflowRun (``--dry-run``: the Hera Workflow).
        Examples::

            run = %argo_dag prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)
            %argo_dag --dry-run a >> [b, c]
            run = %argo_dag --on-exit notify prep >> train(path=prep).map(lr=[0.1, 0.01]) >> report(scores=train)
        """
        # Options come first; the expression is the rest of the line (or the cell).
        if cell is None:
            try:
                options_text, expression = split_dag_line(line)
            except ValueError as error:
                raise UsageError(f"cannot parse the options: {error}") from None
        else:
            options_text, expression = line, cell
        expression = _without_python_comment(expression) if cell is None else expression
        args = parse_argstring(self.argo_dag, options_text)
        if args is None:  # -h printed the help
            return None
        raw = vars(args)
        words = raw.pop("expression")
        if cell is not None and words:
            raise DagError("give the DAG either on the line or in the cell, not both")
        if cell is None:
            expression = " ".join(words) if not expression else expression
            misplaced = misplaced_dag_option(expression)
            if misplaced:
                raise DagError(
                    f"{misplaced} comes after the DAG expression; options go first",
                    hint=f"%argo_dag {misplaced} ... a >> b",
                )
        if args.dry_run and args.wait:
            raise DagError("--wait cannot be combined with --dry-run (nothing is submitted)")
        options = parse_workflow_options(default_name=notebook_name(self.shell.user_ns), **raw)
        built = self.session.build(expression, options, notebook=self.shell.user_ns)
        if args.yaml:
            print(f"wrote {built.write_yaml(args.yaml)}")
        if args.dry_run:
            display(_dag_picture(built.workflow))
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
            except WorkflowInterrupted as interrupted:
                # Ctrl-C stops waiting, not the workflow; `run` was not assigned, so say how to get it.
                raise WorkflowInterrupted(
                    detached_message(run.name, f"run = %argo_status {run.name}, then {STOP_LINE}"),
                    workflow_name=run.name, run=interrupted.run,
                ) from None
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
            from .view.page import status_text

            print(status_text(run.data))
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
                print(f"Ctrl-C: stopped following the log; workflow {run.name} goes on running on the server. "
                      f"To stop it: run = %argo_status {run.name}, then {STOP_LINE}", flush=True)
                return
        else:
            print(run.logs(args.task))


def _without_python_comment(expression: str) -> str:
    """A one-line expression without its trailing ``# comment`` (Python's own reading of it)."""
    import io
    import tokenize

    try:
        for token in tokenize.generate_tokens(io.StringIO(expression).readline):
            if token.type == tokenize.COMMENT:
                return expression[: token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass  # unbalanced: evaluating it says what is wrong
    return expression


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

        def __reduce_ex__(self: Any, protocol: Any) -> Any:  # pickled as the plain Hera class
            _function, arguments, *rest = kind.__reduce_ex__(self, max(2, protocol))
            return (object.__new__, (kind, *arguments[1:]), *rest)

        _DRY_RUN_CLASSES[kind] = type("DryRunWorkflow", (kind,), {"_repr_pretty_": _repr_pretty_,
                                                                  "__reduce_ex__": __reduce_ex__})
    workflow.__class__ = _DRY_RUN_CLASSES[kind]
    return workflow


def _dag_picture(workflow: Any) -> Any:
    """The graph of a workflow not submitted yet (SVG in a notebook, text in a terminal)."""
    from .compile import workflow_body
    from .view.page import GraphPicture

    return GraphPicture(workflow_body(workflow))


def _show_widget(run: Any) -> None:
    view = run.widget
    if not view.rows:
        view.poll_once()  # show the current state at once, not an empty "Pending" table
    # With a display id the view can re-send this display when the run ends, so front ends
    # without widgets (nbconvert, papermill) keep the final table, not the first poll.
    view.attach_display(display(view, display_id=True))
    view.start()


