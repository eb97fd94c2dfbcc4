"""Our exception hierarchy.

Every error a user can cause (a bad flag, an unknown task, a wrong token, a server that answers
with an HTML page) is a ``HeraMagicsError``. IPython shows those as one short line through
``_render_traceback_`` — no Python traceback — while internal bugs keep their full traceback.

::

    HeraMagicsError
    ├── ConfigError              .env / ARGO_* / %argo_env problems
    ├── TaskDefinitionError      a %%argo_task cell or its options
    ├── DagError                 a %argo_dag expression: unknown task, cycle, missing input, ...
    ├── ArgoServerError          anything the Argo Server (or the local engine) answered or failed to
    │   ├── BadRequestError          400
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── ServerError              5xx
    │   ├── UnexpectedResponseError  HTML login page, invalid JSON, ...
    │   └── ConnectionFailedError    refused, DNS, TLS, timeout
    ├── LocalEngineError         the embedded local engine could not start
    ├── ArgumentTypeError        a public function got a wrong type (also a TypeError)
    ├── ArgumentValueError       a public function got a wrong value (also a ValueError)
    ├── UnknownTaskError         a run has no task of that name (also a LookupError)
    ├── TaskResultError          a task has no result to give (not finished, failed, ...)
    ├── WorkflowTimeout          run.wait(timeout=...) ran out (also a TimeoutError)
    └── WorkflowFailed           a workflow we waited for ended Failed/Error

    KeyboardInterrupt
    └── WorkflowInterrupted      Ctrl-C while waiting for a workflow (one line, no traceback)
"""

from __future__ import annotations

from typing import Any


class HeraMagicsError(Exception):
    """A mistake the user can fix; shown as one short message without a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def _render_traceback_(self) -> list[str]:
        lines = [f"{type(self).__name__}: {self.message}"]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return lines


class ConfigError(HeraMagicsError):
    """The connection settings are missing or wrong."""


class TaskDefinitionError(HeraMagicsError):
    """A %%argo_task cell or one of its options is wrong."""


class DagError(HeraMagicsError):
    """A %argo_dag expression is wrong (unknown task, cycle, missing input...)."""


class LocalEngineError(HeraMagicsError):
    """The embedded local engine could not be started or reached."""


class ArgumentTypeError(HeraMagicsError, TypeError):
    """A public function or method got an argument of the wrong type (``None``, a number for a name...).

    Raised at the boundary, before anything is sent or changed; the message names the function
    and the argument. ``argument`` holds the argument's name.
    """

    def __init__(self, message: str, *, argument: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.argument = argument


class ArgumentValueError(HeraMagicsError, ValueError):
    """A public function or method got an argument of the right type but a wrong value (an empty
    name, a namespace that is not a Kubernetes name, a negative timeout...); see ``ArgumentTypeError``."""

    def __init__(self, message: str, *, argument: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.argument = argument


class ArgoServerError(HeraMagicsError):
    """The Argo Server answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.server_message = server_message


class BadRequestError(ArgoServerError):
    """400: the server rejected the workflow or the request."""


class AuthenticationError(ArgoServerError):
    """401: the token is missing, wrong or expired."""


class PermissionDeniedError(ArgoServerError):
    """403: the token's role may not do this in that namespace."""


class NotFoundError(ArgoServerError):
    """404: no such workflow (or it was deleted after its TTL)."""


class ConflictError(ArgoServerError):
    """409: a workflow of that name already exists."""


class ServerError(ArgoServerError):
    """5xx: the server failed."""


class UnexpectedResponseError(ArgoServerError):
    """The answer was not the JSON the Argo API gives (an HTML login page, a proxy error...)."""


class ConnectionFailedError(ArgoServerError):
    """The server could not be reached: refused, DNS, TLS or a timeout."""


class UnknownTaskError(HeraMagicsError, LookupError):
    """The workflow has no task of that name."""


class TaskResultError(HeraMagicsError):
    """A task has no result to give: not finished, failed, did not run, or returns nothing."""


class WorkflowTimeout(HeraMagicsError, TimeoutError):
    """``wait(timeout=...)`` ran out; the workflow keeps running on the server."""


class WorkflowFailed(HeraMagicsError):
    """A workflow ended Failed or Error; ``failed_tasks`` holds each failed task's log tail."""

    def __init__(
        self,
        message: str,
        *,
        workflow_name: str,
        phase: str,
        failed_tasks: list[dict[str, Any]] | None = None,
        hint: str | None = None,
        run: Any = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.workflow_name = workflow_name
        self.phase = phase
        self.failed_tasks = failed_tasks or []
        # The WorkflowRun that failed: ``run = %argo_dag --wait ...`` assigns nothing when it
        # raises, so the run is reachable here (and through ``%argo_status --last``).
        self.run = run


class WorkflowInterrupted(KeyboardInterrupt):
    """Ctrl-C while submitting or waiting for a workflow; the message says what became of it.

    Ctrl-C never stops a workflow: it stops *waiting* (the workflow goes on, and the message
    shows the line that stops it) or interrupts a create (the message says whether the server
    created the workflow, which was remembered before the request was sent).

    Still a ``KeyboardInterrupt`` (so scripts and notebook runners stop as they would), but
    IPython shows only the message: it asks any exception, ``BaseException`` ones included, for
    ``_render_traceback_``.
    """

    def __init__(self, message: str, *, workflow_name: str | None = None, run: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.workflow_name = workflow_name
        # The WorkflowRun that goes on (None when a Ctrl-C during a create left it unknown).
        self.run = run

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self.message}"]
