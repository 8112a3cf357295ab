"""A real ``registry serve`` application on a free loopback port (uvicorn in a thread), and a populated home."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any


class LiveServer:
    """uvicorn serving ``create_app(home, …)`` on 127.0.0.1 and an ephemeral port until ``stop()``."""

    def __init__(self, home: Path, **options: Any) -> None:
        import uvicorn

        from registry.web.app import create_app

        self.web = create_app(home, **options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.web, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    @property
    def app(self) -> Any:
        return self.web.state.registry.app

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def populate(app: Any, ckpts: dict[str, Path], tmp: Path) -> dict[str, str]:
    """toy@1 (good, promoted to production), toy@2 (good2, dry run), toy@3 (constant, refused)."""
    from registry.commands.versions import register_validated
    from registry.promotion import promote

    family = app.plugins.family("toy")
    refs = {}
    for key in ("good", "good2", "constant"):
        version, _ = register_validated(app, family, {"weights": ckpts[key]}, name=f"toy {key}", lineage={
            "code_version": f"abc{len(refs)}", "extracts": []})
        refs[key] = version.ref
    promote(app, refs["good"], "production")
    promote(app, refs["good2"], "production", dry_run=True)
    promote(app, refs["constant"], "production")
    return refs
