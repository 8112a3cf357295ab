"""A SYNTHETIC ECH occurrence and amplitude model that labels real input rows for the demo and the tests.

Not observations. The rows' inputs are real (upstream's sample day); the labels are drawn here from a made-up
caricature of what the literature reports about ECH waves: they are seen mostly outside the plasmapause at
L ≈ 4–8, most often from the night side to dawn (MLT ≈ 21–09, peaking near 03), and more often and more strongly
when substorm activity (SME) is high. Wave presence is a seeded Bernoulli draw of that probability, and the
amplitude (dB on an arbitrary synthetic scale) adds seeded Gaussian noise to a smooth function of the same terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugins.deepech.schema import L_COL, current_sme, mlt_hours

SEED = 2013
LABEL_NOTE = ("SYNTHETIC labels (plugins.deepech.synthetic): ECH occurrence and amplitude drawn from a made-up "
              "L-MLT-SME caricature on real input rows; not observations")


@dataclass(frozen=True)
class OccurrenceModel:
    """Coefficients of the caricature (logit of the occurrence probability, and the mean amplitude in dB)."""

    base_logit: float = -13.0
    l_peak: float = 6.0
    l_width: float = 1.3
    l_weight: float = 8.0
    mlt_peak: float = 3.0
    mlt_weight: float = 4.0
    sme_weight: float = 4.0
    amp_base_db: float = 8.0
    amp_l_db: float = 10.0
    amp_mlt_db: float = 4.0
    amp_sme_db: float = 7.0
    amp_noise_db: float = 2.0

    def terms(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(L bump in [0, 1], night-to-dawn weight in [0, 1], log10(SME / 100 nT) clipped to [0, 1.5])."""
        l_shell = rows[:, L_COL]
        l_term = np.exp(-0.5 * ((l_shell - self.l_peak) / self.l_width) ** 2)
        mlt_term = 0.5 * (1.0 + np.cos(2.0 * np.pi * (mlt_hours(rows) - self.mlt_peak) / 24.0))
        sme_term = np.clip(np.log10(np.maximum(current_sme(rows), 1.0) / 100.0), 0.0, 1.5)
        return l_term, mlt_term, sme_term

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """The synthetic occurrence probability of each row."""
        l_term, mlt_term, sme_term = self.terms(rows)
        logit = self.base_logit + self.l_weight * l_term + self.mlt_weight * mlt_term + self.sme_weight * sme_term
        return 1.0 / (1.0 + np.exp(-logit))

    def mean_amplitude_db(self, rows: np.ndarray) -> np.ndarray:
        """The synthetic mean amplitude (dB) where waves are present."""
        l_term, mlt_term, sme_term = self.terms(rows)
        return self.amp_base_db + self.amp_l_db * l_term + self.amp_mlt_db * mlt_term + self.amp_sme_db * sme_term

    def draw(self, rows: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
        """``(wave_present as uint8, amplitude_db with NaN where absent)``, reproducible for a seed."""
        rng = np.random.default_rng(seed)
        present = rng.random(len(rows)) < self.probability(rows)
        amp = self.mean_amplitude_db(rows) + rng.normal(0.0, self.amp_noise_db, len(rows))
        return present.astype(np.uint8), np.where(present, amp, np.nan)
