"""Kernel latency: how much the status widget's background polling slows the notebook's own work.

What it measures
    A private local engine (temporary state folder, stopped at the end) runs a workflow of
    N_TASKS tasks that sleep, so it stays ``Running`` for the whole benchmark (2 running, the
    rest pending). In the main thread — the kernel's thread in a notebook — a fixed CPU-bound
    pure-Python loop runs with 0, 1 and 5 ``StatusView`` pollers polling that workflow in their
    daemon threads, each with ``poll_interval = max_interval = POLL_SECONDS`` (the back-off is
    pinned, so this is the busiest polling the widget ever does; normally the interval grows
    ×1.5 up to 10 s while nothing changes). Views are built with ``widgets=False``: each poll
    still fetches, builds the rows and renders the HTML, but no front end receives it.

    For each count: the loop's wall time, the main thread's CPU time and the longest stall —
    the longest time between two of the loop's clock checks, made every CHECK_EVERY steps
    (about 0.6 ms of work) — as medians of REPEATS loops, the counts interleaved; and the
    polls made during the timed loops.

How to read it
    ``slowdown`` = loop wall time / the wall time with no poller. The pollers hold the GIL while
    they parse JSON and render, so the loop waits for them: the gap between ``wall`` and
    ``cpu`` is time the main thread was ready but not running. ``longest stall`` is
    the worst pause the notebook's own code saw (a cell's output or a keystroke would wait that
    long); CPython hands the GIL over every 5 ms. ``polls/s`` shows how much polling that cost
    bought. The engine serves the polls from its own process, on the same
    2 cores. Figures are from one run on one machine.

Run: ``.venv/bin/python bench/kernel_latency.py``
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POLLER_COUNTS = (0, 1, 5)
POLL_SECONDS = 0.2
REPEATS = 3
LOOP_ITERATIONS = 20_000_000
CHECK_EVERY = 10_000  # the loop looks at the clock this often to find its longest stall
N_TASKS = 20


def timed_loop() -> tuple[float, float, float]:
    """(wall seconds, main-thread CPU seconds, longest gap between checkpoints in seconds)."""
    clock = time.perf_counter
    wall, cpu = clock(), time.thread_time()
    total = 0
    longest = 0.0
    last = wall
    for _ in range(LOOP_ITERATIONS // CHECK_EVERY):
        for index in range(CHECK_EVERY):
            total += index * index % 7
        now = clock()
        longest = max(longest, now - last)
        last = now
    return clock() - wall, time.thread_time() - cpu, longest


def measure(client, run, count: int) -> tuple[float, float, float, int]:
    """One timed loop with ``count`` pollers running: (wall, cpu, longest gap, polls)."""
    from hera_magics.view.widget import StatusView

    views = [StatusView(client, run.name, run.namespace, poll_interval=POLL_SECONDS,
                        max_interval=POLL_SECONDS, widgets=False) for _ in range(count)]
    for view in views:
        view.start()
    time.sleep(2 * POLL_SECONDS)  # let every poller make its first poll
    polls_before = sum(view.poll_count for view in views)
    wall, cpu, longest = timed_loop()
    polls = sum(view.poll_count for view in views) - polls_before
    for view in views:
        view.stop()
    for view in views:
        view.wait_until_stopped(10)
        if view.notice:
            print(f"  note: a poller said {view.notice!r}")
    return wall, cpu, longest, polls


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hera-magics-bench-") as state:
        os.environ["HERA_MAGICS_STATE_DIR"] = state
        from hera_magics import Session
        from hera_magics.local import stop_engine

        try:
            session = Session()
            session.configure_local(workers=2)
            session.define_task("import time\ntime.sleep(600)\n", name="sleeper")
            expression = "[" + ", ".join(f"sleeper(name='z{index}')" for index in range(N_TASKS)) + "]"
            run = session.submit(expression, name="bench-kernel-latency")
            client = session.client()
            deadline = time.monotonic() + 30
            while run.phase != "Running" and time.monotonic() < deadline:
                time.sleep(0.1)
            if run.phase != "Running":
                raise SystemExit(f"workflow {run.name} is {run.phase}, not Running")

            timed_loop()  # warm-up
            print(f"kernel latency: a {LOOP_ITERATIONS:,}-step CPU loop in the main thread while StatusView "
                  f"pollers poll a running {N_TASKS}-task workflow every {POLL_SECONDS} s "
                  f"(median of {REPEATS}, counts interleaved; {os.cpu_count()} CPUs)")
            results: dict[int, list[tuple[float, float, float, int]]] = {count: [] for count in POLLER_COUNTS}
            for _ in range(REPEATS):  # interleaved, so drift (CPU clock, other load) hits every count alike
                for count in POLLER_COUNTS:
                    results[count].append(measure(client, run, count))
            header = (f"{'pollers':>7} | {'wall ms':>8} {'cpu ms':>7} {'slowdown':>8} | {'longest stall':>13} | "
                      f"{'polls':>5} {'polls/s':>7}")
            print(header)
            print("-" * len(header))
            baseline = statistics.median(wall for wall, *_ in results[POLLER_COUNTS[0]])
            for count, runs in results.items():
                wall = statistics.median(item[0] for item in runs)
                cpu = statistics.median(item[1] for item in runs)
                stall = statistics.median(item[2] for item in runs)
                polls = sum(item[3] for item in runs)
                loop_seconds = sum(item[0] for item in runs)
                print(f"{count:>7} | {wall * 1e3:>8.0f} {cpu * 1e3:>7.0f} {wall / baseline:>7.2f}x | "
                      f"{stall * 1e3:>10.1f} ms | {polls:>5} {polls / loop_seconds:>7.1f}")
            client.terminate_workflow(run.name)
            client.close()
        finally:
            stop_engine()


if __name__ == "__main__":
    main()
