"""Shared fixtures: a real IPython shell with the extension loaded, and an isolated state folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Every file a test reads is in here (tests/fixtures/README.md says where each came from).
FIXTURES = REPO_ROOT / "tests" / "fixtures"
ARGO_FIXTURES = FIXTURES / "argo"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory, monkeypatch):
    """Every test gets its own state folder (remembered runs, local engine) and no Argo variables."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(state))
    for name in list(os.environ):
        if name.startswith(("ARGO_", "HERA_TOKEN", "GLOBAL_CONFIG_")) or name in (
            "JUPYTERHUB_USER", "PREFERRED_USERNAME", "JPY_SESSION_NAME",
        ):
            monkeypatch.delenv(name, raising=False)
    yield state


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A fresh InteractiveShell with hera_magics loaded, working in an empty folder."""
    from IPython.core.history import HistoryManager
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    HistoryManager.enabled = False
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(colors="nocolor")
    shell.run_line_magic("load_ext", "hera_magics")
    yield shell
    forget_shell(shell)
    InteractiveShell.clear_instance()


def forget_shell(shell) -> None:
    """Drop the exit hook every InteractiveShell registers: IPython runs each one at interpreter
    exit (a reset and a full gc.collect over the whole test session's heap), so hundreds of
    test shells made pytest spin for minutes after its summary, and kept every shell alive."""
    import atexit

    atexit.unregister(shell.atexit_operations)


@pytest.fixture(scope="module")
def engine_state(tmp_path_factory):
    """One local engine per test module (started by the first %argo_env --local), stopped after."""
    from hera_magics.local import stop_engine

    folder = tmp_path_factory.mktemp("engine")
    yield folder
    stop_engine(folder)


@pytest.fixture
def local_ip(ip, engine_state, monkeypatch, request):
    """A shell connected to the module's local engine (Nebari mode with ``@pytest.mark.nebari``)."""
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(engine_state))
    nebari = " --nebari" if request.node.get_closest_marker("nebari") else ""
    ip.run_line_magic("argo_env", "--local --workers 4" + nebari)
    return ip


def magics_of(shell):
    """The ArgoMagics instance (its Session holds the registry and config)."""
    return shell.magics_manager.registry["ArgoMagics"]
