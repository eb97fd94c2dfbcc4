"""A task's own view of the file system: its declared absolute paths are where it declared them.

In a pod, ``echo hi > /tmp/output.txt`` writes the container's ``/tmp``, and Argo reads the output
parameter ``valueFrom.path: /tmp/output.txt`` from there. The local engine keeps each node's
files in its node folder (``<node dir>/fs``, the node's *root*). Where the machine allows it
(Linux with unprivileged user namespaces: most laptops and many Kubernetes pods), each task runs
in its own user and mount namespace in which ``/`` is that root, showing the machine's own file
system except where the task has paths of its own:

* ``binds``: each volume mount path shows the volume's folder (a claim's local folder, or the
  node's own folder for an ``emptyDir``);
* ``hidden``: each output parameter's file and artifact path, and ``/argo/staging`` where a
  script is staged, never show what the machine has at that path: the task's file is the node's
  (an output file the machine has starts as the node's copy of it, ``pod_launch.PodFolders``);
* ``overlaid``: ``/tmp``, the working folder, the folder of each output file and every folder on
  the way to a path above show what the machine has there, while what the task creates in them
  stays in the node's root (a pod's ``/tmp`` is its own; the machine's ``/tmp`` stays clean).

Everything else is the machine's, through bind mounts (the task runs as the user, as before: the
view decides where paths lead, it is not a sandbox). The task's processes see the user's own uid
and gid; files of other users show as ``nobody``.

Where the machine does not allow it (macOS, a container whose seccomp profile refuses
``unshare``, Ubuntu's AppArmor restriction, or ``--no-filesystem-view``), the engine falls back to
``HERA_MAGICS_PATH_PREFIX``: declared paths live under the node folder, only commands that use
``{{outputs.parameters.NAME.path}}`` or the prefix find them, and create refuses what would
otherwise go silently wrong (``validation.validate_local_support``).

The engine runs this file as a script in front of the task's command (``view_command``): it
imports only the standard library, enters the namespaces, builds the view, changes its root to
it and then replaces itself with the command (``exec``), so the task keeps the pid and process
group the engine knows. If the view cannot be built, the task's log says why and it exits 125.
The helper's start-up is most of what a view costs (``bench/filesystem_view.py``), so at module
level this file imports only what the helper needs; the engine's side imports the rest inside
its functions, and the view travels on the helper's command line as plain words, not JSON.

"""

from __future__ import annotations

# Only what the helper needs (see the module's help): no json, pathlib, subprocess or typing here.
import ctypes
import os
import stat
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
SETUP_FAILED_EXIT_CODE = 125
"""The exit code (as a container runtime's) when the view could not be built; the log says why."""
PROBE_TIMEOUT_SECONDS = 20.0


def view_command(python: str, spec: dict[str, object], argv: list[str]) -> list[str]:
    """``argv`` run inside the view described by ``spec`` (see ``build_view``).

    The helper's words: root, working folder, then each list as its length followed by its
    items (``hidden``, ``overlaid``, and ``binds`` as target and folder pairs), then ``argv``.
    """
    words = [python, "-I", "-S", os.path.abspath(__file__), str(spec["root"]), str(spec.get("cwd") or "/")]
    for key in ("hidden", "overlaid"):
        items = [str(item) for item in spec[key]]  # type: ignore[attr-defined]
        words += [str(len(items)), *items]
    binds = [(str(target), str(folder)) for target, folder in spec["binds"]]  # type: ignore[attr-defined]
    words.append(str(len(binds)))
    for target, folder in binds:
        words += [target, folder]
    return words + list(argv)


def parse_view_words(words: list[str]) -> tuple[dict[str, object], list[str]]:
    """The inverse of ``view_command`` after the script's path: (spec, the task's command)."""
    root, cwd, rest = words[0], words[1], words[2:]
    spec: dict[str, object] = {"root": root, "cwd": cwd}
    for key in ("hidden", "overlaid"):
        count = int(rest[0])
        spec[key], rest = rest[1:1 + count], rest[1 + count:]
    count = int(rest[0])
    pairs = rest[1:1 + 2 * count]
    spec["binds"] = [[pairs[index], pairs[index + 1]] for index in range(0, len(pairs), 2)]
    return spec, rest[1 + 2 * count:]


def view_available(folder, python: str | None = None) -> tuple[bool, str]:
    """Whether tasks can get their view here, and why not; tried for real in ``folder`` (a
    ``pathlib.Path``, removed after)."""
    import shutil
    import subprocess

    root = folder / "fs"
    try:
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        spec = {"root": str(root), "hidden": ["/tmp/hera-magics-probe"], "overlaid": ["/tmp"], "binds": [],
                "cwd": "/tmp"}
        check = ("import os; open('/tmp/hera-magics-probe', 'w').write('x'); "
                 "print(os.getcwd(), os.path.isdir('/proc/self'))")
        interpreter = python or sys.executable
        finished = subprocess.run(view_command(interpreter, spec, [interpreter, "-I", "-S", "-c", check]),
                                  capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS,
                                  stdin=subprocess.DEVNULL)
        written = (root / "tmp" / "hera-magics-probe").is_file()
    except (OSError, subprocess.SubprocessError) as error:
        return False, str(error)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if finished.returncode == 0 and written and finished.stdout.strip() == "/tmp True":
        return True, ""
    reason = (finished.stderr.strip().splitlines() or [f"exit code {finished.returncode}"])[-1]
    return False, reason.removeprefix("hera-magics: ")


# -- inside the task's process, before its command runs ------------------------------------------------


class _Libc:
    """The two system calls Python 3.11's ``os`` lacks, through ctypes."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                     ctypes.c_void_p]
        self._libc.unshare.argtypes = [ctypes.c_int]

    def unshare(self, flags: int) -> None:
        if self._libc.unshare(flags) != 0:
            raise _error("unshare (user and mount namespaces)")

    def mount(self, source: str | None, target: str, flags: int) -> None:
        if self._libc.mount(source.encode() if source else None, target.encode(), None, flags, None) != 0:
            raise _error(f"mount {source or ''} on {target}")


def _error(what: str) -> OSError:
    number = ctypes.get_errno()
    return OSError(number, f"{what}: {os.strerror(number)}")


def enter_namespaces(libc: _Libc) -> None:
    """A new user namespace (mapping only the user's own uid and gid) and a private mount namespace."""
    uid, gid = os.getuid(), os.getgid()
    libc.unshare(CLONE_NEWUSER | CLONE_NEWNS)
    try:
        _write("/proc/self/setgroups", "deny")
    except FileNotFoundError:  # kernels before 3.19 have no setgroups file
        pass
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    libc.mount(None, "/", MS_REC | MS_PRIVATE)


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


def _ancestors(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[:index]) for index in range(len(parts))]


def build_view(libc: _Libc, spec: dict) -> None:
    """Make ``spec["root"]`` the task's ``/`` (see the module's help), then enter it.

    ``spec``: ``root`` (the node's folder), ``hidden`` and ``overlaid`` (paths in the view),
    ``binds`` (``[path in the view, folder]``), ``cwd`` (in the view).
    """
    root = spec["root"].rstrip("/")
    binds = {target: source for target, source in spec["binds"]}
    own = set(spec["hidden"]) | set(binds)  # paths where the machine's content must not show
    overlaid = {"/"} | set(spec["overlaid"])
    for path in list(own) + list(spec["overlaid"]):
        overlaid.update(_ancestors(path))
    # A folder under a hidden or bound path is part of that path.
    overlaid = {path for path in overlaid
                if not any(path != mine and path.startswith(mine.rstrip("/") + "/") for mine in own)}
    _populate(libc, root, "/", own, overlaid)
    for target in sorted(binds, key=lambda path: path.count("/")):
        local = root + target
        os.makedirs(local, exist_ok=True)
        libc.mount(binds[target], local, MS_BIND | MS_REC)
    os.chroot(root)
    os.chdir(spec.get("cwd") or "/")


def _populate(libc: _Libc, root: str, folder: str, own: set[str], overlaid: set[str]) -> None:
    """Show the machine's entries of ``folder`` under ``root``, except the task's own paths."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return  # nothing of the machine's to show here
    for name in names:
        path = folder.rstrip("/") + "/" + name
        if path in own:
            continue
        local = root + path
        if path in overlaid:
            os.makedirs(local, exist_ok=True)
            _populate(libc, root, path, own, overlaid)
            continue
        try:
            _show(libc, path, local)
        except OSError:
            continue  # an entry the user may not mount (or that vanished): the view goes without it


def _show(libc: _Libc, path: str, local: str) -> None:
    """Make the machine's ``path`` appear at ``local``: a symbolic link is copied, the rest bound."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        if not os.path.lexists(local):
            os.symlink(os.readlink(path), local)
        return
    if stat.S_ISDIR(info.st_mode):
        os.makedirs(local, exist_ok=True)
        libc.mount(path, local, MS_BIND | MS_REC)
        return
    if not os.path.lexists(local):
        with open(local, "a"):
            pass
    libc.mount(path, local, MS_BIND)


def main(arguments: list[str]) -> int:
    """``pod_filesystem.py VIEW... COMMAND...``: build the view, then become the command."""
    spec, command = parse_view_words(arguments)
    try:
        libc = _Libc()
        enter_namespaces(libc)
        build_view(libc, spec)
    except (OSError, AttributeError) as error:
        sys.stderr.write(f"hera-magics: cannot give the task its own view of the file system: {error}\n")
        return SETUP_FAILED_EXIT_CODE
    try:
        os.execv(command[0], command)
    except OSError as error:
        sys.stderr.write(f"hera-magics: cannot run {command[0]}: {error.strerror}\n")
        return 126 if isinstance(error, PermissionError) else 127
    return 0  # not reached: execv does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
