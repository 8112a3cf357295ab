"""Fixtures of the web tests: servers over the test's home, stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer


@pytest.fixture
def serve(home: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers over the test's home (the CLI's plugins: the built-ins plus the toy family)."""
    started: list[LiveServer] = []

    def start(**options: Any) -> LiveServer:
        server = LiveServer(home, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
