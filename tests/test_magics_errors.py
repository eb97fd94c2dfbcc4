"""Every user mistake gives a short, specific message — no traceback — and changes nothing.

Each case runs through a real ``InteractiveShell.run_cell`` (what a notebook does), then checks
what was printed and that the task registry and the connection config are as before.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import magics_of

GOOD_ENV = textwrap.dedent("""\
    ARGO_SERVER='argo.example.org:443'
    ARGO_BASE_HREF=/argo
    ARGO_TOKEN='Bearer good-token-0123456789'
    ARGO_NAMESPACE=dev
    """)


@pytest.fixture
def prepared(ip, tmp_path):
    """A shell with a config and three tasks, as a notebook would have mid-way."""
    env_file = tmp_path / ".env"
    env_file.write_text(GOOD_ENV)
    env_file.chmod(0o600)
    ip.run_line_magic("argo_env", "")
    ip.run_cell_magic("argo_task", "", "def prepare() -> str:\n    return 'data.csv'\n")
    ip.run_cell_magic("argo_task", "", "def train(path: str, lr: float = 0.1):\n    return {'loss': lr}\n")
    ip.run_cell_magic("argo_task", "report --inputs metrics", "print(metrics)\n")
    ip.run_cell_magic("argo_task", "", "def make_report():\n    pass\n")
    ip.user_ns["df"] = [1, 2, 3]
    ip.user_ns["not_json"] = object()
    return ip


def _state(shell):
    session = magics_of(shell).session
    return dict(session.tasks), session.config


# (code run in the cell, a piece of the expected message)
CASES = [
    # %%argo_task options
    ("%%argo_task --gpu 0\ndef f():\n    pass\n", "number of GPUs must be 1 or more"),
    ("%%argo_task --gpu two\ndef f():\n    pass\n", "invalid int value"),
    ("%%argo_task --memory lots\ndef f():\n    pass\n", "--memory 'lots' is not a Kubernetes quantity"),
    ("%%argo_task --cpu 4cores\ndef f():\n    pass\n", "--cpu '4cores' is not a Kubernetes quantity"),
    ("%%argo_task --shm 2XB\ndef f():\n    pass\n", "--shm '2XB' is not a Kubernetes quantity"),
    ("%%argo_task --timeout forever\ndef f():\n    pass\n", "--timeout 'forever' is not a duration"),
    ("%%argo_task --toleration k=v:Sometimes\ndef f():\n    pass\n", "must be KEY[=VALUE]:EFFECT"),
    ("%%argo_task --volume claim:relative\ndef f():\n    pass\n", "must be CLAIM[/SUBPATH]:MOUNT[:ro]"),
    ("%%argo_task --env NOEQUALS\ndef f():\n    pass\n", "--env 'NOEQUALS' must be KEY=VALUE"),
    ("%%argo_task --env 1X=2\ndef f():\n    pass\n", "not a valid environment variable name"),
    ("%%argo_task --secret-env BAD\ndef f():\n    pass\n", "must be VAR=SECRET:KEY"),
    ("%%argo_task --label 'bad key!=x'\ndef f():\n    pass\n", "is not a valid Kubernetes label key"),
    ("%%argo_task --retries -1\ndef f():\n    pass\n", "--retries -1: must be 0 or more"),
    ("%%argo_task --bogus\ndef f():\n    pass\n", "unrecognized arguments: --bogus"),
    ("%%argo_task --command 'unterminated\ndef f():\n    pass\n", "cannot parse the options"),
    ("%%argo_task --gpu-resource amd.com/gpu\ndef f():\n    pass\n", "--gpu-resource needs --gpu"),
    ("%%argo_task --image 'two words'\ndef f():\n    pass\n", "is not an image reference"),
    # %%argo_task cells
    ("%%argo_task\ndef f(:\n    pass\n", "syntax error on line 1"),
    ("%%argo_task\ndef f():\n    return df.sum()\n", "`df` is a notebook variable and will not exist in the pod; pass it as an input"),
    ("%%argo_task\ndef f():\n    return undefined_thing\n", "`undefined_thing` is used but never defined in the cell"),
    ("%%argo_task\ndef f():\n    display(1)\n", "`display` exists only inside IPython"),
    ("%%argo_task name_it\n%time x = 1\n", "line 1: `%time x = 1` is IPython syntax"),
    ("%%argo_task name_it\nfiles = !ls\n", "line 1: `files = !ls` is IPython syntax"),
    ("%%argo_task\nprint('no function')\n", "defines no function, so the task needs a name"),
    ("%%argo_task\ndef a():\n    pass\ndef b():\n    pass\n", "defines 2 functions (a, b)"),
    ("%%argo_task 1bad\nprint(1)\n", "task name '1bad' is not a Python identifier"),
    ("%%argo_task class\nprint(1)\n", "e.g. 'class_task'"),
    ("%%argo_task Parameter\nprint(1)\n", "task name 'Parameter' is reserved"),
    ("%%argo_task --inputs x\ndef f(y):\n    pass\n", "--inputs is for script cells"),
    ("%%argo_task s --inputs bad-name\nprint(1)\n", "is not a Python variable name"),
    ("%%argo_task s --inputs x x\nprint(x)\n", "--inputs names 'x' twice"),
    ("%%argo_task\nasync def f():\n    pass\n", "f() is an async function"),
    ("%%argo_task\ndef f(*args):\n    pass\n", "takes *args or **kwargs"),
    ("%%argo_task --shell\necho hi\n", "a --shell task needs a name"),
    ("%%argo_task s --shell\necho {{inputs.parameters.x}}\n", "write $name instead"),
    # %argo_dag
    ("%argo_dag --dry-run trian", "unknown task `trian`; did you mean `train`?"),
    ("%argo_dag --dry-run prepare >> train(path=prepare) >> prepare", "the DAG has a cycle: prepare >> train >> prepare"),
    ("%argo_dag --dry-run train", "required input 'path' of `train` is not given"),
    ("%argo_dag --dry-run train(path='x', learning_rate=1)", "has no input 'learning_rate'"),
    ("%argo_dag --dry-run [train(path='a', name='t'), train(path='b', name='t')]", "two nodes are named 't'"),
    ("%argo_dag --dry-run train(path='a', name='Bad_Name')", "node name 'Bad_Name' is not a valid Argo name"),
    ("%argo_dag --dry-run [train(path='a'), train(path='b')]", "`train` is already a node of this DAG"),
    ("%argo_dag --dry-run train(path=", "syntax error on line 1"),
    ("%argo_dag --dry-run train(path=not_json)", "a value of type object cannot be passed"),
    ("%argo_dag --dry-run report(metrics=prepare.get_parameter('nope'))", "output parameter 'nope'"),
    ("%argo_dag --dry-run [prepare, report] >> [train(path='x')]", "TypeError"),
    ("%argo_dag --dry-run --parallelism 0 prepare", "--parallelism 0: must be 1 or more"),
    ("%argo_dag --dry-run --name Bad_Prefix prepare", "--name 'Bad_Prefix' is not a valid workflow name prefix"),
    ("%argo_dag --dry-run --ttl soon prepare", "--ttl 'soon' is not a duration"),
    ("%argo_dag --dry-run --wait prepare", "--wait cannot be combined with --dry-run"),
    ("%argo_dag --dry-run --yaml /nonexistent-dir/x.yaml prepare", "cannot write the file"),
    ("%argo_dag --dry-run", "no DAG given"),
    ("%argo_dag --dry-run prepare >> train(path=prepare) --name nightly", "--name comes after the DAG expression"),
    ("%argo_dag --dry-run train(path=undefined_thing)", "`undefined_thing` is neither a registered task nor a notebook variable"),
    ("%argo_dag --dry-run prepare >> make-report", "in %argo_dag a '-' is a minus sign"),
    ("%argo_dag --dry-run train(path=f'{prepare}.csv')", "`prepare` is a task; it cannot be turned into text"),
    ("%argo_dag --dry-run train(path=prepare.output)", "task `prepare` has no attribute 'output'"),
    ("%argo_dag --dry-run train(path='x' * 200_000)", "too large for an Argo parameter"),
    ("%argo_dag --dry-run --yaml 'unterminated prepare", "cannot parse the options"),
    ("%%argo_task\ndef run_me():\n    pass\nif __name__ == '__main__':\n    run_me()\n", "`if __name__ == \"__main__\":` block"),
    ("%%argo_task --inputs x report\nprint(x)\n", "the name goes before the options"),
    # %argo_env
    ("%argo_env missing.env", "env file 'missing.env' does not exist"),
    ("%argo_env --namespace Bad_NS", "is not a valid Kubernetes namespace"),
    ("%argo_env --host 'not a url'", "is not a URL"),
    ("%argo_env --token-var NOPE_TOKEN", "--token-var NOPE_TOKEN: that variable is not set or empty"),
    ("%argo_env --workers 2", "--workers only applies with --local"),
    ("%argo_env --host ftp://argo.example.org", "must use http:// or https://"),
    ("%argo_env --local --host http://x", "do not combine it with an env file"),
    # others
    ("%argo_tasks extra", "%argo_tasks takes no arguments"),
    ("%argo_status one --last", "give a workflow NAME or --last, not both"),
]


@pytest.mark.parametrize("code, expected", CASES, ids=[f"{index:02d}" for index in range(len(CASES))])
def test_mistake_gives_a_short_message_and_changes_nothing(prepared, capsys, code, expected):
    before = _state(prepared)
    capsys.readouterr()
    result = prepared.run_cell(code)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert not result.success, text
    assert expected in text, text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) <= 4, text
    assert _state(prepared) == before


def test_there_are_at_least_thirty_distinct_mistakes():
    assert len({expected for _, expected in CASES}) >= 30


def test_no_server_configured(ip, capsys):
    result = ip.run_cell("%argo_env")
    text = capsys.readouterr().out
    assert not result.success
    assert "no Argo server configured" in text and "%argo_env --local" in text
    assert magics_of(ip).session.config is None


def test_argo_server_with_a_scheme(ip, tmp_path, capsys):
    (tmp_path / ".env").write_text("ARGO_SERVER=https://argo.example.org:443\n")
    result = ip.run_cell("%argo_env")
    assert not result.success
    assert "must be host:port without a scheme" in capsys.readouterr().out


def test_submit_without_namespace(ip, tmp_path, capsys):
    (tmp_path / ".env").write_text("ARGO_SERVER=argo.example.org:443\nARGO_TOKEN=abcdefghijkl\n")
    ip.run_line_magic("argo_env", "")
    ip.run_cell_magic("argo_task", "", "def prepare():\n    pass\n")
    capsys.readouterr()
    result = ip.run_cell("%argo_dag prepare")
    text = capsys.readouterr().out
    assert not result.success
    assert "no namespace to submit to" in text and "ARGO_NAMESPACE" in text
    assert "Traceback" not in text


def test_dag_before_any_task(ip, capsys):
    result = ip.run_cell("%argo_dag --dry-run a >> b")
    assert not result.success
    assert "no tasks are registered yet" in capsys.readouterr().out


def test_status_before_connecting(ip, capsys):
    result = ip.run_cell("%argo_status --last")
    assert not result.success
    assert "not connected to an Argo server yet" in capsys.readouterr().out


def test_errors_still_stop_a_notebook_run(prepared):
    """nbclient/papermill see an error: the exception is raised, only its display is short."""
    result = prepared.run_cell("%argo_dag --dry-run trian")
    assert result.error_in_exec is not None
    assert type(result.error_in_exec).__name__ == "DagError"


def test_help_flag_prints_help_and_changes_nothing(prepared, capsys):
    before = _state(prepared)
    for line in ("%argo_dag -h", "%argo_env --help", "%argo_status -h"):
        result = prepared.run_cell(line)
        text = capsys.readouterr().out
        assert result.success and line.split()[0] in text and "Traceback" not in text
    assert _state(prepared) == before


def test_quoted_option_values_with_spaces(prepared, tmp_path):
    workflow = prepared.run_line_magic("argo_dag", "--dry-run --yaml 'my file.yaml' --label 'team=ml' prepare")
    assert (tmp_path / "my file.yaml").read_text() == workflow.to_yaml()
