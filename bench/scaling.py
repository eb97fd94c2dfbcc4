"""How the local engine scales with the size of a workflow (issue 10's targets).

What it runs
    A private engine (``python -m hera_magics.local --workers 2`` in a temporary state folder,
    stopped at the end; the user's engine is never touched) and, one after the other:

    * fan-out/fan-in ``prep >> [work_i ...] >> end`` of 100, 500 and 2,000 nodes in all;
    * a 1,000-item ``withItems`` map between ``prep`` and ``end`` (1,002 pods);
    * 2,000 independent tasks and one task that depends on all of them (2,001 pods).

    Every node runs ``python -c pass`` (the engine's own interpreter). Beside each workflow the
    same number of bare ``python -c pass`` processes run 2 at a time, as a floor.

What it prints
    ``wall``: from create until the client sees a final phase (polling ``status.phase`` every
    POLL_SECONDS). ``engine CPU``: the engine process's own CPU time (user + system, from
    ``/proc/PID/stat``; its tasks are separate processes and not counted) over the same span,
    in all and per node. ``bare``: wall time of the bare processes. The targets: engine CPU per
    node at 2,000 nodes within 1.5x of that at 100 nodes, and 100 trivial nodes within 1.5x of
    the bare processes.

Run: ``.venv/bin/python bench/scaling.py [--source DIR] [--sizes 100,500,2000]``; ``--source``
runs the engine from another checkout's source folder (to compare with an older version).
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
POLL_SECONDS = 0.25
TOKEN = "bench-scaling-token-0123456789"
READY_PREFIX = "hera-magics local engine listening on "
FINAL = ("Succeeded", "Failed", "Error")
TIMEOUT_SECONDS = 1800.0


# -- the workflows ------------------------------------------------------------------------------


def _noop_template() -> dict[str, Any]:
    return {"name": "noop", "container": {"image": "python:3.12", "command": ["python", "-c", "pass"]}}


def _workflow(name: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"generateName": f"{name}-"},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": tasks}}, _noop_template()]}}


def fan_out(nodes: int) -> dict[str, Any]:
    """``prep >> [work_i ...] >> end``: ``nodes`` pods in all."""
    works = [f"work-{index}" for index in range(nodes - 2)]
    tasks = [{"name": "prep", "template": "noop"}]
    tasks += [{"name": work, "template": "noop", "depends": "prep"} for work in works]
    tasks.append({"name": "end", "template": "noop", "depends": " && ".join(works)})
    return _workflow(f"fan-out-{nodes}", tasks)


def item_map(items: int) -> dict[str, Any]:
    """``prep >> work.map(items) >> end`` as a ``withItems`` loop."""
    tasks = [
        {"name": "prep", "template": "noop"},
        {"name": "work", "template": "noop", "depends": "prep", "withItems": list(range(items))},
        {"name": "end", "template": "noop", "depends": "work"},
    ]
    return _workflow(f"map-{items}", tasks)


def fan_in(roots: int) -> dict[str, Any]:
    """``roots`` independent tasks and one that depends on all of them."""
    names = [f"root-{index}" for index in range(roots)]
    tasks = [{"name": name, "template": "noop"} for name in names]
    tasks.append({"name": "end", "template": "noop", "depends": " && ".join(names)})
    return _workflow(f"fan-in-{roots}", tasks)


# -- the engine ---------------------------------------------------------------------------------


class Engine:
    """A private engine process and a client for it."""

    def __init__(self, state_dir: Path, source: Path, no_filesystem_view: bool = False) -> None:
        environment = dict(os.environ, PYTHONPATH=str(source))
        command = [sys.executable, "-m", "hera_magics.local", "--port", "0", "--token", TOKEN,
                   "--workers", str(WORKERS), "--state-dir", str(state_dir)]
        if no_filesystem_view:
            command.append("--no-filesystem-view")
        self.log = open(state_dir / "engine-stderr.log", "ab")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=source,
                                        env=environment, start_new_session=True)
        self.url = self._wait_ready()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith(READY_PREFIX):
                    return line[len(READY_PREFIX):].strip()
                if not line and self.process.poll() is not None:
                    break
        self.stop()
        raise SystemExit("the engine did not start")

    def cpu_seconds(self) -> float:
        """The engine's own CPU time (user + system), not its tasks'."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, workflow: dict[str, Any]) -> tuple[str, float, float]:
        """(final phase or the refusal, wall seconds, engine CPU seconds)."""
        cpu_before = self.cpu_seconds()
        start = time.perf_counter()
        answer = self.session.post(f"{self.url}api/v1/workflows/argo", json={"workflow": workflow}, timeout=300)
        if answer.status_code != 200:
            message = answer.json().get("message", answer.text) if answer.content else answer.reason
            return f"HTTP {answer.status_code}: {message[:70]}", time.perf_counter() - start, 0.0
        name = answer.json()["metadata"]["name"]
        phase = ""
        while time.perf_counter() - start < TIMEOUT_SECONDS:
            status = self.session.get(f"{self.url}api/v1/workflows/argo/{name}",
                                      params={"fields": "status.phase"}, timeout=300).json().get("status") or {}
            phase = status.get("phase") or ""
            if phase in FINAL:
                break
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
        cpu = self.cpu_seconds() - cpu_before
        self.session.delete(f"{self.url}api/v1/workflows/argo/{name}", timeout=300)
        return phase or "timed out", wall, cpu

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def bare_processes(count: int) -> float:
    """Wall seconds for ``count`` bare ``python -c pass``, WORKERS at a time."""
    def one(_: int) -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - start


# -- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO_ROOT,
                        help="the folder holding the hera_magics package the engine runs from")
    parser.add_argument("--sizes", default="100,500,2000", help="fan-out/fan-in sizes (nodes in all)")
    parser.add_argument("--map-items", type=int, default=1000, help="items of the withItems map (0: skip)")
    parser.add_argument("--fan-in", type=int, default=2000, help="tasks the last task depends on (0: skip)")
    parser.add_argument("--no-filesystem-view", action="store_true",
                        help="run the engine without each task's own view of the file system "
                             "(bench/filesystem_view.py measures what the view costs per task)")
    options = parser.parse_args()

    cases: list[tuple[str, int, Callable[[], dict[str, Any]]]] = []
    for size in (int(text) for text in options.sizes.split(",") if text.strip()):
        cases.append((f"fan-out/fan-in {size}", size, lambda size=size: fan_out(size)))
    if options.map_items:
        cases.append((f"withItems map {options.map_items}", options.map_items + 2,
                      lambda: item_map(options.map_items)))
    if options.fan_in:
        cases.append((f"{options.fan_in} -> 1 fan-in", options.fan_in + 1, lambda: fan_in(options.fan_in)))

    view = "without" if options.no_filesystem_view else "with"
    print(f"local engine scaling: {WORKERS} workers, {os.cpu_count()} CPUs, {view} the file-system view, "
          f"engine from {options.source}")
    header = (f"{'workflow':<24} {'nodes':>6} | {'outcome':<10} {'wall':>8} {'per node':>9} | "
              f"{'engine CPU':>10} {'per node':>9} | {'bare wall':>9} {'engine/bare':>11}")
    print(header)
    print("-" * len(header))
    per_node_cpu: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="hera-magics-scaling-") as state:
        engine = Engine(Path(state), options.source.resolve(), options.no_filesystem_view)
        try:
            engine.run(fan_out(4))  # warm-up
            for label, nodes, build in cases:
                outcome, wall, cpu = engine.run(build())
                bare = bare_processes(nodes)
                if outcome != "Succeeded":
                    print(f"{label:<24} {nodes:>6} | {outcome}")
                    continue
                if label.startswith("fan-out"):
                    per_node_cpu[nodes] = cpu / nodes
                print(f"{label:<24} {nodes:>6} | {outcome:<10} {wall:>6.1f} s {wall / nodes * 1e3:>6.1f}ms | "
                      f"{cpu:>8.2f} s {cpu / nodes * 1e3:>6.2f}ms | {bare:>7.1f} s {wall / bare:>10.2f}x")
        finally:
            engine.stop()
    sizes = sorted(per_node_cpu)
    if len(sizes) >= 2:
        print(f"engine CPU per node, {sizes[-1]} vs {sizes[0]} nodes: "
              f"{per_node_cpu[sizes[-1]] / per_node_cpu[sizes[0]]:.2f}x (target: within 1.5x)")
    print("target for 100 trivial nodes: engine wall within 1.5x of the bare processes (engine/bare column)")


if __name__ == "__main__":
    main()
