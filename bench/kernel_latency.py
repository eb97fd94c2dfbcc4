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

At 2,000 nodes (the second table)
    A 2,000-item map (``prep >> train.map(2000 items) >> report`` and an exit handler, shaped
    as Argo's controller shapes it: ``tests/view/argo_shapes.py``) is served by a small HTTP
    server in its own process: each GET answers with the next snapshot, in which 5 more items
    succeeded and 5 more started (about 600 kB of JSON), so every poll changes something — the
    busiest a real run gets. The same CPU loop runs with no view and with one ``StatusView``
    (widgets built, as in a notebook) polling through ``ArgoClient`` at the *default* interval
    (1 s while the workflow changes; a poll that costs much CPU makes the next wait longer,
    ``hera_magics.view.poller.KERNEL_SHARE``). The target: the loop within 1.2× of no view.

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


def timed_loop(iterations: int = LOOP_ITERATIONS) -> tuple[float, float, float]:
    """(wall seconds, main-thread CPU seconds, longest gap between checkpoints in seconds)."""
    clock = time.perf_counter
    wall, cpu = clock(), time.thread_time()
    total = 0
    longest = 0.0
    last = wall
    for _ in range(iterations // CHECK_EVERY):
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


BIG_LOOP_ITERATIONS = 60_000_000
BIG_REPEATS = 3

SERVER_CODE = """
import itertools, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, sys.argv[1])
from tests.view.argo_shapes import sweep
bodies = [json.dumps(sweep(width=2000, done=1500 + 5 * step, failed=3)).encode() for step in range(90)]
turn = itertools.count()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = bodies[next(turn) % len(bodies)] if "/log" not in self.path else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def big_workflow_figures() -> None:
    """The CPU loop with and without a view polling a changing 2,000-node workflow."""
    import subprocess

    from hera_magics.client import ArgoClient
    from hera_magics.config import ArgoConfig, Secret
    from hera_magics.view.widget import StatusView

    root = str(Path(__file__).resolve().parents[1])
    server = subprocess.Popen([sys.executable, "-c", SERVER_CODE, root], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        client = ArgoClient(ArgoConfig(host=f"http://127.0.0.1:{port}/", token=Secret("bench-token"),
                                       namespace="argo"), timeout=30.0, retries=0)

        def loop(with_view: bool) -> tuple[float, float, float, int, float]:
            view = StatusView(client, "sweep", "argo", widgets=True) if with_view else None
            if view is not None:
                view.start()
                time.sleep(3)  # the first polls (whole page, layout) happen before the timing
                polls_before = view.poll_count
            cpu_before = time.process_time()
            wall, cpu, longest = timed_loop(BIG_LOOP_ITERATIONS)
            process_cpu = time.process_time() - cpu_before
            polls = 0
            if view is not None:
                polls = view.poll_count - polls_before
                view.close()
                view.wait_until_stopped(30)
            return wall, cpu, longest, polls, process_cpu - cpu

        timed_loop(BIG_LOOP_ITERATIONS // 10)  # warm-up
        runs: dict[bool, list[tuple[float, float, float, int, float]]] = {False: [], True: []}
        for _ in range(BIG_REPEATS):
            for with_view in (False, True):
                runs[with_view].append(loop(with_view))
        print(f"\nkernel latency at 2,000 nodes: a {BIG_LOOP_ITERATIONS:,}-step CPU loop while one StatusView polls a "
              f"changing 2,004-node workflow at the default interval (median of {BIG_REPEATS}, interleaved)")
        header = (f"{'view':>7} | {'wall ms':>8} {'cpu ms':>7} {'slowdown':>8} | {'longest stall':>13} | "
                  f"{'polls':>5} {'poll cpu ms':>11}")
        print(header)
        print("-" * len(header))
        baseline = statistics.median(run[0] for run in runs[False])
        for with_view, label in ((False, "none"), (True, "1")):
            items = runs[with_view]
            wall = statistics.median(item[0] for item in items)
            polls = sum(item[3] for item in items)
            other_cpu = sum(item[4] for item in items)
            per_poll = f"{other_cpu / polls * 1e3:>11.0f}" if polls else f"{'':>11}"
            print(f"{label:>7} | {wall * 1e3:>8.0f} {statistics.median(item[1] for item in items) * 1e3:>7.0f} "
                  f"{wall / baseline:>7.2f}x | {statistics.median(item[2] for item in items) * 1e3:>10.1f} ms | "
                  f"{polls:>5} {per_poll}")
        client.close()
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hera-magics-bench-") as state:
        os.environ["HERA_MAGICS_STATE_DIR"] = state
        from hera_magics import Session
        from hera_magics.options import parse_workflow_options
        from hera_magics.local import stop_engine

        try:
            session = Session()
            session.configure_local(workers=2)
            session.define_task("import time\ntime.sleep(600)\n", name="sleeper")
            expression = "[" + ", ".join(f"sleeper(name='z{index}')" for index in range(N_TASKS)) + "]"
            run = session.submit(expression, parse_workflow_options(name="bench-kernel-latency"))
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
    big_workflow_figures()


if __name__ == "__main__":
    main()
