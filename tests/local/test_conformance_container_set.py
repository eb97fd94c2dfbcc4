"""``containerSet`` templates: containers of one pod run as a graph, as Argo v4.0.5 runs them.

Argo's sources: ``examples/container-set-template/*.yaml`` (``outputs-result-workflow.yaml``:
the ``main`` container's stdout is the task's ``outputs.result``; ``graph-workflow.yaml``,
``sequence-workflow.yaml``, ``parallel-workflow.yaml``: ``dependencies`` order the containers;
``workspace-workflow.yaml``: containers share the set's ``volumeMounts``);
``executeContainerSet`` (``workflow/controller/container_set.go``: a ``Pod`` node and one
``Container`` node ``POD.NAME`` per container, boundary the Pod node, a root container a child of
the Pod node, others children of their dependencies); ``podReconciliation`` in
``workflow/controller/operator.go`` (a container's node from its exit code: ``NAME: Error (exit
code N): ``, ``Pod Failed whilst container running``); ``getOutboundNodes`` (the leaf containers).
"""

from __future__ import annotations

from tests.local_helpers import dag, error_of, nodes_by_display_name, task, workflow


def container(name: str, script: str, **options) -> dict:
    return {"name": name, "image": "alpine", "command": ["sh", "-c", script], **options}


def test_graph_of_containers_shares_the_workspace_and_gives_main_result(engine):
    group = {"name": "group", "volumes": [{"name": "workspace", "emptyDir": {}}], "containerSet": {
        "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
        "containers": [
            container("a", "echo -n a > /workspace/a"),
            container("b", "cat /workspace/a > /workspace/b; echo -n b >> /workspace/b", dependencies=["a"]),
            container("c", "echo -n c > /workspace/c", dependencies=["a"]),
            container("main", "cat /workspace/b /workspace/c", dependencies=["b", "c"]),
        ]},
        "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/workspace/b"}}]}}
    verify = {"name": "verify", "inputs": {"parameters": [{"name": "x"}]},
              "container": {"image": "alpine", "command": ["sh", "-c", "test '{{inputs.parameters.x}}' = abc"]}}
    name = engine.submit(workflow([
        dag([task("set", "group"),
             task("check", "verify", depends="set", arguments={"x": "{{tasks.set.outputs.result}}"})]),
        group, verify,
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    nodes = done["status"]["nodes"]
    pod = nodes_by_display_name(done)["set"]
    assert pod["type"] == "Pod" and pod["outputs"]["result"] == "abc" and pod["outputs"]["exitCode"] == "0"
    assert pod["outputs"]["parameters"][0]["value"] == "ab"
    containers = {node["displayName"]: node for node in nodes.values() if node["type"] == "Container"}
    assert set(containers) == {"a", "b", "c", "main"}
    for container_node in containers.values():
        assert container_node["name"] == f"{pod['name']}.{container_node['displayName']}"
        assert container_node["boundaryID"] == pod["id"] and container_node["phase"] == "Succeeded"
        assert container_node["templateName"] == "group"
    assert pod["children"] == [containers["a"]["id"]]
    assert containers["a"]["children"] == [containers["b"]["id"], containers["c"]["id"]]
    verify_node = nodes_by_display_name(done)["check"]
    assert containers["main"]["children"] == [verify_node["id"]]  # the leaf container is the outbound node


def test_a_failed_container_fails_the_pod_and_its_dependents_never_run(engine, tmp_path):
    marker = tmp_path / "ran"
    name = engine.submit(workflow([{"name": "main", "containerSet": {"containers": [
        container("a", "exit 3"), container("b", f"touch {marker}", dependencies=["a"]), container("c", "true"),
    ]}}]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    nodes = done["status"]["nodes"]
    pod = nodes[name]
    containers = {node["displayName"]: node for node in nodes.values() if node["type"] == "Container"}
    assert pod["phase"] == "Failed" and pod["message"] == "a: Error (exit code 3)"
    assert "exitCode" not in (pod.get("outputs") or {})  # no main container
    assert containers["a"]["phase"] == "Failed" and containers["a"]["message"] == "a: Error (exit code 3): "
    assert containers["b"]["phase"] == "Failed" and containers["b"]["message"] == "Pod Failed whilst container running"
    assert containers["c"]["phase"] == "Succeeded"
    assert not marker.exists()


def test_container_set_mistakes_are_refused_naming_the_field(engine):
    answer = engine.create(workflow([{"name": "main", "containerSet": {"containers": [
        container("a", "true", dependencies=["ghost"])]}}]))
    status, _, message = error_of(answer)
    assert status == 400 and message == "templates.main.containerSet.containers.a.dependencies: container 'ghost' is not defined"
    answer = engine.create(workflow([{"name": "main", "containerSet": {
        "retryStrategy": {"retries": 2}, "containers": [container("a", "true")]}}]))
    assert error_of(answer)[2].startswith("templates.main.containerSet.retryStrategy: ")


def test_each_container_has_its_own_log(engine):
    from hera_magics.argo import pod_name_of_node

    name = engine.submit(workflow([{"name": "main", "containerSet": {"containers": [
        container("a", "echo from-a"), container("main", "echo from-main", dependencies=["a"])]}}]))
    done = engine.wait(name)
    pod = done["status"]["nodes"][name]

    def log(container_name: str) -> str:
        return engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={
            "logOptions.container": container_name, "podName": pod_name_of_node(name, pod)}).text

    assert "from-a" in log("a") and "from-main" not in log("a")
    assert "from-main" in log("main") and "from-a" not in log("main")
    assert log("../main") == ""  # only container names name a log


def test_an_output_artifact_written_by_any_container_is_saved(engine):
    """``workspace-workflow.yaml``: a container other than main writes the output artifact."""
    group = {"name": "group", "volumes": [{"name": "workspace", "emptyDir": {}}], "containerSet": {
        "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
        "containers": [container("a", "echo -n hi > /workspace/out"), container("main", "true", dependencies=["a"])]},
        "outputs": {"artifacts": [{"name": "out", "path": "/workspace/out"}]}}
    read = {"name": "read", "inputs": {"artifacts": [{"name": "in", "path": "/tmp/in"}]},
            "container": {"image": "alpine", "command": ["sh", "-c", "test \"$(cat /tmp/in)\" = hi"]}}
    name = engine.submit(workflow([
        dag([task("set", "group"),
             {"name": "check", "template": "read", "depends": "set",
              "arguments": {"artifacts": [{"name": "in", "from": "{{tasks.set.outputs.artifacts.out}}"}]}}]),
        group, read,
    ]))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    pod = nodes_by_display_name(done)["set"]
    assert [artifact["name"] for artifact in pod["outputs"]["artifacts"]] == ["out"]
