"""The per-invocation application object: where the home is, and lazily the plugins and the store."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry.plugins import Plugins
    from registry.store import Store

HOME_ENV = "REGISTRY_HOME"
DEFAULT_HOME = ".registry"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` if given, else ``$REGISTRY_HOME``, else ``./.registry``; absolute, so that every message
    names the home wherever it is read."""
    return Path(explicit or os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().absolute()


class App:
    """Everything a command needs, created on first use so read-only commands stay light."""

    def __init__(self, home: str | os.PathLike[str] | None = None, plugins: Plugins | None = None) -> None:
        self.home = resolve_home(home)
        if plugins is not None:
            self.__dict__["plugins"] = plugins

    @classmethod
    def from_args(cls, args: Any) -> App:
        """The ``App`` a command runs in: ``args.app`` when a caller (the web server) passes its own, else a new one."""
        given = getattr(args, "app", None)
        return given if isinstance(given, App) else cls(getattr(args, "home", None))

    @cached_property
    def plugins(self) -> Plugins:
        from registry.plugins import get_plugin_manager

        return get_plugin_manager()

    @cached_property
    def store(self) -> Store:
        from registry.store import Store

        return Store(self.home)
