"""A stand-in for the program of ``argoproj/argosay:v2``, Argo's own test image.

Argo's examples and e2e tests run this image without a command (its entrypoint ``/argosay``) and
tell it what to do in ``args``. The local engine runs commands on this machine, not in images
(``images`` says which images it stands in for), so it runs this module instead, with the same
words and the same outcomes as the image's entrypoint script
(``test/e2e/images/argosay/v2/argosay`` in Argo's repository, a ``case`` over its first word):

* nothing: prints ``hello argo``;
* ``echo``: prints ``hello argo``; ``echo TEXT`` prints TEXT; ``echo TEXT FILE`` writes TEXT
  and a newline to FILE (making its folder); more words do nothing and succeed, as the script's
  ``case $#`` matches none of its branches;
* ``cat FILE``: prints the file; ``assert_contains FILE TEXT``: prints the lines of FILE that
  contain TEXT, and fails (exit 1) when there are none, as ``grep -F`` does;
* ``exit [CODE]``: ends with CODE (default 0); ``sleep DURATION``: sleeps (``sleep``'s
  ``s``/``m``/``h``/``d`` suffixes); ``sh [FILE]``: runs FILE with ``sh``;
* anything else: exit 1.

Run: ``python -m hera_magics.local.argosay WORD ...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

GREETING = "hello argo"

SLEEP_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def sleep_seconds(text: str) -> float:
    """``sleep``'s argument: a number with an optional ``s``/``m``/``h``/``d`` suffix."""
    unit = SLEEP_UNITS.get(text[-1:], None)
    number = text[:-1] if unit is not None else text
    return float(number) * (unit or 1)


def run(words: list[str]) -> int:
    """Do what the image's entrypoint does with ``words``; the exit code."""
    action = words[0] if words else ""
    if action == "":
        print(GREETING)
        return 0
    if action == "echo":
        return _echo(words)
    if action == "cat" and len(words) >= 2:
        sys.stdout.write(Path(words[1]).read_text())
        return 0
    if action == "assert_contains" and len(words) >= 3:
        lines = [line for line in Path(words[1]).read_text().splitlines() if words[2] in line]
        for line in lines:
            print(line)
        return 0 if lines else 1
    if action == "exit":
        return int(words[1]) if len(words) >= 2 else 0
    if action == "sleep" and len(words) >= 2:
        time.sleep(sleep_seconds(words[1]))
        return 0
    if action == "sh":
        return subprocess.call(["sh", words[1] if len(words) >= 2 else "0"])
    return 1


def _echo(words: list[str]) -> int:
    if len(words) == 1:
        print(GREETING)
    elif len(words) == 2:
        print(words[1])
    elif len(words) == 3:
        target = Path(words[2])
        os.makedirs(target.parent, exist_ok=True)
        target.write_text(words[1] + "\n")
    return 0


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    try:
        code = run(sys.argv[1:])
    except (OSError, ValueError) as error:
        # as the shell script's commands would: a message on stderr and a failure
        print(f"argosay: {error}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
