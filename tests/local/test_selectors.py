"""Label selectors, field selectors and Argo's ``fields`` response filter, as tables of cases."""

from __future__ import annotations

import pytest

from hera_magics.local.selectors import (
    SelectorError,
    filter_fields,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    restore_list_zero_fields,
    restore_workflow_zero_fields,
)


# ---------------------------------------------------------------------------------------------
# label selectors and field selectors


LABELS = {"app": "train", "tier": "gpu", "workflows.argoproj.io/phase": "Running"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=train", True),
        ("app==train", True),
        ("app=serve", False),
        ("app!=serve", True),
        ("missing!=x", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("workflows.argoproj.io/phase in (Running,Pending)", True),
        ("workflows.argoproj.io/phase in (Succeeded, Failed)", False),
        ("workflows.argoproj.io/phase notin (Succeeded)", True),
        ("app=train,tier=gpu", True),
        ("app=train,tier=cpu", False),
        ("tier in (gpu),app", True),
    ],
)
def test_label_selectors(selector, expected):
    assert labels_match(parse_label_selector(selector), LABELS) is expected


@pytest.mark.parametrize("selector", ["app in (a", "a b c", "=x", "app=tr ain"])
def test_bad_label_selectors(selector):
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


def test_field_selector():
    assert parse_field_selector("metadata.name=wf-1,metadata.namespace!=x") == [
        ("metadata.name", "=", "wf-1"), ("metadata.namespace", "!=", "x")]


# ---------------------------------------------------------------------------------------------
# the fields filter and Go's zero values


DOCUMENT = {
    "metadata": {"name": "wf", "labels": {"a": "b"}},
    "spec": {"entrypoint": "main"},
    "status": {"phase": "Running", "progress": "1/2",
               "nodes": {"n1": {"id": "n1", "phase": "Running", "type": "Pod", "message": "m"}}},
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("status.phase", {"status": {"phase": "Running"}}),
        ("metadata.name,status.phase,status.progress",
         {"metadata": {"name": "wf"}, "status": {"phase": "Running", "progress": "1/2"}}),
        ("status.nodes.phase", {"status": {"nodes": {}}}),  # node ids are map keys, not path segments
        ("metadata", {"metadata": {"name": "wf", "labels": {"a": "b"}}}),
        ("-status.nodes", {k: v for k, v in DOCUMENT.items() if k != "status"} |
         {"status": {"phase": "Running", "progress": "1/2"}}),
        ("-status.nodes,-spec", {"metadata": DOCUMENT["metadata"], "status": {"phase": "Running", "progress": "1/2"}}),
        ("-status", {"metadata": DOCUMENT["metadata"], "spec": DOCUMENT["spec"]}),
        ("", DOCUMENT),
    ],
)
def test_fields_filter(fields, expected):
    assert filter_fields(DOCUMENT, fields) == expected


def test_fields_filter_reaches_into_lists_and_copies():
    listing = {"metadata": {"resourceVersion": "3"},
               "items": [{"metadata": {"name": "a", "uid": "1"}, "status": {"phase": "Failed"}},
                         {"metadata": {"name": "b", "uid": "2"}, "status": {"phase": "Running"}}]}
    filtered = filter_fields(listing, "metadata,items.metadata.name,items.status.phase")
    assert filtered == {"metadata": {"resourceVersion": "3"},
                        "items": [{"metadata": {"name": "a"}, "status": {"phase": "Failed"}},
                                  {"metadata": {"name": "b"}, "status": {"phase": "Running"}}]}
    filtered["items"][0]["metadata"]["name"] = "changed"
    assert listing["items"][0]["metadata"]["name"] == "a"


def test_zero_fields_come_back_like_go_encodes_them():
    workflow = restore_workflow_zero_fields({"status": {"phase": "Running", "nodes": {"x": {"phase": "Running"}}}})
    assert workflow == {
        "metadata": {"creationTimestamp": None},
        "spec": {},
        "status": {"phase": "Running", "startedAt": None, "finishedAt": None,
                   "nodes": {"x": {"phase": "Running", "id": "", "name": "", "type": "",
                                   "startedAt": None, "finishedAt": None}}},
    }
    assert restore_list_zero_fields({"metadata": {}, "items": []}) == {"metadata": {}, "items": None}
    assert restore_list_zero_fields({"metadata": {}}) == {"metadata": {}, "items": None}
