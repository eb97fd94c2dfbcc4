"""WorkflowRun against a canned Argo Server serving workflow JSON shaped like the real thing.

The workflows are built by ``argo_workflow`` (tests/run_helpers.py) with Argo's own node ids and v2
pod names, plus one real capture (``tests/fixtures/argo/modern``, a Failed Steps workflow). The
remembered runs are written to the per-test state folder that ``conftest.isolated_state`` sets up.
The last tests run against the real local engine.
"""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest
import yaml

from hera_magics.client import ArgoClient
from hera_magics.config import ArgoConfig, Secret
from hera_magics.errors import (
    AuthenticationError,
    HeraMagicsError,
    NotFoundError,
    ServerError,
    TaskResultError,
    UnknownTaskError,
    WorkflowFailed,
    WorkflowTimeout,
)
from hera_magics.history import final_state_path, last_run, load_log_tail
from hera_magics.run import WorkflowRun
from tests.canned_server import Answer, CannedServer, Recorded, argo_error
from tests.conftest import ARGO_FIXTURES
from tests.run_helpers import (
    FAILED_TASKS,
    NAME,
    SUCCEEDED_TASKS,
    TOKEN,
    WORKFLOW_PATH,
    argo_workflow,
    client_for,
    log_answer,
    pod_of,
    serve,
)

FIXTURES = ARGO_FIXTURES / "modern"


# --------------------------------------------------------------------------------------------
# the canned server


@pytest.fixture
def server():
    with CannedServer() as canned:
        yield canned


# --------------------------------------------------------------------------------------------
# a succeeded workflow


def test_succeeded_run_results_and_logs(server):
    serve(server, argo_workflow("Succeeded", SUCCEEDED_TASKS))
    run = WorkflowRun(client_for(server), NAME)
    assert run.wait(poll_interval=0.01) is run
    assert run.phase == "Succeeded" and run.done
    assert [row["task"] for row in run.tasks()] == ["prepare", "hello-world", "report"]
    assert run.result("prepare") == "/home/me/data.parquet"
    assert run.result("hello_world") == {"loss": 0.12}  # the Python spelling resolves too
    assert run.result("hello-world") == {"loss": 0.12}
    assert run.result("prepare", stdout=True) == "prepared"  # outputs.result, as captured
    assert run.result("hello_world", stdout=True) == "epoch 1\nbest: 0.12"  # not captured: the log
    assert run.logs("report") == "best: {'loss': 0.12}"
    assert run.logs().splitlines()[0] == "prepare | prepared"
    log_requests = server.requests_to("GET", WORKFLOW_PATH + "/log")
    assert {r.param("logOptions.container") for r in log_requests} == {"main"}
    assert pod_of("hello-world") in {r.param("podName") for r in log_requests}


def test_a_finished_workflow_is_not_asked_again(server):
    serve(server, argo_workflow("Succeeded", SUCCEEDED_TASKS))
    run = WorkflowRun(client_for(server), NAME).refresh()
    before = len(server.requests_to("GET", WORKFLOW_PATH))
    run.tasks(), run.result("prepare"), run.phase
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == before


def test_result_errors(server):
    serve(server, argo_workflow("Failed", FAILED_TASKS + [
        {"name": "shell", "phase": "Succeeded", "returns": False, "outputs": {"exitCode": "0"}},
        {"name": "lost", "phase": "Succeeded", "outputs": {"exitCode": "0"}},
    ]))
    run = WorkflowRun(client_for(server), NAME)
    with pytest.raises(UnknownTaskError) as caught:
        run.result("trian")
    assert "did you mean 'train'?" in caught.value.message
    assert "prepare" in caught.value.hint
    with pytest.raises(TaskResultError, match=r"task train failed \(main: Error \(exit code 1\)\)"):
        run.result("train")
    with pytest.raises(TaskResultError, match="task report did not run"):
        run.result("report")
    with pytest.raises(TaskResultError, match="a script cell returns nothing") as caught:
        run.result("shell")
    assert "stdout=True" in caught.value.hint
    with pytest.raises(TaskResultError, match="server reported no return value"):
        run.result("lost")
    with pytest.raises(TaskResultError, match="did not run"):
        run.logs("report")


def test_task_not_finished_and_not_started(server):
    tasks = [
        {"name": "prepare", "phase": "Running"},
        {"name": "train", "phase": None, "depends": ["prepare"]},
    ]
    serve(server, argo_workflow("Running", tasks))
    run = WorkflowRun(client_for(server), NAME)
    with pytest.raises(TaskResultError, match=r"has not finished yet \(phase Running\)"):
        run.result("prepare")
    with pytest.raises(TaskResultError, match="task train of workflow nb-x7k2p has not started yet"):
        run.result("train")


# --------------------------------------------------------------------------------------------
# waiting


def test_wait_raises_workflow_failed_with_the_traceback(server, isolated_state):
    serve(server, argo_workflow("Failed", FAILED_TASKS))
    run = WorkflowRun(client_for(server), NAME)
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(poll_interval=0.01)
    error = caught.value
    assert error.workflow_name == NAME and error.phase == "Failed"
    assert error.message.splitlines()[0] == f"workflow {NAME} Failed: task train failed"
    assert "Traceback (most recent call last):" in error.message
    assert error.message.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "loading data" not in error.message  # the tail starts at the traceback
    (failed,) = error.failed_tasks
    assert failed["task"] == "train" and failed["pod_name"] == pod_of("train")
    assert failed["log_tail"].endswith("ZeroDivisionError: division by zero")
    assert "run.logs('train')" in error.hint and run.url in error.hint
    # The tail is kept on disk, so it survives the workflow's TTL.
    assert load_log_tail("argo", NAME, "train").endswith("division by zero")
    saved = isolated_state / "logs" / "argo" / NAME / "train.log"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_logs_after_the_workflow_was_deleted_come_from_the_kept_tail(server):
    serve(server, argo_workflow("Failed", FAILED_TASKS))
    with pytest.raises(WorkflowFailed):
        WorkflowRun(client_for(server), NAME).wait(poll_interval=0.01)
    server.script("GET", WORKFLOW_PATH, argo_error(404, 5, f'workflows.argoproj.io "{NAME}" not found'))
    run = WorkflowRun(client_for(server), NAME)
    assert run.logs("train").endswith("ZeroDivisionError: division by zero")
    # every task's log tail is kept when the run ends, not only the failed ones
    assert run.logs("prepare").startswith("(kept when the run ended")
    assert run.phase == "Failed"  # from the state kept on disk


def test_wait_on_a_real_failed_capture(server):
    """A real Failed Steps workflow (Argo >= 3.7.1) from tests/fixtures/argo/modern."""
    workflow = yaml.safe_load((FIXTURES / "repo-jedarden-pdftract-failed-steps-m2nvb.yaml").read_text())
    name, namespace = workflow["metadata"]["name"], workflow["metadata"]["namespace"]
    path = f"/api/v1/workflows/{namespace}/{name}"
    failed_pod = f"{name}-run-conformance-2154854314"
    server.script("GET", path, Answer(200, workflow))
    server.script("GET", path + "/log", log_answer({failed_pod: ["conformance: 3 checks failed", "exit 3"]}))
    run = WorkflowRun(client_for(server), name, namespace)
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(poll_interval=0.01)
    assert caught.value.message.splitlines()[0] == f"workflow {name} Failed: task run-conformance failed"
    assert "(main: Error (exit code 3))" in caught.value.message
    assert caught.value.failed_tasks[0]["log_tail"] == "conformance: 3 checks failed\nexit 3"
    # Either spelling resolves; no outputs.result was captured, so stdout falls back to its log.
    assert run.result("clone_sdk", stdout=True) == ""
    with pytest.raises(TaskResultError, match="failed"):
        run.result("run_conformance")


def test_running_then_succeeded(server):
    just_created = {"metadata": {"name": NAME, "namespace": "argo"}, "status": {"startedAt": None, "finishedAt": None}}
    pending = argo_workflow("Pending", [])
    running = argo_workflow("Running", [{"name": "prepare", "phase": "Running"}])
    done = argo_workflow("Succeeded", SUCCEEDED_TASKS)
    serve(server, just_created, pending, running, running, done)
    run = WorkflowRun(client_for(server), NAME)
    assert run.phase == "Pending"  # "" (not picked up yet) reads as Pending
    run.wait(poll_interval=0.01)
    assert run.result("hello-world") == {"loss": 0.12}
    polls = server.requests_to("GET", WORKFLOW_PATH)
    assert len(polls) == 6  # phase, 4 polls until Succeeded, one full fetch
    assert all(r.param("fields") and "status.phase" in r.param("fields") for r in polls[:5])
    assert polls[-1].param("fields") is None


def test_wait_timeout(server):
    serve(server, argo_workflow("Running", [{"name": "prepare", "phase": "Running"}]))
    run = WorkflowRun(client_for(server), NAME)
    with pytest.raises(WorkflowTimeout) as caught:
        run.wait(timeout=0.05, poll_interval=0.01)
    assert isinstance(caught.value, TimeoutError)
    assert f"workflow {NAME} has not finished after 0.05s (phase Running)" in caught.value.message
    assert "keeps running on the server" in caught.value.message
    assert server.requests_to("PUT", WORKFLOW_PATH + "/stop") == []  # a timeout stops nothing


def test_wait_tolerates_a_few_failed_polls(server):
    serve(server, argo_workflow("Running", []))
    server.script(
        "GET", WORKFLOW_PATH,
        argo_error(503, 14, "unavailable"), argo_error(503, 14, "unavailable"),
        Answer(200, argo_workflow("Running", [])), Answer(200, argo_workflow("Succeeded", SUCCEEDED_TASKS)),
    )
    run = WorkflowRun(client_for(server, retries=0), NAME)
    assert run.wait(poll_interval=0.01) is run  # no error: two failed polls in a row are not the end
    assert run.phase == "Succeeded" and run.result("hello-world") == {"loss": 0.12}
    polls = server.requests_to("GET", WORKFLOW_PATH)
    # 503, 503, Running, Succeeded (phase polls), then the one full fetch of the final state
    assert [r.param("fields") is not None for r in polls] == [True, True, True, True, False]


def test_wait_gives_up_when_the_server_stays_down(server):
    server.script("GET", WORKFLOW_PATH, argo_error(503, 14, "unavailable"))
    with pytest.raises(ServerError) as caught:
        WorkflowRun(client_for(server, retries=0), NAME).wait(poll_interval=0.01)
    assert caught.value.message == f"the Argo server failed (HTTP 503) to read workflow {NAME}: unavailable"
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == 5


class InterruptingClient(ArgoClient):
    """Raises KeyboardInterrupt on the n-th poll, as Ctrl-C in a notebook would."""

    def __init__(self, *args: Any, interrupt_on: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.polls = 0
        self.interrupt_on = interrupt_on

    def get_workflow(self, name: str, **kwargs: Any) -> dict[str, Any]:
        self.polls += 1
        if self.polls == self.interrupt_on:
            raise KeyboardInterrupt
        return super().get_workflow(name, **kwargs)


def test_ctrl_c_while_waiting_detaches_and_never_stops_the_workflow(server):
    serve(server, argo_workflow("Running", [{"name": "prepare", "phase": "Running"}]))
    server.script("PUT", WORKFLOW_PATH + "/stop", Answer(200, argo_workflow("Running", [])))
    client = InterruptingClient(ArgoConfig(host=server.url, token=Secret(TOKEN), namespace="argo"), backoff=0)
    with pytest.raises(KeyboardInterrupt) as caught:
        WorkflowRun(client, NAME).wait(poll_interval=0.01)
    assert str(caught.value) == (
        f"Ctrl-C: stopped waiting; workflow {NAME} goes on running on the server. To stop it: run.stop()"
    )
    assert server.requests_to("PUT", WORKFLOW_PATH + "/stop") == []


# --------------------------------------------------------------------------------------------
# actions, identity, display


def test_actions_update_the_state(server):
    serve(server, argo_workflow("Failed", FAILED_TASKS))
    server.script("PUT", WORKFLOW_PATH + "/retry", Answer(200, argo_workflow("Failed", FAILED_TASKS)))
    server.script("PUT", WORKFLOW_PATH + "/stop", Answer(200, argo_workflow("Running", [])))
    server.script("PUT", WORKFLOW_PATH + "/terminate", Answer(200, argo_workflow("Running", [])))
    run = WorkflowRun(client_for(server), NAME).refresh()
    assert run.retry() is run
    before = len(server.requests_to("GET", WORKFLOW_PATH))
    run.tasks()  # after a retry the old final state is not trusted
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == before + 1
    assert run.stop() is run and run.terminate() is run
    assert [r.path.rsplit("/", 1)[1] for r in server.requests if r.method == "PUT"] == ["retry", "stop", "terminate"]


def test_identity_repr_and_html(server):
    client = client_for(server)
    run = WorkflowRun(client, NAME)
    assert run.url == f"{server.url}workflows/argo/{NAME}"
    assert run.workflow is None
    assert repr(run) == f"WorkflowRun(name='{NAME}', namespace='argo', phase='unknown')"
    html_text = run._repr_html_()
    assert f'href="{run.url}"' in html_text and NAME in html_text
    assert TOKEN not in repr(run) + html_text + repr(run.client)
    assert server.requests == []  # showing a run asks nothing of the server


def test_widget_is_made_once_on_first_use(server):
    run = WorkflowRun(client_for(server), NAME)
    view = run.widget
    assert view is run.widget
    assert view.source.client is run.client and view.name == NAME and view.namespace == "argo"
    assert view.ui_url == run.url
    assert view.poller.on_final_state == run.keep_final_state


def test_the_view_keeps_the_final_state_when_its_poll_sees_the_end(server, isolated_state):
    serve(server, argo_workflow("Running", SUCCEEDED_TASKS[:1]), argo_workflow("Succeeded", SUCCEEDED_TASKS))
    view = WorkflowRun(client_for(server), NAME).widget
    view.poll_once()  # Running: nothing is kept
    assert not final_state_path("argo", NAME).exists()
    assert server.requests_to("GET", WORKFLOW_PATH + "/log") == []
    view.poll_once()  # Succeeded: kept by this poll, through the view's on_final_state
    assert json.loads(final_state_path("argo", NAME).read_text())["status"]["phase"] == "Succeeded"
    assert load_log_tail("argo", NAME, "hello-world") == "epoch 1\nbest: 0.12"
    log_requests = len(server.requests_to("GET", WORKFLOW_PATH + "/log"))
    assert log_requests == 3
    view.poll_once()  # the same end again: kept once
    assert len(server.requests_to("GET", WORKFLOW_PATH + "/log")) == log_requests


def test_the_view_of_a_forgotten_run_shows_what_was_kept_and_asks_nothing_more(server, isolated_state):
    serve(server, argo_workflow("Failed", FAILED_TASKS))
    WorkflowRun(client_for(server), NAME).refresh()  # ended and kept
    server.script("GET", WORKFLOW_PATH, argo_error(404, 5, f'workflows.argoproj.io "{NAME}" not found'))
    server.script("GET", WORKFLOW_PATH + "/log", argo_error(404, 5, "not found"))
    server.requests.clear()
    view = WorkflowRun(client_for(server), NAME).widget  # a new kernel: nothing in memory
    view.poll_once()
    assert view.notice is None and view.phase == "Failed"
    assert [row["task"] for row in view.rows] == ["prepare", "train", "report"]
    assert view.log_tails[pod_of("train")].endswith("ZeroDivisionError: division by zero")
    # one GET for the poll and one log request for the tail, both answered from the kept state:
    # the end seen is the end on disk, so keeping it asks the server nothing
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", WORKFLOW_PATH), ("GET", WORKFLOW_PATH + "/log")
    ]


# --------------------------------------------------------------------------------------------
# remembered runs


def submit_answer(request: Recorded) -> Answer:
    workflow = request.json()["workflow"]
    workflow["metadata"].update(name=NAME, creationTimestamp="2026-03-01T10:00:00Z")
    return Answer(200, workflow)


def test_submit_remembers_the_run_and_attach_finds_it_after_a_restart(server, isolated_state):
    from hera.workflows import DAG, Script, Workflow

    cell = Script(name="prepare", source="print(1)", image="python:3.11")
    # The namespace is explicit: Hera's global_config may hold one from another test.
    with Workflow(generate_name="nb-", entrypoint="main", namespace="argo") as workflow:
        with DAG(name="main"):
            cell(name="prepare")
    server.script("POST", "/api/v1/workflows/argo", submit_answer)
    run = WorkflowRun.submit(client_for(server), workflow)
    assert run.name == NAME and run.workflow is workflow
    assert run.submitted_at == "2026-03-01T10:00:00Z"

    path = isolated_state / "runs.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert TOKEN not in text
    assert json.loads(text)["runs"] == [
        {"name": NAME, "namespace": "argo", "host": server.url, "submitted_at": "2026-03-01T10:00:00Z"}
    ]

    # A kernel restart: nothing in memory, a new client.
    serve(server, argo_workflow("Succeeded", SUCCEEDED_TASKS))
    again = WorkflowRun.attach(client_for(server))
    assert (again.name, again.namespace) == (NAME, "argo")
    assert again.result("hello_world") == {"loss": 0.12}


def test_attach_without_any_remembered_run(server):
    with pytest.raises(HeraMagicsError) as caught:
        WorkflowRun.attach(client_for(server))
    assert caught.value.message == f"no run is remembered for {server.url}"
    assert caught.value.hint == "pass the workflow's name (it is in the Argo UI)"
    run = WorkflowRun.attach(client_for(server), "other-wf")
    assert (run.name, run.namespace) == ("other-wf", "argo")


# --------------------------------------------------------------------------------------------
# against the real local engine (python -m hera_magics.local, real processes, real HTTP)

ENGINE_TOKEN = "engine-token-0123456789abcdef"
RETURN_PATH = "/tmp/hera-magics/return"

# A function cell's pod-side contract (docs/internals.md): inputs from HERA_MAGICS_INPUT_<name>,
# the return value JSON-encoded to $HERA_MAGICS_PATH_PREFIX/tmp/hera-magics/return.
PREPARE_SOURCE = """\
import json, os
print("preparing")
path = os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + "/tmp/hera-magics/return"
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as stream:
    json.dump({"rows": 3, "name": "it's \\"quoted\\""}, stream)
"""

TRAIN_SOURCE = """\
import json, os
data = json.loads(os.environ["HERA_MAGICS_INPUT_data"])
print("training on", data["rows"], "rows")
if data["rows"] > {limit}:
    result = data["rows"] / 0
path = os.environ.get("HERA_MAGICS_PATH_PREFIX", "") + "/tmp/hera-magics/return"
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as stream:
    json.dump({{"loss": 0.5, "seen": data["name"]}}, stream)
"""


def hera_workflow(limit: int):
    """prepare >> train(data=prepare's return); train divides by zero when rows > limit."""
    from hera.workflows import DAG, Env, Parameter, Script, Workflow
    from hera.workflows.models import ValueFrom

    returns = [Parameter(name="return", value_from=ValueFrom(path=RETURN_PATH))]
    prepare = Script(name="prepare", source=PREPARE_SOURCE, image="python:3.11",
                     command=["python", "-u"], outputs=returns)
    train = Script(name="train", source=TRAIN_SOURCE.format(limit=limit), image="python:3.11",
                   command=["python", "-u"], outputs=returns, inputs=[Parameter(name="data")],
                   env=[Env(name="HERA_MAGICS_INPUT_data", value="{{inputs.parameters.data}}")])
    with Workflow(generate_name="run-test-", entrypoint="main", namespace="argo") as workflow:
        with DAG(name="main"):
            first = prepare(name="prepare")
            second = train(name="train", arguments={"data": "{{tasks.prepare.outputs.parameters.return}}"})
            first >> second
    return workflow


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from .local_helpers import start_engine

    running = start_engine(tmp_path_factory.mktemp("engine"), token=ENGINE_TOKEN, workers=2)
    yield running
    running.stop()


def engine_client(engine, token: str = ENGINE_TOKEN) -> ArgoClient:
    return ArgoClient(ArgoConfig(host=engine.url, token=Secret(token), namespace="argo", local=True),
                      timeout=30, backoff=0.1)


def test_local_engine_succeeded_run(engine, isolated_state):
    client = engine_client(engine)
    run = WorkflowRun.submit(client, hera_workflow(limit=10))
    assert repr(run) == f"WorkflowRun(name='{run.name}', namespace='argo', phase='Pending')"
    assert run.wait(timeout=120, poll_interval=0.2).phase == "Succeeded"
    assert run.result("prepare") == {"rows": 3, "name": 'it\'s "quoted"'}
    assert run.result("train") == {"loss": 0.5, "seen": 'it\'s "quoted"'}
    assert run.result("train", stdout=True) == "training on 3 rows"
    assert [row["task"] for row in run.tasks()] == ["prepare", "train"]
    assert "prepare | preparing" in run.logs().splitlines()
    assert last_run(client.config.host).name == run.name
    # A followed log stream ends by itself once the workflow has finished.
    followed = list(client.workflow_logs(run.name, follow=True))
    assert {entry["content"] for entry in followed} >= {"preparing", "training on 3 rows"}


def test_local_engine_failed_run_carries_the_traceback(engine):
    run = WorkflowRun.submit(engine_client(engine), hera_workflow(limit=1))
    with pytest.raises(WorkflowFailed) as caught:
        run.wait(timeout=120, poll_interval=0.2)
    message = caught.value.message
    assert message.splitlines()[0] == f"workflow {run.name} Failed: task train failed"
    assert "Traceback (most recent call last):" in message
    assert "ZeroDivisionError: division by zero" in message
    assert caught.value.failed_tasks[0]["task"] == "train"
    with pytest.raises(TaskResultError, match="task train failed"):
        run.result("train")
    assert run.result("prepare")["rows"] == 3


def test_local_engine_errors_through_the_client(engine):
    with pytest.raises(AuthenticationError):
        engine_client(engine, token="wrong-token-000000").version()
    with pytest.raises(NotFoundError, match="workflow no-such-wf was not found in namespace argo"):
        engine_client(engine).get_workflow("no-such-wf")
    assert engine_client(engine).version().get("version")
