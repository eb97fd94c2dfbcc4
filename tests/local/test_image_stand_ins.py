"""Containers without a command: the image entrypoints the local engine stands in for.

Argo's own test image ``argoproj/argosay:v2`` (``test/e2e/images/argosay/v2/argosay`` in Argo's
repository: a ``case`` over its first argument) is run without a command by Argo's examples
(``examples/key-only-artifact.yaml``, ``examples/skipped-output-defaults/producer-output-default.yaml``,
``examples/dag-inline-workflow.yaml``) and with ``command: [/argosay]``
(``examples/intermediate-parameters.yaml``). The engine runs ``hera_magics.local.argosay`` for it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from hera_magics.local.argosay import sleep_seconds
from hera_magics.local.images import container_command
from tests.local_helpers import dag, error_of, nodes_by_display_name, task, workflow

STAND_IN = ["python", "-m", "hera_magics.local.argosay"]


@pytest.mark.parametrize("container, expected", [
    ({"image": "argoproj/argosay:v2"}, STAND_IN),
    ({"image": "docker.io/argoproj/argosay:v2", "args": ["echo"]}, STAND_IN),
    ({"image": "argoproj/argosay:v2", "command": ["/argosay"]}, STAND_IN),
    ({"image": "argoproj/argosay:v2", "command": ["/argosay", "echo"]}, [*STAND_IN, "echo"]),
    ({"image": "argoproj/argosay:v2", "command": ["sh", "-c", "true"]}, ["sh", "-c", "true"]),
    ({"image": "argoproj/argosay:v1"}, []),  # another version: its program is not known here
    ({"image": "alpine:3.20"}, []),
    ({"image": "alpine:3.20", "command": ["/argosay"]}, ["/argosay"]),
])
def test_which_command_a_container_runs_here(container, expected):
    assert container_command(container) == expected


@pytest.mark.parametrize("text, seconds", [("2", 2.0), ("0.5", 0.5), ("3s", 3.0), ("2m", 120.0), ("1h", 3600.0),
                                           ("1d", 86400.0)])
def test_sleep_reads_durations_as_sleep_does(text, seconds):
    assert sleep_seconds(text) == seconds


def argosay(*words: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hera_magics.local.argosay", *words], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


@pytest.mark.parametrize("words, code, output", [
    ((), 0, "hello argo\n"),
    (("echo",), 0, "hello argo\n"),
    (("echo", "hi there"), 0, "hi there\n"),
    (("echo", "a", "b", "c"), 0, ""),  # the script's `case $#` has no branch for 4 words
    (("exit",), 0, ""),
    (("exit", "3"), 3, ""),
    (("sleep", "0"), 0, ""),
    (("dance",), 1, ""),
])
def test_the_stand_in_answers_as_the_images_script(words, code, output):
    done = argosay(*words)
    assert (done.returncode, done.stdout) == (code, output)


def test_echo_to_a_file_then_cat_and_assert_contains(tmp_path):
    target = tmp_path / "deep" / "file"
    assert argosay("echo", "hello", str(target)).returncode == 0
    assert target.read_text() == "hello\n"
    assert argosay("cat", str(target)).stdout == "hello\n"
    assert argosay("assert_contains", str(target), "ell").returncode == 0
    missing = argosay("assert_contains", str(target), "bye")
    assert missing.returncode == 1
    unreadable = argosay("cat", str(tmp_path / "absent"))
    assert unreadable.returncode == 1 and "absent" in unreadable.stderr


def argosay_template(name: str, args: list[str], **options) -> dict:
    return {"name": name, "container": {"image": "argoproj/argosay:v2", "args": args}, **options}


def test_an_argosay_output_file_is_read_as_on_the_cluster(engine):
    # examples/skipped-output-defaults/producer-output-default.yaml: `args: [echo, real-value,
    # /tmp/out.txt]` and an output parameter read from /tmp/out.txt.
    produce = argosay_template("produce", ["echo", "real-value", "/tmp/out.txt"],
                               outputs={"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out.txt"}}]})
    done = engine.wait(engine.submit(workflow([dag([task("produce", "produce")]), produce])))
    assert done["status"]["phase"] == "Succeeded"
    produced = nodes_by_display_name(done)["produce"]
    assert produced["outputs"]["parameters"][0]["value"] == "real-value"


def test_argosay_exit_fails_its_node_with_the_code(engine):
    # examples/intermediate-parameters.yaml spells the entrypoint out: command [/argosay]
    failing = {"name": "fail", "container": {"image": "argoproj/argosay:v2", "command": ["/argosay"],
                                             "args": ["exit", "3"]}}
    done = engine.wait(engine.submit(workflow([dag([task("fail", "fail")]), failing])))
    node = nodes_by_display_name(done)["fail"]
    assert (node["phase"], node["message"]) == ("Failed", "main: Error (exit code 3)")
    assert done["status"]["phase"] == "Failed"


def test_another_image_without_a_command_is_still_refused_naming_what_is_known(engine):
    unknown = {"name": "main", "container": {"image": "nginx:1.27", "args": ["-g", "daemon off;"]}}
    answer = engine.request("POST", "api/v1/workflows/argo", json={"workflow": workflow([unknown])})
    status, _, message = error_of(answer)
    assert status == 400
    assert message.startswith("templates.main.container.command: a container without a command runs its image's entrypoint")
    assert "argoproj/argosay:v2" in message
