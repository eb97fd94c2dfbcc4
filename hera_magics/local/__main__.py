"""``python -m hera_magics.local``: run the embedded local engine in the foreground, or stop it.

::

    python -m hera_magics.local [run] --port 0 --workers 4 [--token T | --token-stdin] [--state-dir DIR]
                                      [--volume CLAIM=DIR ...] [--no-filesystem-view]
    python -m hera_magics.local stop [--state-dir DIR]      stop the engine of the state folder
    python -m hera_magics.local status [--state-dir DIR]    say whether it runs, where, with what

It binds 127.0.0.1 only, prints one line when it is ready
(``hera-magics local engine listening on http://127.0.0.1:PORT/``) and writes the state file
(with the token, mode 0600) that ``ensure_engine`` reads. Without ``--token`` the token comes
from stdin (``--token-stdin``, how ``ensure_engine`` passes it, out of sight of ``ps``), from
``$HERA_MAGICS_ENGINE_TOKEN``, or is generated. SIGTERM or Ctrl-C stops it; tasks still running are killed and marked as such.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import IO

from ..state import UnsafeStateFolder, ensure_private_directory, state_directory, try_lock
from .engine import Engine
from .launcher import (
    ARGO_TOKEN_VARIABLES,
    TOKEN_VARIABLE,
    default_workers,
    engine_status,
    remove_engine_state,
    stop_command,
    stop_engine,
    write_engine_state,
)
from .server import IDLE_TIMEOUT_SECONDS, make_server

READY_MESSAGE = "hera-magics local engine listening on {url}"


def _volume(text: str) -> tuple[str, Path]:
    claim, separator, folder = text.partition("=")
    if not separator or not claim or not folder:
        raise argparse.ArgumentTypeError(f"--volume {text!r}: use CLAIM=LOCAL_DIR")
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"--volume {text!r}: {path} is not a folder")
    return claim, path


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--workers must be at least 1")
    return value


COMMANDS = ("run", "stop", "status")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hera_magics.local",
        description="A single-machine stand-in for the Argo Server: runs workflows as local processes. "
                    "'stop' stops the engine of the state folder (its running tasks are killed), "
                    "'status' says whether one runs.",
    )
    parser.add_argument("command", nargs="?", choices=COMMANDS, default="run",
                        help="run the engine in the foreground (the default), stop it, or show its status")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--token", help=f"the bearer token clients must send (default: ${TOKEN_VARIABLE} or a new one)")
    parser.add_argument("--token-stdin", action="store_true",
                        help="read the token from the first line of stdin (keeps it out of ps and the environment)")
    parser.add_argument("--workers", type=_positive, default=default_workers(),
                        help="how many task processes may run at once (default: the number of CPUs)")
    parser.add_argument("--state-dir", help="where workflows, logs and the state file live")
    parser.add_argument("--volume", type=_volume, action="append", default=[], metavar="CLAIM=LOCAL_DIR",
                        help="serve the persistent volume claim CLAIM from a local folder (repeatable)")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_SECONDS, metavar="SECONDS",
                        help="close a connection that sends nothing for this long (default %(default)s)")
    parser.add_argument("--no-filesystem-view", dest="filesystem_view", action="store_false",
                        help="do not give tasks their own view of the file system even where the machine "
                             "allows it (declared paths then live under $HERA_MAGICS_PATH_PREFIX)")
    return parser.parse_args(argv)


ENGINE_LOCK_NAME = "engine.lock"


def _claim_state_folder(folder: Path) -> IO[str] | None:
    """The engine's lock on ``folder`` (its pid written in it), or None (said why) when another engine has it."""
    lock_path = folder / ENGINE_LOCK_NAME
    handle = try_lock(lock_path)
    if handle is None:
        try:
            holder = lock_path.read_text().strip() or "another process"
        except OSError:
            holder = "another process"
        print(f"another local engine (pid {holder}) already uses {folder}; stop it first "
              f"({stop_command(folder)}) or choose another --state-dir", file=sys.stderr)
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _stop(folder: Path) -> int:
    status = engine_status(folder)
    if not stop_engine(folder):
        print(f"no local engine runs for {folder}")
        return 0
    print(f"stopped the local engine (pid {status['pid'] if status else '?'}) of {folder}")
    return 0


def _status(folder: Path) -> int:
    """Exit status 0 when an engine answers, 3 when none runs (as ``systemctl status`` does)."""
    status = engine_status(folder)
    if status is None:
        print(f"no local engine runs for {folder}")
        return 3
    volumes = ", ".join(f"{claim}={path}" for claim, path in sorted(status["volumes"].items())) or "none"
    answering = "answering" if status["answering"] else "NOT answering (stop it and start it again)"
    print(f"local engine {status['url']} (pid {status['pid']}, {answering})\n"
          f"  state folder: {folder}\n  workers: {status['workers']}\n  volumes: {volumes}\n"
          f"  tasks' own view of the file system: {'yes' if status['filesystem_view'] else 'no'}\n"
          f"  stop it with: {stop_command(folder)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        folder = state_directory(arguments.state_dir).resolve()
        if arguments.command != "run":
            return _stop(folder) if arguments.command == "stop" else _status(folder)
        return _run(arguments, folder)
    except UnsafeStateFolder as error:
        print(error, file=sys.stderr)
        return 2


def _run(arguments: argparse.Namespace, folder: Path) -> int:
    # Tasks inherit this process's environment: the token must not be part of it.
    token = arguments.token
    if arguments.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            print("--token-stdin: no token on stdin", file=sys.stderr)
            return 2
    token = token or os.environ.pop(TOKEN_VARIABLE, None) or secrets.token_urlsafe(32)
    os.environ.pop(TOKEN_VARIABLE, None)
    for name in ARGO_TOKEN_VARIABLES:  # started by hand from a shell that holds the Argo token
        os.environ.pop(name, None)
    ensure_private_directory(folder)
    # Held for the whole life of the process: two engines writing the same workflow files
    # would corrupt each other's state.
    owner = _claim_state_folder(folder)
    if owner is None:
        return 1

    engine = Engine(folder / "engine", workers=arguments.workers, volumes=dict(arguments.volume),
                    filesystem_view=arguments.filesystem_view)
    if engine.settings.filesystem_view:
        print("tasks see the paths they declare through their own view of the file system", file=sys.stderr)
    else:
        print(f"tasks run without their own view of the file system ({engine.filesystem_view_problem}): "
              "declared paths live under $HERA_MAGICS_PATH_PREFIX", file=sys.stderr)
    try:
        server = make_server(engine, token, arguments.port, idle_timeout=arguments.idle_timeout)
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{arguments.port}: {error}", file=sys.stderr)
        return 1
    engine.start()
    write_engine_state(folder, {
        "url": server.url,
        "port": server.port,
        "token": token,
        "pid": os.getpid(),
        "workers": arguments.workers,
        "volumes": {claim: str(path) for claim, path in arguments.volume},
        "filesystemView": engine.settings.filesystem_view,
    })

    stopping = threading.Event()

    def request_stop(signal_number: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            # shutdown() waits for serve_forever to return, so it must run on another thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    print(READY_MESSAGE.format(url=server.url), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        engine.stop()
        remove_engine_state(folder, os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
