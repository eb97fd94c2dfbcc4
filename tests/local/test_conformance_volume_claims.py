"""``volumeClaimTemplates`` as Argo v4.0.5 runs them: a claim per workflow, deleted as
``volumeClaimGC`` says (issue 11).

Real engine process, real HTTP. Expected outcomes are Argo's, from argoproj/argo-workflows at
v4.0.5: ``createPVCs`` and ``deletePVCs`` in ``workflow/controller/operator.go`` (claim
``<workflow>-<template>``, ``status.persistentVolumeClaims``, the default strategy
``OnWorkflowSuccess`` from ``VolumeClaimGC.GetStrategy`` in
``pkg/apis/workflow/v1alpha1/workflow_types.go``), and ``examples/volumes-pvc.yaml`` (a claim
written by one task and read by the next). Before this change the engine refused
``volumeClaimTemplates`` at create.
"""

from __future__ import annotations

from tests.local_helpers import dag, error_of, nodes_by_display_name, task, workflow

CLAIM = {"metadata": {"name": "workdir"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def mounted(name: str, script: str) -> dict:
    return {"name": name, "container": {"image": "busybox", "command": ["sh", "-c", script],
                                        "volumeMounts": [{"name": "workdir", "mountPath": "/mnt/vol"}]}}


def claim_folder(engine, workflow_name: str):
    return engine.state_dir / "engine" / "workflows" / "argo" / workflow_name / "claims" / f"{workflow_name}-workdir"


def logs_of(engine, name: str) -> str:
    return engine.request("GET", f"api/v1/workflows/argo/{name}/log", params={"logOptions.container": "main"}).text


def test_a_claim_is_shared_by_the_tasks_and_deleted_when_the_workflow_succeeds(engine):
    # examples/volumes-pvc.yaml as a DAG; createPVCs records {name: workdir, claimName:
    # <workflow>-workdir}; deletePVCs with the default OnWorkflowSuccess removes it (and the
    # status entry) once the workflow Succeeded.
    main = dag([task("generate", "write"), task("print", "read", depends="generate")])
    templates = [main, mounted("write", "echo hello world | tee /mnt/vol/hello_world.txt"),
                 mounted("read", "cat /mnt/vol/hello_world.txt")]
    name = engine.submit(workflow(templates, volumeClaimTemplates=[CLAIM]))
    running = engine.wait_until(name, lambda wf: "persistentVolumeClaims" in wf["status"]
                                or wf["status"].get("phase") in ("Succeeded", "Failed", "Error"))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    if running["status"].get("phase") == "Running":
        assert running["status"]["persistentVolumeClaims"] == [
            {"name": "workdir", "persistentVolumeClaim": {"claimName": f"{name}-workdir"}}]
    assert "persistentVolumeClaims" not in done["status"]
    assert not claim_folder(engine, name).exists()
    assert logs_of(engine, name).count("hello world") == 2


def test_a_failed_workflow_keeps_its_claim_for_a_retry(engine):
    # OnWorkflowSuccess: "Skip deleting PVCs to reuse them for retried failed/error workflows";
    # the retried task finds what the first run wrote.
    main = dag([task("generate", "write"), task("check", "check", depends="generate")])
    check = mounted("check", "if [ -f /mnt/vol/marker ]; then cat /mnt/vol/note; else touch /mnt/vol/marker; exit 1; fi")
    templates = [main, mounted("write", "echo first run > /mnt/vol/note"), check]
    name = engine.submit(workflow(templates, volumeClaimTemplates=[CLAIM]))
    failed = engine.wait(name)
    assert failed["status"]["phase"] == "Failed"
    assert failed["status"]["persistentVolumeClaims"][0]["persistentVolumeClaim"]["claimName"] == f"{name}-workdir"
    assert (claim_folder(engine, name) / "marker").is_file()
    assert engine.request("PUT", f"api/v1/workflows/argo/{name}/retry", json={}).status_code == 200
    done = engine.wait_until(name, lambda wf: wf["status"].get("phase") == "Succeeded", what="Succeeded")
    assert nodes_by_display_name(done)["check"]["phase"] == "Succeeded"
    assert "first run" in logs_of(engine, name)
    assert not claim_folder(engine, name).exists()
    # Deleting the workflow deletes a claim that was kept (the claim's owner is the workflow).
    kept = engine.wait(engine.submit(workflow([main, mounted("write", "true"), mounted("check", "exit 1")],
                                              volumeClaimTemplates=[CLAIM])))
    folder = claim_folder(engine, kept["metadata"]["name"])
    assert folder.is_dir()
    assert engine.request("DELETE", f"api/v1/workflows/argo/{kept['metadata']['name']}").status_code == 200
    assert not folder.exists()


def test_on_workflow_completion_deletes_the_claim_of_a_failed_workflow(engine):
    main = dag([task("fail", "fail")])
    name = engine.submit(workflow([main, mounted("fail", "echo x > /mnt/vol/x; exit 1")],
                                  volumeClaimTemplates=[CLAIM], volumeClaimGC={"strategy": "OnWorkflowCompletion"}))
    done = engine.wait(name)
    assert done["status"]["phase"] == "Failed"
    assert "persistentVolumeClaims" not in done["status"]
    assert not claim_folder(engine, name).exists()


def test_claim_template_mistakes_are_refused(engine):
    # createPVCs: "volumeClaimTemplates[%d].metadata.name is required"; deletePVCs: "unknown
    # volume gc strategy"; a mount must name a declared volume or claim template.
    unnamed = workflow([mounted("main", "true")], volumeClaimTemplates=[{"spec": {}}])
    assert error_of(engine.create(unnamed))[2] == "volumeClaimTemplates[0].metadata.name is required"
    strange = workflow([mounted("main", "true")], volumeClaimTemplates=[CLAIM], volumeClaimGC={"strategy": "Sometimes"})
    assert error_of(engine.create(strange))[2] == "spec.volumeClaimGC.strategy: unknown volume gc strategy: Sometimes"
    other = workflow([mounted("main", "true")], volumeClaimTemplates=[{"metadata": {"name": "other"}}])
    assert error_of(engine.create(other))[2].startswith("templates.main.container.volumeMounts.workdir")
