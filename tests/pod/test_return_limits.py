"""The pod runtime refuses a return value too large to reach the next task, before writing it (issue 9 #7).

A value passed between tasks becomes one environment variable of the task that takes it, and
Linux refuses a single one of 128 KiB or more (its name included): the consumer would fail to
start with "Argument list too long" and an empty log. So the producer checks the size and fails
naming it and ``--data-volume``. The same check runs on the local engine in
``tests/test_traps_runs.py``.
"""

from __future__ import annotations

import json
import sys

import pytest

from hera_magics.pod import runtime
from hera_magics.pod.contract import LARGEST_VALUE_BYTES, PATH_PREFIX_VARIABLE, RETURN_PATH


@pytest.fixture
def pod_root(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setenv(PATH_PREFIX_VARIABLE, str(tmp_path))
    monkeypatch.delenv("HERA_MAGICS_DATA_NODE", raising=False)
    return tmp_path


def test_a_return_value_over_the_limit_fails_naming_its_size_and_the_way_out(pod_root):
    with pytest.raises(ValueError) as caught:
        runtime.write_return_value("x" * 200_000, "give_200k")
    assert str(caught.value) == ("give_200k() returned 195 KiB; a value passed between tasks has at most 127 KiB: "
                                 "give the task --data-volume to return it as a file")
    assert not (pod_root / RETURN_PATH.lstrip("/")).exists()  # nothing half-written for Argo to pass on


def test_the_limit_counts_bytes_of_json(pod_root):
    runtime.write_return_value("x" * (LARGEST_VALUE_BYTES - 2), "fits")  # + 2 quotes: exactly the limit
    assert len((pod_root / RETURN_PATH.lstrip("/")).read_bytes()) == LARGEST_VALUE_BYTES
    with pytest.raises(ValueError, match="returned 127 KiB"):
        runtime.write_return_value("é" * (LARGEST_VALUE_BYTES // 6 + 10), "wide")  # JSON writes each as \\u00e9


def test_the_limit_leaves_room_for_the_variable_s_name():
    # Linux's MAX_ARG_STRLEN: 32 pages of 4 KiB for "NAME=value" and its final NUL
    assert LARGEST_VALUE_BYTES + len("HERA_MAGICS_INPUT_=") + 1 + 900 < 32 * 4096
    assert json.dumps("x" * (LARGEST_VALUE_BYTES - 2)).encode().__len__() == LARGEST_VALUE_BYTES
