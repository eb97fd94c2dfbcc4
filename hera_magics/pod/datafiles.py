"""Values too large for Argo parameters travel as files in a workflow-scoped folder on a volume.

Both sides use this module: the notebook imports it (to write inputs and read results), and the
pod runtime ships with it in ``--data-volume`` workflows (to read inputs and write return values),
so a pod never needs hera_magics installed. It must therefore stay self-contained: standard
library only, numpy and pandas used only when a value already is one of theirs, and the syntax
of any Python 3 a task image may have (see ``hera_magics.pod.runtime``).

Layout on the volume (``root`` is the data folder as this side sees it)::

    root/.hera-magics/<workflow>/<node>/return.{npy,parquet,pkl}    a task's return value
    root/.hera-magics/inputs/<submission>/<node>.<input>.{...}      a notebook value passed in

An argument that travels as a file is the JSON object ``{FILE_MARKER: "<path under .hera-magics
without extension>"}`` (``contract.FILE_MARKER``).
"""

import os as _os
import pickle as _pickle

from .contract import DATA_FOLDER, FILE_MARKER

_EXTENSIONS = (".npy", ".parquet", ".pkl")


def file_reference(relative_path):
    """The argument value that stands for the value file at ``relative_path``."""
    return {FILE_MARKER: relative_path}


def return_value_path(workflow, node):
    """Where (under the data folder, without extension) node ``node`` of ``workflow`` keeps its return value."""
    return workflow + "/" + node + "/return"


def save_value(value, root, relative_path):
    """Write ``value`` under ``root/.hera-magics/relative_path`` (+ extension); return the file path.

    numpy arrays go as .npy and pandas DataFrames as .parquet when they can, anything else as a
    pickle. The file appears only when complete (written aside, then renamed).
    """
    base = _os.path.join(root, DATA_FOLDER, relative_path)
    _os.makedirs(_os.path.dirname(base), exist_ok=True)
    kind = type(value)
    module = kind.__module__.split(".")[0]
    if module == "numpy" and kind.__name__ == "ndarray" and value.dtype != object:
        import numpy

        path = base + ".npy"
        with open(path + ".partial", "wb") as handle:
            numpy.save(handle, value, allow_pickle=False)
    elif module == "pandas" and kind.__name__ == "DataFrame" and _parquet_available():
        path = base + ".parquet"
        try:
            value.to_parquet(path + ".partial")
        except (ValueError, TypeError, ImportError):  # column types parquet cannot hold
            path = base + ".pkl"
            with open(path + ".partial", "wb") as handle:
                _pickle.dump(value, handle, protocol=_pickle.HIGHEST_PROTOCOL)
    else:
        path = base + ".pkl"
        with open(path + ".partial", "wb") as handle:
            _pickle.dump(value, handle, protocol=_pickle.HIGHEST_PROTOCOL)
    _os.replace(path + ".partial", path)
    return path


def find_value_file(root, relative_path):
    """The file ``save_value`` wrote for ``relative_path``, or None."""
    base = _os.path.join(root, DATA_FOLDER, relative_path)
    for extension in _EXTENSIONS:
        if _os.path.exists(base + extension):
            return base + extension
    return None


def load_value(root, relative_path):
    """Read what ``save_value`` wrote; FileNotFoundError names the folder that was searched."""
    path = find_value_file(root, relative_path)
    if path is None:
        raise FileNotFoundError(
            "no value file " + relative_path + ".* in " + _os.path.join(root, DATA_FOLDER)
            + " (is the same data volume mounted here?)"
        )
    if path.endswith(".npy"):
        import numpy

        return numpy.load(path, allow_pickle=False)
    if path.endswith(".parquet"):
        import pandas

        return pandas.read_parquet(path)
    with open(path, "rb") as handle:
        return _pickle.load(handle)


def _parquet_available():
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True
