"""plugins.deepech.family and checkpoint: the version is the pair (+ threshold), promoted together through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from clirun import run_cli

from plugins.deepech.checkpoint import load_stage, read_threshold
from plugins.deepech.family import DeepECHFamily
from registry.errors import InvalidCheckpoint


def test_roles_and_release_files(tmp_path: Path) -> None:
    fam = DeepECHFamily()
    assert [r.name for r in fam.roles] == ["classifier", "regressor", "config"]
    assert [r.required for r in fam.roles] == [True, True, False]
    d = tmp_path / "release" / "v1"
    d.mkdir(parents=True)
    for name in ("deepech_classifier.pth", "deepech_regressor.pth"):
        (d / name).write_bytes(b"")
    (tmp_path / "release" / "lonely_classifier.pth").write_bytes(b"")
    assert fam.release_files(tmp_path / "release") == [
        ("v1", {"classifier": d / "deepech_classifier.pth", "regressor": d / "deepech_regressor.pth"})]


@pytest.mark.parametrize(("text", "ok"), [('{"threshold": 0.3}', 0.3), ("{}", 0.5), ('{"threshold": 0}', None),
                                          ('{"threshold": 1}', None), ('{"threshold": true}', None),
                                          ('{"threshold": "0.5"}', None), ("[0.5]", None)])
def test_threshold_from_config(tmp_path: Path, text: str, ok: float | None) -> None:
    (tmp_path / "c.json").write_text(text)
    if ok is None:
        with pytest.raises(InvalidCheckpoint):
            read_threshold({"config": tmp_path / "c.json"})
    else:
        assert read_threshold({"config": tmp_path / "c.json"}) == ok
    assert read_threshold({}) == 0.5


def test_non_finite_weights_refused(tmp_path: Path, majority_pair: dict[str, Path]) -> None:
    state = torch.load(majority_pair["classifier"], weights_only=True)
    state["fc3.bias"][0] = float("nan")
    torch.save(state, tmp_path / "nan.pth")
    with pytest.raises(InvalidCheckpoint, match="fc3.bias holds non-finite"):
        load_stage("classifier", tmp_path / "nan.pth")


def test_code_carrying_pth_refused_by_register(tmp_path: Path, home: Path, majority_pair: dict[str, Path]) -> None:
    import os

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("true",))

    state = dict(torch.load(majority_pair["classifier"], weights_only=True))
    torch.save({**state, "extra": Evil()}, tmp_path / "evil.pth")
    out = run_cli("register", "deepech", str(tmp_path / "evil.pth"), f"regressor={majority_pair['regressor']}")
    assert out.returncode == 2 and "carries code" in out.stderr and "system" in out.stderr


def test_majority_pair_is_refused_by_promote_and_production_stays_unset(
        app: Any, engine: Any, majority_pair: dict[str, Path], small_labelled: Any) -> None:
    """The promotion path with the real run context: the embedded engine's table, the cached extract, the
    release suite; the always-absent classifier is refused, its scorecard carries the maps, ROC and reliability."""
    from plugins.deepech.extracts import DEMO_DATABASE, DEMO_TABLE, LABELLED_ROWS, ddl
    from registry.commands.versions import register_validated
    from registry.promotion import promote
    from registry.training import cached_extract

    engine.command(f"CREATE DATABASE IF NOT EXISTS {DEMO_DATABASE}")
    engine.command(f"DROP TABLE IF EXISTS {DEMO_DATABASE}.{DEMO_TABLE}")
    engine.command(ddl(DEMO_DATABASE, DEMO_TABLE))
    engine.client.insert_arrow(f"{DEMO_DATABASE}.{DEMO_TABLE}", small_labelled)
    cached_extract(app, LABELLED_ROWS, progress=False)
    engine.command(f"DROP DATABASE IF EXISTS {DEMO_DATABASE}")
    version, _ = register_validated(app, app.plugins.family("deepech"), dict(majority_pair), lineage={})
    decision = promote(app, version.ref, "production")
    assert decision.verdict in ("refused", "error")  # error: a storm slice too small to judge also refuses
    results = {r.name: r for r in decision.evidence.results}
    assert not results["recall-vs-majority"].passed and not results["balanced-accuracy-vs-majority"].passed
    assert results["outputs-in-range"].passed and results["eval-determinism"].passed
    assert app.store.holder("deepech", "production") is None
    html = Path(decision.scorecard).read_text()
    assert html.count("<svg") >= 4 or html.count("data:image/png") >= 2
