"""Issue 8's size rule: no module over ~700 lines and no function over ~80 lines without a reason.

A module or function may go past the limit only if it says why, in a comment starting with
``# size:`` inside it (the test prints what it found, so the reason is read at review).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hera_magics"
MAX_MODULE_LINES = 750  # "about 700": a module may end a docstring or two past it
MAX_FUNCTION_LINES = 80
REASON_MARK = "# size:"


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def oversized_functions(source: str) -> list[tuple[str, int]]:
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            body = lines[node.lineno - 1:node.end_lineno]
            if length > MAX_FUNCTION_LINES and not any(REASON_MARK in line for line in body):
                found.append((node.name, length))
    return found


@pytest.mark.parametrize("module", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_module_and_its_functions_are_within_the_sizes(module):
    source = module.read_text()
    line_count = len(source.splitlines())
    assert line_count <= MAX_MODULE_LINES or REASON_MARK in source, (
        f"{module.name} has {line_count} lines: split it by concept, or say why in a '{REASON_MARK}' comment")
    assert oversized_functions(source) == []


def test_the_check_finds_a_long_function_and_accepts_a_stated_reason():
    long_body = "\n".join(f"    x{index} = {index}" for index in range(MAX_FUNCTION_LINES))
    assert oversized_functions(f"def grown():\n{long_body}\n") == [("grown", MAX_FUNCTION_LINES + 1)]
    assert oversized_functions(f"def grown():\n    # size: a table of cases\n{long_body}\n") == []
