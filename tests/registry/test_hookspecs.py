"""Meta-tests pinning the hook surface: names, argument names and the docstring shape of every spec."""

from __future__ import annotations

import inspect

import pytest

from registry import hookspecs

PINNED = {"registry_families": [], "registry_gates": [], "registry_extracts": []}


def _specs() -> dict[str, object]:
    return {n: f for n, f in vars(hookspecs).items() if n.startswith(f"{hookspecs.NAME}_") and callable(f)}


def test_the_surface_is_exactly_the_pinned_hooks():
    assert sorted(_specs()) == sorted(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_argument_names_are_pinned(name):
    assert list(inspect.signature(_specs()[name]).parameters) == PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_docstring_has_the_fixed_shape(name):
    doc = inspect.getdoc(_specs()[name])
    assert doc, f"{name} has no docstring"
    paragraphs = [p.strip() for p in doc.split("\n\n")]
    assert paragraphs[0].endswith("."), "summary line first"
    assert any(p.startswith(":return:") for p in paragraphs), "a :return: paragraph"
    params = inspect.signature(_specs()[name]).parameters
    for p in params:
        assert f":param {p}:" in doc
    assert paragraphs[-1].startswith("Called ") and "by ``Plugins." in paragraphs[-1], "last line names the call site"


def test_marker_name_prefix_and_entry_point_group_agree():
    assert hookspecs.ENTRY_POINT_GROUP == f"{hookspecs.NAME}.plugins"
    assert hookspecs.hookimpl.project_name == hookspecs.hookspec.project_name == hookspecs.NAME


def test_each_call_site_exists_on_the_facade():
    from registry.plugins import Plugins

    for name in PINNED:
        site = inspect.getdoc(_specs()[name]).split("``Plugins.")[1].split("(")[0]
        assert hasattr(Plugins, site), site
        assert f"hook.{name}" in inspect.getsource(Plugins), f"{name} is called by the facade"
