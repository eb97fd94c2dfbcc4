"""The state folder: where the kernel and the local engine keep what outlives a process.

``$HERA_MAGICS_STATE_DIR``, else the platform's user state folder for ``hera-magics``
(``$XDG_STATE_HOME/hera-magics`` or ``~/.local/state/hera-magics`` on Linux, through
``platformdirs``). Both sides (remembered runs and kept logs in the kernel; the engine's state
file, workflows and volumes) live under it, so they share these three rules:

* folders are private (0700) and files private (0600): the engine's state file holds its token;
* a file is written atomically (a temporary file in the same folder, then a rename), so a crash
  never leaves half a file;
* writers that read-modify-write hold an exclusive lock file beside what they change, so two
  kernels (or a kernel and an engine) never interleave.

This module imports nothing from the package (it is a leaf both sides may use).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

STATE_DIR_VARIABLE = "HERA_MAGICS_STATE_DIR"
APPLICATION_NAME = "hera-magics"


def state_directory(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit``, else ``$HERA_MAGICS_STATE_DIR``, else the user state folder; always absolute
    (the engine runs in another working folder and must find the same place)."""
    if explicit is not None:
        folder = Path(explicit).expanduser()
    elif os.environ.get(STATE_DIR_VARIABLE):
        folder = Path(os.environ[STATE_DIR_VARIABLE]).expanduser()
    else:
        import platformdirs

        folder = Path(platformdirs.user_state_dir(APPLICATION_NAME, appauthor=False))
    return folder.absolute()


def ensure_private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing) for the ``with`` block.

    ``fcntl.flock`` is what POSIX offers and all the engine needs (it runs only on POSIX: it
    manages process groups). Without ``fcntl`` (Windows) the block runs unlocked: the kernel side
    then loses at most one remembered run to a race.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def try_lock(lock_path: Path) -> IO[str] | None:
    """An exclusive lock on ``lock_path`` (created if missing), or None when another process has it.

    The lock lasts until the returned file is closed (or the process ends), so a long-running
    process can hold it for its whole life: the local engine holds one on its state folder. Without
    ``fcntl`` (Windows) the file is returned unlocked.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(lock_path, "a+")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def write_private(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically, the file with ``mode`` and new folders 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
