"""hera_magics: IPython magics that turn notebook cells into Argo Workflows through Hera."""

from __future__ import annotations

__version__ = "0.1.0"
