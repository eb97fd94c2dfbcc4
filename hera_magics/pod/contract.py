"""The names a generated task, the notebook and the local engine agree on, each defined once.

A task's pod receives its inputs as environment variables, writes its return value to a file
that Argo reads as an output parameter, and (with ``--data-volume``) moves large values through
files on a mounted volume. The local engine runs the same templates as local processes; every
absolute path a template declares belongs to a per-node folder (which each task sees as its own
``/`` where the machine allows it). These are the names of
all of that; see docs/internals.md for the rules.

This module imports nothing (it is a leaf both sides may use).
"""

from __future__ import annotations

INPUT_ENV_PREFIX = "HERA_MAGICS_INPUT_"
"""Input ``x`` reaches the pod as the environment variable ``HERA_MAGICS_INPUT_x``."""

ENCODED_PREFIX = "__hera_magics_base64__:"
"""A value containing Argo's ``{{`` travels base64-encoded behind this prefix."""

PYTHON_DEFAULT_MARKER = "__hera_magics_python_default__"
"""The Argo default of an input whose Python default is not a literal: the pod omits the argument."""

RETURN_PARAMETER = "return"
"""The output parameter holding a function task's JSON-encoded return value."""

RETURN_PATH = "/tmp/hera-magics/return"
"""Where the pod writes the return value (``valueFrom.path`` of ``RETURN_PARAMETER``)."""

PATH_PREFIX_VARIABLE = "HERA_MAGICS_PATH_PREFIX"
"""Unset in a real pod. Generated code prefixes its own paths with it. The local engine sets it to
"" where each task gets its own view of the file system (its declared paths are then where it
declared them), else to the per-node folder under which every declared absolute path lives."""

DATA_MOUNT = "/hera-magics-data"
"""Where every template of a ``--data-volume`` workflow mounts the data volume."""

DATA_VOLUME_NAME = "hera-magics-data"
"""The name of that volume in each template."""

DATA_NODE_INPUT = "hera-magics-node"
"""The hidden input that tells a ``--data-volume`` task which node it is."""

DATA_DIR_VARIABLE = "HERA_MAGICS_DATA_DIR"
WORKFLOW_VARIABLE = "HERA_MAGICS_WORKFLOW"
DATA_NODE_VARIABLE = "HERA_MAGICS_DATA_NODE"

FILE_MARKER = "__hera_magics_file__"
"""A value that lives on the data volume is passed as the JSON object ``{FILE_MARKER: path}``."""

DATA_FOLDER = ".hera-magics"
"""The folder on the data volume holding values: ``<workflow>/<node>/return.*`` and ``inputs/``."""

RUNTIME_PARAMETER = "hera-magics-runtime"
"""The workflow parameter holding the pod runtime (``pod/runtime.py``), shipped once per workflow:
every Python task's script has the line ``{{workflow.parameters.hera-magics-runtime}}``."""

LARGEST_VALUE_BYTES = 127 * 1024
"""The largest value one task hands another (or the notebook hands a task) as a parameter: it
reaches the process as one environment variable, and Linux refuses a single one of 128 KiB or
more, its name included (MAX_ARG_STRLEN); 1 KiB is left for the name."""

COLLECTED_PREFIX = "__hera_magics_collected__:"
"""Before Argo's ``{{tasks.X.outputs.parameters}}`` of a map (a loop): the JSON list of each
succeeded item's output parameters, in item order. The pod hands the task the list of the items'
return values, decoded."""

FAILURES_PREFIX = "__hera_magics_failures__:"
"""Before ``{{workflow.failures}}`` in an exit handler's argument: Argo's JSON list of failed
nodes, quoted once more as a JSON string; the pod decodes it to a list (empty when none)."""
