"""Running a pod's container as a local process: the captured result and which program runs."""

from __future__ import annotations

import sys

import pytest

from hera_magics.local.runner import RESULT_LIMIT, CommandNotFound, _StdoutTail, resolve_argv


def test_result_keeps_the_last_256_kib_and_trims_one_newline():
    tail = _StdoutTail()
    for _ in range(100):
        tail.add(b"x" * 10_000 + b"\n")
    tail.add(b"the end\n\n")
    text = tail.text()
    assert len(text) == RESULT_LIMIT - 1 and text.endswith("the end\n")
    small = _StdoutTail()
    small.add(b"42\n")
    assert small.text() == "42"


def test_python_means_this_interpreter_and_other_commands_come_from_path():
    assert resolve_argv(["python", "-u", "x.py"]) == [sys.executable, "-u", "x.py"]
    assert resolve_argv(["python3"], "/opt/kernel/bin/python") == ["/opt/kernel/bin/python"]
    assert resolve_argv(["sh", "-c", "true"])[0].endswith("/sh")
    with pytest.raises(CommandNotFound):
        resolve_argv(["no-such-command-here"])
