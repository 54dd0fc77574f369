"""Fixtures for the fetch tests: a real local feed server and settings that allow 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/support is imported as a package from the project root, whatever pytest's import mode.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from pipeline.fetch import FetchSettings  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running FeedServer on 127.0.0.1, stopped after the test."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def settings() -> FetchSettings:
    """Defaults, except that loopback is allowed and timeouts are short enough for tests."""
    return FetchSettings(
        allow_private_networks=True,
        connect_timeout=2.0,
        read_timeout=2.0,
        write_timeout=2.0,
        pool_timeout=5.0,
        total_timeout=10.0,
    )
