"""Connection settings: resolve .env / ARGO_* / HERA_* variables into an ``ArgoConfig``.

Everything here is a pure function of a mapping of variables plus explicit overrides, so the
rules (listed in the README's ``%argo_env`` section) can be tested as a table. The token is held
in a ``Secret`` whose repr and str never show it; a token that an HTTP header cannot carry (a
space, a control character, anything outside printable ASCII) is refused here, by the name of
the variable it came from, so it never reaches ``requests`` (whose errors would quote it).
"""

from __future__ import annotations

import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .arguments import NAMESPACE_PATTERN, NAMESPACE_RULE, Arguments, is_namespace
from .errors import ConfigError

TOKEN_VARIABLES = ("HERA_TOKEN", "ARGO_TOKEN")
# The seed's .env ends lines with shell-style comments: ARGO_NAMESPACE=argo ;# or whatever ...
SHELL_COMMENT = re.compile(r"\s*;\s*#.*$")
# What a bearer token may hold: printable ASCII without spaces (JWTs, Argo's "v2:" tokens and
# Kubernetes service account tokens all do). Anything else cannot be sent in a header as is.
TOKEN_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")

__all__ = [
    "ArgoConfig",
    "NAMESPACE_PATTERN",
    "Secret",
    "TOKEN_VARIABLES",
    "bad_token_character",
    "checked_namespace",
    "detect_nebari",
    "env_file_is_shared",
    "find_env_file",
    "merge_variables",
    "normalise_host",
    "read_env_file",
    "resolve_config",
    "strip_bearer",
]


def bad_token_character(token: str) -> int | None:
    """The 1-based position of the first character a bearer token cannot hold, or ``None``."""
    Arguments("bad_token_character").text("token", token)
    if TOKEN_CHARACTERS.match(token):
        return None
    return next(index for index, character in enumerate(token, 1) if not "\x21" <= character <= "\x7e")


class Secret:
    """A string that never shows itself: ``repr``/``str`` give ``…abcd`` (its last 4 characters).

    Calling it gives the value: Hera's ``global_config.token`` accepts a callable, so the session
    hands Hera the ``Secret`` itself and ``repr(global_config)`` shows ``Secret('…abcd')``.
    It cannot be pickled (that would write the token to disk).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        Arguments("Secret").text("value", value)
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __call__(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        if len(self._value) <= 8:
            return "…" + "*" * 4
        return "…" + self._value[-4:]

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # pickling would write the token to disk
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class ArgoConfig:
    """Where and how to reach the Argo Server.

    ``host`` always has a scheme and ends in ``/`` (Hera drops a base path without it).
    ``sources`` tells, for each setting, which variable or option it came from.
    """

    host: str
    token: Secret | None = None
    namespace: str | None = None
    verify_ssl: bool = True
    nebari: bool = False
    username: str | None = None
    local: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    # The local engine's identity (made once in its state folder) and that folder: a run keeps
    # finding its engine after a restart, on another port with another token.
    engine_id: str | None = None
    engine_folder: str | None = None

    def __post_init__(self) -> None:
        check = Arguments("ArgoConfig")
        check.text("host", self.host)
        if self.token is not None and not isinstance(self.token, Secret):
            # A plain string would show itself in every repr: say how to wrap it, never quote it.
            raise check.wrong_type("token", self.token, "a config.Secret (Secret('...')) or None")
        if self.token is not None and bad_token_character(self.token.reveal()) is not None:
            raise check.wrong_value(
                "token", f"has a character an HTTP header cannot carry (position "
                f"{bad_token_character(self.token.reveal())}); copy the token again")
        check.namespace("namespace", self.namespace, optional=True)
        for name in ("verify_ssl", "nebari", "local"):
            check.flag(name, getattr(self, name))
        check.text("username", self.username, optional=True)
        check.mapping("sources", self.sources)
        check.text("engine_id", self.engine_id, optional=True)
        check.path("engine_folder", self.engine_folder, optional=True)
        if not self.host.endswith("/"):
            object.__setattr__(self, "host", self.host + "/")

    def summary_lines(self) -> list[str]:
        """A short, token-safe description for %argo_env."""
        src = self.sources
        token = (
            f"{self.token.masked} (from {src.get('token', '?')})" if self.token else "not set"
        )
        lines = [
            f"server     {self.host}  (from {src.get('host', '?')})",
            f"namespace  {self.namespace or 'not set'}"
            + (f"  (from {src['namespace']})" if self.namespace and "namespace" in src else ""),
            f"token      {token}",
        ]
        if not self.verify_ssl:
            lines.append(f"TLS        certificate NOT verified (from {src.get('verify_ssl', '?')})")
        if self.local:
            lines.append("engine     embedded local engine (tasks run as local processes)")
        lines.append(f"nebari     {'on' if self.nebari else 'off'} ({src.get('nebari', 'detected')})")
        return lines


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def normalise_host(raw: str) -> str:
    """Add ``https://`` when there is no scheme and a trailing ``/``."""
    Arguments("normalise_host").instance("raw", raw, str)
    raw = raw.strip()
    if not raw:
        raise ConfigError("the Argo host is empty", hint="set GLOBAL_CONFIG_HOST or ARGO_SERVER")
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", raw):
        raw = "https://" + raw
    elif not raw.startswith(("http://", "https://")):
        raise ConfigError(
            f"the Argo host {raw!r} must use http:// or https://",
            hint="write the host as https://your-domain/argo",
        )
    from urllib.parse import urlsplit

    parts = urlsplit(raw)
    if not parts.hostname or any(ch.isspace() for ch in raw):
        raise ConfigError(
            f"the Argo host {raw!r} is not a URL",
            hint="write it as https://your-domain/argo (or host:port in ARGO_SERVER)",
        )
    return raw if raw.endswith("/") else raw + "/"


def strip_bearer(token: str) -> str:
    """``token`` without a leading ``Bearer `` (any case) and surrounding spaces."""
    Arguments("strip_bearer").instance("token", token, str)
    token = token.strip()
    if token.lower() == "bearer" or token.lower().startswith("bearer "):
        token = token[len("bearer"):].strip()
    return token


def detect_nebari(variables: Mapping[str, str]) -> bool:
    """Nebari runs JupyterHub and injects an Argo base href."""
    Arguments("detect_nebari").mapping("variables", variables)
    user = variables.get("JUPYTERHUB_USER") or variables.get("PREFERRED_USERNAME")
    return bool(user) and bool(variables.get("ARGO_BASE_HREF"))


def resolve_config(
    variables: Mapping[str, str],
    *,
    host: str | None = None,
    namespace: str | None = None,
    token_var: str | None = None,
    insecure: bool = False,
    nebari: bool | None = None,
) -> ArgoConfig:
    """Resolve the connection from variables and overrides, later rules winning (README, ``%argo_env``)."""
    check = Arguments("resolve_config")
    check.mapping("variables", variables)
    check.text("host", host, optional=True)
    check.text("namespace", namespace, optional=True)
    check.text("token_var", token_var, optional=True)
    check.flag("insecure", insecure)
    check.flag("nebari", nebari, optional=True)
    sources: dict[str, str] = {}
    resolved_host = _resolve_host(variables, host, sources)
    token = _resolve_token(variables, token_var, sources)
    resolved_namespace = _resolve_namespace(variables, namespace, sources)

    # TLS
    verify_ssl = True
    if _truthy(variables.get("ARGO_INSECURE_SKIP_VERIFY")):
        verify_ssl = False
        sources["verify_ssl"] = "ARGO_INSECURE_SKIP_VERIFY=true"
    if insecure:
        verify_ssl = False
        sources["verify_ssl"] = "--insecure"

    # Nebari
    if nebari is None:
        nebari_on = detect_nebari(variables)
        sources["nebari"] = "detected" if nebari_on else "not detected"
    else:
        nebari_on = nebari
        sources["nebari"] = "--nebari" if nebari else "--no-nebari"
    username = variables.get("PREFERRED_USERNAME") or variables.get("JUPYTERHUB_USER")

    return ArgoConfig(
        host=resolved_host,
        token=token,
        namespace=resolved_namespace,
        verify_ssl=verify_ssl,
        nebari=nebari_on,
        username=username,
        sources=sources,
    )


def _resolve_host(variables: Mapping[str, str], host: str | None, sources: dict[str, str]) -> str:
    """ARGO_SERVER + ARGO_BASE_HREF, then GLOBAL_CONFIG_HOST, then ``--host``; noted in ``sources``."""
    resolved_host: str | None = None
    if variables.get("ARGO_SERVER"):
        secure = (variables.get("ARGO_SECURE") or "true").strip().lower() != "false"
        base_href = (variables.get("ARGO_BASE_HREF") or "").strip()
        if base_href and not base_href.startswith("/"):
            base_href = "/" + base_href
        server = variables["ARGO_SERVER"].strip().rstrip("/")
        if "://" in server:
            raise ConfigError(
                f"ARGO_SERVER={server!r} must be host:port without a scheme",
                hint="write ARGO_SERVER=your-domain:443 and set ARGO_SECURE=false for http",
            )
        resolved_host = f"{'https' if secure else 'http'}://{server}{base_href}"
        sources["host"] = "ARGO_SERVER + ARGO_BASE_HREF"
    if variables.get("GLOBAL_CONFIG_HOST"):
        resolved_host = variables["GLOBAL_CONFIG_HOST"]
        sources["host"] = "GLOBAL_CONFIG_HOST"
    if host:
        resolved_host = host
        sources["host"] = "--host"
    if not resolved_host:
        raise ConfigError(
            "no Argo server configured",
            hint="put ARGO_SERVER (and ARGO_BASE_HREF) or GLOBAL_CONFIG_HOST in .env, "
            "pass --host URL, or use %argo_env --local to run workflows on this machine",
        )
    return normalise_host(resolved_host)


def _resolve_token(variables: Mapping[str, str], token_var: str | None, sources: dict[str, str]) -> Secret | None:
    """``--token-var VAR``, else HERA_TOKEN, else ARGO_TOKEN (a leading ``Bearer`` stripped)."""
    candidates = (token_var,) if token_var else TOKEN_VARIABLES
    for name in candidates:
        value = variables.get(name)
        if isinstance(value, str) and strip_bearer(value):
            token = strip_bearer(value)
            position = bad_token_character(token)
            if position is not None:
                # Never quote it: the message would carry the token.
                raise ConfigError(
                    f"the token in {name} has a character that cannot be sent in an HTTP header "
                    f"(character {position} of {len(token)}: a space, a line break or a non-ASCII letter)",
                    hint=f"copy the token again (Argo UI → User) and write it on one line: {name}=...",
                )
            sources["token"] = name
            return Secret(token)
    if token_var:
        raise ConfigError(
            f"--token-var {token_var}: that variable is not set or empty",
            hint=f"add {token_var}=... to your .env file or the environment",
        )
    return None


def _resolve_namespace(variables: Mapping[str, str], namespace: str | None, sources: dict[str, str]) -> str | None:
    """ARGO_NAMESPACE, then GLOBAL_CONFIG_NAMESPACE, then ``--namespace``; checked."""
    resolved_namespace = None
    for name in ("ARGO_NAMESPACE", "GLOBAL_CONFIG_NAMESPACE"):
        if variables.get(name):
            resolved_namespace = variables[name].strip()
            sources["namespace"] = name
    if namespace:
        resolved_namespace = namespace
        sources["namespace"] = "--namespace"
    if resolved_namespace is not None:
        checked_namespace(resolved_namespace, sources["namespace"])
    return resolved_namespace


def checked_namespace(namespace: str, source: str) -> str:
    """``namespace`` if it is a Kubernetes namespace, else a ``ConfigError`` naming ``source``
    (it becomes part of every URL, and a folder of the local engine)."""
    check = Arguments("checked_namespace")
    check.instance("namespace", namespace, str)
    check.text("source", source)
    if not is_namespace(namespace):
        raise ConfigError(
            f"namespace {namespace[:80]!r} (from {source}) is not a valid Kubernetes namespace",
            hint=f"{NAMESPACE_RULE}, e.g. ARGO_NAMESPACE=dev",
        )
    return namespace


def find_env_file(start: Path | None = None) -> Path | None:
    """The nearest ``.env`` from ``start`` (default: the working directory) upward."""
    start_text = Arguments("find_env_file").path("start", start, optional=True)
    here = Path(start_text if start_text is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a .env file with python-dotenv (no side effects on os.environ)."""
    from dotenv import dotenv_values

    path = Path(Arguments("read_env_file").path("path", path))
    if not path.is_file():
        raise ConfigError(
            f"env file {str(path)!r} does not exist",
            hint="check the path, or run %argo_env without a file to use the nearest .env",
        )
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read env file {str(path)!r}: {exc}") from None
    return {key: SHELL_COMMENT.sub("", value) for key, value in values.items() if value is not None}


def env_file_is_shared(path: Path) -> bool:
    """True when users other than the owner can read the file (it holds a token)."""
    path = Path(Arguments("env_file_is_shared").path("path", path))
    if sys.platform == "win32":
        return False
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def merge_variables(
    environ: Mapping[str, str], file_values: Mapping[str, str], *, file_overrides: bool
) -> dict[str, str]:
    """An explicitly named file overrides the environment; the found .env does not."""
    check = Arguments("merge_variables")
    check.mapping("environ", environ)
    check.mapping("file_values", file_values)
    check.flag("file_overrides", file_overrides)
    if file_overrides:
        return {**environ, **file_values}
    return {**file_values, **environ}
