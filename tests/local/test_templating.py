"""Argo's ``{{...}}`` substitution, parameter text and Go durations, as tables of cases."""

from __future__ import annotations

import re

import pytest

from hera_magics.local.templating import (
    ExpressionTag,
    UnresolvedReference,
    parameter_text,
    parse_go_duration,
    substitute,
    variables_in,
)


VALUES = {"inputs.parameters.x": "42", "workflow.name": "wf-abc", "tasks.a.outputs.result": "{{inputs.parameters.x}}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x={{inputs.parameters.x}}", "x=42"),
        ("{{ inputs.parameters.x }}/{{workflow.name}}", "42/wf-abc"),
        ("f'{{x}}' and {{ custom }}", "f'{{x}}' and {{ custom }}"),  # not Argo variables: left alone
        ("{{tasks.a.outputs.result}}", "{{inputs.parameters.x}}"),  # single pass: values are not re-expanded
        ("no tags", "no tags"),
        ("{{inputs.parameters.x}}{{inputs.parameters.x}}", "4242"),
    ],
)
def test_substitution(text, expected):
    assert substitute(text, VALUES) == expected


def test_unresolved_variables_and_expression_tags_raise():
    with pytest.raises(UnresolvedReference, match=re.escape("failed to resolve {{inputs.parameters.y}}")):
        substitute("{{inputs.parameters.y}}", VALUES)
    with pytest.raises(ExpressionTag):
        substitute("{{='a' < 1}}", VALUES)
    assert variables_in("{{workflow.name}} {{x}} {{ pod.name }} {{retries}}") == ["workflow.name", "pod.name", "retries"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("a", "a"), (3, "3"), (2.0, "2"), (2.5, "2.5"), (True, "true"), ({"k": [1]}, '{"k":[1]}')],
)
def test_parameter_text(value, text):
    assert parameter_text(value) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("300ms", 0.3), ("45", 45), ("2h0m5s", 7205)],
)
def test_parse_go_duration(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "1d", "m5"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)
