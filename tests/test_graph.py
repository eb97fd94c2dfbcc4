"""Order and cycles of dependency graphs (hera_magics.graph)."""

from __future__ import annotations

from hera_magics.graph import find_cycle


def test_find_cycle():
    assert find_cycle({"a": [], "b": ["a"]}) is None
    cycle = find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
