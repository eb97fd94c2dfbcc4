"""``%argo_env --check`` against canned real-server answers, and the token never leaking anywhere."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from tests.canned_server import Answer, CannedServer, argo_error
from tests.conftest import magics_of

TOKEN = "tok-KNOWN-secret-0123456789abcdef"

USERINFO = {
    "issuer": "kubernetes/serviceaccount",
    "subject": "system:serviceaccount:dev:argo-developer",
    "serviceAccountName": "argo-developer",
    "serviceAccountNamespace": "dev",
}
VERSION = {"version": "v3.7.2", "gitCommit": "abc", "platform": "linux/amd64"}
FORBIDDEN = ("workflows.argoproj.io is forbidden: User \"system:serviceaccount:dev:argo-viewer\" cannot list "
             "resource \"workflows\" in API group \"argoproj.io\" in the namespace \"dev\"")
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Keycloak login</body></html>"


@pytest.fixture
def server():
    with CannedServer() as canned:
        yield canned


def _connect(ip, tmp_path, url: str, *, base_href: str = "") -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"GLOBAL_CONFIG_HOST={url.rstrip('/')}{base_href}\nARGO_TOKEN='Bearer {TOKEN}'\nARGO_NAMESPACE=dev\n"
    )
    env_file.chmod(0o600)


def test_check_reports_who_and_version(ip, tmp_path, server, capsys):
    server.script("GET", "/argo/api/v1/userinfo", Answer(200, USERINFO))
    server.script("GET", "/argo/api/v1/version", Answer(200, VERSION))
    _connect(ip, tmp_path, server.url, base_href="/argo")
    ip.run_line_magic("argo_env", "--check")
    text = capsys.readouterr().out
    assert "you are system:serviceaccount:dev:argo-developer (service account dev/argo-developer)" in text
    assert "Argo v3.7.2" in text
    sent = server.requests_to("GET", "/argo/api/v1/userinfo")[0]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"  # the base href was kept, the token sent


@pytest.mark.parametrize(
    "answer, expected",
    [
        (argo_error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"),
         "the Argo token was refused (wrong or expired)"),
        (argo_error(403, 7, FORBIDDEN), "your role cannot"),
        (Answer(200, LOGIN_PAGE, content_type="text/html"), "HTML page"),
    ],
    ids=["401", "403", "html"],
)
def test_check_diagnoses(ip, tmp_path, server, capsys, answer, expected):
    server.script("GET", "/api/v1/userinfo", answer)
    server.script("GET", "/api/v1/version", Answer(200, VERSION))
    _connect(ip, tmp_path, server.url)
    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert expected in text
    assert "Traceback" not in text
    assert TOKEN not in text


def test_check_refused_connection_names_the_url(ip, tmp_path, capsys):
    with CannedServer() as canned:
        url = canned.url  # a port that was just free and is now closed
    _connect(ip, tmp_path, url)
    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert "127.0.0.1" in text and "api/v1/userinfo" in text
    assert "Traceback" not in text


def test_token_never_appears_anywhere(ip, tmp_path, server, capsys, isolated_state):
    """Run everything a user would, capture every output, repr, log line and file, grep for the token."""
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        server.script("GET", "/api/v1/userinfo", Answer(200, USERINFO))
        server.script("GET", "/api/v1/version", Answer(200, VERSION))
        server.script("POST", "/api/v1/workflows/dev",
                      argo_error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"))
        _connect(ip, tmp_path, server.url)
        cells = [
            "%argo_env --check",
            "%%argo_task --env A=1\ndef hello(name: str = 'x') -> str:\n    return 'hi ' + name\n",
            "%argo_tasks",
            "%argo_dag --dry-run --yaml wf.yaml hello(name='n')",
            "%argo_dag hello",  # 401 from the server
            "%argo_env --token-var MISSING_VARIABLE",
            "%argo_env --check --host http://127.0.0.1:9/",  # refused
        ]
        captured: list[str] = []
        for cell in cells:
            result = ip.run_cell(cell)
            captured.append(repr(result.error_in_exec))
            captured.append(str(result.error_in_exec))
        session = magics_of(ip).session
        captured += [repr(session.config), str(session.config), repr(session), repr(session.client())]
        captured += ["\n".join(session.config.summary_lines())]
        output = capsys.readouterr()
        captured += [output.out, output.err, log_stream.getvalue()]
        for folder in (tmp_path, isolated_state):
            for path in Path(folder).rglob("*"):
                if path.is_file() and path.name != ".env":
                    captured.append(path.read_text(encoding="utf-8", errors="replace"))
        everything = "\n".join(captured)
        assert "apiVersion" in everything  # the YAML was captured, so the grep had something to look at
        assert "…cdef" in everything  # the masked form is shown
        assert TOKEN not in everything
        assert TOKEN[:12] not in everything
        # the workflow does not carry the token into any pod's environment
        assert TOKEN not in (tmp_path / "wf.yaml").read_text()
        assert not any(TOKEN in value for value in os.environ.values())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_check_against_a_hung_server_answers_in_seconds(ip, tmp_path, server, capsys):
    server.script("GET", "/api/v1/userinfo", Answer(200, USERINFO, delay=60))
    _connect(ip, tmp_path, server.url)
    from hera_magics.session import CHECK_TIMEOUT_SECONDS

    result = ip.run_cell("%argo_env --check")
    text = capsys.readouterr().out
    assert not result.success
    assert "api/v1/userinfo" in text and "Traceback" not in text
    assert len(server.requests_to("GET", "/api/v1/userinfo")) == 1  # one try, not four
    assert CHECK_TIMEOUT_SECONDS <= 10
