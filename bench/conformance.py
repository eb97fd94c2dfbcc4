"""Argo's own examples on the local engine: which run with Argo's outcome, which are refused, which differ.

Run: ``.venv/bin/python bench/conformance.py PATH_TO_ARGO_CHECKOUT [--jobs N] [--timeout S] [--only TEXT]``

It reads every Workflow document below ``PATH/examples`` (as Argo's CI does:
``test/e2e/examples_test.go`` walks the folder with ``fileutil.WalkManifests``), starts a private
local engine in a temporary state folder (the user's own engine is never touched), submits the
documents a few at a time, waits for each, and prints one line per document:

* ``MATCH``: accepted, and it ended as Argo's CI expects;
* ``REFUSED``: the engine answered 400, with the field it names;
* ``DIFFERENT``: accepted, but it ended otherwise (or did not end within its time);
* ``OVER BUDGET``: a ``no-test: duration`` example (long by design, e.g. ``forever.yaml``)
  that had not ended when its budget ran out; it is terminated and counted apart;
* ``NO-TEST``: an ``environment`` or ``flaky`` example that did not succeed: Argo's CI fixes no
  outcome for it (it needs what a cluster has, or its outcome is random), so it is neither a
  match nor a difference; each is listed, to be read by hand.

Nothing of Argo's is copied into this repository: the checkout is read where it is.

**Expected outcomes.** Argo's CI expects every example without the label
``workflows.argoproj.io/no-test`` to reach ``Succeeded``. It skips the labelled ones; here they
run too: ``expected-failure`` → ``Failed`` or ``Error`` (a match, else a difference);
``duration`` → ``Succeeded`` within its budget; ``environment`` (needs something of a cluster:
secrets, an artifact repository, RBAC, a network service) and ``flaky`` (random outcomes) →
a match when they succeed, else ``NO-TEST``.

**Before the workflows.** As Argo's CI applies the examples' ``WorkflowTemplate`` and
``ClusterWorkflowTemplate`` documents first, so does this runner when the engine serves
``/api/v1/workflow-templates`` (else the workflows that need them are refused at create, and
counted so). Each ``PersistentVolumeClaim`` document becomes a ``--volume`` folder of the engine.
ConfigMaps are not applied: the engine has none (their users are refused).

**Time.** Each document has ``--timeout`` seconds (default 120) from its submission; a
``duration`` example has ``--budget`` seconds (default 120). ``--jobs`` documents (default 8)
run at a time on an engine with as many workers.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hera_magics.local import ensure_engine, stop_engine  # noqa: E402

NAMESPACE = "argo"
NO_TEST_LABEL = "workflows.argoproj.io/no-test"
FINAL_PHASES = ("Succeeded", "Failed", "Error")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
POLL_SECONDS = 0.25
UNDEFINED_OUTCOME = ("environment", "flaky")
KNOWN_OUTCOMES = {
    # Labelled expected-failure, but Argo's e2e TestContinueOnFail (test/e2e/functional_test.go)
    # expects the same steps with continueOn.failed to Succeed, as steps.go executeStepGroup says.
    "examples/continue-on-fail.yaml": ("Succeeded",),
}
"""Outcomes Argo's own tests fix where the example's label says otherwise."""
"""no-test labels under which Argo's CI fixes no outcome (the example needs a cluster, or is random)."""


@dataclass
class Document:
    """One Workflow document of ``examples/`` and the outcome Argo's CI expects of it."""

    path: str
    index: int
    body: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.path}#{self.index}" if self.index else self.path

    @property
    def no_test(self) -> str | None:
        labels = (self.body.get("metadata") or {}).get("labels") or {}
        value = labels.get(NO_TEST_LABEL)
        return None if value is None else str(value)

    @property
    def expected(self) -> tuple[str, ...]:
        if self.path in KNOWN_OUTCOMES:
            return KNOWN_OUTCOMES[self.path]
        return ("Failed", "Error") if self.no_test == "expected-failure" else ("Succeeded",)


@dataclass
class Outcome:
    document: Document
    verdict: str  # MATCH, REFUSED, DIFFERENT, OVER BUDGET, NO-TEST
    detail: str
    seconds: float


def manifests(root: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """Every YAML/JSON document below ``root``, in ``filepath.Walk``'s (lexical) order."""
    found = []
    for path in sorted(root.rglob("*"), key=lambda item: str(item)):
        if path.suffix not in MANIFEST_SUFFIXES or not path.is_file():
            continue
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        index = 0
        for body in documents:
            if isinstance(body, dict):
                found.append((str(path.relative_to(root.parent)), index, body))
                index += 1
    return found


class Engine:
    """A private local engine for the run, and the few calls the runner makes."""

    def __init__(self, state_dir: Path, workers: int, volumes: dict[str, Path]) -> None:
        self.state_dir = state_dir
        self.url, token = ensure_engine(workers=workers, state_dir=state_dir, volumes=volumes)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **options: Any) -> requests.Response:
        options.setdefault("timeout", 60)
        return self.session.request(method, self.url + path, **options)

    def serves_templates(self) -> bool:
        return self.call("GET", f"api/v1/workflow-templates/{NAMESPACE}").status_code == 200

    def stop(self) -> None:
        self.session.close()
        stop_engine(self.state_dir)


def apply_templates(engine: Engine, documents: list[tuple[str, int, dict[str, Any]]]) -> int:
    """Create the WorkflowTemplates and ClusterWorkflowTemplates, as Argo's CI applies them."""
    applied = 0
    for path, _, body in documents:
        kind = body.get("kind")
        if kind == "WorkflowTemplate":
            answer = engine.call("POST", f"api/v1/workflow-templates/{NAMESPACE}", json={"template": body})
        elif kind == "ClusterWorkflowTemplate":
            answer = engine.call("POST", "api/v1/cluster-workflow-templates", json={"template": body})
        else:
            continue
        if answer.status_code == 200:
            applied += 1
        else:
            print(f"template of {path} not applied: {answer.status_code} {answer.text.strip()[:200]}",
                  file=sys.stderr)
    return applied


def run_document(engine: Engine, document: Document, timeout: float, budget: float) -> Outcome:
    started = time.monotonic()
    answer = engine.call("POST", f"api/v1/workflows/{NAMESPACE}", json={"workflow": document.body})
    if answer.status_code != 200:
        try:
            message = answer.json().get("message", answer.text)
        except ValueError:
            message = answer.text
        verdict = "REFUSED" if answer.status_code == 400 else "DIFFERENT"
        return Outcome(document, verdict, f"{answer.status_code}: {message}", time.monotonic() - started)
    name = answer.json()["metadata"]["name"]
    limit = budget if document.no_test == "duration" else timeout
    status: dict[str, Any] = {}
    while time.monotonic() - started < limit:
        got = engine.call("GET", f"api/v1/workflows/{NAMESPACE}/{name}",
                          params={"fields": "status.phase,status.message"})
        status = (got.json().get("status") or {}) if got.status_code == 200 else {}
        if status.get("phase") in FINAL_PHASES:
            break
        time.sleep(POLL_SECONDS)
    seconds = time.monotonic() - started
    phase = status.get("phase")
    if phase not in FINAL_PHASES:
        engine.call("PUT", f"api/v1/workflows/{NAMESPACE}/{name}/terminate", json={})
        verdict = "OVER BUDGET" if document.no_test == "duration" else \
            "NO-TEST" if document.no_test in UNDEFINED_OUTCOME else "DIFFERENT"
        return Outcome(document, verdict, f"still {phase or 'Pending'} after {limit:.0f}s", seconds)
    detail = phase + (f": {status['message']}" if status.get("message") else "")
    if phase in document.expected:
        return Outcome(document, "MATCH", detail, seconds)
    if document.no_test in UNDEFINED_OUTCOME:
        return Outcome(document, "NO-TEST", f"no-test: {document.no_test}; ended {detail}", seconds)
    return Outcome(document, "DIFFERENT", f"expected {' or '.join(document.expected)}, got {detail}", seconds)


_NAMED_PATH = re.compile(r"^(spec\.)?((templates|tasks|steps|arguments\.parameters|inputs\.parameters|"
                         r"outputs\.parameters|env|volumeMounts|volumes)\.)([^.:\s]+)")


def refusal_reason(detail: str) -> str:
    """A refusal's reason without the names of the example's own templates, tasks and values."""
    message = detail.split(": ", 1)[1] if ": " in detail else detail
    message = " ".join(message.split())  # an expression tag may span lines
    field, _, reason = message.partition(": ")
    if not reason:
        return message
    parts = []
    for part in re.split(r"\.(?![^\[]*\])", field):
        parts.append(part)
    names = ("templates", "tasks", "steps", "parameters", "env", "volumeMounts", "volumes", "artifacts")
    cleaned = [("*" if index > 0 and (parts[index - 1] in names or re.fullmatch(r"steps\[\d+\]", parts[index - 1]))
                else re.sub(r"^steps\[\d+\]$", "steps[*]", part)) for index, part in enumerate(parts)]
    reason = re.sub(r'"[^"]*"', '"…"', reason)
    reason = re.sub(r"'[^']*'", "'…'", reason)
    return ".".join(cleaned) + ": " + reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", nargs="?", help="a checkout of argoproj/argo-workflows")
    parser.add_argument("--jobs", type=int, default=8, help="documents running at a time (and engine workers)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each document may take")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for a no-test: duration example")
    parser.add_argument("--only", help="run only the documents whose path contains this text")
    parser.add_argument("--quiet", action="store_true", help="print only what is not a match, and the counts")
    arguments = parser.parse_args(argv)
    if not arguments.checkout:
        print("conformance: give the path of a checkout of argoproj/argo-workflows (skipped)")
        return 0
    root = Path(arguments.checkout).expanduser().resolve() / "examples"
    if not root.is_dir():
        print(f"conformance: {root} is not a folder", file=sys.stderr)
        return 2
    everything = manifests(root)
    documents = [Document(path, index, body) for path, index, body in everything if body.get("kind") == "Workflow"]
    if arguments.only:
        documents = [document for document in documents if arguments.only in document.path]
    claims = sorted({(body.get("metadata") or {}).get("name") for _, _, body in everything
                     if body.get("kind") == "PersistentVolumeClaim"} - {None})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hera-magics-conformance-") as folder:
        state = Path(folder) / "state"
        volumes = {claim: Path(folder) / "claims" / claim for claim in claims}
        engine = Engine(state, arguments.jobs, volumes)
        try:
            templates = "not served by the engine: workflows that use them are refused"
            if engine.serves_templates():
                templates = f"{apply_templates(engine, everything)} applied"
            print(f"{len(documents)} Workflow documents in {root}; WorkflowTemplates: {templates}; "
                  f"claims: {', '.join(claims) or 'none'}")
            outcomes = run_all(engine, documents, arguments)
        finally:
            engine.stop()
    report(outcomes, time.monotonic() - started, arguments.quiet)
    return 0


def run_all(engine: Engine, documents: list[Document], arguments: argparse.Namespace) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        futures = {pool.submit(run_document, engine, document, arguments.timeout, arguments.budget): document
                   for document in documents}
        for future in concurrent.futures.as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # the runner reports it and goes on with the others
                outcome = Outcome(futures[future], "DIFFERENT", f"runner error: {error}", 0.0)
            outcomes.append(outcome)
            if not arguments.quiet or outcome.verdict != "MATCH":
                detail = " ".join(outcome.detail.split())
                print(f"{outcome.verdict:<11} {outcome.document.label}  {detail[:300]}", flush=True)
    return outcomes


def report(outcomes: list[Outcome], seconds: float, quiet: bool) -> None:
    counts = collections.Counter(outcome.verdict for outcome in outcomes)
    total = len(outcomes)
    print()
    print(f"{total} documents in {seconds:.0f}s: {counts['MATCH']} match, {counts['REFUSED']} refused, "
          f"{counts['DIFFERENT']} different, {counts['OVER BUDGET']} over budget, "
          f"{counts['NO-TEST']} no-test not succeeded")
    reasons = collections.Counter(refusal_reason(outcome.detail) for outcome in outcomes
                                  if outcome.verdict == "REFUSED")
    if reasons:
        print()
        print("refusals by reason:")
        for reason, count in reasons.most_common():
            print(f"{count:5d}  {reason[:160]}")
    slow = sorted((outcome for outcome in outcomes if outcome.verdict != "REFUSED"),
                  key=lambda outcome: -outcome.seconds)[:5]
    if slow and not quiet:
        print()
        print("slowest: " + ", ".join(f"{outcome.document.label} {outcome.seconds:.0f}s" for outcome in slow))


if __name__ == "__main__":
    sys.exit(main())
