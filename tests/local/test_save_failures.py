"""A workflow exists only once it is saved (issue 9 #12).

When the engine cannot save a new workflow (its folder is read-only, its disk is full, a file
size limit), create answers a clear 5xx and nothing of the workflow remains: not in the list, not
by name, not on disk, and the same name can be created once the disk has room again.
"""

from __future__ import annotations

import os

import pytest

from tests.local.disk_helpers import (
    needs_namespaces,
    needs_prlimit,
    seen_by_engine,
    start_engine_on_read_only_folder,
    start_engine_on_small_disk,
    start_engine_with_file_size_limit,
    workflows_folder,
)
from tests.local_helpers import python_script, shell, workflow

BIG_SOURCE = "print('x')\n" + "# padding\n" * 30_000  # about 300 KB once saved


def _named(template: dict, name: str) -> dict:
    body = workflow([template])
    body["metadata"] = {"name": name}
    return body


def _assert_nothing_made(engine, name: str) -> None:
    assert engine.request("GET", "api/v1/workflows/argo").json()["items"] is None
    assert engine.request("GET", f"api/v1/workflows/argo/{name}").status_code == 404
    folder = seen_by_engine(engine, workflows_folder(engine.state_dir))
    assert os.listdir(folder) == []  # no namespace folder, no workflow folder, no temporary file


@needs_namespaces
def test_a_read_only_state_folder_answers_500_and_keeps_nothing(tmp_path):
    engine = start_engine_on_read_only_folder(tmp_path / "state")
    try:
        answer = engine.create(_named(shell("main", "true"), "results"))
        assert answer.status_code == 500
        message = answer.json()["message"]
        assert message.startswith('the local engine could not save workflow "results" in ')
        assert "Read-only file system" in message and "it was not created" in message
        _assert_nothing_made(engine, "results")
        assert engine.request("GET", "api/v1/version").status_code == 200  # the engine goes on
    finally:
        engine.stop()


@needs_namespaces
def test_a_full_disk_answers_500_keeps_nothing_and_the_name_is_free_afterwards(tmp_path):
    engine = start_engine_on_small_disk(tmp_path / "state", "128k")
    try:
        answer = engine.create(_named(python_script("main", BIG_SOURCE), "big"))
        assert answer.status_code == 500 and "No space left on device" in answer.json()["message"]
        _assert_nothing_made(engine, "big")
        # A workflow that fits is created and runs; the failed name was never taken.
        done = engine.wait(engine.submit(_named(shell("main", "true"), "big")))
        assert done["metadata"]["name"] == "big" and done["status"]["phase"] == "Succeeded"
    finally:
        engine.stop()


@needs_prlimit
def test_a_file_size_limit_answers_500_and_keeps_nothing(tmp_path):
    engine = start_engine_with_file_size_limit(tmp_path / "state", 64 * 1024)
    try:
        answer = engine.create(_named(python_script("main", BIG_SOURCE), "big"))
        assert answer.status_code == 500 and "File too large" in answer.json()["message"]
        assert engine.request("GET", "api/v1/workflows/argo").json()["items"] is None
        assert engine.request("GET", "api/v1/workflows/argo/big").status_code == 404
        assert os.listdir(workflows_folder(engine.state_dir)) == []
        # The engine restarted on the same folder knows nothing of it either.
    finally:
        engine.stop()


@pytest.mark.parametrize("namespace", ["n" * 300])
def test_an_over_long_namespace_makes_nothing(tmp_path, namespace):
    from tests.local_helpers import start_engine

    engine = start_engine(tmp_path / "state")
    try:
        answer = engine.create(_named(shell("main", "true"), "results"), namespace=namespace)
        assert answer.status_code == 400
        assert os.listdir(workflows_folder(engine.state_dir)) == []
        assert engine.request("GET", "api/v1/workflows/").json()["items"] is None
    finally:
        engine.stop()
