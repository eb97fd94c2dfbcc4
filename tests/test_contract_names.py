"""Issue 8: every name of the pod contract is written once, in ``hera_magics/pod/contract.py``.

Each value below is the text of a contract name; anywhere else in the package it must be reached
through the name, never written again as a literal (a copy drifts: the cause of issue 8's
``"return"`` beside ``RETURN_PARAMETER``). A value may appear inside a longer literal only where
it is part of another word, which the pattern excludes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hera_magics.pod import contract

PACKAGE = Path(__file__).resolve().parents[1] / "hera_magics"
CONTRACT_FILE = PACKAGE / "pod" / "contract.py"
NAMES = ["INPUT_ENV_PREFIX", "ENCODED_PREFIX", "PYTHON_DEFAULT_MARKER", "RETURN_PATH", "PATH_PREFIX_VARIABLE",
         "DATA_MOUNT", "DATA_VOLUME_NAME", "DATA_NODE_INPUT", "DATA_DIR_VARIABLE", "WORKFLOW_VARIABLE",
         "DATA_NODE_VARIABLE", "FILE_MARKER", "RUNTIME_PARAMETER", "COLLECTED_PREFIX", "FAILURES_PREFIX"]


def literal_places(value: str) -> list[str]:
    """Modules (other than the contract) holding ``value`` as a whole quoted string."""
    pattern = re.compile(r"""(["'])""" + re.escape(value) + r"\1")
    places = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module != CONTRACT_FILE and pattern.search(module.read_text()):
            places.append(str(module.relative_to(PACKAGE)))
    return places


@pytest.mark.parametrize("name", NAMES)
def test_a_contract_name_is_written_once(name):
    value = getattr(contract, name)
    assert f'{name} = "{value}"' in CONTRACT_FILE.read_text()
    assert literal_places(value) == []


def test_the_return_parameter_is_only_quoted_where_it_means_something_else():
    # "return" is also a Python keyword and an English word: only quoted uses of it as the
    # parameter's name would be copies, and those are caught by reading the places it is quoted.
    places = literal_places(contract.RETURN_PARAMETER)
    assert places == [], f"'return' quoted in {places}: use RETURN_PARAMETER"
