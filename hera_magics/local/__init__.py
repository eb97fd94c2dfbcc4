"""The embedded local engine: a single-machine stand-in for the Argo Server.

It accepts the same workflows over the same REST API (``/api/v1/...``) and runs their tasks as
local processes (docs/internals.md describes how). Start it from Python with ``ensure_engine()``,
or in a terminal with ``python -m hera_magics.local``; stop it with ``stop_engine()`` or
``python -m hera_magics.local stop`` (``status`` says whether it runs).

Modules, from the outside in:

* ``launcher`` (state file, start/stop), ``__main__`` (the process), ``server`` (HTTP);
* ``engine`` (the API calls and the controller thread), ``records`` (the workflows it knows),
  ``queues`` (process slots, the reconcile queue), ``rerun`` (retry and resubmit), ``logs``;
* ``reconcile`` (one reconcile: the nodes that changed in, the next nodes out), ``runtime``
  (what a running workflow keeps between events), ``counters`` (active pods and children,
  failures, per DAG or Steps node), ``dag_executor`` (a DAG node's dependents index, unmet
  counts, ready tasks, loops), ``steps_executor`` (a Steps node's open step group),
  ``expansion`` (a task's or step's when, arguments and loop, resolved), ``suspend`` (Suspend
  nodes, suspend/resume/set), ``retries`` (a Retry node), ``exit_handler`` (root, ``onExit``,
  final phase),
  ``nodes`` (node bookkeeping, ``progress``), ``parameters`` (inputs, globals, task references),
  ``loops`` (items, node names, aggregated outputs), ``journal`` (changes between full saves);
* ``pod_launch`` (a pod template resolved into a process), ``pod_filesystem`` (a task's own view
  of the file system), ``pod_artifacts`` (a pod's artifacts loaded and saved), ``pods`` (pod
  threads and their outcome), ``runner`` (one process tree), ``store`` (files on disk),
  ``artifacts`` (the local artifact repository), ``artifact_gc``, ``volume_claims``
  (``volumeClaimTemplates``), ``ttl`` (when a finished workflow is deleted);
* ``template_store`` and ``template_routes`` (WorkflowTemplates and their REST routes),
  ``template_refs`` (``templateRef``, ``workflowTemplateRef``, template scopes);
* pure helpers: ``schema`` (request bodies against Argo's JSON schema), ``limits`` and
  ``validation`` (create-time checks; ``validation_context``, ``validation_templates``,
  ``validation_flow``, ``validation_steps``, ``validate_artifacts``, ``invalid``), ``spec``,
  ``expressions`` (depends, when), ``expression_language`` (Argo's expr-lang subset;
  ``expression_functions``, ``expression_values``, ``sprig_functions``, ``jsonpath``,
  ``go_values``), ``templating``, ``selectors``, ``naming``, ``wire``.

From the rest of the package it imports only the leaves ``errors``, ``argo``, ``state``,
``graph`` and ``pod.contract``.

What it runs, as Argo's controller (v4.0.5, the version it reports) does: DAG and steps
templates (nested in each other too) of ``script``, ``container`` and ``suspend`` templates, with ``depends``/``dependencies``, ``when``,
``continueOn``, ``dag.target`` (parameterised too), loops (``withItems``, ``withParam``,
``withSequence``: TaskGroup nodes ``task(0:item)``, ``{{item}}``/``{{item.KEY}}``, aggregated
outputs; in steps, items ``step(0:item)`` in the step group), the exit handler ``spec.onExit``
(``{{workflow.status}}``, ``{{workflow.failures}}``) and a step's exit hook (``onExit``,
``hooks.exit``), ``spec.suspend`` and suspend/resume/set/stop of nodes through the API,
parameters (inputs with defaults, workflow arguments, task arguments, output parameters from
files, DAG outputs), ``outputs.result``/``exitCode``, env, ``workingDir``, retries (limit,
policy, backoff), template timeouts, the workflow deadline, ``parallelism`` (workflow: active
pods; DAG template: active child nodes), ``failFast`` (DAG and template level), stop,
terminate, retry, resubmit, ``emptyDir`` volumes and claims it was given with ``--volume``,
``volumeClaimTemplates`` (a folder per workflow and claim, ``volumeClaimGC``), artifacts
through its own repository in the state folder (inputs and outputs of script and container
templates, ``raw`` and key-only artifacts, tar-gzip/zip/none archives, ``from`` between tasks
and steps and in a DAG's or steps template's outputs, ``artifactGC``; served on Argo's
``/artifacts/`` route), WorkflowTemplates and ClusterWorkflowTemplates with their REST routes,
``templateRef`` (from DAG tasks and steps) and ``workflowTemplateRef``, ``ttlStrategy``, ``workflowMetadata`` labels and annotations.

Its work per event is proportional to what the event changed (``runtime``), and no recursion
grows with the size of a DAG, so workflows of thousands of nodes run.

Where it knowingly differs from Argo:

* A Pod node's ``startedAt`` is when its process started; while it waits for one of the
  ``--workers`` process slots it is ``Pending``. Template ``timeout``/``activeDeadlineSeconds``
  count from the process start.
* ``progress`` (and the ``PodRunning`` condition) of a running workflow may be read up to a
  fraction of a second late; saved files lag the same way. Both are exact once it completes.
* Only the ``main`` container exists: logs need ``logOptions.container=main`` (as on a real
  server, where other containers share the pod) and there are no init/wait containers.
* stdout and stderr are separate pipes, as in a container, so their relative order in the log
  is only as good as the timestamps of the reads.
* ``python`` and ``python3`` as the first word of a command run the engine's own interpreter.
* Each task sees the machine's file system, with its declared paths (output files, artifacts,
  mounts, working folder) and new files in ``/tmp`` kept for its node (``pod_filesystem``);
  where the machine has no user namespaces, those paths live under ``$HERA_MAGICS_PATH_PREFIX``
  instead. An output artifact is what the task wrote at its path: an image's own files are not
  there.
* Not implemented (refused at create with a 400 naming the field): sidecars (and init containers
  with ``restartPolicy: Always``), lifecycle hooks other than ``exit`` (and an exit hook's
  ``templateRef``), ``retryStrategy`` on DAG/steps templates, container sets' containers or the
  whole workflow, resource/http/data/plugin/daemon templates, semaphores and database locks,
  memoizing DAG, steps or retried templates, ``podSpecPatch``, metrics, artifacts from anywhere
  but its own repository (http, git, gcs, other buckets, ...), ``artifactRepositoryRef``,
  artifact ``subPath``/``fromExpression``/``globalName``, secrets and config maps, expressions
  outside the subset of ``expression_language``, host paths, volume devices, claims without a
  ``--volume`` folder, containers without a command (but ``argoproj/argosay:v2``, ``images``),
  ``hostAliases``, ``archiveLogs``, the ``ARGO_DEBUG_PAUSE_*`` variables. There is no
  ``workflow-events`` watch (poll with ``fields`` instead).
"""

from __future__ import annotations

from ..state import state_directory
from .launcher import ensure_engine, engine_status, read_engine_state, running_engine, stop_command, stop_engine

__all__ = ["engine_status", "ensure_engine", "read_engine_state", "running_engine", "state_directory",
           "stop_command", "stop_engine"]
