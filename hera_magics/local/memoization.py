"""``memoize``: a pod template's outputs kept under a key and reused, as Argo v4.0.5 does it.

Argo's controller (``executeTemplate`` and ``podReconciliation`` in ``workflow/controller/
operator.go``, ``workflow/controller/cache/configmap_cache.go``; argoproj/argo-workflows) keeps
each entry in the ConfigMap ``memoize.cache.configMap.name`` of the workflow's namespace, under
the (resolved) ``memoize.key``:

* before a node is created its entry is looked up: an entry whose outputs are older than
  ``maxAge`` (a Go duration) does not count. A hit makes the node at once, ``Succeeded``, with the
  entry's outputs and ``memoizationStatus: {hit: true, key, cacheName}``; no pod runs
  (``initializeCacheHitNode``);
* a miss runs the pod as usual, its node carrying ``memoizationStatus: {hit: false, ...}``
  (``initializeCacheNode``); when it succeeds its outputs are saved under the key, with the node's
  id and the time (``ConfigMapCache.Save``).

The engine has no ConfigMaps: it keeps these entries itself, one file in its state folder, so they
outlive the workflows and the engine as a ConfigMap would.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from ..argo import rfc3339, parse_rfc3339

CACHE_FILE_NAME = "memoization.json"


def memoization_status(memoize: Mapping[str, Any], key: str, hit: bool) -> dict[str, Any]:
    return {"hit": hit, "key": key, "cacheName": ((memoize.get("cache") or {}).get("configMap") or {}).get("name")}


class MemoCache:
    """The engine's memoization entries: ``{namespace/cache: {key: entry}}``, saved on each change."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = state_dir / CACHE_FILE_NAME if state_dir is not None else None
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}
        if self._path is not None:
            try:
                self._entries = json.loads(self._path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._entries = {}

    def load(self, namespace: str, cache: str, key: str, max_age: float | None, now: float) -> dict[str, Any] | None:
        """The outputs saved under ``key`` (None on a miss, or when older than ``max_age`` seconds)."""
        entry = self._entries.get(f"{namespace}/{cache}", {}).get(key)
        if not entry or not entry.get("outputs"):
            return None
        if max_age is not None and now - parse_rfc3339(entry["creationTimestamp"]) > max_age:
            return None
        entry["lastHitTimestamp"] = rfc3339(now)
        self._save()
        return dict(entry["outputs"])

    def save(self, namespace: str, cache: str, key: str, node_id: str, outputs: Mapping[str, Any]) -> None:
        """Keep a succeeded node's outputs under ``key``."""
        stamp = rfc3339(time.time())
        self._entries.setdefault(f"{namespace}/{cache}", {})[key] = {
            "nodeID": node_id, "outputs": dict(outputs), "creationTimestamp": stamp, "lastHitTimestamp": stamp}
        self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        temporary = self._path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self._entries), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError:
            pass  # the entries stay in memory; a full disk must not stop the workflows


__all__ = ["CACHE_FILE_NAME", "MemoCache", "memoization_status"]
