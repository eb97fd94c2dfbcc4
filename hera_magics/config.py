"""Connection settings: resolve .env / ARGO_* / HERA_* variables into an ``ArgoConfig``.

Everything here is a pure function of a mapping of variables plus explicit overrides, so the
rules (listed in the README's ``%argo_env`` section) can be tested as a table. The token is held
in a ``Secret`` whose repr and str never show it.
"""

from __future__ import annotations

import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

TOKEN_VARIABLES = ("HERA_TOKEN", "ARGO_TOKEN")
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The seed's .env ends lines with shell-style comments: ARGO_NAMESPACE=argo ;# or whatever ...
SHELL_COMMENT = re.compile(r"\s*;\s*#.*$")


class Secret:
    """A string that never shows itself: ``repr``/``str`` give ``…abcd`` (its last 4 characters)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
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

    def __post_init__(self) -> None:
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
    token = token.strip()
    if token.lower() == "bearer" or token.lower().startswith("bearer "):
        token = token[len("bearer"):].strip()
    return token


def detect_nebari(variables: Mapping[str, str]) -> bool:
    """Nebari runs JupyterHub and injects an Argo base href."""
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
        if value is not None and strip_bearer(value):
            sources["token"] = name
            return Secret(strip_bearer(value))
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
    if resolved_namespace is not None and not NAMESPACE_PATTERN.match(resolved_namespace):
        raise ConfigError(
            f"namespace {resolved_namespace!r} (from {sources['namespace']}) is not a valid Kubernetes namespace",
            hint="lower-case letters, digits and '-', e.g. ARGO_NAMESPACE=dev",
        )
    return resolved_namespace


def find_env_file(start: Path | None = None) -> Path | None:
    """The nearest ``.env`` from ``start`` (default: the working directory) upward."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a .env file with python-dotenv (no side effects on os.environ)."""
    from dotenv import dotenv_values

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
    if sys.platform == "win32":
        return False
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def merge_variables(
    environ: Mapping[str, str], file_values: Mapping[str, str], *, file_overrides: bool
) -> dict[str, str]:
    """An explicitly named file overrides the environment; the found .env does not."""
    if file_overrides:
        return {**environ, **file_values}
    return {**file_values, **environ}
