"""Cell capture (hera_magics.capture): a cell becomes a TaskSpec with its inputs, its lines kept, and
IPython syntax read only through the transformer the session hands over."""

from __future__ import annotations

import pytest

from hera_magics.capture import capture_cell
from hera_magics.errors import TaskDefinitionError
from hera_magics.options import parse_task_options
from hera_magics.session import ipython_transform
from tests.pod_helpers import run_like_a_pod, task_template



def test_function_signature_gives_inputs_with_defaults():
    spec = capture_cell("def train(path: str, lr: float = 0.1, flag=False, *, name='n', opts=None):\n    pass\n",
                        parse_task_options())
    assert [(item.name, item.default) for item in spec.inputs] == [
        ("path", None), ("lr", "0.1"), ("flag", "false"), ("name", "n"), ("opts", "null"),
    ]



def test_leading_blank_lines_are_kept(tmp_path):
    for cell in ("\ndef f():\n    return 1\n", "\n\n!echo shell\nprint('x')\n"):
        spec = capture_cell(cell, parse_task_options(), name=None if "def" in cell else "t",
                            ipython_transform=ipython_transform())
        assert spec.code.count("\n") == cell.count("\n")
    template = task_template("\n\ndef g():\n    raise ValueError('third line')\n")
    result = run_like_a_pod(template, {}, tmp_path)
    assert 'File "<cell g>", line 4, in g' in result.stderr


def test_ipython_syntax_needs_ipython_s_reading():
    """capture itself imports no IPython: the session hands it IPython's transformer."""
    with pytest.raises(TaskDefinitionError, match="syntax error on line 1"):
        capture_cell("!echo hi\n", parse_task_options(), name="t")
    spec = capture_cell("!echo hi\n", parse_task_options(), name="t", ipython_transform=ipython_transform())
    assert spec.code == "__import__(\"subprocess\").run(shell=True, check=True, args='echo hi')\n"
    assert spec.notes == ("line 1: `!echo hi` will run as a shell command (subprocess, fails the task on error)",)
