"""The ``tec`` family object: file roles, safe loading (own or Keras weights), prediction, training and demo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.tec.extracts import TEC_HOURLY
from plugins.tec.features import DRIVER_COLUMNS
from plugins.tec.suites import TEC_RELEASE
from registry.errors import InvalidCheckpoint
from registry.family import ArtifactRole, DemoPlan, InputColumn


class TecFamily:
    """Enhanced BiLSTM-Attention V2.1: 24 hourly rows of 24 features → TEC at +1…+24 h and storm probabilities.

    ``weights``: the port's own checkpoint (``.safetensors`` with its config in the metadata, or ``.pt``/``.pth``
    read with ``weights_only``) or upstream's Keras weights (``.h5``, ``.keras`` or named arrays in ``.npz``),
    imported by the mapping in ``plugins.tec.keras_import``. The reported parameter count is what the loaded
    module holds: 3,879,986 for upstream's widths with one bias per LSTM gate (Keras's count), 3,883,058 with
    PyTorch's two.
    """

    name: str = "tec"
    version: str = "1"
    summary: str = "TEC +1…+24 h and storm probability from 24 h of drivers (BiLSTM-attention V2.1, Keras port)"
    roles: tuple[ArtifactRole, ...] = (
        ArtifactRole("weights", True, "V2.1 weights: .safetensors/.pt/.pth (own) or .h5/.keras/.npz (Keras)",
                     max_bytes=256 * 2**20),
    )
    input_columns: tuple[InputColumn, ...] = DRIVER_COLUMNS
    default_suite: str = TEC_RELEASE
    extracts: tuple[str, ...] = (TEC_HOURLY,)

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        """Load the weights safely, check every tensor's shape and finiteness, and report the parameter count."""
        from plugins.tec.checkpoint import build_model

        if "weights" not in files:
            raise InvalidCheckpoint("a tec version needs a weights file")
        return build_model(Path(files["weights"]))[1]

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        """A ``TecBundle`` (module in eval mode on ``device`` and its facts)."""
        from plugins.tec.bundle import TecBundle
        from plugins.tec.checkpoint import build_model

        model, facts = build_model(Path(files["weights"]), device)
        return TecBundle(model, facts, device)

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        """Per complete 24 h window of a drivers file: TEC at +1…+24 h (TECU) and storm probabilities."""
        from plugins.tec.predict import predict_rows

        return predict_rows(model, Path(input_path))

    def train(self, table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
              progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        """One table cut by the config's windows (``registry train`` uses ``train_windows``); early stopping on
        validation; the lineage records the split."""
        from plugins.tec.train import train_files

        return train_files(table, config, out_dir=out_dir, epochs=epochs, seed=seed, device=device, progress=progress)

    training_windows: tuple[str, ...] = ("train", "validation")

    def train_windows(self, tables: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None, seed: int,
                      device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        """``registry train``: the extract's train and validation windows, one table each (each cut at its bounds,
        so the first 25 hours of a window only feed inputs); early stopping on validation."""
        from plugins.tec.train import train_window_files

        return train_window_files(tables, config, out_dir=out_dir, epochs=epochs, seed=seed, device=device,
                                  progress=progress)

    def prepare_demo(self, source: Any, workdir: Path) -> DemoPlan:
        """Real Kp/F10.7 from ``indices.*``, SYNTHETIC solar wind/Dst/Bz and model-derived TEC into ``demo.*``."""
        from plugins.tec.demo import prepare

        config, params, rows = prepare(source, workdir)
        return DemoPlan(TEC_HOURLY, params, config, epochs=10, notes=(
            f"{rows:,} SYNTHETIC hourly TEC rows (model-derived from real Kp/F10.7 with made-up Dst, solar wind "
            "and Bz; not GNSS observations) in demo.synthetic_tec_hourly and demo.synthetic_omni2_hourly",))

    def release_files(self, directory: Path) -> list[tuple[str, dict[str, Path]]]:
        """Upstream Keras weights in ``directory`` (``*.h5``, ``*.keras``), one version each."""
        return [(p.stem, {"weights": p}) for p in sorted(Path(directory).rglob("*"))
                if p.suffix in (".h5", ".keras") and p.is_file()]
