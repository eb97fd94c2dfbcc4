"""Running a notebook in a real kernel of this venv (what papermill does), and reading its outputs.

The kernel gets the test process's environment without any real Argo configuration (ARGO_*,
HERA_TOKEN, GLOBAL_CONFIG_*, Nebari's user variables) and with ``HERA_MAGICS_STATE_DIR`` set to
the folder given, so its ``%argo_env --local`` starts (or finds) the engine of that folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbclient
import nbformat

CELL_TIMEOUT_SECONDS = 120
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Variables of the test process that must not reach the kernel (a real Argo config, Nebari).
SCRUBBED_PREFIXES = ("ARGO_", "HERA_TOKEN", "GLOBAL_CONFIG_")
SCRUBBED_NAMES = ("JUPYTERHUB_USER", "PREFERRED_USERNAME", "JPY_SESSION_NAME")


def kernel_environment(state: Path) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SCRUBBED_PREFIXES) and name not in SCRUBBED_NAMES
    }
    environment["HERA_MAGICS_STATE_DIR"] = str(state)
    return environment


def execute(path: Path, state: Path, workdir: Path) -> Any:
    """Run the notebook in a fresh kernel working in ``workdir``; returns the executed notebook."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    notebook = nbformat.read(path, as_version=4)
    # "python3" of this venv only (ipykernel's own spec), whatever other kernelspecs exist.
    kernel_manager = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(
        notebook,
        km=kernel_manager,
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=kernel_environment(state), cleanup_kc=True)
    return notebook


def output_text(output: Any) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join([f"{output.ename}: {output.evalue}", *output.traceback])
    data = output.get("data", {})
    return "\n".join(str(data[key]) for key in ("text/plain", "text/html") if key in data)


def all_outputs(notebook: Any) -> list[Any]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def cell_outputs(notebook: Any, source_start: str) -> list[Any]:
    """The outputs of the one code cell whose source starts with ``source_start``."""
    cells = [cell for cell in notebook.cells
             if cell.cell_type == "code" and cell.source.lstrip().startswith(source_start)]
    assert len(cells) == 1, f"expected one cell starting with {source_start!r}, found {len(cells)}"
    return cells[0].outputs


def text_of(outputs: list[Any]) -> str:
    return "\n".join(output_text(output) for output in outputs)
