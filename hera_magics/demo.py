"""``python -m hera_magics.demo NOTEBOOK``: run a demo notebook headlessly, then show its workflows.

This is what ``make demo`` runs (with ``demo_notebooks/01_quickstart.ipynb``). The notebook is
executed by nbclient in a kernel of this Python, cell by cell, printing one line a cell. Its
``%argo_env --local`` starts the embedded local engine in your usual state folder (or reuses the
one already running), and the engine **keeps running afterwards**, so the workflows can still be
looked at (``%argo_status --last`` in a notebook). ``--stop-engine`` stops it at the end.

After the run, each workflow the notebook submitted (found in the remembered runs,
``<state dir>/runs.json``) is printed as its final task table, with the end of the log of any
failed task.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import HeraMagicsError, WorkflowFailed

DEFAULT_CELL_TIMEOUT = 300
WAIT_SECONDS = 120.0


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line if len(line) <= 90 else line[:89] + "…"
    return ""


def execute_notebook(path: Path, *, timeout: int, output: Path | None = None) -> Any:
    """Execute ``path`` in a kernel of this interpreter, working in the notebook's folder.

    Prints a line per code cell. Raises ``nbclient.exceptions.CellExecutionError`` when a cell
    fails (its traceback is in the message).
    """
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    code_cells = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    # Only the kernel of this Python: a user's own "python3" kernelspec may point elsewhere.
    # IPC sockets in a private folder: only this user reaches the kernel (and it does not warn
    # about unencrypted TCP).
    socket_folder = Path(tempfile.mkdtemp(prefix="hera-magics-demo-"))
    kernel_manager = AsyncKernelManager(
        kernel_name="python3",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[]),
        transport="ipc",
        ip=str(socket_folder / "kernel"),
    )
    started = time.monotonic()

    def on_cell_start(cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type == "code":
            number = code_cells.index(cell_index) + 1
            print(f"  [{number}/{len(code_cells)}] {_first_line(cell.source)}", flush=True)

    client = NotebookClient(
        notebook,
        km=kernel_manager,
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_cell_start,
    )
    environment = dict(os.environ)
    # The kernel names the workflows after the notebook, as JupyterLab's would.
    environment["JPY_SESSION_NAME"] = str(path)
    try:
        # cleanup_kc: shut the kernel down at the end (nbclient leaves a kernel it did not start)
        client.execute(env=environment, cleanup_kc=True)
    finally:
        shutil.rmtree(socket_folder, ignore_errors=True)
        if output is not None:
            nbformat.write(notebook, output)
            print(f"wrote the executed notebook to {output}")
    print(f"ran {path.name}: {len(code_cells)} code cells in {time.monotonic() - started:.1f}s")
    return notebook


def task_table(run: Any) -> str:
    """The final state of ``run`` (a ``WorkflowRun``) as a text table, with failed tasks' log tails."""
    from .argo import FAILED_PHASES
    from .results import log_tail
    from .view.page import status_text

    try:
        run.wait(timeout=WAIT_SECONDS)
    except WorkflowFailed:
        pass  # the table shows what failed
    rows = run.tasks()
    tails = {}
    for row in rows:
        if row["phase"] in FAILED_PHASES and row.get("pod_name"):
            try:
                tails[row["pod_name"]] = log_tail(run.logs(row["task"]).splitlines())
            except HeraMagicsError as error:
                tails[row["pod_name"]] = f"(log not available: {error.message})"
    return status_text(run.data, log_tails=tails)


def engine_stop_line() -> str:
    """The shell line that stops the engine this demo used, from any terminal.

    ``stop_command()`` names this interpreter; a state folder given by ``HERA_MAGICS_STATE_DIR``
    goes in front, since another terminal may not have that variable."""
    from .local import stop_command
    from .state import STATE_DIR_VARIABLE

    command = stop_command()
    folder = os.environ.get(STATE_DIR_VARIABLE)
    return f"{STATE_DIR_VARIABLE}={shlex.quote(folder)} {command}" if folder else command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hera_magics.demo",
        description="Run a demo notebook headlessly on the local engine and print its workflows' task tables.",
    )
    parser.add_argument("notebook", type=Path, help="the notebook to run, e.g. demo_notebooks/01_quickstart.ipynb")
    parser.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT, help="seconds a cell may take")
    parser.add_argument("--output", type=Path, default=None, help="also write the executed notebook here")
    parser.add_argument("--stop-engine", action="store_true", help="stop the local engine at the end")
    arguments = parser.parse_args(argv)

    path = arguments.notebook.expanduser().resolve()
    if not path.is_file():
        parser.error(f"{arguments.notebook}: no such notebook")
    if importlib.util.find_spec("nbclient") is None or importlib.util.find_spec("nbformat") is None:
        print("the demo needs nbclient and nbformat: pip install -e '.[test]' (make demo does this)",
              file=sys.stderr)
        return 2

    from nbclient.exceptions import CellExecutionError

    from .local import read_engine_state, stop_engine
    from .history import remembered_runs
    from .run import WorkflowRun
    from .state import state_directory
    from .session import Session

    before = {(record.name, record.namespace) for record in remembered_runs()}
    print(f"running {path} (state folder {state_directory()})", flush=True)
    try:
        execute_notebook(path, timeout=arguments.timeout, output=arguments.output)
    except CellExecutionError as error:
        print(f"\nthe notebook stopped with an error:\n{error}", file=sys.stderr)
        return 1

    submitted = [record for record in remembered_runs() if (record.name, record.namespace) not in before]
    engine = read_engine_state()
    status = 0
    if not submitted:
        print("the notebook submitted no workflow")
    elif engine is None:
        print("the local engine is not running, so the workflows cannot be shown", file=sys.stderr)
        status = 1
    else:
        session = Session()
        session.configure_local()  # reuses the engine the notebook started
        for record in submitted:
            run = WorkflowRun.attach(session.client(), record.name, namespace=record.namespace)
            print()
            print(task_table(run))

    if arguments.stop_engine:
        stop_engine()
        print("\nstopped the local engine")
    elif engine is not None:
        print(
            f"\nThe local engine keeps running (pid {engine.get('pid')}, {engine.get('url')}), so "
            "`%argo_env --local` in any notebook reaches these workflows again.\n"
            f"Stop it with: {engine_stop_line()}  (or %argo_env --local --stop in a notebook)"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
