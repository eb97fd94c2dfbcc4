"""How the Argo Server puts things on the wire: error codes, HTTP statuses and Go-style JSON."""

from __future__ import annotations

import json
from typing import Any

# gRPC code -> HTTP status, as grpc-gateway v1's HTTPStatusFromCode maps them.
GRPC_TO_HTTP = {
    1: 408,  # Canceled
    2: 500,  # Unknown
    3: 400,  # InvalidArgument
    4: 504,  # DeadlineExceeded
    5: 404,  # NotFound
    6: 409,  # AlreadyExists
    7: 403,  # PermissionDenied
    8: 429,  # ResourceExhausted
    9: 400,  # FailedPrecondition
    10: 409,  # Aborted
    12: 501,  # Unimplemented
    13: 500,  # Internal
    14: 503,  # Unavailable
    16: 401,  # Unauthenticated
}

INVALID_ARGUMENT = 3
NOT_FOUND = 5
ALREADY_EXISTS = 6
UNIMPLEMENTED = 12
INTERNAL = 13
UNAUTHENTICATED = 16

TOKEN_NOT_VALID = "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"


class ApiError(Exception):
    """An answer of the form ``{"code": N, "message": "..."}`` with N's HTTP status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return GRPC_TO_HTTP.get(self.code, 500)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def bad_request(message: str) -> ApiError:
    return ApiError(INVALID_ARGUMENT, message)


def not_found(name: str) -> ApiError:
    return ApiError(NOT_FOUND, f'workflows.argoproj.io "{name}" not found')


def already_exists(name: str) -> ApiError:
    return ApiError(ALREADY_EXISTS, f'workflows.argoproj.io "{name}" already exists')


def not_implemented(message: str = "Not Implemented") -> ApiError:
    return ApiError(UNIMPLEMENTED, message)


def go_json(value: Any) -> str:
    """JSON as Go's ``encoding/json`` writes it: compact, UTF-8, ``<``, ``>``, ``&`` escaped.

    The replacements are safe on the encoded text because those characters can only occur
    inside JSON strings.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
