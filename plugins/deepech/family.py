"""The ``deepech`` family object: the classifier + regressor pair, its inputs, training and demo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.deepech.extracts import LABELLED_ROWS
from plugins.deepech.schema import INPUT_COLUMNS
from plugins.deepech.suites import RELEASE
from registry.family import ArtifactRole, DemoPlan, InputColumn

CONFIG_MAX_BYTES = 64 * 1024


class DeepECHFamily:
    """DeepECH ECH-wave models: a presence classifier and an amplitude regressor, registered and promoted as
    one version (``registry register deepech CLASSIFIER.pth regressor=REGRESSOR.pth [config=deepech.json]``).

    Both files are plain state_dicts (``.pth`` read only through ``torch.load(weights_only=True)``, or
    ``.safetensors``) matched key for key and shape for shape against the spec's networks. The optional
    ``config`` records the presence threshold (``{"threshold": 0.5}``) that ``predict`` and the gates use.
    """

    name: str = "deepech"
    version: str = "1"
    summary: str = "DeepECH: ECH wave presence (classifier) and amplitude in dB (regressor) from L, MLT, SME, SYM-H"
    roles: tuple[ArtifactRole, ...] = (
        ArtifactRole("classifier", True, "presence classifier state_dict (.pth weights_only, or .safetensors)",
                     max_bytes=64 * 2**20),
        ArtifactRole("regressor", True, "amplitude regressor state_dict (.pth weights_only, or .safetensors)",
                     max_bytes=64 * 2**20),
        ArtifactRole("config", False, 'JSON with the presence threshold ({"threshold": 0.5}; default 0.5) and '
                                      "training settings", max_bytes=CONFIG_MAX_BYTES),
    )
    input_columns: tuple[InputColumn, ...] = INPUT_COLUMNS
    default_suite: str = RELEASE
    extracts: tuple[str, ...] = (LABELLED_ROWS,)

    def validate(self, files: Mapping[str, Path]) -> dict[str, Any]:
        """Load both state_dicts strictly (keys, shapes, finite floats, parameter counts) and the threshold."""
        from plugins.deepech.checkpoint import inspect

        return inspect(files)

    def load(self, files: Mapping[str, Path], device: str = "cpu") -> Any:
        """A ``TwoStageModel`` (both networks in eval mode on ``device``, and the threshold)."""
        from plugins.deepech.checkpoint import load_pair

        return load_pair(files, device)

    def predict(self, model: Any, input_path: Path, *, device: str = "cpu") -> list[dict[str, Any]]:
        """``{"logit", "probability", "present", "amplitude_db"}`` per row of a .pkl/.npy/.parquet/.csv file."""
        from plugins.deepech.inputs import read_rows

        return model.predict(read_rows(Path(input_path))).rows()

    def summarise(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """How many rows have waves present."""
        return {"rows": len(rows), "present": sum(bool(r["present"]) for r in rows)}

    def train(self, table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
              progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        """Train both stages on the extract's training window (see ``plugins.deepech.train``)."""
        from plugins.deepech.train import train_pair

        return train_pair(table, Path(config), out_dir=out_dir, epochs=epochs, seed=seed, device=device,
                          progress=progress)

    def prepare_demo(self, source: Any, workdir: Path) -> DemoPlan:
        """Load upstream's real sample rows with SYNTHETIC labels into ``source``; write the demo config."""
        from plugins.deepech.demo import prepare

        return prepare(source, workdir)

    def release_files(self, directory: Path) -> list[tuple[str, dict[str, Path]]]:
        """Upstream pairs in ``directory`` or below: ``*classifier*.pth`` beside ``*regressor*.pth``."""
        found = []
        for cls in sorted(Path(directory).rglob("*classifier*.pth")):
            regs = sorted(cls.parent.glob("*regressor*.pth"))
            if regs:
                found.append((cls.parent.name, {"classifier": cls, "regressor": regs[0]}))
        return found
