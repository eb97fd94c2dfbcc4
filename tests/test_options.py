"""The options of ``%%argo_task`` and ``%argo_dag`` (hera_magics.options): values, forms, and the
``%argo_dag`` line split into options and a verbatim expression."""

from __future__ import annotations

import pytest

from hera_magics.errors import TaskDefinitionError
from hera_magics.options import parse_duration, parse_quantity, parse_toleration, parse_volume, workflow_prefix


# ---------------------------------------------------------------------------------------------
# option values


@pytest.mark.parametrize(
    "text, expected",
    [("2Gi", "2Gi"), ("500m", "500m"), ("4", "4"), ("0.5", "0.5"), ("16Gi", "16Gi"), ("1.5G", "1.5G")],
)
def test_quantities_accepted(text, expected):
    assert parse_quantity(text, what="--memory") == expected


@pytest.mark.parametrize("text, expected", [("2GB", "2G"), ("512MB", "512M"), ("1GiB", "1Gi")])
def test_habit_units_are_converted_and_said(text, expected):
    notes: list[str] = []
    assert parse_quantity(text, what="--memory", notes=notes) == expected
    assert notes and expected in notes[0] and text in notes[0]


@pytest.mark.parametrize("text", ["2 Gi", "lots", "-1Gi", "2Gx", "Gi", ""])
def test_quantities_refused_with_accepted_forms(text):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_quantity(text, what="--memory")
    assert "not a Kubernetes quantity" in caught.value.message
    assert "16Gi" in caught.value.hint


@pytest.mark.parametrize(
    "text, seconds",
    [("90", 90), ("30s", 30), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text, what="--timeout") == seconds


@pytest.mark.parametrize("text", ["1 hour", "h", "30x", "0", "1.5h", "-5"])
def test_bad_durations_name_the_accepted_forms(text):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_duration(text, what="--timeout")
    assert "--timeout" in caught.value.message


def test_toleration_and_volume_forms():
    assert parse_toleration("k=v:NoSchedule").value == "v"
    exists = parse_toleration("nvidia.com/gpu:NoExecute")
    assert (exists.key, exists.value, exists.effect) == ("nvidia.com/gpu", None, "NoExecute")
    volume = parse_volume("claim/sub/dir:/mnt:ro")
    assert (volume.claim, volume.sub_path, volume.mount_path, volume.read_only) == ("claim", "sub/dir", "/mnt", True)
    assert parse_volume("claim:/data").sub_path is None
    with pytest.raises(TaskDefinitionError):
        parse_toleration("k=v:Sometimes")
    with pytest.raises(TaskDefinitionError):
        parse_volume("claim:relative")


# ---------------------------------------------------------------------------------------------
# the workflow's name


@pytest.mark.parametrize(
    "name, prefix",
    [("My Notebook", "my-notebook-"), ("01_quickstart", "01-quickstart-"), ("__", "hera-magics-"),
     ("x" * 80, "x" * 52 + "-")],
)
def test_workflow_prefix_from_notebook_name(name, prefix):
    assert workflow_prefix(name) == prefix


# ---------------------------------------------------------------------------------------------
# the %argo_dag line


@pytest.mark.parametrize("line, options, expression", [
    ("a >> b", "", "a >> b"),
    ("--dry-run a >> b", "--dry-run ", "a >> b"),
    ("--name nightly --ttl 1d train(path='x y',  lr=0.1)", "--name nightly --ttl 1d ", "train(path='x y',  lr=0.1)"),
    ("--yaml 'my file.yaml' --label team=ml prepare", "--yaml 'my file.yaml' --label team=ml ", "prepare"),
    ("--name=nightly -h", "--name=nightly -h", ""),
    ('--yaml "a \\"b\\"" [a, b]', '--yaml "a \\"b\\"" ', "[a, b]"),
    ("--parallelism 2 -x", "--parallelism 2 -x", ""),
    ("   ", "   ", ""),
])
def test_dag_line_splits_options_from_the_verbatim_expression(line, options, expression):
    from hera_magics.options import split_dag_line

    assert split_dag_line(line) == (options, expression)


def test_an_unclosed_quote_in_the_options_is_named():
    from hera_magics.options import split_dag_line

    with pytest.raises(ValueError, match="""no closing ' in "'unterminated prepare\""""):
        split_dag_line("--dry-run --yaml 'unterminated prepare")
