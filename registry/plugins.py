"""Plugin manager factory and the typed facade over ``pm.hook`` that core code calls."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from registry import hookspecs
from registry.errors import UnknownName

if TYPE_CHECKING:
    from cache.spec import ExtractSpec
    from gates.suite import GateSuite
    from registry.family import Family

DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.ionis",
    "plugins.deepech",
    "plugins.tec",
    "plugins.hrrr_ddpm",
)
"""Built-in families, registered by dotted name; a name whose module does not exist yet is skipped silently."""

DISABLE_ENV = "REGISTRY_DISABLE_PLUGINS"  # comma-separated plugin names
TRACE_ENV = "REGISTRY_TRACE_HOOKS"  # any non-empty value traces every hook call to stderr
EXTRA_ENV = "REGISTRY_PLUGINS"  # comma-separated dotted module names: plugins under development, not yet packaged


@dataclass(frozen=True)
class PluginInfo:
    """One row of ``registry plugins``."""

    name: str
    source: str  # "built-in", "entry point <dist>", "registered"
    version: str
    status: str  # "loaded", "disabled", "failed: <why>"


def _disabled() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def get_plugin_manager(*, builtins: tuple[str, ...] = DEFAULT_PLUGINS, entry_points: bool = True) -> Plugins:
    """A fresh plugin manager with the built-ins and installed third-party plugins registered."""
    pm = pluggy.PluginManager(hookspecs.NAME)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    disabled = _disabled()
    from registry import __version__

    def add(name: str, source: str, version: str, load: Any) -> None:
        """Load and register one plugin; any failure is recorded against it and leaves the others working."""
        if name in disabled:
            infos.append(PluginInfo(name, source, version, "disabled"))
            return
        if pm.has_plugin(name):
            infos.append(PluginInfo(name, source, version, "failed: name already registered"))
            return
        try:
            plugin = load()
            if plugin is None:
                return
            pm.register(plugin, name=name)
            try:
                pm.check_pending()  # a misspelt hook name fails here, naming this plugin only
            except Exception:
                pm.unregister(name=name)
                raise
        except Exception as exc:
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            infos.append(PluginInfo(name, source, version, f"failed: {why}"))
            return
        infos.append(PluginInfo(name, source, getattr(plugin, "__version__", version), "loaded"))

    def builtin(dotted: str) -> Any:
        if importlib.util.find_spec(dotted.split(".")[0]) is None or importlib.util.find_spec(dotted) is None:
            return None  # a built-in family not written yet
        return importlib.import_module(dotted)

    for dotted in builtins:
        short = dotted.rsplit(".", 1)[-1]
        if dotted in disabled:
            disabled.add(short)
        add(short, "built-in", __version__, lambda d=dotted: builtin(d))
    if entry_points:
        for ep in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            add(ep.name, f"entry point ({ep.dist.name if ep.dist else '?'})",
                ep.dist.version if ep.dist else "?", ep.load)
    for dotted in [n.strip() for n in os.environ.get(EXTRA_ENV, "").split(",") if n.strip()]:
        add(dotted, f"${EXTRA_ENV}", "-", lambda d=dotted: importlib.import_module(d))

    pm.check_pending()
    return Plugins(pm, infos)


def _name_of(item: Any) -> str:
    return str(getattr(item, "name", item))[:60]


def _conforms(item: Any, kind: type) -> bool:
    """``item`` is a ``kind``: an instance of the dataclass, or (for a Protocol) has its members, the
    plain attributes with the declared types and the methods callable."""
    if not getattr(kind, "_is_protocol", False):
        return isinstance(item, kind)
    if not isinstance(item, kind):  # runtime_checkable: every member present
        return False
    for attr, hint in getattr(kind, "__annotations__", {}).items():  # strings: postponed annotations
        plain = {"str": str, "int": int}.get(str(hint)) or (tuple if str(hint).startswith("tuple[") else None)
        if plain is not None and not isinstance(getattr(item, attr), plain):
            return False
    return True


class Plugins:
    """Typed access to the hooks; each hook is called at exactly one place, here, and cached."""

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
        self.pm = pm
        self._infos = infos
        self.problems: list[str] = []

    # -- registration (tests and embedding applications) --
    def register(self, plugin: Any, name: str) -> None:
        """Register an extra plugin object (a module or an instance with hookimpls)."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._infos.append(PluginInfo(name, "registered", getattr(plugin, "__version__", "-"), "loaded"))
        self._reset()

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._infos = [i for i in self._infos if i.name != name]
        self._reset()

    def _reset(self) -> None:
        for attr in ("_families", "_suites", "_extracts"):
            self.__dict__.pop(attr, None)
        self.problems = []

    def infos(self) -> list[PluginInfo]:
        return list(self._infos)

    # -- hooks --
    def _collect(self, hook: pluggy.HookCaller, what: str) -> list[tuple[str, Any]]:
        # Each implementation is called on its own (not through ``hook()``) so that one plugin's failure
        # is reported against it and the others' contributions still count.
        trace = bool(os.environ.get(TRACE_ENV))
        out: list[tuple[str, Any]] = []
        for impl in hook.get_hookimpls():  # registration order: built-ins, entry points, then the rest
            t0 = time.perf_counter()
            try:
                provided: Any = impl.function()
                items: list[Any] = list(provided or ())
            except Exception as exc:
                self.problems.append(f"plugin {impl.plugin_name!r} failed to provide {what}: "
                                     f"{type(exc).__name__}: {exc}")
                items = []
                if trace:
                    sys.stderr.write(f"hook {hook.name} [{impl.plugin_name}] raised {type(exc).__name__}: {exc}\n")
            else:
                if trace:
                    sys.stderr.write(f"hook {hook.name} [{impl.plugin_name}] -> {len(items)} item(s) in "
                                     f"{(time.perf_counter() - t0) * 1000:.1f} ms\n")
            out.extend((impl.plugin_name, item) for item in items)
        return out

    def _index(self, hook: pluggy.HookCaller, what: str, kind: type, key: Any, label: Any) -> dict[Any, Any]:
        found: dict[Any, Any] = {}
        for plugin, item in self._collect(hook, what):
            if not _conforms(item, kind):
                self.problems.append(f"plugin {plugin!r} provided {type(item).__name__} {_name_of(item)!r} as one "
                                     f"of its {what}, which is not a {kind.__name__}; ignored")
                continue
            k = key(item)
            if k in found:
                self.problems.append(f"plugin {plugin!r}: {label(item)} already provided by another plugin; ignored")
                continue
            found[k] = item
        return found

    @cached_property
    def _families(self) -> dict[str, Family]:
        from registry.family import Family

        return self._index(self.pm.hook.registry_families, "families", Family, lambda f: f.name,
                           lambda f: f"family {f.name!r}")

    @cached_property
    def _suites(self) -> dict[tuple[str, str], GateSuite]:
        from gates.suite import GateSuite

        return self._index(self.pm.hook.registry_gates, "gate suites", GateSuite, lambda s: (s.family, s.name),
                           lambda s: f"suite {s.family}/{s.name}")

    @cached_property
    def _extracts(self) -> dict[str, ExtractSpec]:
        from cache.spec import ExtractSpec

        return self._index(self.pm.hook.registry_extracts, "extracts", ExtractSpec, lambda e: e.name,
                           lambda e: f"extract {e.name!r}")

    def families(self) -> dict[str, Family]:
        """Every family by name (``registry_families``)."""
        return dict(self._families)

    def suites(self) -> dict[tuple[str, str], GateSuite]:
        """Every gate suite by ``(family, name)`` (``registry_gates``)."""
        return dict(self._suites)

    def extracts(self) -> dict[str, ExtractSpec]:
        """Every extract spec by name (``registry_extracts``)."""
        return dict(self._extracts)

    # -- lookups with one clear error --
    def family(self, name: str) -> Family:
        fams = self._families
        if name not in fams:
            known = ", ".join(sorted(fams)) or "none installed"
            raise UnknownName(f"unknown family {name!r} (known: {known})")
        return fams[name]

    def suite(self, family: str, name: str | None = None) -> GateSuite:
        """The suite ``name`` of ``family`` (default: the family's); ``NAME[option=value,…]`` runs it with options
        (``GateSuite.configured``), named canonically."""
        from gates.suite import split_suite_name

        fam = self.family(family)
        base, given = split_suite_name(name or fam.default_suite)
        suite = self._suites.get((family, base))
        if suite is None:
            known = ", ".join(sorted(n for f, n in self._suites if f == family)) or "none"
            raise UnknownName(f"family {family!r} has no gate suite {base!r} (known: {known})")
        return suite.configured(given)

    def suite_name(self, family: str, name: str) -> str:
        """The canonical name of ``name``: as given for a plain name, else that of the configured suite."""
        return self.suite(family, name).name if "[" in name or "]" in name else name

    def extract(self, name: str) -> ExtractSpec:
        if name not in self._extracts:
            known = ", ".join(sorted(self._extracts)) or "none"
            raise UnknownName(f"unknown extract {name!r} (known: {known})")
        return self._extracts[name]
