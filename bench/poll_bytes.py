"""Bytes per status poll of a finished 50-task workflow, with and without the ``fields`` filter.

What it measures
    A private local engine (temporary state folder, stopped at the end) runs two workflows of
    N_TASKS function-task nodes each (every node carries an input and an output parameter) to
    ``Succeeded``: one where all nodes use the same task ``square(x: int) -> int`` (one
    template), and one with N_TASKS different tasks (one template each, as in a DAG of many
    cells). For each it reads the finished workflow:

    * ``full``: ``GET /api/v1/workflows/argo/NAME`` with no ``fields`` — what a naive poller
      (or ``WorkflowRun.refresh()``) receives;
    * ``fields``: the same with ``fields=TABLE_FIELDS`` (``hera_magics.view.poller.TABLE_FIELDS``);
    * ``widget 1st poll``: the first ``StatusView.poll_once()`` through ``ArgoClient``, counted
      with a response hook on the client's ``requests`` session (every request of that poll):
      it asks once for the DAG as written too (``STRUCTURE_FIELDS``) and fetches the log tails;
    * ``widget next poll``: a later poll, ``TABLE_FIELDS`` only.

    Sizes are the response bodies (``Content-Length``; the local engine does not compress).
    ``gzip`` is the same body compressed with ``gzip -6`` here, for an idea of what a server or
    proxy that compresses would put on the wire.

How to read it
    ``ratio`` = full / that row. The filter drops ``spec`` (the templates with their source) and
    the rest of the status the table does not need, so it saves most when there are many
    templates. The node map stays whole (its keys are node ids, unknown in advance, and Argo's
    filter matches path prefixes), so the filtered size grows with the number of tasks — see
    ``per task``. Figures are from one run on one machine; bytes do not depend on the machine.

Front end (the second part)
    What the live view sends from the kernel to the browser, for a running workflow polled
    while it advances: a 2,000-item map (``prep >> train.map(2000 items) >> report`` plus an
    exit handler, 2,004 nodes) and 50 distinct tasks. The workflow objects are shaped as Argo's
    controller shapes them (``tests/view/argo_shapes.py``); each poll answers with the next
    snapshot, in which 5 more items (tasks) succeeded and 5 more started. Every comm message of
    the view's widgets is recorded and measured as the JSON the kernel would send
    (``json.dumps`` of the message). ``first display`` is the whole page; ``unchanged poll`` a
    poll answered with the same snapshot; ``changing poll`` the mean over the advancing polls,
    next to the page's whole HTML, which is what re-sending it at every change would cost.

Run: ``.venv/bin/python bench/poll_bytes.py``
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

N_TASKS = 50
FINAL = ("Succeeded", "Failed", "Error")


def wait_until_final(client, name: str) -> str:
    deadline = time.monotonic() + 120
    while True:
        phase = (client.get_workflow(name, fields="status.phase").get("status") or {}).get("phase")
        if phase in FINAL or time.monotonic() > deadline:
            return str(phase)
        time.sleep(0.1)


def measure_case(session, label: str, expression: str) -> None:
    from hera_magics.options import parse_workflow_options
    from hera_magics.view.poller import TABLE_FIELDS
    from hera_magics.view.widget import StatusView

    run = session.submit(expression, parse_workflow_options(name="bench-poll-bytes"))
    client = session.client()
    phase = wait_until_final(client, run.name)
    if phase != "Succeeded":
        raise SystemExit(f"workflow {run.name} ended {phase}")

    config = session.require_config()
    url = f"{config.host}api/v1/workflows/{run.namespace}/{run.name}"
    headers = {"Authorization": f"Bearer {config.token.reveal()}"}

    def measure(params: dict[str, str] | None) -> tuple[int, int]:
        response = requests.get(url, params=params, headers=headers, timeout=30)
        response.raise_for_status()
        wire = int(response.headers.get("Content-Length") or len(response.content))
        return wire, len(gzip.compress(response.content, compresslevel=6))

    full, full_gzip = measure(None)
    filtered, filtered_gzip = measure({"fields": TABLE_FIELDS})

    responses: list[requests.Response] = []
    client._session.hooks["response"].append(lambda response, *args, **kwargs: responses.append(response))
    view = StatusView(client, run.name, run.namespace, widgets=False)
    view.poll_once()  # the first poll also asks for the DAG as written (STRUCTURE_FIELDS), once
    first_bytes = sum(int(r.headers.get("Content-Length") or len(r.content)) for r in responses)
    first_gzip = sum(len(gzip.compress(r.content, compresslevel=6)) for r in responses)
    first_requests = len(responses)
    responses.clear()
    view.poll_once()
    widget_bytes = sum(int(r.headers.get("Content-Length") or len(r.content)) for r in responses)
    widget_gzip = sum(len(gzip.compress(r.content, compresslevel=6)) for r in responses)
    if view.phase != "Succeeded" or len(view.rows) != N_TASKS:
        raise SystemExit(f"the widget saw {view.phase} with {len(view.rows)} rows")
    client.close()

    print(f"\n{label}")
    header = f"{'request':<28} | {'bytes':>9} {'per task':>9} {'ratio':>6} | {'gzip':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    rows = [
        ("full (no fields)", full, full_gzip),
        ("fields=TABLE_FIELDS", filtered, filtered_gzip),
        (f"widget 1st poll ({first_requests} req)", first_bytes, first_gzip),
        (f"widget next poll ({len(responses)} req)", widget_bytes, widget_gzip),
    ]
    for name, size, compressed in rows:
        print(f"{name:<28} | {size:>9,} {size / N_TASKS:>9,.0f} {full / size:>5.1f}x | "
              f"{compressed:>7,} {full_gzip / compressed:>5.1f}x")


def frontend_case(label: str, snapshots: list[dict], name: str) -> None:
    """Bytes the live view sends to the front end while ``snapshots`` are polled in turn."""
    import json

    from hera_magics.view.widget import StatusView

    bodies = [json.dumps(snapshot) for snapshot in snapshots]

    class Replay:
        index = 0

        def get_workflow(self, name, *, fields=None, namespace=None):
            return json.loads(bodies[min(self.index, len(bodies) - 1)])

        def workflow_logs(self, name, **options):
            return iter([{"content": "Traceback (most recent call last):"}, {"content": "ValueError: no"}])

    source = Replay()
    view = StatusView(source, name, "argo", widgets=True)
    sent: list[int] = []
    stack = [view.widget]
    while stack:  # every widget of the view: the live page, the dropdown, the buttons, the panel
        item = stack.pop()
        stack.extend(getattr(item, "children", ()))
        original = item.comm.send

        def record(*args, _original=original, **kwargs):
            sent.append(len(json.dumps(kwargs.get("data", args[0] if args else None))))
            return _original(*args, **kwargs)

        item.comm.send = record
    view.poll_once()
    first = sum(sent)
    sent.clear()
    view.poll_once()
    unchanged = sum(sent)
    changing = []
    for index in range(1, len(bodies)):
        source.index = index
        sent.clear()
        view.poll_once()
        changing.append(sum(sent))
    whole = len(view.html.encode())
    nodes = len(snapshots[-1]["status"]["nodes"])
    view.close()
    print(f"\n{label} ({nodes} nodes, {len(view.graph.nodes)} drawn)")
    header = f"{'kernel -> front end':<30} | {'bytes':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'first display (whole page)':<30} | {first:>9,}")
    print(f"{'unchanged poll':<30} | {unchanged:>9,}")
    print(f"{'changing poll (mean)':<30} | {sum(changing) / len(changing):>9,.0f}")
    print(f"{'changing poll (max)':<30} | {max(changing):>9,}")
    print(f"{'the whole page, for comparison':<30} | {whole:>9,}")
    server = len(json.dumps(snapshots[-1]))
    print(f"{'(server -> kernel, one poll)':<30} | {server:>9,}")


def frontend_figures() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.view.argo_shapes import Shape, sweep

    print("\nbytes the live view sends to the front end per poll (a running workflow advancing 5 tasks a poll)")
    frontend_case("a 2,000-item map", [sweep(width=2000, done=1930 + 5 * step, failed=3) for step in range(12)],
                  "sweep")

    def fifty(step: int) -> dict:
        shape = Shape("fifty")
        shape.task("prep", "Succeeded")
        for index in range(48):
            phase = "Succeeded" if index < 5 * step else "Running" if index < 5 * step + 5 else None
            if phase:
                shape.task(f"task-{index}", phase, after=["prep"], start=5 + index)
            else:
                shape.spec_tasks.append({"name": f"task-{index}", "template": f"task-{index}", "depends": "prep"})
        shape.spec_tasks.append({"name": "end", "template": "end",
                                 "depends": " && ".join(f"task-{index}" for index in range(48))})
        return shape.build()

    frontend_case("50 distinct tasks", [fifty(step) for step in range(9)], "fifty")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hera-magics-bench-") as state:
        os.environ["HERA_MAGICS_STATE_DIR"] = state
        from hera_magics import Session
        from hera_magics.local import stop_engine

        print(f"bytes per poll of a finished {N_TASKS}-task workflow (local engine)")
        try:
            session = Session()
            session.configure_local(workers=2)
            session.define_task("def square(x: int) -> int:\n    return x * x\n")
            for index in range(N_TASKS):
                session.define_task(f"def square{index}(x: int) -> int:\n    return x * x + {index}\n")
            measure_case(
                session, f"one task, {N_TASKS} nodes (1 template)",
                "[" + ", ".join(f"square(x={index}, name='s{index}')" for index in range(N_TASKS)) + "]",
            )
            measure_case(
                session, f"{N_TASKS} different tasks ({N_TASKS} templates)",
                "[" + ", ".join(f"square{index}(x={index})" for index in range(N_TASKS)) + "]",
            )
        finally:
            stop_engine()
    frontend_figures()


if __name__ == "__main__":
    main()
