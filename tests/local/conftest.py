"""Fixtures of the local engine tests: one real engine process serves every test in this folder.

It runs with 4 workers and one ``--volume`` (``home``, a temporary folder); tests that need an
engine of their own (restart, ``--workers 1``, ``ensure_engine``) start one with
``tests.local_helpers.start_engine``.
"""

from __future__ import annotations

import pytest

from tests.local_helpers import start_engine


@pytest.fixture(scope="package")
def claim_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("claim-home")


@pytest.fixture(scope="package")
def engine(tmp_path_factory, claim_folder):
    running = start_engine(tmp_path_factory.mktemp("engine"), workers=4,
                           extra=["--volume", f"home={claim_folder}"])
    yield running
    running.stop()
