"""The state folder: where the kernel and the local engine keep what outlives a process.

``$HERA_MAGICS_STATE_DIR``, else the platform's user state folder for ``hera-magics``
(``$XDG_STATE_HOME/hera-magics`` or ``~/.local/state/hera-magics`` on Linux, through
``platformdirs``). Both sides (remembered runs and kept logs in the kernel; the engine's state
file, workflows and volumes) live under it, so they share these three rules:

* folders are private (0700) and files private (0600): the engine's state file holds its token;
* a file is written atomically (a temporary file in the same folder, then a rename), so a crash
  never leaves half a file;
* writers that read-modify-write hold an exclusive lock file beside what they change, so two
  kernels (or a kernel and an engine) never interleave;
* an existing state folder is used only when it belongs to the user and is 0700
  (``check_private_directory``): whoever can write it could replace the engine's state file and
  receive the requests, and the token, meant for the user's engine.

This module imports nothing from the package (it is a leaf both sides may use).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

STATE_DIR_VARIABLE = "HERA_MAGICS_STATE_DIR"
APPLICATION_NAME = "hera-magics"


class UnsafeStateFolder(PermissionError):
    """The state folder exists but belongs to someone else or others may read or write it.

    Shown in a notebook as one line with the fix (IPython calls ``_render_traceback_``).
    """

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(f"the state folder {path} {problem}; {fix}")
        self.path = path
        self.problem = problem
        self.fix = fix

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def state_directory(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit``, else ``$HERA_MAGICS_STATE_DIR``, else the user state folder; always absolute
    (the engine runs in another working folder and must find the same place).

    Raises ``UnsafeStateFolder`` when the folder exists but is not the user's own private folder
    (``check_private_directory``); a folder that does not exist yet is created 0700 by whoever
    writes into it first.
    """
    if explicit is not None:
        folder = Path(explicit).expanduser()
    elif os.environ.get(STATE_DIR_VARIABLE):
        folder = Path(os.environ[STATE_DIR_VARIABLE]).expanduser()
    else:
        import platformdirs

        folder = Path(platformdirs.user_state_dir(APPLICATION_NAME, appauthor=False))
    folder = folder.absolute()
    check_private_directory(folder)
    return folder


def check_private_directory(path: Path) -> None:
    """Raise ``UnsafeStateFolder`` unless ``path`` is missing or a folder of this user with mode 0700.

    ``lstat``: a symbolic link is judged as itself (a link someone else planted must not lead us
    into their folder). Without ``os.getuid`` (Windows) only the kind of file is checked.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise UnsafeStateFolder(path, f"cannot be read ({error.strerror})",
                                "choose another folder with $HERA_MAGICS_STATE_DIR") from None
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        raise UnsafeStateFolder(path, f"is a symbolic link (to {target})",
                                f"set HERA_MAGICS_STATE_DIR={target} if that folder is yours, or remove the link")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateFolder(path, "is not a folder",
                                "remove it or choose another folder with $HERA_MAGICS_STATE_DIR")
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # pragma: no cover - Windows: no POSIX owner or mode to check
        return
    if info.st_uid != getuid():
        raise UnsafeStateFolder(
            path, f"belongs to another user (uid {info.st_uid}, you are uid {getuid()})",
            "whoever owns it can read your engine's token and receive your requests: use a folder of your own "
            "(set HERA_MAGICS_STATE_DIR) or remove that folder",
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode != 0o700:
        raise UnsafeStateFolder(path, f"has mode {mode:04o}, not 0700 (only you may enter it)",
                                f"run: chmod 700 {path}")


def ensure_private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) as a 0700 folder; an existing one must already be private
    (``check_private_directory``: it is refused, not repaired, since others may have written it)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        check_private_directory(path)
        return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    # mkdir's mode is filtered by the umask: make it exactly 0700.
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    check_private_directory(path)


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
