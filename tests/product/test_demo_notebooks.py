"""Every notebook in demo_notebooks/ runs from top to bottom in a real kernel without an error.

Each notebook is executed by nbclient in a ``python3`` kernel of this venv, against the embedded
local engine: the kernel's ``HERA_MAGICS_STATE_DIR`` is a temp folder of this module, so the
first ``%argo_env --local`` starts a fresh engine there, the later notebooks reuse it, and the
module stops it at the end. Beyond "no error", each notebook is checked for a few things it must
show (the seed's ``Hello World!`` reaching the second task, a traceback for the failing task...),
and no output may contain the engine's token.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from hera_magics.local import read_engine_state, stop_engine  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402
from tests.notebook_helpers import (  # noqa: E402
    WIDGET_MIME,
    all_outputs,
    cell_outputs,
    execute,
    kernel_environment,
    output_text,
    text_of,
)

NOTEBOOK_DIR = REPO_ROOT / "demo_notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


@pytest.fixture(scope="module")
def engine_state(tmp_path_factory: pytest.TempPathFactory):
    """The state folder the notebooks' kernels share; its local engine is stopped at the end."""
    state = tmp_path_factory.mktemp("notebook-engine")
    try:
        yield state
    finally:
        stop_engine(state)


# What each notebook must show, beyond running without an error: (cell source start, texts).
EXPECTED: dict[str, list[tuple[str, list[str]]]] = {
    "01_quickstart.ipynb": [
        ("%argo_env --local", ["embedded local engine"]),
        ("%argo_tasks", ["hello_world", "multiline_function"]),
        ("for row in run.tasks()", ["hello-world          Succeeded", "multiline-function   Succeeded"]),
        ('run.result("multiline_function")', ["'TEST STRING'"]),
        ('run.result("hello_world", stdout=True)', ["'Hello World!'"]),
        ('print(run.logs("multiline_function"))',
         ["test string\nanother test string\nENV_VAR1 = 1 and ENV_VAR2 = 2"]),
    ],
    "02_dependencies.ipynb": [
        ("dag_template = ", ["hello-world          depends on: -",
                             "multiline-function   depends on: hello-world",
                             "another-script       depends on: hello-world"]),
        ("%%argo_dag --wait --name dependency-test", ["WorkflowRun(name='dependency-test-", "phase='Succeeded'"]),
        ("seed_run = _", ["Another script"]),
    ],
    "03_parameter_passing.ipynb": [
        ('print(run.logs("multiline_function"))', ["Hello World!\nanother test string"]),
        ('run.result("multiline_function")', ["'Hello World! + another test string'"]),
        ("numbers_run.wait()", ["[0, 1, 4, 9]", "{'count': 4, 'total': 14, 'largest': 9}"]),
    ],
    "04_containers_and_shell.ipynb": [
        ("run.wait()", ["A printed: arg_for_task_A\nENV_VAR1 is my_env_var1",
                        "B printed: arg_for_task_B\nENV_VAR1 is my_env_var1"]),
        ("%%argo_dag --dry-run --name container", ["generateName: container-", "image: alpine:3.7",
                                                   "name: A", "value: arg_for_task_B"]),
        ("greet_run = ", ["Hello, Nebari!", "Bonjour, Nebari!"]),
    ],
    "05_gpu_deep_learning.ipynb": [
        ("%%argo_task", ["gpu 2", "shm 2Gi"]),
        ("workflow = %argo_dag --dry-run", [
            "nvidia.com/gpu: '2'", "key: nvidia.com/gpu", "value: gpu", "medium: Memory", "sizeLimit: 2Gi",
            "mountPath: /dev/shm", "- torchrun", "- --nproc-per-node", "cloud.google.com/gke-nodepool: gpu-2x-t4",
        ]),
    ],
    "06_debugging_a_failing_task.ipynb": [
        ("from hera_magics import WorkflowFailed", [
            "Failed: task compute-ratios failed", "Traceback (most recent call last):",
            "return [values[0] / value for value in values]", "ZeroDivisionError: division by zero",
        ]),
        ("for row in run.tasks()", ["load-data        Succeeded", "compute-ratios   Failed",
                                    "report           Omitted"]),
        ('print(run.logs("compute_ratios"))', ["computing ratios of [3, 1, 0, 2]",
                                                "ZeroDivisionError: division by zero"]),
        ("fixed = ", ["[1.0, 3.0, 1.5]"]),
    ],
    "07_volumes_and_nebari.ipynb": [
        ("%argo_env {demo_env} --nebari", ["nebari     on", "…1234"]),
        ("%argo_dag --dry-run --name count-rows", [
            "jupyterflow-override: 'true'",
            "workflows.argoproj.io/creator-preferred-username: jane-2edoe-40example-2ecom",
            "claimName: jupyterhub-dev-share", "claimName: conda-store-dev-share", "subPath: shared/analysts",
            "readOnly: true", "ttlStrategy", "- -u",
        ]),
        ("import sys", ["same environment as this kernel: True"]),
        ("%argo_dag --dry-run --name summarise", [
            "claimName: jupyterhub-dev-share", "subPath: shared/analysts", "mountPath: /shared/analysts",
            "mountPath: /home/conda", "/home/conda/analysts/envs/analysts-pandas/bin/python",
            "workingDir: /shared/analysts",
        ]),
        ("%%argo_task --data-volume\nimport numpy", ["data through volume home"]),
        ("import pandas as pd\n\nlabels", ["ndarray (500000, 4) 16 MB", "{'rows': 500000, 'mean_a': "]),
        ("table = run.result", ["simulated"]),
        ("run.client.delete_workflow", ["(kept when the run ended; the workflow is gone from the server)",
                                        "summarising 500000 rows", "gone from the server: True",
                                        "result still there: {'rows': 500000"]),
    ],
    "08_sweeps_fan_out_and_conditions.ipynb": [
        ("run.wait()", ["{'lr': 0.3, 'w': 3.004, 'b': 0.985, 'loss': 0.01209}\n{'lr': 0.1, 'w': 3.002",
                        "{'lr': 0.01, 'w': 2.577, 'b': 1.478, 'loss': 0.07855}"]),
        ("risky = ", ["Succeeded - the best of what succeeded: {'lr': 0.3, 'w': 3.004"]),
        ("fan = ", ["{'shards': 6, 'rows': 6150}"]),
        ("workflow = %argo_dag --dry-run", [
            "onExit: hera-magics-exit", "withItems:", "- 0.03", "__hera_magics_collected__:{{tasks.train.outputs.parameters}}",
            "when: '{{tasks.evaluate.outputs.parameters.return}} > 0.9'", "value: '{{workflow.status}}'",
        ]),
        ("release = ", ["score: 0.988", "deployed y = 3.004 x + 0.985", "workflow Succeeded; failed tasks: none"]),
        ("cautious = ", ["{'evaluate': 'Succeeded', 'deploy': 'Skipped'}"]),
    ],
}

# Notebooks that submit nothing (no GPU here): they need no engine and no %argo_env.
DRY_RUN_ONLY = {"05_gpu_deep_learning.ipynb"}

# Cells that submit a workflow display the live widget (with its text and HTML fallbacks).
WIDGET_CELLS = {
    "01_quickstart.ipynb": ["run = %argo_dag"],
    "02_dependencies.ipynb": ["run = %argo_dag"],
    "03_parameter_passing.ipynb": ["run = %argo_dag", "n_items = 4"],
    "04_containers_and_shell.ipynb": ["run = %argo_dag", "greet_run = "],
    "06_debugging_a_failing_task.ipynb": ["run = %argo_dag", "fixed = "],
    "07_volumes_and_nebari.ipynb": ["import sys"],
    "08_sweeps_fan_out_and_conditions.ipynb": ["rates = [", "risky = ", "fan = ", "release = ", "cautious = "],
}


def test_every_notebook_has_checks() -> None:
    assert [path.name for path in NOTEBOOKS] == sorted(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_committed_notebook_is_clean(path: Path) -> None:
    """Committed without outputs, with a kernelspec (JupyterLab asks for a kernel otherwise)."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path, engine_state: Path, tmp_path: Path) -> None:
    # A notebook that only builds YAML gets a state folder of its own, to show it starts no engine.
    state = tmp_path / "state" if path.name in DRY_RUN_ONLY else engine_state
    notebook = execute(path, state, tmp_path)

    outputs = all_outputs(notebook)
    errors = [output_text(output) for output in outputs if output.output_type == "error"]
    assert errors == []
    stderr = [output.text for output in outputs if output.output_type == "stream" and output.name == "stderr"]
    assert stderr == []

    for source_start, texts in EXPECTED[path.name]:
        shown = text_of(cell_outputs(notebook, source_start))
        for text in texts:
            assert text in shown, f"{path.name}: cell {source_start!r} does not show {text!r}:\n{shown}"

    for source_start in WIDGET_CELLS.get(path.name, []):
        bundles = [output.data for output in cell_outputs(notebook, source_start)
                   if output.output_type == "display_data"]
        assert any(WIDGET_MIME in data and "text/html" in data and "text/plain" in data for data in bundles), \
            f"{path.name}: cell {source_start!r} shows no status widget"

    engine = read_engine_state(state)
    if path.name in DRY_RUN_ONLY:
        assert engine is None, f"{path.name} started a local engine, but it should submit nothing"
    else:
        assert engine is not None and engine["token"] not in text_of(outputs)
    assert "not-a-real-token" not in text_of(outputs)


def test_07_has_the_large_data_section() -> None:
    notebook = nbformat.read(NOTEBOOK_DIR / "07_volumes_and_nebari.ipynb", as_version=4)
    headings = [line for cell in notebook.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")]
    assert "## Large data through a shared volume" in headings
    assert headings[-1] == "## Logs that outlive the pods"


def test_make_demo_prints_the_final_task_table(engine_state: Path) -> None:
    """``make demo``: run 01 headlessly, then print its workflow's task table; the engine stays."""
    answer = subprocess.run(
        [sys.executable, "-m", "hera_magics.demo", str(NOTEBOOK_DIR / "01_quickstart.ipynb")],
        env=kernel_environment(engine_state), cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    lines = answer.stdout.splitlines()
    header = next(line for line in lines if line.startswith("01-quickstart-"))
    assert "Succeeded  progress 2/2" in header
    assert any(line.startswith("hello-world ") and " Succeeded " in line for line in lines)
    assert any(line.startswith("multiline-function ") and " Succeeded " in line for line in lines)
    assert "The local engine keeps running" in answer.stdout
    engine = read_engine_state(engine_state)
    assert engine is not None and engine["token"] not in answer.stdout + answer.stderr
