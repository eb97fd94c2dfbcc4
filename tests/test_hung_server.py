"""A server that accepts the connection and never answers cannot hold a submit for minutes.

A create has one deadline in all (``ArgoClient.create_timeout``, 30 s by default): the request gets
three quarters of it, the lookup that resolves its lost answer the rest. The message then says
whether the workflow exists — "unknown" when the lookup hangs too — and the submission stays
remembered (by its label), so ``%argo_status --last`` finds it once the server answers.

The sockets are real (a canned server whose handlers wait and never answer). The elapsed time is
printed for the report (``pytest -s``); the bound asserted is only a loose safety net.
"""

from __future__ import annotations

import time

from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from hera_magics.errors import ConnectionFailedError
from hera_magics.history import remembered_runs

from .canned_server import Answer, CannedServer

CREATE_PATH = "/api/v1/workflows/argo"
HANGS = Answer(200, {}, delay=300)
WORKFLOW = {"metadata": {"generateName": "nb-"}, "spec": {"entrypoint": "main", "templates": []}}


def test_submit_to_a_server_that_never_answers_gives_up_within_the_deadline(ip, capsys):
    with CannedServer() as server:
        server.script("POST", CREATE_PATH, HANGS)
        server.script("GET", CREATE_PATH, HANGS)  # the lookup hangs as well
        ip.run_line_magic("argo_env", f"--host {server.url} --namespace argo")
        ip.run_cell_magic("argo_task", "", "def hello():\n    return 1\n")
        capsys.readouterr()
        started = time.monotonic()
        result = ip.run_cell("run = %argo_dag --no-widget hello")
        elapsed = time.monotonic() - started
        shown = capsys.readouterr()
        print(f"\nsubmit against a server that never answers gave up after {elapsed:.1f} s "
              f"({len(server.requests_to('POST', CREATE_PATH))} create, "
              f"{len(server.requests_to('GET', CREATE_PATH))} lookup)")
    assert elapsed < 45, elapsed  # a safety net only; the design is 30 s in all
    assert isinstance(result.error_in_exec, ConnectionFailedError)
    text = shown.out + shown.err
    assert "Traceback" not in text
    assert "no answer within 22.5s" in text
    assert "whether the workflow was created is unknown (looking it up failed" in text
    assert "%argo_status --last (or WorkflowRun.attach(client)) finds it once the server answers" in text
    (pending,) = remembered_runs()
    assert pending.pending and pending.submission


def test_a_lookup_that_answers_says_nothing_was_created_within_the_same_deadline():
    with CannedServer() as server:
        server.script("POST", CREATE_PATH, HANGS)
        server.script("GET", CREATE_PATH, Answer(200, {"metadata": {}, "items": None}))
        client = ArgoClient(ArgoConfig(host=server.url, token=Secret("token-1234"), namespace="argo"),
                            create_timeout=2.0)
        started = time.monotonic()
        try:
            client.create_workflow(WORKFLOW)
        except ConnectionFailedError as error:
            message = error.message
        elapsed = time.monotonic() - started
    assert "no answer within 1.5s" in message
    assert "no workflow from this submission is on the server yet" in message
    assert elapsed < 10, elapsed  # safety net
    assert len(server.requests_to("POST", CREATE_PATH)) == 1  # never sent twice


def test_create_timeout_is_checked():
    import pytest

    from hera_magics.errors import ArgumentTypeError, ArgumentValueError

    config = ArgoConfig(host="http://127.0.0.1:9/", namespace="argo")
    with pytest.raises(ArgumentValueError, match="create_timeout must be more than 0"):
        ArgoClient(config, create_timeout=0)
    with pytest.raises(ArgumentTypeError, match="create_timeout must be a number of seconds, not None"):
        ArgoClient(config, create_timeout=None)  # type: ignore[arg-type]
