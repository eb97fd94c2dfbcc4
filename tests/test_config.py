"""Connection resolution (the README's %argo_env rules), as a table of cases, plus the %argo_env summary."""

from __future__ import annotations

import textwrap

import pytest

from hera_magics.config import Secret, detect_nebari, resolve_config
from hera_magics.nebari import sanitize_username
from hera_magics.errors import ConfigError
from tests.conftest import magics_of

SEED_ENV = {
    "ARGO_SERVER": "nebari.example.org:443",
    "ARGO_HTTP1": "true",
    "ARGO_SECURE": "true",
    "ARGO_BASE_HREF": "/argo",
    "ARGO_TOKEN": "Bearer seed-token-abcdef123456",
    "ARGO_NAMESPACE": "argo",
    "KUBECONFIG": "/dev/null",
    "GLOBAL_CONFIG_HOST": "nebari.example.org/argo",
    "GLOBAL_CONFIG_NAMESPACE": "dev",
}

HOST_CASES = [
    # (variables, overrides, expected host, expected source)
    ({"ARGO_SERVER": "h:2746"}, {}, "https://h:2746/", "ARGO_SERVER + ARGO_BASE_HREF"),
    ({"ARGO_SERVER": "h:2746", "ARGO_SECURE": "false"}, {}, "http://h:2746/", "ARGO_SERVER + ARGO_BASE_HREF"),
    ({"ARGO_SERVER": "h:443", "ARGO_BASE_HREF": "/argo"}, {}, "https://h:443/argo/", "ARGO_SERVER + ARGO_BASE_HREF"),
    ({"ARGO_SERVER": "h:443", "ARGO_BASE_HREF": "argo/"}, {}, "https://h:443/argo/", "ARGO_SERVER + ARGO_BASE_HREF"),
    ({"ARGO_SERVER": "h:443", "GLOBAL_CONFIG_HOST": "g.org/argo"}, {}, "https://g.org/argo/", "GLOBAL_CONFIG_HOST"),
    ({"GLOBAL_CONFIG_HOST": "http://g.org:8080"}, {}, "http://g.org:8080/", "GLOBAL_CONFIG_HOST"),
    ({"GLOBAL_CONFIG_HOST": "g.org"}, {"host": "http://override:1/x"}, "http://override:1/x/", "--host"),
    (SEED_ENV, {}, "https://nebari.example.org/argo/", "GLOBAL_CONFIG_HOST"),
]


@pytest.mark.parametrize("variables, overrides, host, source", HOST_CASES)
def test_host_resolution(variables, overrides, host, source):
    config = resolve_config(variables, **overrides)
    assert config.host == host
    assert config.sources["host"] == source


TOKEN_CASES = [
    ({"ARGO_TOKEN": "Bearer abc"}, {}, "abc", "ARGO_TOKEN"),
    ({"ARGO_TOKEN": "abc"}, {}, "abc", "ARGO_TOKEN"),
    ({"ARGO_TOKEN": "Bearer a", "HERA_TOKEN": "h"}, {}, "h", "HERA_TOKEN"),
    ({"HERA_TOKEN": "  ", "ARGO_TOKEN": "a"}, {}, "a", "ARGO_TOKEN"),
    ({"MY_TOKEN": "Bearer m", "ARGO_TOKEN": "a"}, {"token_var": "MY_TOKEN"}, "m", "MY_TOKEN"),
    ({}, {}, None, None),
]


@pytest.mark.parametrize("variables, overrides, token, source", TOKEN_CASES)
def test_token_resolution(variables, overrides, token, source):
    config = resolve_config({"ARGO_SERVER": "h:1", **variables}, **overrides)
    assert (config.token.reveal() if config.token else None) == token
    assert config.sources.get("token") == source


NAMESPACE_CASES = [
    ({"ARGO_NAMESPACE": "a"}, {}, "a"),
    ({"ARGO_NAMESPACE": "a", "GLOBAL_CONFIG_NAMESPACE": "g"}, {}, "g"),
    ({"ARGO_NAMESPACE": "a", "GLOBAL_CONFIG_NAMESPACE": "g"}, {"namespace": "n"}, "n"),
    ({}, {}, None),
]


@pytest.mark.parametrize("variables, overrides, namespace", NAMESPACE_CASES)
def test_namespace_resolution(variables, overrides, namespace):
    assert resolve_config({"ARGO_SERVER": "h:1", **variables}, **overrides).namespace == namespace


@pytest.mark.parametrize(
    "variables, overrides, verify",
    [({}, {}, True), ({"ARGO_INSECURE_SKIP_VERIFY": "true"}, {}, False),
     ({"ARGO_INSECURE_SKIP_VERIFY": "false"}, {}, True), ({}, {"insecure": True}, False)],
)
def test_tls_verification(variables, overrides, verify):
    assert resolve_config({"ARGO_SERVER": "h:1", **variables}, **overrides).verify_ssl is verify


@pytest.mark.parametrize(
    "name, label",
    [("Jane.Doe@x.io", "jane-2edoe-40x-2eio"), ("alice", "alice"), ("Bob_Smith", "bob-5fsmith"),
     ("user+tag", "user-2btag"), ("émile", "-e9mile"), ("a b", "a-20b"), ("123", "123")],
)
def test_username_sanitised_like_nebari(name, label):
    assert sanitize_username(name) == label


def test_nebari_detection():
    assert detect_nebari({"JUPYTERHUB_USER": "jane", "ARGO_BASE_HREF": "/argo"})
    assert not detect_nebari({"JUPYTERHUB_USER": "jane"})
    assert not detect_nebari({"ARGO_BASE_HREF": "/argo"})
    assert resolve_config({"ARGO_SERVER": "h:1", "JUPYTERHUB_USER": "j", "ARGO_BASE_HREF": "/a"}).nebari
    assert not resolve_config({"ARGO_SERVER": "h:1", "JUPYTERHUB_USER": "j", "ARGO_BASE_HREF": "/a"}, nebari=False).nebari


def test_secret_never_shows_itself():
    secret = Secret("super-secret-token-WXYZ")
    for text in (repr(secret), str(secret), f"{secret}", secret.masked):
        assert "super-secret" not in text
    assert secret.masked == "…WXYZ"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_summary_masks_the_token_and_names_sources():
    config = resolve_config(SEED_ENV)
    text = "\n".join(config.summary_lines())
    assert "seed-token" not in text
    assert "…3456 (from ARGO_TOKEN)" in text
    assert "https://nebari.example.org/argo/" in text and "GLOBAL_CONFIG_HOST" in text
    assert "dev" in text and "GLOBAL_CONFIG_NAMESPACE" in text


# ---------------------------------------------------------------------------------------------
# through the magic


def test_argo_env_reads_the_nearest_env_file_upward(ip, tmp_path, capsys, monkeypatch):
    (tmp_path / ".env").write_text("ARGO_SERVER=up.example.org:443\nARGO_TOKEN=Bearer token-from-file-9876\nARGO_NAMESPACE=n\n")
    (tmp_path / ".env").chmod(0o600)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    ip.run_line_magic("argo_env", "")
    text = capsys.readouterr().out
    assert str(tmp_path / ".env") in text
    assert "https://up.example.org:443/" in text
    assert "…9876" in text and "token-from-file" not in text
    assert "warning" not in text


def test_named_file_overrides_the_environment_but_found_file_does_not(ip, tmp_path, monkeypatch):
    monkeypatch.setenv("ARGO_SERVER", "from-environment:1")
    (tmp_path / ".env").write_text("ARGO_SERVER=from-found-file:1\n")
    ip.run_line_magic("argo_env", "")
    assert magics_of(ip).session.config.host == "https://from-environment:1/"
    named = tmp_path / "named.env"
    named.write_text("ARGO_SERVER=from-named-file:1\n")
    ip.run_line_magic("argo_env", str(named))
    assert magics_of(ip).session.config.host == "https://from-named-file:1/"


def test_no_env_file_uses_the_process_environment(ip, monkeypatch, capsys):
    monkeypatch.setenv("ARGO_SERVER", "env-only:2746")
    monkeypatch.setenv("ARGO_SECURE", "false")
    ip.run_line_magic("argo_env", "")
    text = capsys.readouterr().out
    assert "none (process environment only)" in text
    assert magics_of(ip).session.config.host == "http://env-only:2746/"


def test_world_readable_env_file_warns(ip, tmp_path, capsys):
    env_file = tmp_path / ".env"
    env_file.write_text("ARGO_SERVER=h:1\nARGO_TOKEN=abcdefghijklmnop\nARGO_NAMESPACE=n\n")
    env_file.chmod(0o644)
    ip.run_line_magic("argo_env", "")
    text = capsys.readouterr().out
    assert f"chmod 600 {env_file}" in text
    env_file.chmod(0o600)
    ip.run_line_magic("argo_env", "")
    assert "chmod" not in capsys.readouterr().out


def test_insecure_is_said(ip, tmp_path, capsys):
    (tmp_path / ".env").write_text("ARGO_SERVER=h:1\nARGO_INSECURE_SKIP_VERIFY=true\n")
    ip.run_line_magic("argo_env", "")
    assert "certificate NOT verified (from ARGO_INSECURE_SKIP_VERIFY=true)" in capsys.readouterr().out


def test_argo_env_applies_hera_global_config(ip, tmp_path):
    from hera.shared import global_config

    (tmp_path / ".env").write_text(textwrap.dedent("""\
        ARGO_SERVER=h.example.org:443
        ARGO_BASE_HREF=/argo
        ARGO_TOKEN=Bearer hera-token-1234
        ARGO_NAMESPACE=dev
        """))
    ip.run_line_magic("argo_env", "")
    assert global_config.host == "https://h.example.org:443/argo/"
    assert global_config.namespace == "dev"
    assert global_config.token == "hera-token-1234"


def test_missing_server_error_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        resolve_config({})
    assert "no Argo server configured" in caught.value.message


def test_the_seed_env_file_works_verbatim(ip, tmp_path, capsys):
    """The .env block of the seed document, pasted as it is (with its `;#` comments)."""
    (tmp_path / ".env").write_text(textwrap.dedent("""\
        # Copied from Argo UI
        ARGO_SERVER='nebari.example.org:443'
        ARGO_HTTP1=true
        ARGO_SECURE=true
        ARGO_BASE_HREF=/argo
        ARGO_TOKEN='Bearer seed-file-token-7890'
        ARGO_NAMESPACE=argo ;# or whatever your namespace is
        KUBECONFIG=/dev/null ;# recommended

        # Specify Hera arguments for the global config
        GLOBAL_CONFIG_HOST='nebari.example.org/argo'
        GLOBAL_CONFIG_NAMESPACE='dev'  # might be different from Argo namespace, e.g., 'dev'
        """))
    (tmp_path / ".env").chmod(0o600)
    ip.run_line_magic("argo_env", "")
    config = magics_of(ip).session.config
    assert config.namespace == "dev"
    assert config.host == "https://nebari.example.org/argo/"
    assert config.token.reveal() == "seed-file-token-7890"
    from hera_magics.config import read_env_file

    assert read_env_file(tmp_path / ".env")["ARGO_NAMESPACE"] == "argo"
    assert read_env_file(tmp_path / ".env")["KUBECONFIG"] == "/dev/null"


@pytest.mark.parametrize("variables, overrides, message", [
    ({"ARGO_SERVER": "h:1", "ARGO_NAMESPACE": "Bad NS"}, {}, "not a valid Kubernetes namespace"),
    ({"ARGO_SERVER": "h:1"}, {"namespace": "Under_score"}, "not a valid Kubernetes namespace"),
    ({}, {"host": "not a url"}, "is not a URL"),
    ({"GLOBAL_CONFIG_HOST": "https://"}, {}, "is not a URL"),
])
def test_bad_settings_are_refused(variables, overrides, message):
    with pytest.raises(ConfigError) as caught:
        resolve_config(variables, **overrides)
    assert message in caught.value.message


def test_a_bearer_prefix_alone_is_no_token():
    assert resolve_config({"ARGO_SERVER": "h:1", "ARGO_TOKEN": "Bearer "}).token is None
