"""The embedded local engine: a single-machine stand-in for the Argo Server.

It accepts the same workflows over the same REST API (``/api/v1/...``) and runs their tasks as
local processes — see DESIGN §5. Start it from Python with ``ensure_engine()``, or in a terminal
with ``python -m hera_magics.local``.

Modules: ``server`` (HTTP), ``engine`` (controller), ``runner`` (processes), ``validation``
(create-time checks), and pure helpers ``naming``, ``expressions``, ``templating``,
``selectors``, ``spec``.
"""

from __future__ import annotations

from .launcher import (
    ensure_engine,
    read_engine_state,
    running_engine,
    state_directory,
    stop_engine,
)

__all__ = ["ensure_engine", "read_engine_state", "running_engine", "state_directory", "stop_engine"]
