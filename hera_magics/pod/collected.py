"""Values Argo collects for a task: the outputs of a map's items, and an exit handler's failures.

Shipped with the pod runtime only in workflows that pass such values (``hera_magics.compile``),
so it follows the runtime's rules: standard library only, syntax of any Python 3, plain ASCII,
never Argo's template braces.
"""

import json

from .contract import COLLECTED_PREFIX, FAILURES_PREFIX, RETURN_PARAMETER


def collected_value(text):
    """The Python value of an input that starts with ``COLLECTED_PREFIX`` or ``FAILURES_PREFIX``.

    A map's outputs (Argo's ``{{tasks.X.outputs.parameters}}``: one object of output parameters
    per succeeded item, in item order) become the list of the items' return values;
    ``{{workflow.failures}}``, which Argo quotes once more as a JSON string, becomes the list of
    failed nodes (empty when none failed).
    """
    if text.startswith(COLLECTED_PREFIX):
        return [json.loads(item[RETURN_PARAMETER]) for item in json.loads(text[len(COLLECTED_PREFIX):])]
    failures = json.loads(text[len(FAILURES_PREFIX):])
    return (json.loads(failures) if isinstance(failures, str) else failures) or []
