"""plugins.deepech.synthetic: the labelling caricature behaves as documented (L 4–8, night-to-dawn, SME)."""

from __future__ import annotations

import numpy as np

from plugins.deepech.synthetic import LABEL_NOTE, OccurrenceModel


def _rows(l_shell: float, mlt: float, sme: float) -> np.ndarray:
    r = np.zeros((1, 224))
    r[0, :4] = [l_shell, np.cos(2 * np.pi * mlt / 24), np.sin(2 * np.pi * mlt / 24), 1.0]
    r[0, 4:53] = sme
    return r


def test_occurrence_peaks_outside_the_plasmapause_night_to_dawn_and_grows_with_sme() -> None:
    m = OccurrenceModel()
    p = lambda *a: float(m.probability(_rows(*a))[0])  # noqa: E731
    assert p(6, 3, 800) > p(3, 3, 800) and p(6, 3, 800) > p(9.5, 3, 800)
    assert p(6, 3, 800) > p(6, 15, 800)
    assert p(6, 3, 1500) > p(6, 3, 800) > p(6, 3, 150)
    a = lambda *x: float(m.mean_amplitude_db(_rows(*x))[0])  # noqa: E731
    assert a(6, 3, 1500) > a(6, 3, 150) and a(6, 3, 800) > a(2, 3, 800)


def test_draw_is_seeded_and_amplitude_only_where_present(sample_rows: np.ndarray) -> None:
    m = OccurrenceModel()
    y1, a1 = m.draw(sample_rows, seed=5)
    y2, a2 = m.draw(sample_rows, seed=5)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(y1, m.draw(sample_rows, seed=6)[0])
    assert np.isnan(a1[y1 == 0]).all() and np.isfinite(a1[y1 == 1]).all()
    assert 0.15 < y1.mean() < 0.4  # imbalanced: the majority class is "absent"
    assert "SYNTHETIC" in LABEL_NOTE and "not observations" in LABEL_NOTE
