"""A generated task as Argo and a pod would run it: its template, Argo's substitution, a real Python.

``task_template`` captures and compiles a cell into the template of the workflow YAML;
``run_like_a_pod`` runs that template's script the way Argo would (the workflow's runtime
parameter and the inputs substituted into the source, the template's environment, nothing of ours).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hera_magics.capture import capture_cell
from hera_magics.compile import build_script, runtime_loader
from hera_magics.options import parse_task_options
from hera_magics.pod.contract import PATH_PREFIX_VARIABLE, RUNTIME_PARAMETER
from hera_magics.session import ipython_transform


def template_of(script) -> dict:
    """The template as it appears in the workflow YAML (built through a Hera Workflow)."""
    from hera.workflows import Workflow

    with Workflow(name="w", entrypoint=script.name) as workflow:
        workflow.templates.append(script)
    return workflow.to_dict()["spec"]["templates"][0]


def task_template(cell: str, name: str | None = None, **options) -> dict:
    """The template a cell with these ``%%argo_task`` options becomes (captured, compiled, as in the YAML)."""
    spec = capture_cell(cell, parse_task_options(**options), name=name, ipython_transform=ipython_transform())
    return template_of(build_script(spec))


ARGO_TAG = re.compile(r"\{\{\s*(workflow\.parameters\.[\w-]+|inputs\.parameters\.[\w-]+)\s*\}\}")


def argo_substitute(template: dict, values: dict[str, str]) -> dict:
    """Argo's substitution (``util/template/simple_template.go``): on the template's JSON, each
    value quoted into the string it replaces; workflow parameters first, then inputs."""
    text = json.dumps(template)
    for prefix in ("workflow.parameters.", "inputs.parameters."):
        text = ARGO_TAG.sub(lambda match: json.dumps(values[match.group(1)])[1:-1]
                            if match.group(1).startswith(prefix) else match.group(0), text)
    return json.loads(text)


def run_like_a_pod(template: dict, values: dict[str, str], workdir: Path, *, data_files: bool = False,
                   python: str = sys.executable) -> subprocess.CompletedProcess:
    """Run a template's script as Argo would: the workflow's runtime parameter and the inputs
    substituted, the source in a file, the template's environment and nothing of ours."""
    parameters = {f"workflow.parameters.{RUNTIME_PARAMETER}": runtime_loader(data_files)}
    parameters.update({f"inputs.parameters.{name}": value for name, value in values.items()})
    script = argo_substitute(template, parameters)["script"]
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("HERA_MAGICS_", "PYTHON"))}
    environment.update({variable["name"]: variable["value"] for variable in script.get("env", [])})
    environment[PATH_PREFIX_VARIABLE] = str(workdir / "root")
    source_file = workdir / "script"
    source_file.write_text(script["source"], encoding="utf-8")
    command = [python if word == "python" else word for word in script["command"]]
    return subprocess.run(command + [str(source_file)], env=environment, cwd=workdir,
                          capture_output=True, text=True, timeout=60)
