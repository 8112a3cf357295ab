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


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory, ckpts: dict[str, Path]) -> Iterator[tuple[LiveServer, dict]]:  # type: ignore[type-arg]
    """One populated home and server for a module's read-only tests (toy@1 production, toy@2, toy@3 refused)."""
    from live_server import populate

    home = tmp_path_factory.mktemp("web") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGISTRY_HOME", str(home))
        mp.setenv("REGISTRY_PLUGINS", "toy_family")
        server = LiveServer(home)
        try:
            yield server, populate(server.app, ckpts, home.parent)
        finally:
            server.stop()
