"""Images whose own program the local engine stands in for (pure functions).

The engine runs a container's command on this machine, not in its image, so a container without
a command (which runs its image's entrypoint) is refused at create — except for the images listed
here, whose entrypoint the engine knows and runs as a module of its own. Today that is
``argoproj/argosay:v2``, Argo's test image, which Argo's examples and e2e tests run without a
command (``argosay`` says what it does).
"""

from __future__ import annotations

from typing import Any, Mapping

STAND_INS: dict[str, tuple[str, list[str]]] = {
    # image -> (its entrypoint, the command that stands in for it here)
    "argoproj/argosay:v2": ("/argosay", ["python", "-m", "hera_magics.local.argosay"]),
}

# Docker Hub's default registry and namespace, which an image name may spell out or leave out.
DEFAULT_REGISTRIES = ("docker.io/", "index.docker.io/")


def image_name(image: Any) -> str:
    """``image`` without the Docker Hub registry a name may spell out."""
    text = str(image or "")
    for registry in DEFAULT_REGISTRIES:
        if text.startswith(registry):
            return text[len(registry):]
    return text


def container_command(container: Mapping[str, Any]) -> list[Any]:
    """The command a container runs on this machine: its own, else (for an image the engine stands
    in for) the stand-in of its image's entrypoint; the entrypoint's path given as the command is
    the stand-in too. Empty when the container has no command and its image is not one of those."""
    command = list(container.get("command") or [])
    known = STAND_INS.get(image_name(container.get("image")))
    if known is None:
        return command
    entrypoint, stand_in = known
    if not command:
        return list(stand_in)
    if command[0] == entrypoint:
        return [*stand_in, *command[1:]]
    return command
