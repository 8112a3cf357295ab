"""The ``ionis`` family object: file roles, validation, loading and CSV prediction for IonisGate versions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.ionis.extracts import WSPR_SIGNATURES
from plugins.ionis.suites import V22_RELEASE
from registry.family import ArtifactRole


class IonisFamily:
    """IonisGate HF propagation models (V20, V21-α, V21-β, V22-γ and retrains).

    Files: ``weights`` (required; ``.safetensors``, or ``.pt``/``.pth`` read only through
    ``torch.load(weights_only=True)``), ``config`` (the version's config JSON) and ``meta`` (training-reported
    metrics). A version may be registered without a config when its trunk width is one of the released ones:
    the spec's feature list for that width is assumed and recorded in the lineage as ``feature_source``
    (this is how V21-α, which ships no config, is registered: dnn 12 → features 0–9, day_night_est,
    vertex_lat). Without a meta file the ``val-pearson`` gate cannot evaluate and refuses promotion.
    """

    name: str = "ionis"
    version: str = "1"
    summary: str = "IonisGate HF propagation (per-band SNR z-score) with monotone SFI/Kp sidecars"
    roles: tuple[ArtifactRole, ...] = (
        ArtifactRole("weights", True, "IonisGate state dict: .safetensors, or .pt/.pth (weights_only load)"),
        ArtifactRole("config", False, "version config JSON (features, band_to_hz, norm constants, validation); "
                                      "optional only for the released trunk widths 11/12/13/15"),
        ArtifactRole("meta", False, "training-reported metrics JSON (val_pearson, sfi_benefit, storm_cost)"),
    )
    default_suite: str = V22_RELEASE
    extracts: tuple[str, ...] = (WSPR_SIGNATURES,)

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        """Load every file safely and check keys, shapes, parameter count, finiteness and the feature list."""
        from plugins.ionis.checkpoint import inspect_files

        return inspect_files(files)[1]

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        """An ``IonisBundle`` (module in eval mode on ``device``, features, band plan, config, meta)."""
        from plugins.ionis.checkpoint import load_bundle

        return load_bundle(files, device)

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        """Per-row σ, dB and (V22+) override σ/dB/rule for a CSV of paths; ``InvalidInput`` on bad rows."""
        from plugins.ionis.predict import predict_rows

        return predict_rows(model, Path(input_path), device=device)
