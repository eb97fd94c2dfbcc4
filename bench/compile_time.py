"""Compile time: a DAG of N tasks -> Hera Workflow -> YAML, with hera_magics vs hand-written Hera.

What it measures
    For N = 10, 100, 500 tasks and two shapes —

    * ``chain``:    t0 >> t1 >> ... >> t(N-1)
    * ``fan``:      t0 >> [t1, ..., t(N-2)] >> t(N-1)   (fan-out then fan-in)

    the wall time of

    * ``ours``: ``Session.define_task`` for N function cells (each ``def tI() -> int: return I``),
      ``Session.build(expression)`` (parse + validate the DAG expression, build the Hera
      ``Workflow``) and ``BuiltWorkflow.to_yaml()``; shown in total and split into its three
      steps (define / build / yaml);
    * ``hera``: hand-written Hera for the same DAG — N ``Script`` templates (same image, command,
      cell source and ``return`` output parameter, but without our call into the pod runtime),
      N ``Task`` objects wired with ``>>`` inside ``Workflow``/``DAG`` contexts, then ``to_yaml()``.

    Each figure is the median of REPEATS runs in this process (``gc.collect()`` before each),
    after one warm-up run so that imports (Hera and pydantic take about a second) are not
    counted. Nothing is sent anywhere.

    Then two sizes the layout issue set targets for (each printed with the size the same
    document had before the pod runtime was shipped once per workflow, measured on commit
    1f2b47e): the ``--dry-run`` YAML of the README's three-task example ("In a notebook":
    prepare >> train(--gpu --shm 2Gi) >> report), at most a third of before; and a chain of 500
    distinct one-line tasks, under 700 KB (etcd refuses objects over about 1.5 MB).

    Last, sweeps: a task run once per value of a list of N = 10, 100, 1000 values, written as a
    map (``train(path="p").map(lr=rates)`` → one DAG task with Argo ``withItems``) and as N named
    nodes (``[train(path="p", lr=r).named(f"train-{i}") for i, r in enumerate(rates)]``): build
    + YAML time and YAML size of each.

How to read it
    ``ratio`` = ours / hera: the price of capture-time checks, DAG validation and the pod-side
    call. ``yaml KB`` shows the size of each document — ours carries, once per workflow, the pod
    runtime that decodes inputs and writes the return value, and in each template a short call
    into it. Figures are from one machine and one run; compare rows with each other rather than
    with other machines.

Run: ``.venv/bin/python bench/compile_time.py``
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hera.workflows import DAG, Parameter, Script, Task, Workflow  # noqa: E402
from hera.workflows.models import ValueFrom  # noqa: E402

from hera_magics import Session  # noqa: E402
from hera_magics.options import parse_task_options  # noqa: E402

# The two documents' sizes before the runtime was shipped once per workflow (commit 1f2b47e).
README_EXAMPLE_BYTES_BEFORE = 15_172
FIVE_HUNDRED_TASKS_BYTES_BEFORE = 2_682_062
SIZES = (10, 100, 500)
SHAPES = ("chain", "fan")
REPEATS = 3
IMAGE = f"python:{sys.version_info.major}.{sys.version_info.minor}"


def cell(index: int) -> str:
    return f"def t{index}() -> int:\n    return {index}\n"


def expression(shape: str, size: int) -> str:
    if shape == "chain":
        return " >> ".join(f"t{index}" for index in range(size))
    middle = ", ".join(f"t{index}" for index in range(1, size - 1))
    return f"t0 >> [{middle}] >> t{size - 1}"


def ours(shape: str, size: int) -> tuple[float, float, float, int]:
    """(define, build, yaml) seconds and the YAML length."""
    gc.collect()  # start each run from the same heap, so one run's garbage is not the next one's cost
    start = time.perf_counter()
    session = Session()
    for index in range(size):
        session.define_task(cell(index))
    defined = time.perf_counter()
    built = session.build(expression(shape, size))
    compiled = time.perf_counter()
    text = built.to_yaml()
    finished = time.perf_counter()
    return defined - start, compiled - defined, finished - compiled, len(text)


def hand_written(shape: str, size: int) -> tuple[float, int]:
    """Seconds for hand-written Hera code building the same DAG, and the YAML length."""
    gc.collect()
    start = time.perf_counter()
    with Workflow(generate_name="hand-written-", entrypoint="dag") as workflow:
        templates = [
            Script(
                name=f"t{index}",
                image=IMAGE,
                command=["python", "-u"],
                source=cell(index) + f"import json\nprint(json.dumps(t{index}()))\n",
                outputs=[Parameter(name="return", value_from=ValueFrom(path="/tmp/hera-magics/return"))],
            )
            for index in range(size)
        ]
        with DAG(name="dag"):
            tasks = [Task(name=f"t{index}", template=template) for index, template in enumerate(templates)]
            if shape == "chain":
                for upstream, downstream in zip(tasks, tasks[1:]):
                    upstream >> downstream
            else:
                tasks[0] >> tasks[1:-1] >> tasks[-1]
    text = workflow.to_yaml()
    return time.perf_counter() - start, len(text)


def readme_example_yaml() -> str:
    """The README's "In a notebook" example, as ``%argo_dag --dry-run`` shows it."""
    session = Session()
    session.define_task('def prepare() -> str:\n    return "/home/me/data.parquet"\n')
    session.define_task('def train(path: str, lr: float = 0.1) -> dict:\n    ...\n    return {"loss": 0.12}\n',
                        options=parse_task_options(gpu=1, shm="2Gi"))
    session.define_task('print("best:", metrics)\n', "report", parse_task_options(inputs=["metrics"]))
    return session.build("prepare >> train(path=prepare, lr=0.01) >> report(metrics=train)").to_yaml()


def five_hundred_tasks_yaml() -> str:
    session = Session()
    for index in range(500):
        session.define_task(cell(index))
    return session.build(expression("chain", 500)).to_yaml()


def print_sizes() -> None:
    readme = len(readme_example_yaml().encode())
    many = len(five_hundred_tasks_yaml().encode())
    print()
    print("workflow sizes (bytes of YAML)            before     now   target")
    print(f"README three-task example (--dry-run) {README_EXAMPLE_BYTES_BEFORE:>10,} {readme:>7,}   "
          f"<= {README_EXAMPLE_BYTES_BEFORE // 3:,} (a third): {'met' if readme <= README_EXAMPLE_BYTES_BEFORE / 3 else 'MISSED'}")
    print(f"500 distinct one-line tasks (chain)   {FIVE_HUNDRED_TASKS_BYTES_BEFORE:>10,} {many:>7,}   "
          f"< {700 * 1024:,} (700 KB): {'met' if many < 700 * 1024 else 'MISSED'}")


SWEEP_SIZES = (10, 100, 1000)
SWEEP_TASK = "def train(path: str, lr: float) -> dict:\n    return {'lr': lr}\n"


def sweep(size: int, *, mapped: bool) -> tuple[float, int]:
    """Seconds to build and dump a sweep of ``size`` values, and the YAML length."""
    session = Session()
    session.define_task(SWEEP_TASK)
    notebook = {"rates": [1 / (index + 1) for index in range(size)]}
    if mapped:
        text = "train(path='p').map(lr=rates)"
    else:
        text = "[train(path='p', lr=rate).named(f'train-{index}') for index, rate in enumerate(rates)]"
    gc.collect()
    start = time.perf_counter()
    dumped = session.build(text, notebook=notebook).to_yaml()
    return time.perf_counter() - start, len(dumped.encode())


def print_sweeps() -> None:
    print()
    print("sweeps: one task over N values (build + YAML, median of "
          f"{REPEATS})   map: one DAG task with withItems;  nodes: N named nodes")
    header = f"{'N':>5} | {'map ms':>8} {'map KB':>7} | {'nodes ms':>9} {'nodes KB':>9} | {'time ratio':>10}"
    print(header)
    print("-" * len(header))
    for size in SWEEP_SIZES:
        mapped = [sweep(size, mapped=True) for _ in range(REPEATS)]
        nodes = [sweep(size, mapped=False) for _ in range(REPEATS)]
        map_time, node_time = median([run[0] for run in mapped]), median([run[0] for run in nodes])
        print(f"{size:>5} | {map_time * 1e3:>8.1f} {mapped[0][1] / 1024:>7.1f} | {node_time * 1e3:>9.1f} "
              f"{nodes[0][1] / 1024:>9.1f} | {node_time / map_time:>9.1f}x")


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    # warm-up: imports, pydantic model building, Hera's lazy bits
    ours("fan", 5)
    hand_written("fan", 5)
    print(f"compile time: DAG -> Hera Workflow -> YAML (median of {REPEATS}; Python "
          f"{sys.version.split()[0]}, {__import__('os').cpu_count()} CPUs)")
    header = (f"{'shape':<6} {'N':>4} | {'ours ms':>8} {'define':>7} {'build':>7} {'yaml':>7} | "
              f"{'hera ms':>8} | {'ratio':>5} | {'ours/task':>9} | {'yaml KB ours':>12} {'hera':>6}")
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        for size in SIZES:
            our_runs = [ours(shape, size) for _ in range(REPEATS)]
            hera_runs = [hand_written(shape, size) for _ in range(REPEATS)]
            define = median([run[0] for run in our_runs])
            build = median([run[1] for run in our_runs])
            dump = median([run[2] for run in our_runs])
            total = median([sum(run[:3]) for run in our_runs])
            hera = median([run[0] for run in hera_runs])
            print(f"{shape:<6} {size:>4} | {total * 1e3:>8.1f} {define * 1e3:>7.1f} {build * 1e3:>7.1f} "
                  f"{dump * 1e3:>7.1f} | {hera * 1e3:>8.1f} | {total / hera:>5.2f} | "
                  f"{total / size * 1e3:>7.2f}ms | {our_runs[0][3] / 1024:>12.0f} {hera_runs[0][1] / 1024:>6.0f}")
    print_sizes()
    print_sweeps()


if __name__ == "__main__":
    main()
