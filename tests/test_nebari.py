"""Nebari mode: golden YAML, volumes by short names, data through a volume, logs kept past the TTL."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hera_magics.compile import runtime_loader
from hera_magics.errors import NotFoundError, TaskDefinitionError, WorkflowFailed
from hera_magics.nebari import conda_python
from hera_magics.options import parse_data_volume, parse_task_options, parse_volume, parse_workflow_options
from hera_magics.pod.contract import DATA_MOUNT, RUNTIME_PARAMETER
from hera_magics.session import Session

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "nebari_workflow.yaml"
KERNEL_PYTHON = str(Path(sys.prefix) / "bin" / "python")

NEBARI_ENV = {
    "ARGO_SERVER": "nebari.example.org:443",
    "ARGO_BASE_HREF": "/argo",
    "ARGO_TOKEN": "Bearer nebari-token-000011112222",
    "ARGO_NAMESPACE": "dev",
    "JUPYTERHUB_USER": "Jane.Doe@example.org",
}


def nebari_session() -> Session:
    session = Session()
    report = session.configure(environ=NEBARI_ENV)
    assert report.config.nebari and report.config.sources["nebari"] == "detected"
    session.define_task("def prepare() -> str:\n    return 'data'\n", options=parse_task_options(data_volume="home"))
    session.define_task(
        "import torch\ndef train(path: str, lr: float = 0.1):\n    return {'loss': lr}\n",
        options=parse_task_options(gpu=2, shm="2Gi", volume=["home", "shared/ml-team:/data:ro", "conda"],
                                   data_volume="home"),
    )
    session.define_task("print(metrics)\n", "report", parse_task_options(
        inputs=["metrics"], conda_env="nebari-git/dask", workdir="/home/Jane.Doe@example.org/project"))
    return session


def nebari_yaml() -> str:
    built = nebari_session().build("prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)",
                                   parse_workflow_options(name="nightly"))
    # the kernel's python (path and version) differs from machine to machine; the runtime has its
    # own tests (tests/pod/test_runtime.py) and its compressed bytes depend on the zlib library
    (runtime,) = built.workflow.arguments
    assert runtime.name == RUNTIME_PARAMETER and runtime.value == runtime_loader(data_files=True)
    runtime.value = "<runtime loader>"
    version = f"python:{sys.version_info.major}.{sys.version_info.minor}"
    return built.to_yaml().replace(KERNEL_PYTHON, "<kernel python>").replace(version, "python:<kernel version>")


def test_golden_nebari_workflow():
    text = nebari_yaml()
    if os.environ.get("HERA_MAGICS_UPDATE_GOLDEN") or not GOLDEN.exists():
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
        pytest.fail(f"golden file written to {GOLDEN}; review it and run again")
    assert text == GOLDEN.read_text()


def test_nebari_workflow_parts():
    document = yaml.safe_load(nebari_yaml())
    labels = document["metadata"]["labels"]
    assert labels["jupyterflow-override"] == "true"
    assert labels["workflows.argoproj.io/creator-preferred-username"] == "jane-2edoe-40example-2eorg"
    assert document["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 86400}
    templates = {template["name"]: template for template in document["spec"]["templates"]}
    train = templates["train"]
    assert train["script"]["command"] == ["<kernel python>", "-u"]
    assert {"key": "dedicated", "operator": "Equal", "value": "nebari", "effect": "NoSchedule"} in train["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in train["tolerations"]
    claims = {(volume["persistentVolumeClaim"]["claimName"]) for volume in train["volumes"] if "persistentVolumeClaim" in volume}
    assert claims == {"jupyterhub-dev-share", "conda-store-dev-share"}
    mounts = {mount["mountPath"]: mount for mount in train["script"]["volumeMounts"]}
    assert mounts["/home/Jane.Doe@example.org"]["subPath"] == "home/Jane.Doe@example.org"
    assert mounts["/data"] == {"name": mounts["/data"]["name"], "mountPath": "/data", "subPath": "shared/ml-team",
                               "readOnly": True}
    assert "subPath" not in mounts["/home/conda"]
    assert mounts[DATA_MOUNT]["subPath"] == "home/Jane.Doe@example.org"
    report = templates["report"]
    assert report["script"]["command"] == ["/home/conda/nebari-git/envs/nebari-git-dask/bin/python", "-u"]
    assert report["script"]["workingDir"] == "/home/Jane.Doe@example.org/project"
    # no output parameters for tasks that move data through the volume (blocked by RBAC on Nebari)
    assert "outputs" not in templates["prepare"] and "outputs" not in train
    dag = templates["hera-magics-dag"]["dag"]["tasks"]
    train_task = next(task for task in dag if task["name"] == "train")
    arguments = {item["name"]: item["value"] for item in train_task["arguments"]["parameters"]}
    assert arguments["path"] == '{"__hera_magics_file__": "{{workflow.name}}/prepare/return"}'
    assert arguments["hera-magics-node"] == "train"
    assert train_task["depends"] == "prepare"
    assert "nebari-token" not in yaml.safe_dump(document)


@pytest.mark.parametrize(
    "text, claim, sub_path, mount, read_only",
    [
        ("home", "jupyterhub-dev-share", "home/jane", "/home/jane", False),
        ("home:/work:ro", "jupyterhub-dev-share", "home/jane", "/work", True),
        ("shared/analysts", "jupyterhub-dev-share", "shared/analysts", "/shared/analysts", False),
        ("conda", "conda-store-dev-share", None, "/home/conda", False),
        ("my-claim/sub/dir:/mnt", "my-claim", "sub/dir", "/mnt", False),
    ],
)
def test_volume_short_names(text, claim, sub_path, mount, read_only):
    volume = parse_volume(text).resolved(namespace="dev", username="jane")
    assert (volume.claim, volume.sub_path, volume.mount_path, volume.read_only) == (claim, sub_path, mount, read_only)


@pytest.mark.parametrize("text", ["shared", "home/x", "conda/x", "my-claim", "BadClaim:/mnt"])
def test_bad_volume_short_names(text):
    with pytest.raises(TaskDefinitionError):
        parse_volume(text)


def test_data_volume_forms():
    assert parse_data_volume("home").short == "home"
    assert parse_data_volume("my-claim/data").claim == "my-claim"
    for bad in ("home:/x", "conda"):
        with pytest.raises(TaskDefinitionError):
            parse_data_volume(bad)


@pytest.mark.parametrize(
    "env, user, python",
    [
        ("dask", "jane", "/home/conda/jane/envs/jane-dask/bin/python"),
        ("nebari-git/dask", "jane", "/home/conda/nebari-git/envs/nebari-git-dask/bin/python"),
        ("analysts/analysts-ml", None, "/home/conda/analysts/envs/analysts-ml/bin/python"),
        ("/opt/envs/x", None, "/opt/envs/x/bin/python"),
    ],
)
def test_conda_env_paths(env, user, python):
    assert conda_python(env, username=user) == python


def test_home_needs_a_user_and_namespace():
    with pytest.raises(TaskDefinitionError, match="needs your user name"):
        parse_volume("home").resolved(namespace="dev", username=None)
    with pytest.raises(TaskDefinitionError, match="needs the namespace"):
        parse_volume("home").resolved(namespace=None, username="jane")


def test_nebari_summary_warns_about_the_override(ip, monkeypatch, capsys):
    for key, value in NEBARI_ENV.items():
        monkeypatch.setenv(key, value)
    ip.run_line_magic("argo_env", "")
    text = capsys.readouterr().out
    assert "nebari     on (detected)" in text
    assert "replaces each task's image" in text and "Jupyter pod must be running" in text


# ---------------------------------------------------------------------------------------------
# on the local engine


@pytest.mark.nebari
def test_large_numpy_array_and_dataframe_travel_through_the_volume(local_ip):
    numpy = pytest.importorskip("numpy")
    pandas = pytest.importorskip("pandas")
    local_ip.run_cell_magic("argo_task", "--data-volume", textwrap.dedent("""\
        import numpy as np
        def make_array(n: int):
            return np.arange(n, dtype="float64")  # 8 bytes a value
        """))
    local_ip.run_cell_magic("argo_task", "--data-volume", textwrap.dedent("""\
        import pandas as pd
        def to_frame(values):
            return pd.DataFrame({"value": values, "double": values * 2})
        """))
    local_ip.run_cell_magic("argo_task", "--data-volume", textwrap.dedent("""\
        def describe(frame, extra):
            return {"rows": len(frame), "total": float(frame["double"].sum()), "extra_rows": len(extra)}
        """))
    extra = pandas.DataFrame({"a": range(1000)})  # a notebook object: not JSON, goes as a file
    local_ip.user_ns["extra"] = extra
    count = 50 * 1024 * 1024 // 8
    run = local_ip.run_line_magic(
        "argo_dag", f"--no-widget make_array(n={count}) >> to_frame(values=make_array) >> describe(frame=to_frame, extra=extra)")
    run.wait(timeout=300)
    array = run.result("make_array")
    assert isinstance(array, numpy.ndarray) and array.nbytes == 50 * 1024 * 1024
    assert array[-1] == count - 1
    frame = run.result("to_frame")
    assert isinstance(frame, pandas.DataFrame) and len(frame) == count
    assert run.result("describe") == {"rows": count, "total": float(count * (count - 1)), "extra_rows": 1000}
    # the values really went through the volume's folder, not through parameters
    template = next(t for t in run.data["spec"]["templates"] if t["name"] == "make-array")
    assert "outputs" not in template
    data_root = run.data_folder / ".hera-magics" / run.name
    assert (data_root / "make-array" / "return.npy").stat().st_size > 50 * 1024 * 1024


@pytest.mark.nebari
def test_logs_are_still_shown_after_the_server_forgets_the_workflow(local_ip):
    from hera_magics.view.render import render_text

    local_ip.run_cell_magic("argo_task", "", "def chatty():\n    for i in range(3):\n        print('line', i)\n")
    local_ip.run_cell_magic("argo_task", "", "def broken():\n    raise ValueError('kept traceback')\n")
    run = local_ip.run_line_magic("argo_dag", "--no-widget --no-fail-fast [chatty, broken]")
    with pytest.raises(WorkflowFailed, match=rf"^workflow {run.name} Failed: task broken failed"):
        run.wait(timeout=120)
    run.client.delete_workflow(run.name, namespace=run.namespace)
    with pytest.raises(NotFoundError):
        run.client.get_workflow(run.name, namespace=run.namespace)
    again = local_ip.run_line_magic("argo_status", f"{run.name} --no-widget")
    assert again.gone_from_server
    assert again.logs("chatty").splitlines()[1:] == ["line 0", "line 1", "line 2"]
    assert "ValueError: kept traceback" in again.logs("broken")
    # the widget shows the kept state and the failed task's traceback
    view = again.widget
    view.poll_once()
    assert {row["task"]: row["phase"] for row in view.rows} == {"chatty": "Succeeded", "broken": "Failed"}
    assert "kept traceback" in view.html
    assert "Failed" in render_text(view.summary, view.rows)


@pytest.mark.nebari
def test_the_same_run_object_shows_kept_logs_after_deletion(local_ip):
    local_ip.run_cell_magic("argo_task", "", "def speak():\n    print('said once')\n    return 'ok'\n")
    run = local_ip.run_line_magic("argo_dag", "--no-widget speak")
    run.wait(timeout=120)
    run.client.delete_workflow(run.name, namespace=run.namespace)
    assert run.logs("speak").splitlines() == ["(kept when the run ended; the workflow is gone from the server)",
                                              "said once"]
    assert run.result("speak", stdout=True) == "said once"  # no banner inside the value
    assert run.result("speak") == "ok"
    assert "speak | said once" in run.logs()
