"""The engine the local-engine tests of a module share: a real process with 4 workers."""

from __future__ import annotations

import pytest

from ..local_helpers import start_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    running = start_engine(tmp_path_factory.mktemp("engine"), workers=4)
    yield running
    running.stop()
