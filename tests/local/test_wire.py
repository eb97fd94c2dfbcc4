"""How the engine puts JSON on the wire: Go's HTML-safe escaping."""

from __future__ import annotations

from hera_magics.local.wire import go_json


def test_go_json_escapes_html_characters():
    assert go_json({"c": "<a & b>"}) == '{"c":"\\u003ca \\u0026 b\\u003e"}'
    assert go_json({"c": "é"}) == '{"c":"é"}'
