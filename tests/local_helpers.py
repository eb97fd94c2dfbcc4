"""Helpers for the local engine tests: start a real engine process, talk real HTTP, build workflows.

Nothing here fakes the engine: ``start_engine`` runs ``python -m hera_magics.local`` in its own
process, and every call goes over loopback HTTP with ``requests``. Waiting is always a deadline
loop that polls, never a fixed sleep followed by an assertion.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
FINAL_PHASES = ("Succeeded", "Failed", "Error")
READY_PREFIX = "hera-magics local engine listening on "


@dataclass
class RunningEngine:
    """A local engine process started for a test, and a client for it."""

    url: str
    token: str
    process: subprocess.Popen[str]
    state_dir: Path
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def request(self, method: str, path: str, *, token: str | None = "default", **options: Any) -> requests.Response:
        """``path`` is relative to the server root, e.g. ``api/v1/version``."""
        headers = dict(options.pop("headers", {}) or {})
        if token == "default":
            token = self.token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        options.setdefault("timeout", 30)
        return self.session.request(method, self.url + path.lstrip("/"), headers=headers, **options)

    def create(self, workflow: dict[str, Any], namespace: str = "argo") -> requests.Response:
        return self.request("POST", f"api/v1/workflows/{namespace}", json={"workflow": workflow})

    def submit(self, workflow: dict[str, Any], namespace: str = "argo") -> str:
        answer = self.create(workflow, namespace)
        assert answer.status_code == 200, answer.text
        return answer.json()["metadata"]["name"]

    def get(self, name: str, namespace: str = "argo", **params: Any) -> dict[str, Any]:
        answer = self.request("GET", f"api/v1/workflows/{namespace}/{name}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait(self, name: str, namespace: str = "argo", timeout: float = 60.0) -> dict[str, Any]:
        """Poll until the workflow reaches a final phase; returns it."""
        return self.wait_until(name, lambda workflow: workflow["status"].get("phase") in FINAL_PHASES,
                               namespace=namespace, timeout=timeout, what="a final phase")

    def wait_until(self, name: str, condition: Callable[[dict[str, Any]], bool], *, namespace: str = "argo",
                   timeout: float = 60.0, what: str = "the condition") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        workflow: dict[str, Any] = {}
        while time.monotonic() < deadline:
            workflow = self.get(name, namespace)
            if condition(workflow):
                return workflow
            time.sleep(0.05)
        raise AssertionError(f"workflow {name} did not reach {what} within {timeout}s: {workflow.get('status')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.session.close()


def start_engine(state_dir: Path, *, token: str = "test-token-0123456789", workers: int = 4,
                 extra: list[str] | None = None, timeout: float = 60.0,
                 prefix: list[str] | None = None) -> RunningEngine:
    """Start ``python -m hera_magics.local`` and wait for its ready line.

    ``prefix`` goes before the command (a wrapper that execs it, such as ``prlimit ... --``).
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    command = [*(prefix or []), sys.executable, "-m", "hera_magics.local", "--port", "0", "--token", token,
               "--workers", str(workers), "--state-dir", str(state_dir), *(extra or [])]
    log = open(state_dir / "engine-stderr.log", "ab")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO_ROOT,
                               start_new_session=True)
    log.close()
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if line.startswith(READY_PREFIX):
                return RunningEngine(line[len(READY_PREFIX):].strip(), token, process, state_dir)
            if not line and process.poll() is not None:
                break
    process.kill()
    raise AssertionError(f"the engine did not start: {(state_dir / 'engine-stderr.log').read_text()}")


# -- workflow builders ----------------------------------------------------------------------------


def workflow(templates: list[dict[str, Any]], *, entrypoint: str = "main", generate_name: str = "test-",
             **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": generate_name},
        "spec": {"entrypoint": entrypoint, "templates": templates, **spec},
    }


def dag(tasks: list[dict[str, Any]], name: str = "main", **dag_options: Any) -> dict[str, Any]:
    template_options = {key: dag_options.pop(key) for key in ("parallelism", "inputs", "outputs") if key in dag_options}
    return {"name": name, "dag": {"tasks": tasks, **dag_options}, **template_options}


def task(name: str, template: str, **options: Any) -> dict[str, Any]:
    arguments = options.pop("arguments", None)
    entry: dict[str, Any] = {"name": name, "template": template, **options}
    if arguments:
        entry["arguments"] = {"parameters": [{"name": key, "value": value} for key, value in arguments.items()]}
    return entry


def python_script(name: str, source: str, *, inputs: list[str] | dict[str, str] | None = None,
                  **options: Any) -> dict[str, Any]:
    """A script template run by ``python -u`` (the engine's own interpreter)."""
    template: dict[str, Any] = {
        "name": name,
        "script": {"image": "python:3.11", "command": ["python", "-u"], "source": source,
                   **options.pop("script", {})},
        **options,
    }
    if inputs:
        parameters = ([{"name": key} for key in inputs] if isinstance(inputs, list)
                      else [{"name": key, "default": value} for key, value in inputs.items()])
        template["inputs"] = {"parameters": parameters}
    return template


def shell(name: str, script: str, **options: Any) -> dict[str, Any]:
    """A container template running ``sh -c script``."""
    return {"name": name, "container": {"image": "alpine:3.20", "command": ["sh", "-c", script]}, **options}


def nodes_by_display_name(workflow_object: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["displayName"]: node for node in workflow_object["status"]["nodes"].values()}


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state in ("Z", "X")


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def error_of(answer: requests.Response) -> tuple[int, int, str]:
    """(HTTP status, gRPC code, message) of an error answer, whose body must be exactly Argo's two keys."""
    body = answer.json()
    assert set(body) == {"code", "message"}, body
    return answer.status_code, body["code"], body["message"]


def busy_workflow(child_pid_file: Path) -> dict:
    """One task that starts a child process (sleep 60), records its pid, and waits for it."""
    return workflow([dag([task("busy", "busy")]), shell("busy", f"sleep 60 & echo $! > {child_pid_file}; wait")])


def started_child(child_pid_file: Path) -> int:
    wait_for(lambda: child_pid_file.exists() and child_pid_file.read_text().strip(), what="the child's pid")
    child = int(child_pid_file.read_text())
    assert not process_gone(child)
    return child
