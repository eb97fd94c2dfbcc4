"""The state folder (hera_magics.state): where it is, and that it is created private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hera_magics.history import remember_run
from hera_magics.state import state_directory


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"HERA_MAGICS_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/s"),
        ({"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/hera-magics"),
        ({"HOME": "/h"}, "/h/.local/state/hera-magics"),
        ({"HERA_MAGICS_STATE_DIR": "", "XDG_STATE_HOME": "", "HOME": "/h"}, "/h/.local/state/hera-magics"),
    ],
)
def test_state_dir(environ, expected, monkeypatch):
    for variable in ("HERA_MAGICS_STATE_DIR", "XDG_STATE_HOME", "HOME"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    assert state_directory() == Path(expected)


def test_state_dir_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("HERA_MAGICS_STATE_DIR", str(tmp_path / "new" / "state"))
    remember_run("a-1", "argo", "https://one/")
    assert stat.S_IMODE((tmp_path / "new" / "state").stat().st_mode) == 0o700
    assert sorted(os.listdir(tmp_path / "new" / "state")) == ["runs.json", "runs.json.lock"]
