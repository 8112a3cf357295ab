"""The ``ionis`` family object: file roles, validation, loading and CSV prediction for IonisGate versions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.ionis.extracts import WSPR_SIGNATURES
from plugins.ionis.suites import V22_RELEASE
from registry.family import ArtifactRole, DemoPlan, InputColumn

INPUT_COLUMNS = (
    InputColumn("tx_grid", "Maidenhead", "transmitter's 4-character grid square (e.g. DN46)"),
    InputColumn("rx_grid", "Maidenhead", "receiver's 4-character grid square"),
    InputColumn("hour_utc", "h", "hour of the path, UTC, 0–23"),
    InputColumn("month", "1–12", "month of the path"),
    InputColumn("day_of_year", "d", "day of year, 1–366, within that month (solar elevation needs it)"),
    InputColumn("sfi", "sfu", "solar flux index F10.7"),
    InputColumn("kp", "0–9", "planetary K index"),
    InputColumn("band", "name or id", "10m … 160m or 102 … 111; give band, freq_mhz or both"),
    InputColumn("freq_mhz", "MHz", "frequency; the nearest band is used where band is absent"),
)
"""The CSV columns ``registry predict ionis@…`` reads (``plugins.ionis.predict.CSV_COLUMNS`` plus band/frequency)."""


class IonisFamily:
    """IonisGate HF propagation models (V20, V21-α, V21-β, V22-γ, the later V23 … V27 and AUDIT-03).

    The architecture is read from the config (``model.architecture`` and its flags; see ``architectures.py``),
    never guessed from tensor shapes; an unknown one is refused. Versions after V22 keep V22's suite as the
    family default; each one's own battery is the suite named in its lineage as ``own_suite``.

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
                                      "optional only for V20/V21 (trunk widths 11/12/13)", max_bytes=2**20),
        ArtifactRole("meta", False, "training-reported metrics JSON (val_pearson, sfi_benefit, storm_cost)",
                     max_bytes=2**20),
        ArtifactRole("atlas", False, "retired: the IRI atlas V23/AUDIT-03 read is a registered dataset (python -m "
                                     "plugins.ionis.atlas_build); an atlas file is refused, saying how to import it"),
    )
    input_columns: tuple[InputColumn, ...] = INPUT_COLUMNS
    default_suite: str = V22_RELEASE
    extracts: tuple[str, ...] = (WSPR_SIGNATURES,)

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        """Load every file safely and check keys, shapes, parameter count, finiteness and the feature list."""
        from plugins.ionis.checkpoint import inspect_files
        from plugins.ionis.release_suites import own_suite

        facts = inspect_files(files)[1]
        return facts | {"own_suite": own_suite(facts["architecture"], "iri_atlas" in facts)}

    def datasets_read(self, facts: Mapping[str, Any], home: Path) -> dict[str, str]:
        """The IRI atlas dataset of a version reading IRI features (V23, AUDIT-03) and the command building it."""
        from plugins.ionis.atlas import AtlasRule
        from plugins.ionis.checkpoint import atlas_dataset

        name = atlas_dataset(facts)
        if name is None:
            return {}
        from plugins.ionis.atlas_build import old_file_for

        block = facts.get("iri_atlas") or facts.get("atlas") or {}
        rule = AtlasRule.from_config({"iri_atlas": block.get("rule", {})})
        old = old_file_for(home, rule)  # an atlas file of this rule cached before: importing it keeps its values
        how = f"python -m plugins.ionis.atlas_build --home {home} --import {old}" if old else rule.build_command(home)
        return {name: how}

    def with_datasets(self, model: Any, datasets: Mapping[str, Any]) -> Any:
        """The bundle reading its IRI atlas from the registered dataset (refused if built for another rule)."""
        from plugins.ionis.atlas_read import attach

        return attach(model, datasets[model.atlas_dataset]) if model.atlas_dataset else model

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        """An ``IonisBundle`` (module in eval mode on ``device``, features, band plan, config, meta)."""
        from plugins.ionis.checkpoint import load_bundle

        return load_bundle(files, device)

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        """Per-row σ, dB and (V22+) override σ/dB/rule for a CSV of paths; ``InvalidInput`` on bad rows."""
        from plugins.ionis.predict import predict_rows

        return predict_rows(model, Path(input_path), device=device)

    def summarise(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """How many rows the PhysicsOverrideLayer changed, by rule (versions without it: nothing)."""
        from plugins.ionis.predict import override_summary

        if not any("override_rule" in r for r in rows):
            return {"rows": len(rows)}
        by_rule = override_summary(rows)
        return {"rows": len(rows), "override_changed": sum(by_rule.values()),
                "override_by_rule": " ".join(f"{k}={v}" for k, v in sorted(by_rule.items())) or "none"}

    def train(self, table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
              progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        """Train with the upstream recipe on an extract; writes weights, meta (held-out metrics) and config."""
        import json

        from plugins.ionis.train import train

        cfg = json.loads(Path(config).read_text())
        result = train(table, cfg, epochs=epochs, seed=seed, device=device, progress=progress)
        return result.save(out_dir, cfg), {"metrics": result.metrics, **result.lineage}

    def prepare_demo(self, source: Any, workdir: Path) -> DemoPlan:
        """Load the SYNTHETIC demo signatures into ``source`` and write a V22-shaped demo config."""
        from plugins.ionis.demo import EXTRACT, prepare

        config, params, rows = prepare(source, workdir)
        return DemoPlan(EXTRACT, params, config, epochs=12, notes=(
            f"{rows:,} SYNTHETIC signature rows in demo.synthetic_signatures (made from real daily Kp/F10.7; "
            "not observations)",))

    def release_files(self, directory: Path) -> list[tuple[str, dict[str, Path]]]:
        """Released upstream versions in ``directory`` or its sub-folders (upstream keeps ``versions/<tag>/``):
        ``ionis_<tag>.safetensors`` with ``ionis_<tag>_meta.json`` and ``config_<tag>.json`` beside it (the IRI
        atlas of V23/AUDIT-03 is a registered dataset, not a release file)."""
        found = []
        for weights in sorted(Path(directory).rglob("ionis_*.safetensors")):
            stem = weights.name.removesuffix(".safetensors")
            tag = stem.removeprefix("ionis_")
            files = {"weights": weights}
            if (meta := weights.with_name(f"{stem}_meta.json")).is_file():
                files["meta"] = meta
            if (config := weights.with_name(f"config_{tag}.json")).is_file():
                files["config"] = config
            found.append((tag.replace("_", "-"), files))
        return found

