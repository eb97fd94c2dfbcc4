"""The create-time refusal every validation module raises (a leaf, so they can import it freely)."""

from __future__ import annotations


class WorkflowInvalid(ValueError):
    """The workflow (or template) cannot be accepted; the message names the field."""


__all__ = ["WorkflowInvalid"]
