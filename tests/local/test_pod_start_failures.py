"""A pod whose process cannot start: its node is an Error that says why and what to do instead."""

from __future__ import annotations

from tests.local_helpers import dag, nodes_by_display_name, python_script, shell, task, workflow


def test_an_argument_over_the_kernels_limit_names_the_limit_and_the_way_out(engine):
    # A result is substituted into the consumer's command, as a map's collected list is. Linux
    # refuses any one argument over 128 KiB (MAX_ARG_STRLEN), as a container's exec would on the
    # cluster: the node must say so, not only "[Errno 7] Argument list too long".
    produce = python_script("produce", "print('x' * 200_000)")
    consume = shell("consume", "echo {{inputs.parameters.value}} > /dev/null",
                    inputs={"parameters": [{"name": "value"}]})
    document = workflow([
        dag([task("produce", "produce"),
             task("consume", "consume", depends="produce",
                  arguments={"value": "{{tasks.produce.outputs.result}}"})]),
        produce, consume,
    ])
    done = engine.wait(engine.submit(document))
    consumer = nodes_by_display_name(done)["consume"]
    assert consumer["phase"] == "Error"
    assert "128 KiB" in consumer["message"]
    assert "artifact" in consumer["message"]
    assert done["status"]["phase"] in {"Failed", "Error"}

