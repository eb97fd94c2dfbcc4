"""ArgoClient: pure helpers as tables, then real HTTP against a canned server with injected faults.

Every fault test checks two things: the message a user would read (short, actionable, naming the
URL where that helps) and what happened on the wire (how many requests, so that retries happen
where they are safe and never where they could run a workflow twice).
"""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest

from hera_magics.client import SUBMISSION_LABEL, ArgoClient, api_url, path_segment, retry_delay
from hera_magics.compile import workflow_body
from hera_magics.config import ArgoConfig, Secret
from hera_magics.errors import (
    ArgoServerError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
)
from tests.argo_bodies import BODY_401, BODY_403, BODY_409, LOGIN_PAGE
from tests.canned_server import Answer, CannedServer, Recorded, argo_error


WORKFLOW_PATH = "/api/v1/workflows/argo/wf-abc12"


def workflow_json(name: str = "wf-abc12", phase: str = "Running") -> dict:
    return {
        "metadata": {"name": name, "namespace": "argo", "uid": "u-1"},
        "spec": {"entrypoint": "main"},
        "status": {"phase": phase, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": None},
    }


@pytest.fixture
def server():
    with CannedServer() as canned:
        yield canned


def make_client(
    server_or_url: CannedServer | str,
    *,
    token: str | None = "T",
    namespace: str | None = "argo",
    timeout: float = 5.0,
    retries: int = 3,
) -> ArgoClient:
    host = server_or_url.url if isinstance(server_or_url, CannedServer) else server_or_url
    config = ArgoConfig(
        host=host, token=Secret(token) if token else None, namespace=namespace
    )
    # backoff 0: the tests check how often we retry, not how long we wait.
    return ArgoClient(config, timeout=timeout, retries=retries, backoff=0.0)


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------
# pure helpers


@pytest.mark.parametrize(
    "host, path, expected",
    [
        ("https://argo.example.com/", "api/v1/version", "https://argo.example.com/api/v1/version"),
        ("https://example.com/argo/", "api/v1/version", "https://example.com/argo/api/v1/version"),
        ("https://example.com/argo", "api/v1/version", "https://example.com/argo/api/v1/version"),
        ("https://example.com/argo/", "/api/v1/x", "https://example.com/argo/api/v1/x"),
        ("http://h:2746/a/b/", "api/v1/workflows/ns/w%3Ax", "http://h:2746/a/b/api/v1/workflows/ns/w%3Ax"),
    ],
)
def test_api_url_keeps_the_base_href(host, path, expected):
    assert api_url(host, path) == expected


@pytest.mark.parametrize(
    "value, expected",
    [("wf-abc12", "wf-abc12"), ("a/b", "a%2Fb"), ("@latest", "@latest"), ("x y", "x%20y"), ("../up", "..%2Fup")],
)
def test_path_segment(value, expected):
    assert path_segment(value) == expected


@pytest.mark.parametrize(
    "attempt, backoff, expected",
    [(1, 0.5, 0.5), (2, 0.5, 1.0), (3, 0.5, 2.0), (10, 0.5, 10.0), (0, 0.5, 0.0), (3, 0.0, 0.0)],
)
def test_retry_delay(attempt, backoff, expected):
    assert retry_delay(attempt, backoff) == expected


# --------------------------------------------------------------------------------------------
# the wire: URLs, headers, queries


def test_base_href_reaches_the_api_under_it(server):
    server.script("GET", "/argo" + WORKFLOW_PATH, Answer(200, workflow_json()))
    client = make_client(server.url + "argo/")
    assert client.get_workflow("wf-abc12")["metadata"]["name"] == "wf-abc12"
    assert len(server.requests_to("GET", "/argo" + WORKFLOW_PATH)) == 1


def test_authorization_header_and_fields_query(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, {"status": {"phase": "Running"}}))
    client = make_client(server, token="abc.def")
    answer = client.get_workflow("wf-abc12", fields="status.phase")
    assert answer == {"status": {"phase": "Running"}}
    (request,) = server.requests_to("GET", WORKFLOW_PATH)
    assert request.headers["Authorization"] == "Bearer abc.def"
    assert request.headers["Accept"] == "application/json"
    assert request.param("fields") == "status.phase"


def test_no_token_sends_no_authorization_header(server):
    server.script("GET", "/api/v1/version", Answer(200, {"version": "v3.7.2"}))
    assert make_client(server, token=None).version() == {"version": "v3.7.2"}
    assert "Authorization" not in server.requests[0].headers


def test_list_delete_userinfo_version(server):
    server.script("GET", "/api/v1/workflows/argo", Answer(200, {"metadata": {}, "items": None}))
    server.script("DELETE", WORKFLOW_PATH, Answer(200, {}))
    server.script("GET", "/api/v1/userinfo", Answer(200, {}))
    server.script("GET", "/api/v1/version", Answer(200, {"version": "v3.7.2"}))
    client = make_client(server)
    assert client.list_workflows(label_selector="a=b", fields="items.metadata.name") == []
    request = server.requests_to("GET", "/api/v1/workflows/argo")[0]
    assert request.param("listOptions.labelSelector") == "a=b"
    assert request.param("fields") == "items.metadata.name"
    assert client.delete_workflow("wf-abc12") is None
    assert client.userinfo() == {}
    assert client.version()["version"] == "v3.7.2"


def test_namespace_is_required(server):
    client = make_client(server, namespace=None)
    with pytest.raises(ConfigError, match="no Argo namespace"):
        client.get_workflow("x")
    server.script("GET", "/api/v1/version", Answer(200, {"version": "v3.7.2"}))
    assert client.version() == {"version": "v3.7.2"}  # only workflow calls need a namespace


def test_actions_send_put_with_a_json_body(server):
    for action in ("stop", "terminate", "retry"):
        server.script("PUT", f"{WORKFLOW_PATH}/{action}", Answer(200, workflow_json()))
    client = make_client(server)
    client.stop_workflow("wf-abc12")
    client.terminate_workflow("wf-abc12")
    client.retry_workflow("wf-abc12")
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == ["stop", "terminate", "retry"]
    assert all(r.method == "PUT" and r.json() == {} for r in server.requests)


# --------------------------------------------------------------------------------------------
# faults: retries and recovery


def test_500_then_success_is_retried_and_recovers(server):
    server.script(
        "GET", WORKFLOW_PATH, argo_error(500, 13, "etcdserver: request timed out"), Answer(200, workflow_json())
    )
    assert make_client(server).get_workflow("wf-abc12")["status"]["phase"] == "Running"
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == 2


def test_persistent_500_gives_up_after_the_retries(server):
    server.script("GET", WORKFLOW_PATH, argo_error(503, 14, "unavailable"))
    with pytest.raises(ServerError) as caught:
        make_client(server, retries=2).get_workflow("wf-abc12")
    assert "HTTP 503" in caught.value.message and "unavailable" in caught.value.message
    assert "tried 3 times" in caught.value.message
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == 3


def test_html_502_from_a_gateway_is_a_server_error(server):
    server.script("GET", WORKFLOW_PATH, Answer(502, "<html><body>Bad Gateway</body></html>", "text/html"))
    with pytest.raises(ServerError, match="HTML error page"):
        make_client(server, retries=0).get_workflow("wf-abc12")


def test_501_is_not_retried(server):
    # Argo answers 501 for an unknown route; asking again cannot help.
    with pytest.raises(ServerError, match="HTTP 501"):
        make_client(server).get_workflow("wf-abc12")
    assert len(server.requests) == 1


@pytest.mark.parametrize("drop", ["before", "mid-body"])
def test_dropped_connection_is_retried_for_a_get(server, drop):
    server.script("GET", WORKFLOW_PATH, Answer(200, workflow_json(), drop=drop), Answer(200, workflow_json()))
    assert make_client(server).get_workflow("wf-abc12")["metadata"]["name"] == "wf-abc12"
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == 2


def test_connection_always_dropped(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, workflow_json(), drop="mid-body"))
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(server, retries=1).get_workflow("wf-abc12")
    message = caught.value.message
    assert "dropped" in message and f"{server.url}api/v1/workflows/argo/wf-abc12" in message
    assert "tried 2 times" in message


def test_hung_server_times_out_quickly(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, workflow_json(), delay=30))
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(server, timeout=0.2, retries=1).get_workflow("wf-abc12")
    assert "no answer within 0.2s" in caught.value.message
    assert f"{server.url}api/v1/workflows/argo/wf-abc12" in caught.value.message
    assert len(server.requests_to("GET", WORKFLOW_PATH)) == 2


def test_connection_refused_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/argo/"
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(url, retries=1).version()
    assert "connection was refused" in caught.value.message
    assert f"{url}api/v1/version" in caught.value.message


def test_https_to_a_plain_http_server(server):
    https_url = server.url.replace("http://", "https://")
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(https_url).version()
    assert "does not speak https" in caught.value.message
    assert "http://" in caught.value.hint
    assert server.requests == []  # nothing was ever sent, and a TLS failure is not retried


@pytest.fixture
def self_signed_server(tmp_path):
    """The canned server behind TLS with a self-signed certificate (needs the openssl CLI)."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with CannedServer() as canned:
        canned._server.socket = context.wrap_socket(canned._server.socket, server_side=True)
        yield canned


def test_self_signed_certificate_suggests_skipping_verification(self_signed_server):
    https_url = self_signed_server.url.replace("http://", "https://")
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(https_url).version()
    assert caught.value.message == f"the TLS certificate of {https_url}api/v1/version could not be verified"
    assert "ARGO_INSECURE_SKIP_VERIFY=true" in caught.value.hint
    # With verification off (ARGO_INSECURE_SKIP_VERIFY=true) the same server is reachable.
    self_signed_server.script("GET", "/api/v1/version", Answer(200, {"version": "v3.7.2"}))
    config = ArgoConfig(host=https_url, token=Secret("T"), verify_ssl=False)
    with pytest.warns(Warning):  # urllib3 warns once about the unverified request
        assert ArgoClient(config).version() == {"version": "v3.7.2"}


# --------------------------------------------------------------------------------------------
# faults: error statuses and bodies


def test_401_real_body(server):
    server.script("GET", "/api/v1/userinfo", Answer(401, BODY_401))
    with pytest.raises(AuthenticationError) as caught:
        make_client(server).userinfo()
    error = caught.value
    assert error.message == (
        "the Argo token was refused (wrong or expired). Get a new one: Argo UI → User → copy the "
        "token, put it in .env as ARGO_TOKEN, re-run %argo_env"
    )
    assert error.status == 401
    assert "token not valid" in error.hint
    assert len(server.requests) == 1  # a refused token is not retried


def test_401_without_a_token(server):
    server.script("GET", "/api/v1/userinfo", Answer(401, BODY_401))
    with pytest.raises(AuthenticationError, match="none is set"):
        make_client(server, token=None).userinfo()


def test_403_real_body(server):
    server.script("GET", "/api/v1/workflows/argo", Answer(403, BODY_403))
    with pytest.raises(PermissionDeniedError) as caught:
        make_client(server).list_workflows()
    message = caught.value.message
    assert message.startswith(
        "your role cannot list workflows in namespace argo: workflows.argoproj.io is forbidden: "
        'User "system:serviceaccount:kubeflow-argo-workflows:argo-server-user-'
    )
    assert message.endswith(
        "; ask an admin for the argo-developer role (Nebari: Keycloak group)"
    )


def test_409_on_create(server):
    server.script("POST", "/api/v1/workflows/argo", Answer(409, BODY_409))
    with pytest.raises(ConflictError) as caught:
        make_client(server).create_workflow({"metadata": {"name": "fixed"}, "spec": {}})
    assert "Workflow already exists on cluster" in caught.value.message
    assert "generateName" in caught.value.hint
    assert len(server.requests) == 1


def test_404_names_the_workflow(server):
    server.script("GET", WORKFLOW_PATH, argo_error(404, 5, 'workflows.argoproj.io "wf-abc12" not found'))
    with pytest.raises(NotFoundError) as caught:
        make_client(server).get_workflow("wf-abc12")
    assert caught.value.message == "workflow wf-abc12 was not found in namespace argo"
    assert "TTL" in caught.value.hint


def test_400_shows_the_server_message(server):
    message = "templates.main.tasks.B dependency 'X' not defined"
    server.script("POST", "/api/v1/workflows/argo", argo_error(400, 3, message))
    with pytest.raises(BadRequestError) as caught:
        make_client(server).create_workflow({"metadata": {"generateName": "x-"}, "spec": {}})
    assert caught.value.message == f"the Argo server rejected the request to create workflows: {message}"


def test_error_json_without_message(server):
    server.script("GET", WORKFLOW_PATH, Answer(400, {"code": 3}))
    with pytest.raises(BadRequestError, match='"code": 3'):
        make_client(server).get_workflow("wf-abc12")


def test_html_login_page_with_200(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, LOGIN_PAGE, "text/html"))
    with pytest.raises(UnexpectedResponseError) as caught:
        make_client(server).get_workflow("wf-abc12")
    assert caught.value.message == (
        "the server answered with an HTML page instead of JSON — the base href is probably wrong "
        "or an auth proxy (login page) is in the way; URL tried: "
        f"{server.url}api/v1/workflows/argo/wf-abc12"
    )


def test_html_after_a_redirect_to_a_login_page(server):
    server.script("GET", WORKFLOW_PATH, Answer(302, b"", headers={"Location": "/oauth2/sign_in?rd=x"}))
    server.script("GET", "/oauth2/sign_in", Answer(200, LOGIN_PAGE, "text/html"))
    with pytest.raises(UnexpectedResponseError) as caught:
        make_client(server).get_workflow("wf-abc12")
    assert f"(redirected to {server.url}oauth2/sign_in)" in caught.value.message


def test_html_404_means_a_wrong_path_not_a_missing_workflow(server):
    server.script("GET", WORKFLOW_PATH, Answer(404, "<html><body>404</body></html>", "text/html"))
    with pytest.raises(UnexpectedResponseError, match="HTML page"):
        make_client(server).get_workflow("wf-abc12")


def test_invalid_json(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, '{"metadata": {"name": "wf-ab', "application/json"))
    with pytest.raises(UnexpectedResponseError) as caught:
        make_client(server).get_workflow("wf-abc12")
    assert "not JSON" in caught.value.message
    assert f"{server.url}api/v1/workflows/argo/wf-abc12" in caught.value.message


def test_empty_answer_to_a_get(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, b""))
    with pytest.raises(UnexpectedResponseError, match="the answer is empty"):
        make_client(server).get_workflow("wf-abc12")


def test_redirect_loop(server):
    server.script("GET", WORKFLOW_PATH, Answer(302, b"", headers={"Location": WORKFLOW_PATH}))
    with pytest.raises(ConnectionFailedError, match="too many redirects"):
        make_client(server).get_workflow("wf-abc12")
    assert len(server.requests) == 31  # requests follows 30 redirects; we do not try again


def test_json_that_is_not_an_object(server):
    server.script("GET", WORKFLOW_PATH, Answer(200, [1, 2]))
    with pytest.raises(UnexpectedResponseError, match="not an object"):
        make_client(server).get_workflow("wf-abc12")


def test_stop_of_a_finished_workflow_is_a_conflict_and_not_retried(server):
    server.script(
        "PUT",
        f"{WORKFLOW_PATH}/stop",
        argo_error(500, 13, 'cannot shutdown a completed workflow: workflow: "wf-abc12", namespace: "argo"'),
    )
    with pytest.raises(ConflictError, match="already finished"):
        make_client(server).stop_workflow("wf-abc12")
    assert len(server.requests) == 1


def test_stop_is_retried_but_retry_is_not(server):
    server.script("PUT", f"{WORKFLOW_PATH}/stop", argo_error(500, 13, "boom"), Answer(200, workflow_json()))
    server.script("PUT", f"{WORKFLOW_PATH}/retry", argo_error(500, 13, "boom"))
    client = make_client(server)
    client.stop_workflow("wf-abc12")
    assert len(server.requests_to("PUT", f"{WORKFLOW_PATH}/stop")) == 2
    with pytest.raises(ServerError):
        client.retry_workflow("wf-abc12")
    assert len(server.requests_to("PUT", f"{WORKFLOW_PATH}/retry")) == 1


# --------------------------------------------------------------------------------------------
# create: never lost, never duplicated


def created_from(request: Recorded, name: str = "nb-x7k2p") -> dict:
    """What the server would answer to ``request`` (a create): its workflow with a name."""
    workflow = request.json()["workflow"]
    workflow["metadata"]["name"] = name
    workflow["status"] = {"startedAt": None, "finishedAt": None}
    return workflow


def test_create_sends_a_labelled_workflow_and_returns_the_raw_answer(server):
    server.script("POST", "/api/v1/workflows/argo", lambda request: Answer(200, created_from(request)))
    created = make_client(server).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    (request,) = server.requests
    sent = request.json()["workflow"]
    assert sent["metadata"]["namespace"] == "argo"
    assert len(sent["metadata"]["labels"][SUBMISSION_LABEL]) == 32
    assert created["metadata"]["name"] == "nb-x7k2p"
    assert request.headers["Content-Type"] == "application/json"


def test_create_the_body_of_a_hera_workflow(server):
    from hera.workflows import DAG, Script, Workflow

    cell = Script(name="cell-a", source="print(1)", image="python:3.11")
    with Workflow(generate_name="nb-", entrypoint="main", namespace="team") as workflow:
        with DAG(name="main"):
            cell(name="a")
    server.script("POST", "/api/v1/workflows/team", lambda request: Answer(200, created_from(request)))
    created = make_client(server).create_workflow(workflow_body(workflow))
    assert created["metadata"]["namespace"] == "team"  # the workflow's own namespace wins
    assert created["spec"]["templates"][1]["name"] == "cell-a"


def test_create_takes_a_dict_or_a_create_request_and_leaves_it_unchanged(server):
    server.script("POST", "/api/v1/workflows/argo", lambda request: Answer(200, created_from(request)))
    workflow = {"metadata": {"generateName": "nb-"}, "spec": {"entrypoint": "main"}}
    for sent in (workflow, {"workflow": workflow}):
        created = make_client(server).create_workflow(sent)
        assert created["spec"] == {"entrypoint": "main"} and created["metadata"]["namespace"] == "argo"
    assert workflow == {"metadata": {"generateName": "nb-"}, "spec": {"entrypoint": "main"}}
    with pytest.raises(TypeError, match="takes the workflow as a dict"):
        make_client(server).create_workflow(42)  # type: ignore[arg-type]
    assert len(server.requests_to("POST", "/api/v1/workflows/argo")) == 2


def test_create_namespace_argument_wins(server):
    server.script("POST", "/api/v1/workflows/other", lambda request: Answer(200, created_from(request)))
    created = make_client(server).create_workflow(
        {"metadata": {"generateName": "x-", "namespace": "team"}, "spec": {}}, namespace="other"
    )
    assert created["metadata"]["namespace"] == "other"


def test_create_500_is_not_blindly_retried_and_nothing_was_created(server):
    server.script("POST", "/api/v1/workflows/argo", argo_error(500, 2, "etcd is down"))
    server.script("GET", "/api/v1/workflows/argo", Answer(200, {"metadata": {}, "items": None}))
    with pytest.raises(ServerError) as caught:
        make_client(server).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    assert "etcd is down" in caught.value.message
    assert "nothing was created, so it is safe to submit again" in caught.value.message
    assert len(server.requests_to("POST", "/api/v1/workflows/argo")) == 1
    (lookup,) = server.requests_to("GET", "/api/v1/workflows/argo")
    posted = server.requests_to("POST", "/api/v1/workflows/argo")[0].json()["workflow"]
    label = posted["metadata"]["labels"][SUBMISSION_LABEL]
    assert lookup.param("listOptions.labelSelector") == f"{SUBMISSION_LABEL}={label}"


def test_create_whose_answer_was_lost_returns_the_created_workflow(server):
    """The server created the workflow but the connection dropped: no run lost, none doubled."""
    posted: list[dict] = []

    def create(request: Recorded) -> Answer:
        posted.append(created_from(request))
        return Answer(200, posted[-1], drop="mid-body")

    def lookup(request: Recorded) -> Answer:
        selector = request.param("listOptions.labelSelector")
        label = posted[0]["metadata"]["labels"][SUBMISSION_LABEL]
        items = [posted[0]] if selector == f"{SUBMISSION_LABEL}={label}" else None
        return Answer(200, {"metadata": {}, "items": items})

    server.script("POST", "/api/v1/workflows/argo", create)
    server.script("GET", "/api/v1/workflows/argo", lookup)
    created = make_client(server).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    assert created["metadata"]["name"] == "nb-x7k2p"
    assert len(posted) == 1


def test_create_refused_with_501_needs_no_lookup(server):
    with pytest.raises(ServerError, match="HTTP 501") as caught:
        make_client(server).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    assert "created" not in caught.value.message
    assert [r.method for r in server.requests] == ["POST"]


def test_create_when_the_lookup_fails_too(server):
    server.script("POST", "/api/v1/workflows/argo", argo_error(500, 2, "boom"))
    server.script("GET", "/api/v1/workflows/argo", Answer(403, BODY_403))
    with pytest.raises(ServerError) as caught:
        make_client(server).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    assert "whether the workflow was created is unknown" in caught.value.message
    assert SUBMISSION_LABEL in caught.value.hint
    assert len(server.requests_to("POST", "/api/v1/workflows/argo")) == 1


def test_create_that_never_reached_the_server_is_retried():
    # Connection refused: the request was never sent, so trying again cannot duplicate a run.
    with pytest.raises(ConnectionFailedError, match="tried 3 times"):
        make_client(f"http://127.0.0.1:{free_port()}/", retries=2).create_workflow(
            {"metadata": {"generateName": "nb-"}, "spec": {}}
        )


def test_create_timeout_is_not_retried(server):
    server.script("POST", "/api/v1/workflows/argo", Answer(200, {}, delay=30))
    server.script("GET", "/api/v1/workflows/argo", Answer(200, {"metadata": {}, "items": None}))
    with pytest.raises(ConnectionFailedError) as caught:
        make_client(server, timeout=0.3).create_workflow({"metadata": {"generateName": "nb-"}, "spec": {}})
    assert "check the Argo UI before submitting again" in caught.value.message
    assert len(server.requests_to("POST", "/api/v1/workflows/argo")) == 1


# --------------------------------------------------------------------------------------------
# logs


LOG_PATH = WORKFLOW_PATH + "/log"


def ndjson(*lines: tuple[str, str]) -> str:
    return "".join(json.dumps({"result": {"content": c, "podName": p}}) + "\n" for c, p in lines)


def test_logs_ndjson(server):
    server.script("GET", LOG_PATH, Answer(200, ndjson(("one", "p1"), ("", "p1"), ("three", "p1"))))
    entries = list(make_client(server).workflow_logs("wf-abc12", pod_name="p1", grep="o"))
    assert entries == [
        {"content": "one", "podName": "p1"},
        {"content": "", "podName": "p1"},
        {"content": "three", "podName": "p1"},
    ]
    (request,) = server.requests
    assert request.param("podName") == "p1"
    assert request.param("logOptions.container") == "main"
    assert request.param("grep") == "o"
    assert request.param("logOptions.follow") is None


def test_logs_sse_follow(server):
    event = 'data: {"result":{"content":"%s","podName":"p1"}} \n\n\n'
    body = ":\n" + event % "first" + ":\n" + event % "second"
    server.script("GET", LOG_PATH, Answer(200, body, "text/event-stream"))
    entries = list(make_client(server).workflow_logs("wf-abc12", follow=True))
    assert [e["content"] for e in entries] == ["first", "second"]
    (request,) = server.requests
    assert request.headers["Accept"] == "text/event-stream"
    assert request.param("logOptions.follow") == "true"


def test_followed_lines_arrive_as_they_are_written(server):
    gate = threading.Event()
    answer = Answer(200, chunks=[ndjson(("early", "p")), ndjson(("late", "p"))], chunk_gate=gate)
    server.script("GET", LOG_PATH, answer)
    entries = make_client(server).workflow_logs("wf-abc12", follow=True)
    assert next(entries)["content"] == "early"  # before the server has sent the second line
    gate.set()
    assert [e["content"] for e in entries] == ["late"]
    assert answer.gate_was_open is True


def test_logs_errors(server):
    server.script("GET", LOG_PATH, argo_error(404, 5, 'workflows.argoproj.io "wf-abc12" not found'))
    with pytest.raises(NotFoundError):
        make_client(server).workflow_logs("wf-abc12")  # raised at the call, before iterating

    error_chunk = '{"error":{"grpc_code":13,"http_code":500,"message":"pods is forbidden","http_status":"x"}}\n'
    server.script("GET", LOG_PATH, Answer(200, ndjson(("ok", "p")) + error_chunk))
    entries = make_client(server).workflow_logs("wf-abc12")
    assert next(entries)["content"] == "ok"
    with pytest.raises(ServerError, match="pods is forbidden"):
        next(entries)

    server.script("GET", LOG_PATH, Answer(200, LOGIN_PAGE, "text/html"))
    with pytest.raises(UnexpectedResponseError, match="HTML page"):
        list(make_client(server).workflow_logs("wf-abc12"))

    server.script("GET", LOG_PATH, Answer(200, "not json\n", "application/json"))
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        list(make_client(server).workflow_logs("wf-abc12"))


def test_log_stream_dropped_mid_way(server):
    server.script("GET", LOG_PATH, Answer(200, ndjson(("a", "p"), ("b", "p"), ("c", "p")), drop="mid-body"))
    with pytest.raises(ConnectionFailedError, match="log stream broke off"):
        list(make_client(server).workflow_logs("wf-abc12"))


# --------------------------------------------------------------------------------------------
# the token never leaks


def test_the_token_appears_in_no_message_repr_or_log(server, caplog):
    token = "tok-SECRET-0123456789abcdef"
    server.script("GET", "/api/v1/userinfo", Answer(401, BODY_401))
    # A misbehaving proxy that echoes the Authorization header into its error page.
    server.script("GET", "/api/v1/version", Answer(500, {"message": f"bad header Bearer {token}"}))
    server.script("GET", WORKFLOW_PATH, Answer(200, f"not json {token}", "text/plain"))
    server.script("GET", "/api/v1/workflows/argo", Answer(403, BODY_403))
    server.script("DELETE", WORKFLOW_PATH, Answer(200, LOGIN_PAGE, "text/html"))
    server.script("PUT", f"{WORKFLOW_PATH}/stop", Answer(200, {}, delay=30))
    server.script("GET", LOG_PATH, Answer(200, f"junk {token}\n"))
    server.script("POST", "/api/v1/workflows/argo", argo_error(500, 2, f"echo {token}"))

    client = make_client(server, token=token, timeout=0.3, retries=1)
    calls = [
        client.userinfo,
        client.version,
        lambda: client.get_workflow("wf-abc12"),
        lambda: client.list_workflows(),
        lambda: client.delete_workflow("wf-abc12"),
        lambda: client.stop_workflow("wf-abc12"),
        lambda: list(client.workflow_logs("wf-abc12")),
        lambda: client.create_workflow({"metadata": {"generateName": "x-"}, "spec": {}}),
        lambda: make_client(f"http://127.0.0.1:{free_port()}/", token=token, retries=0).version(),
    ]
    captured: list[str] = [repr(client), str(client.config), repr(client.config)]
    with caplog.at_level(logging.DEBUG):
        for call in calls:
            with pytest.raises(ArgoServerError) as caught:
                call()
            error = caught.value
            captured += [str(error), repr(error), error.message, str(error.hint), repr(error.args)]
            captured += error._render_traceback_()
            captured.append(str(error.server_message))
    captured += [record.getMessage() for record in caplog.records]
    assert len(captured) > 50 and any("DEBUG" == r.levelname for r in caplog.records)
    leaks = [text for text in captured if token in text]
    assert leaks == []
    assert any("bad header Bearer …" in text for text in captured)  # scrubbed, not dropped
