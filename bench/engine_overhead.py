"""Local-engine overhead per task, against the bare start-up of a Python process.

What it measures
    1. ``bare``: ``python -c pass`` with the interpreter the engine runs tasks with (this one),
       median of BARE_REPEATS runs — the floor any task-per-process runner pays.
    2. For an engine started with ``--workers 1`` and then ``--workers 2`` (a private engine in a
       temporary state folder, stopped at the end; the user's own engine is never touched):

       * a workflow of 1 trivial task (median of SMALL_REPEATS) — the fixed cost of a workflow;
       * a workflow of K independent trivial tasks (a script cell ``pass``, which still runs our
         preamble: ``import json, os``), median of LARGE_REPEATS.

       ``client``: wall time from ``Session.submit`` until the client sees ``Succeeded``,
       polling ``status.phase`` every POLL_SECONDS from outside (so up to that much is polling
       delay). ``engine``: the span the engine recorded, first Pod ``startedAt`` to last Pod
       ``finishedAt``. Argo timestamps are whole seconds, so that span is only good to ±1 s
       (±1/K s per task) — it is a cross-check, the client figure is the precise one.
       ``CPU/task``: CPU seconds per task of the engine process itself and of its tasks (its
       reaped children), from ``/proc/PID/stat`` (Linux; ``n/a`` elsewhere).

How to read it
    ``per task`` = wall / K. ``marginal`` = (wall(K) - wall(1)) / (K - 1): what one more task
    costs once the workflow runs. ``overhead`` = marginal × workers - bare: the time a worker
    slot spends per task beyond starting Python (engine bookkeeping, pipes, log files, the
    preamble). With 2 workers on a 2-core machine the engine, the tasks and this client share
    the cores, so the speed-up is below 2× — compare the engine's own CPU per task with the tasks'. Figures are from one run on one machine.

Run: ``.venv/bin/python bench/engine_overhead.py``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K = 100
BARE_REPEATS = 10
SMALL_REPEATS = 3
LARGE_REPEATS = 3
POLL_SECONDS = 0.02
WORKER_COUNTS = (1, 2)
FINAL = ("Succeeded", "Failed", "Error")


def bare_start_up() -> float:
    times = []
    for _ in range(BARE_REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def engine_cpu() -> tuple[float, float] | None:
    """(the engine's own CPU seconds, its reaped children's — the tasks' — CPU seconds), Linux only."""
    from hera_magics.local import read_engine_state

    pid = (read_engine_state() or {}).get("pid")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # after the ")": state is field 3 of stat(5); utime, stime, cutime, cstime are 14-17
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime) / ticks, (cutime + cstime) / ticks


def run_workflow(session, client, count: int) -> tuple[float, float | None, tuple[float, float] | None]:
    """(client wall seconds, engine-recorded span seconds, (engine, task) CPU seconds) for
    ``count`` independent tasks."""
    from hera_magics.argo import parse_rfc3339

    expression = "[" + ", ".join(f"noop(name='n{index}')" for index in range(count)) + "]"
    from hera_magics.options import parse_workflow_options

    built = session.build(expression, parse_workflow_options(name="bench-overhead"))  # built before the clock starts
    cpu_before = engine_cpu()
    start = time.perf_counter()
    run = session.submit(built)
    while True:
        phase = (client.get_workflow(run.name, fields="status.phase").get("status") or {}).get("phase")
        if phase in FINAL:
            break
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - start
    cpu_after = engine_cpu()
    cpu = None
    if cpu_before is not None and cpu_after is not None:
        cpu = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
    if phase != "Succeeded":
        raise SystemExit(f"workflow {run.name} ended {phase}: {run.logs()}")
    nodes = (client.get_workflow(run.name).get("status") or {}).get("nodes") or {}
    pods = [node for node in nodes.values() if node.get("type") == "Pod"]
    span = None
    if pods and all(node.get("startedAt") and node.get("finishedAt") for node in pods):
        span = (max(parse_rfc3339(node["finishedAt"]) for node in pods)
                - min(parse_rfc3339(node["startedAt"]) for node in pods))
    client.delete_workflow(run.name)
    return wall, span, cpu


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hera-magics-bench-") as state:
        os.environ["HERA_MAGICS_STATE_DIR"] = state
        from hera_magics import Session
        from hera_magics.local import read_engine_state, stop_engine

        bare = bare_start_up()
        print(f"engine overhead per task (K={K} independent trivial tasks; {os.cpu_count()} CPUs)")
        print(f"bare start-up `python -c pass`: {bare * 1e3:.1f} ms (median of {BARE_REPEATS})")
        header = (f"{'workers':>7} | {'1-task wf':>9} | {'K-task wall':>11} {'per task':>9} {'marginal':>9} "
                  f"{'overhead':>9} | {'engine span':>11} {'per task':>9} | {'CPU/task: engine':>16} {'tasks':>7}")
        print(header)
        print("-" * len(header))
        try:
            for workers in WORKER_COUNTS:
                stop_engine()
                session = Session()
                session.configure_local(workers=workers)
                actual = (read_engine_state() or {}).get("workers")
                if actual != workers:
                    raise SystemExit(f"asked for an engine with {workers} workers, got {actual}")
                session.define_task("pass\n", name="noop")
                client = session.client()
                run_workflow(session, client, 2)  # warm-up: first workflow of a fresh engine
                single = statistics.median(run_workflow(session, client, 1)[0] for _ in range(SMALL_REPEATS))
                big_runs = sorted((run_workflow(session, client, K) for _ in range(LARGE_REPEATS)),
                                  key=lambda item: item[0])
                wall, span, cpu = big_runs[len(big_runs) // 2]  # the median run by wall time
                per_task = wall / K
                marginal = (wall - single) / (K - 1)
                overhead = marginal * workers - bare
                span_text = f"{span:>9.0f} s" if span is not None else f"{'n/a':>11}"
                span_task = f"{span / K * 1e3:>7.0f}ms" if span is not None else f"{'n/a':>9}"
                cpu_text = (f"{cpu[0] / K * 1e3:>14.1f}ms {cpu[1] / K * 1e3:>5.1f}ms" if cpu is not None
                            else f"{'n/a':>16} {'n/a':>7}")
                print(f"{workers:>7} | {single * 1e3:>7.0f}ms | {wall:>9.2f} s {per_task * 1e3:>7.1f}ms "
                      f"{marginal * 1e3:>7.1f}ms {overhead * 1e3:>7.1f}ms | {span_text} {span_task} | {cpu_text}")
                client.close()
        finally:
            stop_engine()
        print("engine span: whole-second Argo timestamps, so ±1 s over the run; CPU/task: the engine "
              "process's own CPU time and its tasks' (children's) CPU time, per task")


if __name__ == "__main__":
    main()
