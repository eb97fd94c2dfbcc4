"""Nebari's rules, in one place: how Nebari names users, volumes, conda environments and taints.

Nebari (https://www.nebari.dev) runs Argo Workflows beside JupyterHub. Its workflow controller
accepts a workflow that carries the ``jupyterflow-override`` label and the creator's user name,
and then gives every pod the image, home and conda environments of the user's Jupyter pod. The
rules below mirror Nebari's own: the user-name sanitising of its Argo integration, the claims
JupyterHub and conda-store create per namespace, and the ``dedicated=nebari`` taint of its GPU
node groups. The local engine stands in for the claims with folders.

Pure functions of plain values; imports nothing of the package but ``errors``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import TaskDefinitionError

OVERRIDE_LABEL = "jupyterflow-override"
"""With ``"true"``, Nebari's controller gives each pod the Jupyter pod's image, home and conda environments."""

USER_LABEL = "workflows.argoproj.io/creator-preferred-username"
"""The creator's (sanitised) user name; Nebari's controller finds the Jupyter pod by it."""

GPU_TOLERATION = {"key": "dedicated", "value": "nebari", "effect": "NoSchedule"}
"""Nebari taints its GPU node groups; GPU tasks tolerate it."""

DEFAULT_TTL_SECONDS = 24 * 3600
"""Nebari workflows are deleted a day after they end unless ``--ttl`` says otherwise."""

SHORT_VOLUMES = ("home", "shared", "conda")
"""Volume short names: the user's home, a group's shared folder, the conda-store environments."""


def sanitize_username(name: str) -> str:
    """Make a user name label-safe exactly as Nebari does.

    Lower-case; every character outside ``a-z0-9`` becomes ``-`` plus its code point in hex:
    ``Jane.Doe@x.io`` → ``jane-2edoe-40x-2eio``.
    """
    out = []
    for ch in name.lower():
        if ch.isascii() and (ch.isdigit() or "a" <= ch <= "z"):
            out.append(ch)
        else:
            out.append(f"-{ord(ch):x}")
    return "".join(out)


def workflow_labels(username: str | None) -> dict[str, str]:
    """The labels a workflow needs for Nebari's controller to accept it."""
    labels = {OVERRIDE_LABEL: "true"}
    if username:
        labels[USER_LABEL] = sanitize_username(username)
    return labels


def check_short_volume(text: str, short: str, sub_path: str) -> str | None:
    """The sub-path of a short volume name as written (``shared/GROUP``), after checking its form.

    ``text`` names the option for the message, e.g. ``"--volume home/x"``.
    """
    if short == "shared" and not sub_path.strip("/"):
        raise TaskDefinitionError(f"{text!r}: name the group: shared/GROUP")
    if short != "shared" and sub_path:
        raise TaskDefinitionError(f"{text!r}: {short} takes no sub-folder; write {short}:MOUNT")
    return sub_path.strip("/") or None


def short_volume_claim(short: str, sub_path: str | None, mount_path: str | None, *,
                       namespace: str | None, username: str | None) -> tuple[str, str | None, str]:
    """``(claim, sub_path, mount_path)`` behind a short name, as Nebari's workflow controller allows it.

    ``home`` → ``jupyterhub-<ns>-share`` at ``home/<user>`` (mounted at ``/home/<user>``);
    ``shared/G`` → the same claim at ``shared/G`` (``/shared/G``); ``conda`` →
    ``conda-store-<ns>-share`` (``/home/conda``). A mount path given wins.
    """
    if not namespace:
        raise TaskDefinitionError(
            f"volume {short!r} needs the namespace (its claim is named after it)",
            hint="set ARGO_NAMESPACE (or --namespace), or give the claim: --volume jupyterhub-NS-share/...:MOUNT",
        )
    if short == "home":
        if not username:
            raise TaskDefinitionError(
                "volume 'home' needs your user name",
                hint="set JUPYTERHUB_USER (Nebari sets it), or give the claim and sub-path yourself",
            )
        return f"jupyterhub-{namespace}-share", f"home/{username}", mount_path or f"/home/{username}"
    if short == "shared":
        return f"jupyterhub-{namespace}-share", f"shared/{sub_path}", mount_path or f"/shared/{sub_path}"
    return f"conda-store-{namespace}-share", None, mount_path or "/home/conda"


def jupyter_mount(claim: str, sub_path: str | None) -> Path | None:
    """Where a Nebari Jupyter pod sees a folder of the shared claim, or None.

    The Jupyter pod mounts ``home/<user>`` at ``/home/<user>`` and ``shared/G`` at ``/shared/G``.
    """
    if not claim.startswith("jupyterhub-") or not sub_path:
        return None
    if sub_path.startswith("home/"):
        return Path("/home") / sub_path[len("home/"):]
    if sub_path.startswith("shared/"):
        return Path("/shared") / sub_path[len("shared/"):]
    return None


def local_claims(namespace: str) -> list[str]:
    """The Nebari claims the local engine stands in for, in one namespace."""
    return [f"jupyterhub-{namespace}-share", f"conda-store-{namespace}-share"]


def conda_python(env: str, *, username: str | None) -> str:
    """The python of a conda-store environment, as Nebari lays them out:
    ``NAMESPACE/ENV`` → ``/home/conda/NAMESPACE/envs/NAMESPACE-ENV/bin/python``; a bare ``ENV`` is
    in the user's own namespace; an absolute path is an environment folder."""
    if env.startswith("/"):
        return env.rstrip("/") + "/bin/python"
    namespace, separator, name = env.partition("/")
    if not separator:
        if not username:
            raise TaskDefinitionError(
                f"--conda-env {env}: which conda-store namespace? your user name is not known",
                hint="write --conda-env NAMESPACE/ENV, e.g. --conda-env nebari-git/dask",
            )
        namespace, name = username, env
    prefix = f"{namespace}-"
    folder = name if name.startswith(prefix) else prefix + name
    return f"/home/conda/{namespace}/envs/{folder}/bin/python"
