"""The import arrows of docs/internals.md, checked by import-linter (contracts in pyproject.toml).

``lint-imports`` runs on this repository and must keep every contract. Then each contract is
shown to fail: the package and pyproject.toml are copied to a temporary folder, one import the
map forbids is added to the copy, and the linter, run there, must report that contract broken and
name that import.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in ``folder``: it reads folder/pyproject.toml and finds the package there first."""
    environment = dict(os.environ, COLUMNS="300")  # one line per contract, whatever the terminal
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_import_contracts():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^Contracts: [1-9]\d* kept, 0 broken\.$", result.stdout, re.MULTILINE), result.stdout


# (module file, the forbidden import added to it, the contract it breaks, the arrow the report names)
FORBIDDEN_ARROWS = [
    ("local/engine.py", "from ..session import Session",
     "The local engine imports only the leaves from the package", "hera_magics.local.engine -> hera_magics.session"),
    ("argo.py", "from .status import task_rows",
     "The leaves (errors, argo, state, graph, pod.contract) import nothing from the package",
     "hera_magics.argo -> hera_magics.status"),
    ("pod/contract.py", "from .runtime import read_input",
     "The leaves (errors, argo, state, graph, pod.contract) import nothing from the package",
     "hera_magics.pod.contract -> hera_magics.pod.runtime"),
    ("session.py", "from hera.workflows import Script",
     "Only compile imports hera.workflows", "hera_magics.session -> hera.workflows"),
    ("run.py", "from hera.shared import global_config",
     "Only compile, session and config import Hera", "hera_magics.run -> hera.shared"),
    ("session.py", "from . import magics",
     "Nothing in the package imports the magics", "hera_magics.session -> hera_magics.magics"),
    ("view/render.py", "import ipywidgets",
     "The pure modules and the engine import no IPython, requests, ipywidgets or Hera",
     "hera_magics.view.render -> ipywidgets"),
]


@pytest.mark.parametrize(("module", "line", "contract", "arrow"), FORBIDDEN_ARROWS,
                         ids=[arrow for *_, arrow in FORBIDDEN_ARROWS])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract, arrow):
    shutil.copytree(REPO_ROOT / "hera_magics", tmp_path / "hera_magics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    changed = tmp_path / "hera_magics" / module
    changed.write_text(changed.read_text() + f"\n{line}  # the arrow the map forbids\n")

    result = lint_imports(tmp_path)

    report = result.stdout
    assert result.returncode == 1, report + result.stderr
    assert re.search(rf"^{re.escape(contract)}.* BROKEN\b", report, re.MULTILINE), report
    assert re.search(rf"^-\s+{re.escape(arrow)} \(l\.\d+\)$", report, re.MULTILINE), report
