"""Reading an Argo Server's answers (hera_magics.responses): messages, secrets, HTML pages and the
log stream, as tables of cases and on a real pasted stream."""

from __future__ import annotations

import pytest

from hera_magics.responses import (
    StreamError,
    looks_like_html,
    parse_log_line,
    redact_secret,
    server_message_of,
    shorten,
    url_without_query,
)
from tests.argo_bodies import BODY_401, LOGIN_PAGE
from tests.conftest import ARGO_FIXTURES


# ---------------------------------------------------------------------------------------------
# messages


@pytest.mark.parametrize(
    "text, limit, expected",
    [("short", 10, "short"), ("a  b\n c", 10, "a b c"), ("abcdefghijkl", 5, "abcd…")],
)
def test_shorten(text, limit, expected):
    assert shorten(text, limit) == expected


@pytest.mark.parametrize(
    "text, secret, expected",
    [
        ("bad token abcdef123", "abcdef123", "bad token …"),
        ("nothing here", "abcdef123", "nothing here"),
        ("no secret", None, "no secret"),
        ("a b", "a", "a b"),  # too short to be a token: never mangle ordinary text
    ],
)
def test_redact_secret(text, secret, expected):
    assert redact_secret(text, secret) == expected


@pytest.mark.parametrize(
    "text, content_type, expected",
    [
        (LOGIN_PAGE, "text/html; charset=utf-8", True),
        (LOGIN_PAGE, None, True),
        ("  <html><body>x</body></html>", "application/octet-stream", True),
        ('{"a": 1}', "application/json", False),
        ("404 page not found", "text/plain", False),
        ("", "text/html", True),
    ],
)
def test_looks_like_html(text, content_type, expected):
    assert looks_like_html(text, content_type) is expected


@pytest.mark.parametrize(
    "body, expected",
    [
        (BODY_401, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"),
        ('{"code":2}', '{"code":2}'),  # JSON without "message": Hera raises KeyError here
        ('{"error":"no valid authentication methods found","code":16}', "no valid authentication methods found"),
        ('{"error":{"message":"inner"}}', "inner"),
        ("upstream connect error", "upstream connect error"),
        ("", "(empty answer)"),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_server_message_of(body, expected):
    assert server_message_of(body) == expected


def test_url_without_query():
    assert url_without_query("http://h/argo/api/v1/x?fields=a&b=c#f") == "http://h/argo/api/v1/x"


# ---------------------------------------------------------------------------------------------
# the log stream


@pytest.mark.parametrize(
    "line, expected",
    [
        ('{"result":{"content":"hello","podName":"p1"}}', [("hello", "p1")]),
        ('data: {"result":{"content":"hi","podName":"p2"}} ', [("hi", "p2")]),
        ('{"result":{"podName":"p1"}}', [("", "p1")]),  # Go omits an empty line's content
        (":", []),  # SSE keepalive
        ("", []),
        ("data: ", []),
        ("event: message", []),
        (
            '{"result":{"content":"a","podName":"p"}} {"result":{"content":"b","podName":"p"}}',
            [("a", "p"), ("b", "p")],
        ),
        ('{"result":{"content":"\\u003c hello1 \\u003e","podName":"p"}}', [("< hello1 >", "p")]),
    ],
)
def test_parse_log_line(line, expected):
    assert [(e["content"], e["podName"]) for e in parse_log_line(line)] == expected


def test_parse_log_line_error_chunk_and_garbage():
    with pytest.raises(StreamError) as caught:
        parse_log_line('{"error":{"grpc_code":7,"http_code":403,"message":"forbidden","http_status":"Forbidden"}}')
    assert caught.value.http_status == 403
    with pytest.raises(ValueError):
        parse_log_line("<html>")
    with pytest.raises(ValueError):
        parse_log_line("[1, 2]")


def test_parse_log_line_reads_the_real_pasted_stream():
    """The paste of issue argo#8525: records separated by spaces, the last one cut off."""
    text = (ARGO_FIXTURES / "modern" / "issue-argo-8525-pod-log-stream-paste.txt").read_text()
    complete = text[: text.rindex("}} ") + 2]
    entries = parse_log_line(complete)
    assert entries[0]["content"].startswith('time="2022-04-28T07:04:10.665Z" level=info')
    assert entries[2]["content"] == "< hello1 >"
    assert {entry["podName"] for entry in entries} == {"steps-l5rqw-1830250225"}
