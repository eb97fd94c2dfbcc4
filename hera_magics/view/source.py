"""What the status view of a ``WorkflowRun`` polls: the run's client, with the kept state behind it.

``WorkflowRun.widget`` makes one for its ``StatusView``; it reads, the poller decides when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from ..errors import NotFoundError
from ..history import kept_pod_log, load_final_state

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from ..client import ArgoClient
    from ..run import WorkflowRun


class RunSource:
    """What the status view of a run polls: the run's client, with the kept state behind it.

    Reads fall back to what :mod:`hera_magics.history` kept when the run ended once the server
    has forgotten the workflow (a 404 after its TTL): the view then shows the final table and
    the failed tasks' log tails instead of "not found". A retry from the view's button forgets
    the kept state, as ``WorkflowRun.retry()`` does. Keeping the state is not done here: the
    view calls ``WorkflowRun.keep_final_state`` through its ``on_final_state`` callback.
    """

    def __init__(self, run: "WorkflowRun") -> None:
        self.run = run

    @property
    def client(self) -> "ArgoClient":
        return self.run.client

    def get_workflow(
        self, name: str, *, fields: str | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        try:
            return self.client.get_workflow(name, fields=fields, namespace=namespace)
        except NotFoundError:
            kept = load_final_state(self.run.namespace, self.run.name)
            if kept is None:
                raise
            return kept

    def workflow_logs(self, name: str, **options: Any) -> Iterator[dict[str, str]]:
        try:
            yield from self.client.workflow_logs(name, **options)
        except NotFoundError:
            pod_name = options.get("pod_name")
            text = kept_pod_log(self.run.namespace, self.run.name, pod_name)
            if text is None:
                raise
            for line in text.splitlines():
                yield {"content": line, "podName": pod_name or ""}

    def stop_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.client.stop_workflow(name, namespace=namespace)

    def terminate_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.client.terminate_workflow(name, namespace=namespace)

    def retry_workflow(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        answer = self.client.retry_workflow(name, namespace=namespace)
        self.run._forget_kept_state()
        return answer


__all__ = ["RunSource"]
