"""Fixtures of the view tests: the canned server (which requires the token), the real client, the views."""

from __future__ import annotations

from typing import Iterator

import pytest

from hera_magics.client import ArgoClient
from hera_magics.view.widget import StatusView
from tests.canned_server import CannedServer
from tests.view_helpers import TOKEN, argo_client, serve_view_routes


@pytest.fixture
def server() -> Iterator[CannedServer]:
    with CannedServer(token=TOKEN) as canned:
        serve_view_routes(canned)
        yield canned


@pytest.fixture
def source(server: CannedServer) -> ArgoClient:
    return argo_client(server.url)


@pytest.fixture
def views() -> Iterator[list[StatusView]]:
    """Views made by a test; their pollers are stopped afterwards."""
    made: list[StatusView] = []
    yield made
    for view in made:
        view.stop()
        view.wait_until_stopped(10)
