"""The seed document's four workflows, written with the magics, give the same DAGs as its Hera code.

The Hera side below is the code of Nebari's "Automate workflows with Hera" page, with the connection lines
left out. "Same DAG" means: same task names, same edges, same arguments, and on each template the
same inputs and the same environment variables (ours also carries the inputs' own variables, which
are how values reach the pod; those are recognised by their ``{{inputs.parameters.X}}`` value).
"""

# No `from __future__ import annotations`: Hera reads the seed functions' real annotations.

import re
import textwrap

import pytest
from hera.workflows import DAG, Container, Env, Parameter, Task, Workflow, script

from tests.conftest import magics_of


# ---------------------------------------------------------------------------------------------
# the seed's Hera code


@script()
def hello_world():
    """Simple function"""
    print("Hello World!")


@script(env=[Env(name="ENV_VAR1", value="1"), Env(name="ENV_VAR2", value="2")])
def multiline_function(arg1: str, arg2: str, ) -> str:
    """Example of passing function arguments and environment variables"""
    print(arg1)
    print(arg2)


@script()
def another_script():
    """Simple function"""
    print("Another script")


def seed_basic():
    with Workflow(generate_name="fv-test-", entrypoint="my-dag") as w:
        with DAG(name='my-dag'):
            hello_world()
            multiline_function(
                arguments={'arg1': 'test string', 'arg2': 'another test string'}
                )
    return w


def seed_dependencies():
    with Workflow(generate_name="dependency-test-", entrypoint="my-dag") as w:
        with DAG(name='my-dag'):
            t1 = hello_world()
            t2a = multiline_function(
                    arguments={'arg1': 'test string', 'arg2': 'another test string'}
                )
            t2b = another_script()
            t1 >> [t2a, t2b]
    return w


def seed_parameter_passing():
    with Workflow(generate_name="fv-test-", entrypoint="my-dag") as w:
        with DAG(name='my-dag'):
            t1: Task = hello_world()
            t2 = multiline_function(
                arguments=[
                    Parameter(name="arg1", value=t1.result),
                    Parameter(name="arg2", value="another test string")
                ]
            )
            t1 >> t2
    return w


def seed_container():
    with Workflow(generate_name="container-", entrypoint="my-dag") as w:
        container = Container(
            name="container",
            image="alpine:3.7",
            command=["echo", "{{inputs.parameters.arg}}"],
            # command=["echo", "$(ENV_VAR1)"],
            inputs=[Parameter(name="arg")],
            env=[Env(name="ENV_VAR1", value="my_env_var1")]
        )
        with DAG(name="my-dag"):
            A = container(name="A", arguments={"arg": "arg_for_task_A"})  # noqa: F841
            B = container(name="B", arguments={"arg": "arg_for_task_B"})  # noqa: F841
    return w


# The bodies of the seed's `with DAG(...)` blocks, verbatim.
SEED_DAG_BODIES = {
    "basic": """\
hello_world()
multiline_function(
    arguments={'arg1': 'test string', 'arg2': 'another test string'}
    )
""",
    "dependencies": """\
t1 = hello_world()
t2a = multiline_function(
        arguments={'arg1': 'test string', 'arg2': 'another test string'}
    )
t2b = another_script()
t1 >> [t2a, t2b]
""",
    "parameter_passing": """\
t1: Task = hello_world()
t2 = multiline_function(
    arguments=[
        Parameter(name="arg1", value=t1.result),
        Parameter(name="arg2", value="another test string")
    ]
)
t1 >> t2
""",
    "container": """\
A = container(name="A", arguments={"arg": "arg_for_task_A"})
B = container(name="B", arguments={"arg": "arg_for_task_B"})
""",
}

# The same DAGs in our own one-line spelling.
SEED_EXPRESSIONS = {
    "basic": "[hello_world, multiline_function(arg1='test string', arg2='another test string')]",
    "dependencies": "hello_world >> [multiline_function(arg1='test string', arg2='another test string'), another_script]",
    "parameter_passing": "multiline_function(arg1=hello_world.result, arg2='another test string')",
    "container": "[container(name='A', arg='arg_for_task_A'), container(name='B', arg='arg_for_task_B')]",
}

SEED_HERA = {
    "basic": seed_basic,
    "dependencies": seed_dependencies,
    "parameter_passing": seed_parameter_passing,
    "container": seed_container,
}


# ---------------------------------------------------------------------------------------------
# the seed's tasks, written with %%argo_task


def define_seed_tasks(ip) -> None:
    ip.run_cell_magic("argo_task", "", textwrap.dedent('''\
        def hello_world():
            """Simple function"""
            print("Hello World!")
        '''))
    ip.run_cell_magic("argo_task", "--env ENV_VAR1=1 --env ENV_VAR2=2", textwrap.dedent('''\
        def multiline_function(arg1: str, arg2: str, ) -> str:
            """Example of passing function arguments and environment variables"""
            print(arg1)
            print(arg2)
        '''))
    ip.run_cell_magic("argo_task", "", textwrap.dedent('''\
        def another_script():
            """Simple function"""
            print("Another script")
        '''))
    ip.run_cell_magic("argo_task", "container --shell --image alpine:3.7 --inputs arg --env ENV_VAR1=my_env_var1",
                      'echo "$arg"\n')


# ---------------------------------------------------------------------------------------------
# comparing DAGs

INPUT_DELIVERY = re.compile(r"^\{\{inputs\.parameters\.[A-Za-z0-9_-]+\}\}$")


def _depends_set(task: dict) -> set[str]:
    if "depends" in task:
        return set(re.findall(r"[A-Za-z0-9-]+", task["depends"].replace("&&", " ")))
    return set(task.get("dependencies", []))


def dag_shape(workflow_dict: dict) -> dict:
    spec = workflow_dict["spec"]
    templates = {template["name"]: template for template in spec["templates"]}
    dag = templates[spec["entrypoint"]]["dag"]
    tasks = {}
    for task in dag["tasks"]:
        template = templates[task["template"]]
        body = template.get("script") or template.get("container")
        user_env = {
            item["name"]: item.get("value")
            for item in body.get("env", [])
            if not INPUT_DELIVERY.match(item.get("value") or "")
        }
        inputs = {item["name"]: item.get("default") for item in template.get("inputs", {}).get("parameters", [])}
        arguments = {item["name"]: item.get("value") for item in task.get("arguments", {}).get("parameters", [])}
        tasks[task["name"]] = {
            "depends": _depends_set(task),
            "arguments": arguments,
            "inputs": inputs,
            "env": user_env,
        }
    return tasks


def _ours(ip, line: str, cell: str | None) -> dict:
    if cell is None:
        workflow = ip.run_line_magic("argo_dag", "--dry-run " + line)
    else:
        workflow = ip.run_cell_magic("argo_dag", "--dry-run", cell)
    return workflow.to_dict()


@pytest.mark.parametrize("seed", list(SEED_HERA))
def test_seed_expression_gives_the_seed_dag(ip, seed):
    define_seed_tasks(ip)
    expected = dag_shape(SEED_HERA[seed]().to_dict())
    assert dag_shape(_ours(ip, SEED_EXPRESSIONS[seed], None)) == expected


@pytest.mark.parametrize("seed", list(SEED_HERA))
def test_seed_dag_body_pasted_verbatim_gives_the_seed_dag(ip, seed):
    define_seed_tasks(ip)
    expected = dag_shape(SEED_HERA[seed]().to_dict())
    assert dag_shape(_ours(ip, "", SEED_DAG_BODIES[seed])) == expected


def test_seed_shapes_are_not_trivially_equal(ip):
    """The comparison can fail: different seeds give different shapes."""
    shapes = [dag_shape(build().to_dict()) for build in SEED_HERA.values()]
    assert len({repr(sorted(shape.items())) for shape in shapes}) == len(shapes)
    define_seed_tasks(ip)
    assert dag_shape(_ours(ip, SEED_EXPRESSIONS["basic"], None)) != dag_shape(seed_dependencies().to_dict())


def test_parameter_passing_uses_the_first_tasks_stdout(ip):
    define_seed_tasks(ip)
    shape = dag_shape(_ours(ip, SEED_EXPRESSIONS["parameter_passing"], None))
    assert shape["multiline-function"]["arguments"]["arg1"] == "{{tasks.hello-world.outputs.result}}"
    assert shape["multiline-function"]["depends"] == {"hello-world"}
    assert magics_of(ip).session.tasks["container"].kind == "shell"
