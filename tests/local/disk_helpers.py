"""Engines whose disk fails for real: a size limit on the process, or a tiny or read-only folder.

* ``prlimit --fsize`` (RLIMIT_FSIZE) makes every write of the engine beyond N bytes into a file
  fail with EFBIG ("File too large"): works on any Linux, as any user.
* Where unprivileged user namespaces exist, the engine runs in its own mount namespace in which
  its workflows folder is a small tmpfs (writes fail with ENOSPC, "No space left on device", a
  truly full disk) or a read-only bind mount (EROFS, even for root). The test process sees that
  folder through ``/proc/<engine pid>/root``.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.local_helpers import RunningEngine, start_engine


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(["unshare", "--map-current-user", "--mount", "sh", "-c",
                                "mount -t tmpfs -o size=64k tmpfs /mnt && touch /mnt/x"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


NAMESPACES = _namespaces_work()
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="needs unprivileged user and mount namespaces")
needs_prlimit = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")


def workflows_folder(state_dir: Path) -> Path:
    return state_dir / "engine" / "workflows"


def start_engine_with_file_size_limit(state_dir: Path, limit_bytes: int, **options) -> RunningEngine:
    return start_engine(state_dir, prefix=["prlimit", f"--fsize={limit_bytes}:{limit_bytes}", "--"], **options)


def start_engine_on_small_disk(state_dir: Path, size: str, **options) -> RunningEngine:
    """The engine's workflows folder is a tmpfs of ``size`` (e.g. ``"256k"``) in its own namespace."""
    folder = workflows_folder(state_dir)
    return _start_in_namespace(state_dir, f"mount -t tmpfs -o size={size},mode=0700 tmpfs {shlex.quote(str(folder))}",
                               **options)


def start_engine_on_read_only_folder(state_dir: Path, **options) -> RunningEngine:
    folder = shlex.quote(str(workflows_folder(state_dir)))
    return _start_in_namespace(state_dir, f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}",
                               **options)


def _start_in_namespace(state_dir: Path, setup: str, **options) -> RunningEngine:
    workflows_folder(state_dir).mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    script = f'{setup} && exec "$@"'
    return start_engine(state_dir, prefix=["unshare", "--map-current-user", "--mount", "--propagation", "private",
                                           "sh", "-c", script, "engine"], **options)


def seen_by_engine(engine: RunningEngine, path: Path) -> Path:
    """``path`` as the engine's own mount namespace has it."""
    return Path(f"/proc/{engine.process.pid}/root") / path.relative_to("/")
