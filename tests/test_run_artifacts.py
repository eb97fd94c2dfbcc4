"""``WorkflowRun.artifact``: a task's output artifacts read back in the notebook.

A Hera workflow on a real local engine process; the artifacts come back over the engine's
artifact route (``/artifacts/...``, as Argo's artifact server serves them) through
``ArgoClient.get_artifact`` and are unpacked by ``hera_magics.artifacts``.
"""

from __future__ import annotations

import pytest

from hera_magics.config import ArgoConfig, Secret
from hera_magics.client import ArgoClient
from hera_magics.errors import TaskResultError
from hera_magics.run import WorkflowRun

TOKEN = "artifact-test-token-0123456789"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from .local_helpers import start_engine

    running = start_engine(tmp_path_factory.mktemp("engine"), token=TOKEN, workers=2)
    yield running
    running.stop()


def hera_workflow():
    from hera.workflows import DAG, Artifact, Container, NoneArchiveStrategy, Workflow

    script = "mkdir -p /tmp/d && echo one > /tmp/d/1 && echo two > /tmp/d/2 && echo hi > /tmp/f"
    with Workflow(generate_name="artifacts-", entrypoint="main", namespace="argo") as workflow:
        make = Container(name="make", image="busybox", command=["sh", "-c"], args=[script],
                         outputs=[Artifact(name="file", path="/tmp/f"), Artifact(name="folder", path="/tmp/d"),
                                  Artifact(name="plain", path="/tmp/f", archive=NoneArchiveStrategy())])
        with DAG(name="main"):
            make(name="make")
    return workflow


def test_artifacts_come_back_as_bytes_or_extracted(engine, tmp_path, isolated_state):
    client = ArgoClient(ArgoConfig(host=engine.url, token=Secret(TOKEN), namespace="argo", local=True),
                        timeout=30, backoff=0.1)
    run = WorkflowRun.submit(client, hera_workflow())
    assert run.wait(timeout=120, poll_interval=0.2).phase == "Succeeded"
    assert run.artifact("make", "file") == b"hi\n"
    assert run.artifact("make", "plain") == b"hi\n"
    with pytest.raises(TaskResultError, match="holds a folder"):
        run.artifact("make", "folder")
    extracted = run.artifact("make", "folder", folder=tmp_path)
    assert extracted == tmp_path / "d"
    assert sorted(path.name for path in extracted.iterdir()) == ["1", "2"]
    assert (extracted / "2").read_text() == "two\n"
    with pytest.raises(TaskResultError, match="did you mean 'file'"):
        run.artifact("make", "files")
