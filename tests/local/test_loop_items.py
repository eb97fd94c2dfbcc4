"""Tables for the pure parts of loops: how an item prints, how values aggregate (no processes).

Expected values follow Go as Argo v4.0.5 uses it: ``pkg/apis/workflow/v1alpha1/item.go``
(``Item.String``), ``workflow/controller/operator.go`` (``processItem``, ``generateNodeName``,
``expandSequence``, ``aggregatedJSONValueList``) and Go's ``encoding/json`` float format.
"""

from __future__ import annotations

import pytest

from hera_magics.local.expressions import FanOut, evaluate_depends, parse_depends
from hera_magics.local.loops import (
    LoopError,
    RawNumber,
    aggregated_json_value_list,
    go_float,
    loop_item,
    param_items,
    sequence_items,
)


@pytest.mark.parametrize(
    ("item", "suffix", "variables"),
    [
        ("a", "(0:a)", {"item": "a"}),
        (RawNumber("1.50"), "(0:1.50)", {"item": "1.50"}),
        (True, "(0:true)", {"item": "true"}),
        ({"b": 1, "a": "x (y)"}, "(0:a:x y,b:1)", {"item.b": "1", "item.a": "x (y)", "item": '{"a":"x (y)","b":1}'}),
        ([1, "a"], "(0:[1 a])", {"item": '[1,"a"]'}),
        ("<&>", "(0:<&>)", {"item": "<&>"}),
    ],
)
def test_items_print_as_argo_prints_them(item, suffix, variables):
    printed = loop_item(0, item)
    assert printed.node_suffix() == suffix
    assert printed.variables == variables


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (2.5, "2.5"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (1e21, "1e+21"), (1e16, "10000000000000000"),
     (1e-5, "0.00001"), (-0.0, "-0")],
)
def test_floats_print_as_go_json_prints_them(value, text):
    assert go_float(value) == text


def test_with_param_keeps_numbers_as_written_and_refuses_what_is_not_a_list():
    assert param_items('[1, 1.50, "a", {"k": 2}]') == ["1", "1.50", "a", {"k": "2"}]
    with pytest.raises(LoopError, match="json: cannot unmarshal object into Go value of type"):
        param_items('{"a": 1}')
    with pytest.raises(LoopError, match="invalid character 'o' in literal null"):
        param_items("nope")


@pytest.mark.parametrize(
    ("sequence", "items"),
    [
        ({"count": "3"}, ["0", "1", "2"]),
        ({"count": 0}, []),
        ({"start": "2", "count": "2"}, ["2", "3"]),
        ({"start": "3", "end": "1"}, ["3", "2", "1"]),
        ({"end": "2", "format": "x%02X"}, ["x00", "x01", "x02"]),
    ],
)
def test_sequences(sequence, items):
    assert sequence_items(sequence) == items


def test_a_bad_sequence_number_is_go_s_error():
    with pytest.raises(LoopError, match='strconv.Atoi: parsing "ten": invalid syntax'):
        sequence_items({"count": "ten"})


def test_aggregated_values_are_strings_unless_all_are_objects_or_lists():
    assert aggregated_json_value_list(["1", "2"]) == '["1","2"]'
    assert aggregated_json_value_list(['{"b": 1, "a": 2.0}', "[3]"]) == '[{"a":2,"b":1},[3]]'
    assert aggregated_json_value_list(['{"a": 1}', "x"]) == '["{\\"a\\": 1}","x"]'


def test_fan_out_results_read_the_items():
    expression = parse_depends("work.AnySucceeded && !work.AllFailed")
    assert evaluate_depends(expression, {"work": "Failed"}, fan_out={"work": FanOut(any_succeeded=True)})
    assert not evaluate_depends(expression, {"work": "Failed"}, fan_out={"work": FanOut(all_failed=True)})
