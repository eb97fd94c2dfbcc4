"""``python -m hera_magics.local stop`` and ``status`` as commands that work (issue 9 #11), and the
state folder the engine (and the kernel) accept (issue 9 #21)."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hera_magics.errors import LocalEngineError
from hera_magics.history import remember_run
from hera_magics.local import engine_status, ensure_engine, read_engine_state, stop_command, stop_engine
from hera_magics.state import UnsafeStateFolder, check_private_directory, state_directory
from tests.local_helpers import REPO_ROOT, process_gone, wait_for


def _command(*words: str, state_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The module as a user runs it in a terminal: another folder, no PYTHONPATH tricks."""
    environment = {key: value for key, value in os.environ.items() if key != "HERA_MAGICS_STATE_DIR"}
    return subprocess.run([sys.executable, "-m", "hera_magics.local", *words, "--state-dir", str(state_dir)],
                          capture_output=True, text=True, cwd=cwd, env=environment, timeout=60)


def test_stop_and_status_commands(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(folder))
    url, token = ensure_engine(workers=2)
    pid = read_engine_state()["pid"]
    try:
        status = _command("status", state_dir=folder, cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert url in status.stdout and str(pid) in status.stdout and "answering" in status.stdout
        assert token not in status.stdout + status.stderr
        assert engine_status() == {"url": url, "pid": pid, "workers": 2, "volumes": {}, "answering": True,
                                   "filesystem_view": read_engine_state()["filesystemView"]}

        stopped = _command("stop", state_dir=folder, cwd=tmp_path)
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped the local engine (pid {pid})" in stopped.stdout
        wait_for(lambda: process_gone(pid), timeout=30, what="the engine to exit")
        assert not (folder / "local-engine.json").exists()

        again = _command("status", state_dir=folder, cwd=tmp_path)
        assert again.returncode == 3 and "no local engine runs" in again.stdout
        assert "no local engine runs" in _command("stop", state_dir=folder, cwd=tmp_path).stdout
        assert engine_status() is None
    finally:
        stop_engine()


def test_stop_command_names_this_interpreter(tmp_path, monkeypatch):
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(tmp_path / "default"))
    assert shlex.split(stop_command()) == [sys.executable, "-m", "hera_magics.local", "stop"]
    other = tmp_path / "other"
    assert shlex.split(stop_command(other)) == [sys.executable, "-m", "hera_magics.local", "stop",
                                                "--state-dir", str(other)]
    # The printed command works as it is, from any folder.
    finished = subprocess.run(stop_command(other), shell=True, capture_output=True, text=True, cwd="/", timeout=60)
    assert finished.returncode == 0 and "no local engine runs" in finished.stdout


# -- the state folder (issue 9 #21) ------------------------------------------------------------


def test_a_new_state_folder_is_created_private(tmp_path):
    folder = tmp_path / "fresh" / "state"
    assert _command("status", state_dir=folder, cwd=tmp_path).returncode == 3
    check_private_directory(folder)  # missing: fine


@pytest.mark.parametrize("mode", [0o755, 0o770, 0o777, 0o701])
def test_a_state_folder_others_may_enter_is_refused(tmp_path, monkeypatch, mode):
    folder = tmp_path / "state"
    folder.mkdir()
    os.chmod(folder, mode)
    with pytest.raises(UnsafeStateFolder, match=f"has mode {mode:04o}.*chmod 700 {folder}"):
        check_private_directory(folder)

    # The engine refuses to start there, says why and how to fix it, and changes nothing.
    started = subprocess.run([sys.executable, "-m", "hera_magics.local", "--state-dir", str(folder)],
                             capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert started.returncode == 2 and f"chmod 700 {folder}" in started.stderr
    assert os.listdir(folder) == [] and stat.S_IMODE(folder.stat().st_mode) == mode

    # The notebook side: ensure_engine says it as a LocalEngineError with the fix as its hint, and
    # the remembered runs are not written either.
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(folder))
    with pytest.raises(LocalEngineError) as caught:
        ensure_engine(workers=1)
    assert caught.value.hint == f"run: chmod 700 {folder}"
    with pytest.raises(UnsafeStateFolder) as refused:
        remember_run("a-1", "argo", "https://one/")
    assert refused.value._render_traceback_() == [f"UnsafeStateFolder: {refused.value}"]
    assert os.listdir(folder) == []


def test_a_state_folder_of_another_user_is_refused(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        # An ordinary user cannot give a folder away; "/" belongs to root, never to them.
        with pytest.raises(UnsafeStateFolder, match="belongs to another user"):
            check_private_directory(Path("/"))
        return
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(UnsafeStateFolder, match="belongs to another user"):
        state_directory(folder)
    started = subprocess.run([sys.executable, "-m", "hera_magics.local", "--state-dir", str(folder)],
                             capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert started.returncode == 2 and "belongs to another user" in started.stderr
    assert os.listdir(folder) == []


def test_a_symbolic_link_as_state_folder_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UnsafeStateFolder, match=f"is a symbolic link .*HERA_MAGICS_STATE_DIR={real}"):
        state_directory(link)
