"""IonisGate architectures as descriptions (trunk inputs, sidecars, heads), and identifying one from a config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.errors import InvalidCheckpoint

SPEC_BAND_HEADS: tuple[tuple[int, int], ...] = (
    (102, 0), (103, 1), (104, 2), (105, 2), (106, 3), (107, 4), (108, 5), (109, 6), (110, 7), (111, 8))
"""V26-α's band → head map (ionis.md: 60 m shares 40 m's head)."""


@dataclass(frozen=True)
class Sidecar:
    """A monotone 1 → 8 → 1 (or k → 8 → 1) sidecar and the scaler head that gates it.

    ``inputs`` are feature names; ``combine`` is ``"columns"`` (each input one column of the sidecar's input, so
    the sidecar is monotone in each) or ``"product"`` (one column: the product of the inputs).
    """

    name: str  # "sun" | "storm": tensors are named f"{name}_sidecar.*" and f"{name}_scaler_head.*"
    inputs: tuple[str, ...]
    combine: str = "columns"

    @property
    def width(self) -> int:
        return len(self.inputs) if self.combine == "columns" else 1

    def describe(self) -> str:
        joined = " · ".join(self.inputs) if self.combine == "product" else ", ".join(self.inputs)
        return f"{self.name} sidecar of [{joined}]"


@dataclass(frozen=True)
class Architecture:
    """One IonisGate variant: what the trunk does not see, which sidecars exist, and its output head(s).

    ``side_inputs`` are the trailing features withheld from the trunk; ``band_heads`` maps a band id to a head
    index (``None``: one ``base_head``); the band-head input is the feature ``band_idx`` (the head index).
    ``config_flags`` are the ``model`` keys a config of this architecture must carry with these values
    (absent keys take the value given here).
    """

    name: str
    title: str
    sidecars: tuple[Sidecar, ...]
    side_inputs: tuple[str, ...] = ("sfi", "kp_penalty")
    band_heads: tuple[tuple[int, int], ...] | None = None
    config_flags: tuple[tuple[str, Any], ...] = (("sun_sidecar", True), ("sun_sidecar_input_dim", 1))

    def sidecar(self, name: str) -> Sidecar | None:
        return next((s for s in self.sidecars if s.name == name), None)

    @property
    def has_sun(self) -> bool:
        return self.sidecar("sun") is not None

    @property
    def heads(self) -> int:
        return 1 if self.band_heads is None else len({h for _, h in self.band_heads})

    def describe(self) -> str:
        head = "one base head" if self.band_heads is None else f"{self.heads} band heads"
        return f"{self.name}: trunk without {', '.join(self.side_inputs)}; " + "; ".join(
            [s.describe() for s in self.sidecars] + [head])


_SUN = Sidecar("sun", ("sfi",))
_STORM = Sidecar("storm", ("kp_penalty",))
_NO_SUN_FLAGS = (("sun_sidecar", False), ("sun_sidecar_input_dim", 0))

ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("IonisGate", "V20–V23, V27 (and AUDIT-03)", (_SUN, _STORM)),
    Architecture("IonisGateV24", "V24: no sun sidecar, SFI input unused", (_STORM,), config_flags=_NO_SUN_FLAGS),
    Architecture("IonisGateV25", "V25-α: sun sidecar of SFI and log frequency, monotone in both",
                 (Sidecar("sun", ("sfi", "freq_log")), _STORM),
                 config_flags=(("sun_sidecar", True), ("sun_sidecar_input_dim", 2))),
    Architecture("IonisGateV25Beta", "V25-β: sun sidecar of the product SFI · log frequency",
                 (Sidecar("sun", ("sfi", "freq_log"), "product"), _STORM)),
    Architecture("IonisGateV26", "V26-α: nine band heads in place of the base head", (_SUN, _STORM),
                 side_inputs=("sfi", "kp_penalty", "band_idx"), band_heads=SPEC_BAND_HEADS),
)}
"""Every architecture the family knows, by the name a config gives in ``model.architecture``."""

DEFAULT_ARCHITECTURE = ARCHITECTURES["IonisGate"]


def identify(config: Mapping[str, Any] | None) -> Architecture:
    """The architecture a config names (``model.architecture``), checked against its sidecar flags and its
    feature list; no config means the released V20–V22 ``IonisGate``. Anything unknown or inconsistent raises
    ``InvalidCheckpoint`` with one line — the tensor shapes are never used to guess."""
    if config is None:
        return DEFAULT_ARCHITECTURE
    model = config.get("model")
    if not isinstance(model, Mapping):
        raise InvalidCheckpoint("config: no 'model' object; cannot tell the architecture")
    name = model.get("architecture")
    if not isinstance(name, str) or not name:
        raise InvalidCheckpoint("config: model.architecture is missing; the architecture is read from the config, "
                                "never guessed from tensor shapes")
    arch = ARCHITECTURES.get(name)
    if arch is None:
        raise InvalidCheckpoint(f"config: unknown architecture {name!r} (known: {', '.join(ARCHITECTURES)}); "
                                "describe it in plugins/ionis/architectures.py before registering it")
    for key, want in arch.config_flags:
        got = model.get(key, want)
        if got != want:
            raise InvalidCheckpoint(f"config: model.{key} is {got!r}, but {name} has {want!r}")
    if arch.band_heads is not None and "band_to_idx" in config:
        given = {int(k): int(v) for k, v in config["band_to_idx"].items()}
        if given != dict(arch.band_heads):
            raise InvalidCheckpoint(f"config: band_to_idx {given} differs from {name}'s band → head map")
    return arch
