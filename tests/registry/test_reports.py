"""Scorecards are rendered from stored evidence only: the same evidence gives the same bytes."""

from __future__ import annotations

from registry.promotion import promote
from registry.reports import decision_for, render_for, write_scorecard_for


def _reg(app, path):  # noqa: ANN001, ANN202
    return app.store.register("toy", {"weights": path})[0]


def test_rerender_gives_identical_bytes(app, ckpts):
    v = _reg(app, ckpts["good"])
    d = promote(app, v.ref, "production")
    first = d.scorecard.read_bytes()
    assert write_scorecard_for(app.store, d.evidence).read_bytes() == first
    html = render_for(app.store, d.evidence)
    assert 'data-verdict="promoted"' in html and "skill_vs_climatology" in html and "<svg" in html


def test_decision_is_reconstructed_from_ledger_and_purpose(app, ckpts):
    good = _reg(app, ckpts["good"])
    promote(app, good.ref, "production")
    bad = _reg(app, ckpts["constant"])
    refused = promote(app, bad.ref, "production")
    forced = promote(app, bad.ref, "staging", force=True, reason="drill")
    dry = promote(app, good.ref, "staging", dry_run=True)
    assert decision_for(app.store, refused.evidence)["verdict"] == "refused"
    f = decision_for(app.store, forced.evidence)
    assert f["verdict"] == "promoted" and f["forced"] and f["reason"] == "drill"
    assert decision_for(app.store, dry.evidence)["verdict"] == "would promote"
    html = render_for(app.store, refused.evidence)
    assert 'data-verdict="refused"' in html and "toy@1" in html  # the champion is shown
