"""Tests read nothing outside the repository: a clone on its own runs every test.

A fixture reached through ``Path(__file__).parents[N]`` must stay inside the repository; one that
climbs out (to a ``shared`` folder beside a working copy, say) passes on the machine that has it
and fails or skips everywhere else — as ``tests/view/test_graph.py`` once did, hidden by a
``/tmp/shared`` link on one machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_BESIDE = os.pardir + "/shared"  # a folder beside a working copy, written out by relative path
PARENTS = re.compile(r"Path\(__file__\)(?:\.absolute\(\)|\.resolve\(\))?\.parents\[(\d+)\]")


def escaping_lines(test_file: Path) -> list[str]:
    """Lines of ``test_file`` whose ``parents[N]`` lies above the repository."""
    highest_inside = len(test_file.resolve().relative_to(REPOSITORY).parts) - 1  # parents[this] is the repository
    found = []
    for number, line in enumerate(test_file.read_text().splitlines(), 1):
        for match in PARENTS.finditer(line):
            if int(match.group(1)) > highest_inside:
                found.append(f"{test_file.relative_to(REPOSITORY)}:{number}: {line.strip()}")
        if SHARED_BESIDE in line:
            found.append(f"{test_file.relative_to(REPOSITORY)}:{number}: {line.strip()}")
    return found


def test_no_test_reaches_outside_the_repository():
    offending = [line for path in sorted((REPOSITORY / "tests").rglob("*.py")) if path.name != Path(__file__).name
                 for line in escaping_lines(path)]
    assert offending == []


def test_the_check_sees_a_climb_out_of_the_repository(tmp_path):
    nested = REPOSITORY / "tests" / "view"
    probe = nested / "_probe_escape.py"
    probe.write_text('FIXTURES = Path(__file__).absolute().parents[3] / "elsewhere"\n'
                     'INSIDE = Path(__file__).absolute().parents[1] / "fixtures"\n')
    try:
        assert [line.split(": ", 1)[1] for line in escaping_lines(probe)] == [
            'FIXTURES = Path(__file__).absolute().parents[3] / "elsewhere"']
    finally:
        probe.unlink()
