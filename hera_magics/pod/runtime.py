"""The code that runs in a task's pod around the user's cell, as real Python.

A Python task's script is the user's cell and a short call into this module, for example::

    def train(path: str, lr: float = 0.1) -> dict:
        return {"loss": lr}
    {{workflow.parameters.hera-magics-runtime}}
    _hera_magics["run_function"](train, cell_lines=(1, 2))

Argo replaces the second line by the value of that workflow parameter: one line that runs this
module's text (with the ``contract`` names it uses and, in a ``--data-volume`` workflow,
``datafiles``; where a task takes a map's outputs or the workflow's failures, ``collected``) in
the namespace ``_hera_magics``. A workflow carries it once however many tasks
it has (``hera_magics.compile`` builds it; see docs/internals.md). In the notebook and in tests
this is an ordinary module.

So that it runs in any task image: standard library only, syntax of any Python 3, plain ASCII,
and never Argo's template braces (Argo would substitute them: util/template/simple_template.go).
"""

import base64
import inspect
import json
import linecache
import os
import sys
import traceback

from .contract import (
    COLLECTED_PREFIX,
    DATA_DIR_VARIABLE,
    DATA_NODE_VARIABLE,
    ENCODED_PREFIX,
    FAILURES_PREFIX,
    FILE_MARKER,
    INPUT_ENV_PREFIX,
    LARGEST_VALUE_BYTES,
    PATH_PREFIX_VARIABLE,
    PYTHON_DEFAULT_MARKER,
    RETURN_PATH,
    WORKFLOW_VARIABLE,
)
from .collected import collected_value
from .datafiles import load_value, return_value_path, save_value

# An input annotated ``str`` (also written ``'str'``, or postponed by ``from __future__ import annotations``).
STR_ANNOTATIONS = (str, "str", "'str'", '"str"')


def run_function(function, cell_lines=None):
    """Call the cell's ``function`` with the task's inputs and keep what it returns.

    Every parameter of the function is an input; one annotated ``str`` receives its text
    undecoded. ``cell_lines`` are the first and last line of the cell in the script, for
    tracebacks (None when the cell ran from ``run_encoded_cell``).
    """
    install_traceback_hook(function.__globals__, cell_label(function.__name__), cell_lines)
    arguments = {}
    for parameter in inspect.signature(function).parameters.values():
        # a Python default that is not a literal is left to Python: the argument is omitted
        if os.environ[INPUT_ENV_PREFIX + parameter.name] != PYTHON_DEFAULT_MARKER:
            arguments[parameter.name] = read_input(parameter.name, parameter.annotation in STR_ANNOTATIONS)
    try:
        value = function(**arguments)
    except SystemExit as exit_request:
        if exit_request.code not in (None, 0):
            raise
        value = None  # sys.exit(0): the task ended well and returned nothing
    write_return_value(value, function.__name__)


def run_script(namespace, name, cell_lines=None, inputs=()):
    """Bind a script cell's inputs as variables of the script (``namespace``), which then runs the cell."""
    install_traceback_hook(namespace, cell_label(name), cell_lines)
    for input_name in inputs:
        namespace[input_name] = read_input(input_name)


def run_encoded_cell(namespace, name, encoded):
    """Run the cell of task ``name``, which travelled base64-encoded because it contains Argo's braces.

    It runs in the script's ``namespace``; its lines still show in tracebacks.
    """
    label = cell_label(name)
    install_traceback_hook(namespace, label, None)
    code = base64.b64decode(encoded).decode("utf-8")
    linecache.cache[label] = (len(code), None, code.splitlines(True), label)
    exec(compile(code, label, "exec"), namespace)


def read_input(name, text_only=False):
    """Input ``name`` from its environment variable: JSON decoded, else the text as it is.

    Values are never run as code. A value containing Argo's braces arrives base64-encoded behind
    ``ENCODED_PREFIX``. ``text_only`` (an input annotated ``str``): a JSON string is unwrapped,
    anything else stays text. A reference to a file on the data volume is loaded. A map's
    collected outputs (``COLLECTED_PREFIX``) become the list of its items' return values, and an
    exit handler's ``{{workflow.failures}}`` (``FAILURES_PREFIX``) a list.
    """
    value = os.environ[INPUT_ENV_PREFIX + name]
    if value.startswith((COLLECTED_PREFIX, FAILURES_PREFIX)):
        return collected_value(value)
    if value.startswith(ENCODED_PREFIX):
        value = base64.b64decode(value[len(ENCODED_PREFIX):]).decode("utf-8")
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if text_only:
        return decoded if isinstance(decoded, str) else value
    if isinstance(decoded, dict) and list(decoded) == [FILE_MARKER] and DATA_DIR_VARIABLE in os.environ:
        return load_value(pod_path(os.environ[DATA_DIR_VARIABLE]), decoded[FILE_MARKER])
    return decoded


def write_return_value(value, name):
    """Keep a function's return value: a file on the data volume, else JSON for the output parameter."""
    if os.environ.get(DATA_NODE_VARIABLE):
        node = return_value_path(os.environ[WORKFLOW_VARIABLE], os.environ[DATA_NODE_VARIABLE])
        save_value(value, pod_path(os.environ[DATA_DIR_VARIABLE]), node)
        return
    text = json_text(value, name)
    size = len(text.encode("utf-8"))
    if size > LARGEST_VALUE_BYTES:
        # Checked here: the task that takes it could not even start (the value would be one
        # environment variable too large for Linux), and its log would be empty.
        raise ValueError("%s() returned %d KiB; a value passed between tasks has at most %d KiB: give the task "
                         "--data-volume to return it as a file" % (name, size // 1024, LARGEST_VALUE_BYTES // 1024))
    path = pod_path(RETURN_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def json_text(value, name):
    """``value`` as JSON; numpy (or torch) scalars and arrays become numbers and lists."""

    def plain(item):
        if hasattr(item, "tolist"):  # a scalar's or 0-d array's tolist() is a number
            return item.tolist()
        raise TypeError(name + "() returned an object of type " + type(item).__name__ + ", which is not JSON; "
                        "return numbers, strings, lists or dicts, or give the task --data-volume")

    try:
        return json.dumps(value, default=plain)
    except TypeError as error:
        raise TypeError(str(error)) from None  # without the json library's frames


def pod_path(path):
    """An absolute path of the pod's file system (the local engine puts them all under a prefix)."""
    return os.environ.get(PATH_PREFIX_VARIABLE, "") + path


def cell_label(name):
    """What tracebacks call the cell of task ``name``."""
    return "<cell " + name + ">"


def install_traceback_hook(namespace, label, cell_lines):
    """Tracebacks name the cell's own lines (``<cell train>``, line 3) and leave out ours.

    ``namespace`` is the script's globals; its lines ``cell_lines`` (first, last) are the cell's.
    """
    script = namespace.get("__file__")

    def hook(kind, error, trace):
        sys.stderr.write("".join(format_error(error, script, label, cell_lines)))

    sys.excepthook = hook


def format_error(error, script, label, cell_lines):
    """The lines Python would print for ``error``, with the cell's frames renamed and ours left out."""
    text = []
    cause, context = error.__cause__, error.__context__
    if cause is not None:
        text = format_error(cause, script, label, cell_lines)
        text.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not error.__suppress_context__:
        text = format_error(context, script, label, cell_lines)
        text.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    shown = cell_frames(error.__traceback__, script, label, cell_lines)
    if shown:
        text.append("Traceback (most recent call last):\n")
    return text + shown + traceback.format_exception_only(type(error), error)


def cell_frames(trace, script, label, cell_lines):
    """The traceback's frames as Python prints them, except the runtime's and the script's own lines."""
    shown = []
    for frame, line in traceback.walk_tb(trace):
        if frame.f_globals is globals():
            continue  # the runtime's own (in a pod, datafiles runs in the same namespace)
        filename = frame.f_code.co_filename
        text = linecache.getline(filename, line, frame.f_globals).strip()
        if filename == script:
            if cell_lines is None or not cell_lines[0] <= line <= cell_lines[1]:
                continue  # the call into this runtime
            filename, line = label, line - cell_lines[0] + 1
        shown.append('  File "%s", line %s, in %s\n' % (filename, line, frame.f_code.co_name)
                     + ("    %s\n" % text if text else ""))
    return shown
