"""hera_magics: IPython magics that turn notebook cells into Argo Workflows through Hera.

In a notebook: ``%load_ext hera_magics``. From plain Python, the same powers::

    from hera_magics import Session
"""

from __future__ import annotations

from typing import Any

from .errors import (
    ArgoServerError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectionFailedError,
    DagError,
    HeraMagicsError,
    LocalEngineError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TaskDefinitionError,
    TaskResultError,
    UnexpectedResponseError,
    UnknownTaskError,
    WorkflowFailed,
    WorkflowInterrupted,
    WorkflowTimeout,
)

__version__ = "0.1.0"

__all__ = [
    "ArgoClient",
    "ArgoConfig",
    "ArgoServerError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ConnectionFailedError",
    "DagError",
    "HeraMagicsError",
    "LocalEngineError",
    "NotFoundError",
    "PermissionDeniedError",
    "ServerError",
    "Session",
    "StatusView",
    "TaskDefinitionError",
    "TaskResultError",
    "UnexpectedResponseError",
    "UnknownTaskError",
    "WorkflowFailed",
    "WorkflowInterrupted",
    "WorkflowTimeout",
    "WorkflowRun",
    "load_ipython_extension",
    "task_rows",
    "unload_ipython_extension",
]

# Hera, requests and ipywidgets load only when first used, so `%load_ext` stays fast.
_LAZY = {
    "Session": ("session", "Session"),
    "ArgoConfig": ("config", "ArgoConfig"),
    "ArgoClient": ("client", "ArgoClient"),
    "WorkflowRun": ("run", "WorkflowRun"),
    "task_rows": ("status", "task_rows"),
    "StatusView": ("view.widget", "StatusView"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module_name}", __name__), attribute)
    raise AttributeError(f"module 'hera_magics' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext hera_magics`` registers the magics."""
    import threading

    from .magics import ArgoMagics

    ipython.register_magics(ArgoMagics(ipython))
    # Importing Hera takes about a second; do it while the user writes the next cells, so the
    # first %argo_env / %argo_dag does not pay for it.
    threading.Thread(target=_preload_hera, name="hera-magics-preload", daemon=True).start()


def _preload_hera() -> None:
    from .compile import preload

    try:
        preload()
    except Exception:  # the magic that needs Hera reports the problem itself
        pass


def unload_ipython_extension(ipython: Any) -> None:
    """Nothing to undo beyond IPython's own bookkeeping."""
