"""Plugin discovery: built-ins by dotted name, entry points, the disable variable, broken plugins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from registry.errors import UnknownName
from registry.plugins import get_plugin_manager


def _write_module(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(body)


GOOD = '''
from registry.hookspecs import hookimpl
from registry.family import ArtifactRole

class Fam:
    name = "thirdparty"; version = "9.9"; summary = "from an entry point"; default_suite = "s"
    roles = (ArtifactRole("weights"),); extracts = ()
    def validate(self, files): return {}
    def load(self, files, device="cpu"): return None
    def predict(self, model, input_path, *, device="cpu"): return []

@hookimpl
def registry_families():
    return [Fam()]
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding a real installed distribution (dist-info with entry points)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    dist = tmp_path / "thirdparty_fam-9.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-fam\nVersion: 9.9\n")
    (dist / "entry_points.txt").write_text("[registry.plugins]\nthirdparty = tp_good\nbroken = tp_broken\n")
    _write_module(tmp_path, "tp_good", GOOD)
    _write_module(tmp_path, "tp_broken", "raise ImportError('needs libfoo 3')\n")
    yield tmp_path
    for m in ("tp_good", "tp_broken"):
        sys.modules.pop(m, None)


def test_entry_point_plugins_load_and_broken_ones_are_reported(site):
    pm = get_plugin_manager(builtins=())
    infos = {i.name: i for i in pm.infos()}
    assert infos["thirdparty"].status == "loaded"
    assert infos["thirdparty"].source == "entry point (thirdparty-fam)" and infos["thirdparty"].version == "9.9"
    assert infos["broken"].status.startswith("failed: ImportError: needs libfoo 3")
    assert pm.family("thirdparty").summary == "from an entry point"


def test_disable_variable_skips_named_plugins(site, monkeypatch):
    monkeypatch.setenv("REGISTRY_DISABLE_PLUGINS", "thirdparty, ionis")
    pm = get_plugin_manager()
    infos = {i.name: i.status for i in pm.infos()}
    assert infos["thirdparty"] == "disabled" and infos.get("ionis") == "disabled"
    with pytest.raises(UnknownName, match="unknown family 'thirdparty'"):
        pm.family("thirdparty")


def test_builtin_that_fails_to_import_is_reported_and_others_work(site, monkeypatch, tmp_path):
    pkg = tmp_path / "fakeplugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text("import no_such_module_anywhere\n")
    pm = get_plugin_manager(builtins=("fakeplugins.bad",))
    infos = {i.name: i.status for i in pm.infos()}
    assert infos["bad"].startswith("failed: ModuleNotFoundError")
    assert "thirdparty" in pm.families()
    sys.modules.pop("fakeplugins", None)


def test_a_family_provider_that_raises_is_a_problem_not_a_crash(plugins):
    from registry.hookspecs import hookimpl

    class Exploding:
        @hookimpl
        def registry_families(self):  # noqa: ANN201
            raise RuntimeError("boom")

    plugins.register(Exploding(), name="exploding")
    assert "toy" in plugins.families()
    assert any("exploding" in p and "boom" in p for p in plugins.problems)
    plugins.unregister("exploding")


def test_unknown_names_list_what_exists(plugins):
    with pytest.raises(UnknownName, match="known: .*toy"):
        plugins.family("nope")
    with pytest.raises(UnknownName, match="release"):
        plugins.suite("toy", "nope")


def test_plugins_command_lists_sources_and_versions(home):
    from clirun import run_cli

    r = run_cli("plugins")
    assert r.returncode == 0
    assert "toy_family" in r.stdout and "$REGISTRY_PLUGINS" in r.stdout and "family toy" in r.stdout


def test_a_second_family_of_the_same_name_is_ignored_and_reported(plugins):
    import toy_family

    from registry.hookspecs import hookimpl

    class Impostor:
        @hookimpl
        def registry_families(self):  # noqa: ANN201
            fam = toy_family.ToyFamily()
            fam.summary = "impostor"
            return [fam]

    plugins.register(Impostor(), name="impostor")
    assert plugins.family("toy").summary == "tiny MLP for the registry's own tests"
    assert any("impostor" in p and "family 'toy' already provided" in p for p in plugins.problems)
    plugins.unregister("impostor")


def test_plugins_with_unknown_hooks_or_bad_signatures_are_reported_alone(site, monkeypatch, tmp_path):
    _write_module(tmp_path, "tp_typo", "from registry.hookspecs import hookimpl\n"
                                       "@hookimpl\ndef registry_familys():\n    return []\n")
    _write_module(tmp_path, "tp_sig", "from registry.hookspecs import hookimpl\n"
                                      "@hookimpl\ndef registry_gates(extra):\n    return []\n")
    monkeypatch.setenv("REGISTRY_PLUGINS", "tp_typo,tp_sig")
    pm = get_plugin_manager(builtins=())
    infos = {i.name: i.status for i in pm.infos()}
    assert infos["tp_typo"].startswith("failed: PluginValidationError") and "registry_familys" in infos["tp_typo"]
    assert infos["tp_sig"].startswith("failed: PluginValidationError") and "\n" not in infos["tp_sig"]
    assert "thirdparty" in pm.families() and not pm.pm.has_plugin("tp_typo")
    for m in ("tp_typo", "tp_sig"):
        sys.modules.pop(m, None)


def test_malformed_contributions_are_reported_and_skipped(plugins):
    from registry.hookspecs import hookimpl

    class NoRoles:
        name, version, summary, default_suite, extracts = "noroles", "1", "missing roles", "s", ()

        def validate(self, files):  # noqa: ANN201
            return {}

    class Sloppy:
        @hookimpl
        def registry_families(self):  # noqa: ANN201
            return [NoRoles()]

        @hookimpl
        def registry_gates(self):  # noqa: ANN201
            return ["release"]

    plugins.register(Sloppy(), name="sloppy")
    assert "noroles" not in plugins.families() and "toy" in plugins.families()
    assert all(f != "sloppy" for f, _ in plugins.suites())
    assert any("sloppy" in p and "not a Family" in p for p in plugins.problems)
    assert any("sloppy" in p and "'release'" in p and "not a GateSuite" in p for p in plugins.problems)
    plugins.unregister("sloppy")


def test_trace_variable_writes_each_hook_call_to_stderr(plugins, monkeypatch, capsys):
    monkeypatch.setenv("REGISTRY_TRACE_HOOKS", "1")
    plugins.families()
    err = capsys.readouterr().err
    assert "hook registry_families [toy_family] -> 1 item(s)" in err
