"""What a task's own view of the file system costs: the local engine with and without it.

What it measures
    Two private engines (temporary state folders, ``--workers 2``, stopped at the end): one that
    gives each task its own view of the file system (``hera_magics.local.pod_filesystem``: a user
    and mount namespace per task, entered by a small Python helper before the command), one
    started with ``--no-filesystem-view``. Each runs REPEATS times a workflow of K independent
    tasks ``sh -c true`` with an output parameter at ``/tmp/out`` (the view shows it there),
    and the client's wall time from create until it sees ``Succeeded`` (polling every
    POLL_SECONDS) is kept; the figure is the median.

How to read it
    ``per task`` = wall / K with 2 workers. ``view cost`` = the difference per task: the helper's
    start-up (``python -I -S``) and the bind mounts it makes. Figures are from one run on one
    machine; on a busy machine compare the two rows with each other, not with other machines.

Run: ``.venv/bin/python bench/filesystem_view.py``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.local_helpers import start_engine, workflow  # noqa: E402  (after the path is set)

K = 40
REPEATS = 3
POLL_SECONDS = 0.02


def _tasks() -> dict:
    template = {"name": "t", "container": {"image": "alpine", "command": ["sh", "-c", "echo x > /tmp/out"]},
                "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out", "default": "-"}}]}}
    body = workflow([{"name": "main", "dag": {"tasks": [{"name": f"t{index}", "template": "t"}
                                                       for index in range(K)]}}, template])
    body["spec"]["templates"][1]["container"]["command"][2] = "echo x > {{outputs.parameters.out.path}}"
    return body


def _run(engine) -> float:
    start = time.perf_counter()
    name = engine.submit(_tasks())
    while engine.get(name)["status"].get("phase") not in ("Succeeded", "Failed", "Error"):
        time.sleep(POLL_SECONDS)
    elapsed = time.perf_counter() - start
    assert engine.get(name)["status"]["phase"] == "Succeeded"
    return elapsed


def main() -> None:
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, extra in (("view", []), ("no view", ["--no-filesystem-view"])):
            engine = start_engine(Path(folder) / label.replace(" ", "-"), workers=2, extra=extra)
            try:
                _run(engine)  # warm-up (imports, the schema)
                rows[label] = statistics.median(_run(engine) for _ in range(REPEATS))
            finally:
                engine.stop()
    print(f"{K} tasks, 2 workers, median of {REPEATS}")
    for label, wall in rows.items():
        print(f"  {label:8} wall {wall:6.2f} s   per task {1000 * wall / K:6.1f} ms")
    print(f"  view cost per task: {1000 * (rows['view'] - rows['no view']) / K:+.1f} ms")


if __name__ == "__main__":
    main()
