"""Submitting a workflow without ever losing it, and finding it again.

A create is not idempotent, and its answer can be lost: Ctrl-C while it is pending, a read
timeout, a dropped connection. So each create carries a fresh ``hera-magics/submission`` label,
and the run is remembered in ``runs.json`` *before* the request is sent, by that label and
without a name (:func:`hera_magics.history.remember_submission`). Then:

* the answer comes: the record gets the workflow's name;
* the create surely made nothing (a 4xx, or the client's lookup found nothing): the record is
  dropped;
* it is unknown whether the server made it (Ctrl-C, a lookup that failed too): the record stays,
  and :func:`last_submitted` (``%argo_status --last``, ``WorkflowRun.attach(client)``) asks the
  server for the label later and fills in the name.

Ctrl-C while the create is pending is answered by a short lookup (at most
:data:`SUBMISSION_LOOKUP_SECONDS`; a second Ctrl-C cuts it short) that says whether the workflow
exists, in one line (``WorkflowInterrupted``). Ctrl-C never stops a workflow.

Runs are remembered by their server's identity (:func:`server_of`): for the local engine its id,
which survives restarts on other ports.

``WorkflowRun.submit`` and ``WorkflowRun.attach`` check their arguments and call this module; the
run class is passed in (``run_class``), so this module does not import :mod:`hera_magics.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .errors import ArgoServerError, HeraMagicsError, NotFoundError, WorkflowInterrupted
from .history import (
    RememberedRun,
    forget_submission,
    last_run,
    public_host,
    remember_run,
    remember_submission,
    server_key,
)

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from .client import ArgoClient
    from .run import WorkflowRun

SUBMISSION_LOOKUP_SECONDS = 5.0
"""After Ctrl-C during a create: how long we look for the workflow it may have made."""

FOUND_AGAIN = "%argo_status --last (or WorkflowRun.attach(client)) finds it"


def server_of(client: "ArgoClient") -> str:
    """The identity ``runs.json`` knows the client's server by (the local engine's id survives
    its restarts on other ports)."""
    return server_key(client.config.host, client.config.engine_id)


def submit(
    run_class: type["WorkflowRun"], client: "ArgoClient", workflow: Any, *, namespace: str | None, remember: bool
) -> "WorkflowRun":
    """Create ``workflow`` (a dict or a Hera ``Workflow``), remembered before it is sent."""
    if isinstance(workflow, Mapping):
        body: Mapping[str, Any] = workflow
    else:  # the client sends plain dicts: a Hera Workflow is turned into its JSON body here
        from .compile import workflow_body

        body = workflow_body(workflow)
    from .client import new_submission

    target = client.target_namespace(body, namespace)
    submission = new_submission()
    if remember:
        remember_submission(submission, target, client.config.host, server=server_of(client))
    try:
        created = client.create_workflow(body, namespace=target, submission=submission)
    except KeyboardInterrupt:
        raise interrupted_create(run_class, client, submission, target, remember) from None
    except ArgoServerError as error:
        if remember and getattr(error, "may_have_created", False):
            error.hint = (error.hint + "; " if error.hint else "") + FOUND_AGAIN + " once the server answers"
        elif remember:
            forget_submission(submission)  # nothing was created: nothing to find again
        raise
    run = from_created(run_class, client, created, namespace,
                       workflow=None if isinstance(workflow, Mapping) else workflow)
    if remember:
        _name_it(run, client, submission, server_of(client))
    return run


def from_created(
    run_class: type["WorkflowRun"], client: "ArgoClient", created: Mapping[str, Any], namespace: str | None,
    *, workflow: Any = None,
) -> "WorkflowRun":
    """The run of a workflow the server says it created."""
    metadata = created.get("metadata") or {}
    name = metadata.get("name")
    if not name:
        raise HeraMagicsError(
            "the server created the workflow but did not say its name",
            hint="look for it in the Argo UI",
        )
    return run_class(
        client,
        name,
        metadata.get("namespace") or namespace or client.config.namespace,
        workflow=workflow,
        data=dict(created),
        submitted_at=metadata.get("creationTimestamp") or None,
    )


def _name_it(run: "WorkflowRun", client: "ArgoClient", submission: str, server: str,
             submitted_at: str | None = None) -> None:
    """The remembered submission gets the run's name (and keeps its submission time)."""
    record = remember_run(run.name, run.namespace, client.config.host, submitted_at or run.submitted_at,
                          server=server, submission=submission)
    run.submitted_at = record.submitted_at


def interrupted_create(
    run_class: type["WorkflowRun"], client: "ArgoClient", submission: str, namespace: str, remember: bool
) -> WorkflowInterrupted:
    """What Ctrl-C during a create became: a short lookup says whether the workflow exists."""
    from .run import STOP_LINE

    found_again = FOUND_AGAIN if remember else f"look for label hera-magics/submission={submission} in the Argo UI"
    try:
        created = client.find_submission(submission, namespace, timeout=SUBMISSION_LOOKUP_SECONDS)
    except KeyboardInterrupt:  # a second Ctrl-C: stop looking, say what we know
        created, lookup = None, "a second Ctrl-C stopped the lookup"
    except ArgoServerError as error:
        created, lookup = None, f"looking it up failed: {error.message}"
    else:
        lookup = None
    if created is None:
        state = (f"whether the server created the workflow is unknown ({lookup})" if lookup
                 else "no workflow from this submission is on the server yet")
        return WorkflowInterrupted(f"Ctrl-C while submitting: {state}; {found_again} if it was created")
    run = from_created(run_class, client, created, namespace)
    if remember:
        _name_it(run, client, submission, server_of(client))
    how_to_stop = (f"run = %argo_status {run.name}, then {STOP_LINE}" if remember
                   else f"WorkflowRun(client, {run.name!r}).stop()")
    return WorkflowInterrupted(
        f"Ctrl-C while submitting: workflow {run.name} was created and goes on running on the server. "
        f"To stop it: {how_to_stop}",
        workflow_name=run.name,
        run=run,
    )


def last_submitted(run_class: type["WorkflowRun"], client: "ArgoClient") -> "WorkflowRun":
    """The run of the last workflow submitted to the client's server; a submission whose answer
    never came is looked up by its label (then ``NotFoundError`` when it made nothing)."""
    record = last_run(server=server_of(client))
    if record is None:
        where = "the local engine" if client.config.engine_id else public_host(client.config.host)
        raise HeraMagicsError(
            f"no run is remembered for {where}",
            hint="pass the workflow's name (it is in the Argo UI)",
        )
    if not record.pending:
        return run_class(client, record.name, record.namespace, submitted_at=record.submitted_at)
    return _attach_submission(run_class, client, record)


def _attach_submission(run_class: type["WorkflowRun"], client: "ArgoClient", record: RememberedRun) -> "WorkflowRun":
    created = client.find_submission(record.submission, record.namespace)
    if created is None:
        raise NotFoundError(
            f"the last submission (at {record.submitted_at}) was interrupted before the server "
            "answered, and no workflow from it is on the server: nothing of it runs",
            hint="submit it again, or give a workflow's name: %argo_status NAME",
        )
    run = from_created(run_class, client, created, record.namespace)
    _name_it(run, client, record.submission, record.server_identity, record.submitted_at)
    return run


__all__ = [
    "SUBMISSION_LOOKUP_SECONDS",
    "from_created",
    "interrupted_create",
    "last_submitted",
    "server_of",
    "submit",
]
