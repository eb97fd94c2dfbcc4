"""``memoize`` on pod templates: outputs kept under a key across workflows, as Argo v4.0.5 does.

Argo's sources: ``examples/memoize-simple.yaml`` (Succeeds in Argo's CI);
``workflow/controller/operator.go``: ``executeTemplate`` looks the key up before the node exists
(an entry older than ``maxAge`` does not count) and makes a hit's node Succeeded at once with the
entry's outputs (``initializeCacheHitNode``), a miss's node with ``memoizationStatus.hit: false``
(``initializeCacheNode``); ``podReconciliation`` saves a succeeded node's outputs under the key
(``ConfigMapCache.Save``), a failed one's never.
"""

from __future__ import annotations

import time
import uuid

from tests.local_helpers import error_of, workflow


def memoized(key: str, script: str, max_age: str = "1h") -> dict:
    memoize = {"key": key, "maxAge": max_age, "cache": {"configMap": {"name": "cache-config"}}}
    return workflow([{
        "name": "main", "memoize": memoize,
        "inputs": {"parameters": [{"name": "word", "value": "world"}]},
        "container": {"image": "busybox", "command": ["sh", "-c", script]},
        "outputs": {"parameters": [{"name": "hello", "valueFrom": {"path": "/tmp/hello"}}]},
    }])


def test_a_second_workflow_reuses_the_outputs_without_running(engine, tmp_path):
    runs = tmp_path / "runs"
    key = f"key-{uuid.uuid4().hex[:8]}-{{{{inputs.parameters.word}}}}"
    script = f"echo ran >> {runs}; echo -n hi > /tmp/hello"
    first = engine.wait(engine.submit(memoized(key, script)))
    node = first["status"]["nodes"][first["metadata"]["name"]]
    resolved = key.replace("{{inputs.parameters.word}}", "world")
    assert first["status"]["phase"] == "Succeeded"
    assert node["memoizationStatus"] == {"hit": False, "key": resolved, "cacheName": "cache-config"}
    second = engine.wait(engine.submit(memoized(key, script)))
    hit = second["status"]["nodes"][second["metadata"]["name"]]
    assert second["status"]["phase"] == "Succeeded"
    assert hit["type"] == "Pod" and hit["phase"] == "Succeeded"
    assert hit["memoizationStatus"] == {"hit": True, "key": resolved, "cacheName": "cache-config"}
    assert hit["outputs"]["parameters"][0]["value"] == "hi"
    assert runs.read_text().split() == ["ran"]  # the pod ran once


def test_an_entry_older_than_max_age_and_a_failed_node_do_not_count(engine, tmp_path):
    runs = tmp_path / "runs"
    key = f"key-{uuid.uuid4().hex[:8]}"
    script = f"echo ran >> {runs}; echo -n hi > /tmp/hello"
    engine.wait(engine.submit(memoized(key, script, max_age="1s")))
    time.sleep(1.5)
    again = engine.wait(engine.submit(memoized(key, script, max_age="1s")))
    assert again["status"]["nodes"][again["metadata"]["name"]]["memoizationStatus"]["hit"] is False
    assert runs.read_text().split() == ["ran", "ran"]
    failing = f"key-{uuid.uuid4().hex[:8]}"
    engine.wait(engine.submit(memoized(failing, "exit 1")))
    retried = engine.wait(engine.submit(memoized(failing, "exit 1")))
    assert retried["status"]["nodes"][retried["metadata"]["name"]]["memoizationStatus"]["hit"] is False


def test_memoize_mistakes_are_refused_naming_the_field(engine):
    body = memoized("k", "true")
    del body["spec"]["templates"][0]["memoize"]["cache"]
    assert "memoize.cache" in error_of(engine.create(body))[2]  # Argo's schema requires it
    body = memoized("k", "true", max_age="ten seconds")
    assert error_of(engine.create(body))[2].startswith("templates.main.memoize.maxAge: ")
    body = memoized("k", "true")
    body["spec"]["templates"][0]["retryStrategy"] = {"limit": 1}
    assert error_of(engine.create(body))[2].startswith("templates.main.memoize: ")
