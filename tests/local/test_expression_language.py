"""Table tests of the expr-lang subset (``hera_magics.local.expression_language``), jsonpath and
Go's value formatting. Expected values are expr-lang's and Go's: the semantics of
``github.com/expr-lang/expr`` (``vm/runtime``: ``/`` gives a float, ``%`` truncates, ``==``
compares numbers across int and float), Argo's ``util/expr/env/env.go`` (``asInt``, ``asFloat``,
``toJson``, ``jsonpath``, ``sprig``) and ``util/template/expression_template.go`` (a string
result goes in as it is, anything else as its JSON).
"""

from __future__ import annotations

import pytest

from hera_magics.local.expression_language import (
    EvaluationError,
    MissingVariable,
    UnsupportedExpression,
    evaluate,
    evaluate_bool,
    parse_expression,
    variables,
)
from hera_magics.local.go_values import go_float_json, go_float_text, go_text, marshal_value
from hera_magics.local.jsonpath import JsonPathError, query
from hera_magics.local.templating import ExpressionTag, UnresolvedReference, substitute

ENVIRONMENT = {
    "inputs.parameters.foo": "3",
    "inputs.parameters.should-print": "true",
    "inputs.parameters.week": '{"temps": [34, 27, 15, 57, 46]}',
    "workflow.parameters.json": '[{"name":"should-print","value":"true"}]',
    "workflow.parameters.config": '{"a": "1", "b": [1, 2], "employees": [{"name": "Baris", "age": 43},'
                                  ' {"name": "Mo", "age": 42}, {"name": "Ana", "age": 45}]}',
    "tasks.flip-coin.outputs.result": "heads",
    "tasks.heads.outputs.result": "it was heads",
    "tasks.tails.outputs.result": "it was tails",
    "item.name": "jesse",
    "item.group": "developer",
    "lastRetry.exitCode": "2",
    "lastRetry.status": "Failed",
    "lastRetry.message": "pod deleted",
}


def run(text: str) -> object:
    return evaluate(parse_expression(text), ENVIRONMENT.get)


@pytest.mark.parametrize("text, expected", [
    # literals
    ("'single'", "single"), ('"double"', "double"), ("`raw \\n`", "raw \\n"), ("'a\\nb'", "a\nb"),
    ("42", 42), ("4.5", 4.5), ("1e3", 1000.0), ("true", True), ("false", False), ("nil", None),
    ("[1, 'a']", [1, "a"]), ("{a: 1, 'b-c': 2}", {"a": 1, "b-c": 2}),
    # arithmetic: / is always a float, % truncates towards zero as Go does, ** is a float
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("6 / 3", 2.0), ("-7 % 3", -1), ("7 % -3", 1),
    ("2 ** 3", 8.0), ("2 ^ 3 ^ 2", 512.0), ("-2 ** 2", -4.0), ("1 + 0.5", 1.5), ("'a' + 'b'", "ab"),
    # comparison and logic
    ("1 == 1.0", True), ("'1' == 1", False), ("nil == nil", True), ("true == 1", False), ("2 > 1", True),
    ("'b' > 'a'", True), ("1 < 2 && 2 < 3", True), ("false || true", True), ("!true", False),
    ("not false", True), ("true and false", False), ("false or true", True), ("!(1 > 2) && true", True),
    # ternary, nested, with and without spaces; ?? and ?:
    ("true ? 1 : 2", 1), ("false?1:2", 2), ("1 == 2 ? 'a' : 2 == 2 ? 'b' : 'c'", "b"),
    ("asInt(inputs.parameters.foo) == 1? 1: asInt(inputs.parameters.foo) == 3? 3: 0", 3),
    ("nil ?? 'fallback'", "fallback"), ("'' ?: 'empty'", "empty"),
    # in, matches, string operators
    ("2 in [1, 2]", True), ("3 not in [1, 2]", True), ("'a' in {a: 1}", True),
    ("'pod deleted' matches 'imminent node shutdown|pod deleted'", True), ("'abc' contains 'b'", True),
    ("'abc' startsWith 'ab'", True), ("'abc' endsWith 'bc'", True),
    # variables: dotted, bracketed with ' and ", dashes in brackets
    ("inputs.parameters.foo", "3"), ("inputs.parameters['should-print'] == 'true'", True),
    ('inputs.parameters["should-print"]', "true"),
    ("tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result",
     "it was heads"),
    ("item.name + ':' + item['group']", "jesse:developer"),
    ("tasks.producer.outputs.parameters.msg ?? 'expr-fallback'", "expr-fallback"),
    ("tasks?.producer?.outputs", None),
    # indexing and slices
    ("[1, 2, 3][0]", 1), ("[1, 2, 3][-1]", 3), ("[1, 2, 3][1:]", [2, 3]), ("[1, 2, 3][:2]", [1, 2]),
    ("'hello'[1:3]", "el"), ("{a: {b: 1}}.a.b", 1),
    # functions of Argo's environment and expr-lang's builtins
    ("asInt(inputs.parameters.foo) * 10", 30), ("asInt(3.9)", 3), ("asFloat('2.5') * 2", 5.0),
    ("int('7')", 7), ("float(1)", 1.0), ("string(1.5)", "1.5"), ("string(2.0)", "2"), ("string(true)", "true"),
    ("toJson({b: [1, 2.5], a: 'x'})", '{"a":"x","b":[1,2.5]}'), ("toJson('<&>')", '"\\u003c\\u0026\\u003e"'),
    ("len('abc')", 3), ("len([1, 2])", 2), ("upper('a')", "A"), ("lower('A')", "a"), ("trim('  a ')", "a"),
    ("split('a,b', ',')", ["a", "b"]), ("join(['a', 'b'], '-')", "a-b"), ("abs(-2)", 2),
    ("keys({b: 1, a: 2})", ["a", "b"]),
    ("jsonpath(workflow.parameters.json, '$[0].value') == 'true'", True),
    ("jsonpath(workflow.parameters.config, '$.a')", "1"),
    ("jsonpath(workflow.parameters.config, '$.employees[?(@.name==\"Baris\")].age')", [43.0]),
    ("jsonpath(workflow.parameters.config, '$.employees[?(@.age>42 && @.age<44)].age')", [43.0]),
    ("jsonpath(workflow.parameters.config, '$.employees[0:1]')", [{"name": "Baris", "age": 43.0}]),
    ("jsonpath(workflow.parameters.config, '$.employees[*].name')", ["Baris", "Mo", "Ana"]),
    # predicates with #
    ("filter([1, 3], {# > 1})", [3]), ("map([1, 2], {# * 2})", [2, 4]), ("all([1, 2], {# > 0})", True),
    ("any([1, 2], {# > 1})", True), ("none([1, 2], {# > 2})", True), ("one([1, 2], {# > 1})", True),
    ("count([1, 2, 3], {# > 1})", 2), ("map(['a', 'b'], {#index})", [0, 1]),
    ("filter([{n: 1}, {n: 2}], {.n > 1})", [{"n": 2}]),
    # sprig
    ("sprig.add(1, '2', 3.7)", 6), ("sprig.sub(5, 2)", 3), ("sprig.mul(2, 3)", 6), ("sprig.div(7, 2)", 3),
    ("sprig.mod(7, 3)", 1), ("sprig.max(1, 5, 3)", 5), ("sprig.min(4, 2)", 2), ("sprig.add1(1)", 2),
    ("sprig.atoi('12')", 12), ("sprig.b64enc('hi')", "aGk="), ("sprig.b64dec('aGk=')", "hi"),
    ("sprig.upper('a')", "A"), ("sprig.trimPrefix('a', 'abc')", "bc"), ("sprig.replace('a', 'b', 'aa')", "bb"),
    ("sprig.default('d', '')", "d"), ("sprig.default('d', 'x')", "x"), ("sprig.empty('')", True),
    ("sprig.date('2006', 0)", None),  # checked below: a year of four digits
])
def test_the_subset_evaluates_as_expr_lang_does(text, expected):
    result = run(text)
    if text.startswith("sprig.date"):
        assert isinstance(result, str) and len(result) == 4 and result.isdigit()
        return
    assert result == expected and type(result) is type(expected)


def test_argos_verbose_snippet_example_computes_its_statistics():
    # examples/expression-reusing-verbose-snippets.yaml: map over a one-element list, a map
    # literal inside the predicate, sprig.add / 5 as a float, sprig.min/max as integers.
    environment = {"workflow.parameters.weather":
                   '{"weekWeather": "eyJ0ZW1wcyI6IFszNCwgMjcsIDE1LCA1NywgNDZdfQo="}'}
    text = """
        map([
            jsonpath(sprig.b64dec(jsonpath(workflow.parameters.weather, '$.weekWeather')), '$.temps')
          ], {
            toJson({
              avg: sprig.add(#[0], #[1], #[2], #[3], #[4]) / 5,
              min: sprig.min(#[0], #[1], #[2], #[3], #[4]),
              max: sprig.max(#[0], #[1], #[2], #[3], #[4])
            })
        })[0]
    """
    assert evaluate(parse_expression(text), environment.get) == '{"avg":35.8,"max":57,"min":15}'


@pytest.mark.parametrize("text, error", [
    ("'a' < 1", EvaluationError), ("1 && true", EvaluationError), ("!'a'", EvaluationError),
    ("true ? 1", UnsupportedExpression), ("[1][5]", EvaluationError), ("asInt('1.5')", EvaluationError),
    ("1 % 0", EvaluationError), ("'a' - 'b'", EvaluationError), ("1 ? 2 : 3", EvaluationError),
    ("tasks.missing.outputs.result", MissingVariable), ("jsonpath('{}', '$.a')", EvaluationError),
    ("jsonpath('not json', '$.a')", EvaluationError), ("filter(1, {# > 0})", EvaluationError),
])
def test_a_failing_expression_says_why(text, error):
    with pytest.raises(error):
        run(text)


@pytest.mark.parametrize("text, construct", [
    ("a | b", "pipes"), ("1..3", "ranges"), ("now()", "now()"), ("duration('1h')", "duration()"),
    ("date('2020')", "date()"), ("toJSON(1)", "toJSON()"), ("x.Seconds()", "method calls"),
    ("sprig.env('HOME')", "sprig.env()"), ("sprig['add'](1)", "only named functions"),
    ("let x = 1; x", "let"), ("#", "predicate"), ("", "empty"), ("(1", "expected ')'"), ("1 +", "unexpected"),
    ("a = 1", "'='"),
])
def test_what_is_outside_the_subset_is_refused_at_parse_naming_it(text, construct):
    with pytest.raises(UnsupportedExpression, match=None) as raised:
        parse_expression(text)
    assert construct in str(raised.value)


def test_evaluate_bool_wants_a_boolean_as_argoexpr_eval_bool_does():
    expression = parse_expression("asInt(lastRetry.exitCode) > 1 && lastRetry.status != 'Error'")
    assert evaluate_bool(expression, ENVIRONMENT.get) is True
    with pytest.raises(EvaluationError, match="to bool"):
        evaluate_bool(parse_expression("'yes'"), ENVIRONMENT.get)


def test_variables_lists_the_paths_an_expression_reads():
    expression = parse_expression("tasks['flip-coin'].outputs.result == 'x' ? inputs.parameters.foo : item")
    assert variables(expression) == ["tasks.flip-coin.outputs.result", "inputs.parameters.foo", "item"]


def test_variables_are_resolved_by_the_longest_name_spelled_only():
    # A strict lookup (one that waits for tasks.*) must never be asked for a shorter name than
    # one with a value, nor for names the expression does not spell.
    asked: list[str] = []

    def resolve(name: str) -> str | None:
        asked.append(name)
        return {"tasks.a.outputs.result": "1"}.get(name)

    assert evaluate(parse_expression("tasks.a.outputs.result"), resolve) == "1"
    assert asked == ["tasks.a.outputs.result"]


@pytest.mark.parametrize("text, expected", [
    ("hello {{=asInt(inputs.parameters.foo) * 10}}", "hello 30"),
    ("{{=toJson(filter([1, 3], {# > 1}))}}", "[3]"),
    ("{{= inputs.parameters[\"should-print\"] == 'true'}}", "true"),
    ("{{=jsonpath(workflow.parameters.config, '$.b')}}", "[1,2]"),
    ("{{=jsonpath(workflow.parameters.config, '$.a')}}", "1"),
    ("{{=1.5 * 2}}", "3"),
    ("{{=1e21 * 1}}", "1e+21"),
    ("{{=nil ?? 'a\"b'}}", 'a"b'),
    ("{{inputs.parameters.foo}}-{{=inputs.parameters.foo}}-{{custom}}", "3-3-{{custom}}"),
])
def test_expression_tags_put_in_a_string_as_it_is_and_anything_else_as_json(text, expected):
    assert substitute(text, ENVIRONMENT) == expected


def test_an_expression_tag_that_fails_or_reads_a_missing_variable_raises():
    with pytest.raises(UnresolvedReference):
        substitute("{{=tasks.gone.outputs.result}}", ENVIRONMENT)
    with pytest.raises(ExpressionTag, match="nil"):
        substitute("{{=nil}}", ENVIRONMENT)
    with pytest.raises(ExpressionTag, match="mismatched"):
        substitute("{{='a' < 1}}", ENVIRONMENT)


def test_an_expression_tag_reading_a_variable_kept_for_later_stays_as_written():
    # expansion.keep_items: before a loop is expanded, {{item}} stands for itself.
    def keeping(name: str) -> str | None:
        return "{{item}}" if name == "item" else ENVIRONMENT.get(name)

    assert substitute("{{=item}} and {{=inputs.parameters.foo}}", keeping) == "{{=item}} and 3"


@pytest.mark.parametrize("path, document, expected", [
    ("$.a", {"a": 1}, 1), ("$.a.b", {"a": {"b": "x"}}, "x"), ("$[0].value", [{"value": "v"}], "v"),
    ("$['a']", {"a": 2}, 2), ("$[*]", [1, 2], [1, 2]), ("$.*", {"b": 2, "a": 1}, [1, 2]),
    ("$[0:1]", [1, 2], [1]), ("$[-1:]", [1, 2], [2]), ("$[0,1]", [1, 2, 3], [1, 2]),
    ("$[?(@.n == 'x')].v", [{"n": "x", "v": 1}, {"n": "y", "v": 2}], [1]),
    ("$[?(@.v > 1 || @.n == 'x')].n", [{"n": "x", "v": 1}, {"n": "y", "v": 2}], ["x", "y"]),
    ("$[?(@.v)].n", [{"n": "x", "v": 1}, {"n": "y"}], ["x"]),
    ("$[*].missing", [{"a": 1}], []),
])
def test_jsonpath_names_one_value_or_a_list_as_evilmonkeyinc_jsonpath_does(path, document, expected):
    assert query(path, document) == expected


@pytest.mark.parametrize("path", ["$..a", "$[(@.length-1)]", "a.b", "$.a[", "$[?(@.a ~ 1)]"])
def test_jsonpath_outside_the_subset_is_refused(path):
    with pytest.raises(JsonPathError):
        query(path, {"a": 1})


def test_jsonpath_a_missing_key_named_alone_is_an_error():
    with pytest.raises(JsonPathError, match="not found"):
        query("$.b", {"a": 1})


@pytest.mark.parametrize("number, as_json, as_text", [
    (43.0, "43", "43"), (35.8, "35.8", "35.8"), (1e-7, "1e-7", "1e-07"), (1e21, "1e+21", "1e+21"),
    (1e20, "100000000000000000000", "1e+20"), (1234567.0, "1234567", "1.234567e+06"), (0.0001, "0.0001", "0.0001"),
    (-2.5, "-2.5", "-2.5"), (0.0, "0", "0"),
])
def test_floats_are_written_as_go_writes_them(number, as_json, as_text):
    assert go_float_json(number) == as_json
    assert go_float_text(number) == as_text


def test_go_values_marshal_and_print_as_go_does():
    assert marshal_value({"b": [1, 2.0, "<a>"], "a": None}) == '{"a":null,"b":[1,2,"\\u003ca\\u003e"]}'
    assert go_text([1, "a", {"x": 1.5}, None, True]) == "[1 a map[x:1.5] <nil> true]"
