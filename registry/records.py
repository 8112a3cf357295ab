"""Frozen records the registry stores and passes around."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

GateStatus = Literal["pass", "fail", "error"]
Decision = Literal["promoted", "refused", "error"]


@dataclass(frozen=True)
class FileRef:
    """One stored file of a version: its role (``weights``, ``config``, ``classifier``…) and content hash."""

    role: str
    sha256: str
    size: int
    filename: str


@dataclass(frozen=True)
class ModelVersion:
    """An immutable registered version; ``version_id`` is the sha256 over family and file hashes."""

    family: str
    number: int
    version_id: str
    name: str
    files: tuple[FileRef, ...]
    lineage: dict[str, Any]
    created_at: str
    created_by: str

    @property
    def ref(self) -> str:
        return f"{self.family}@{self.number}"

    @property
    def short(self) -> str:
        return self.version_id[:12]

    def file(self, role: str) -> FileRef | None:
        return next((f for f in self.files if f.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    """One gate's row in a verdict.

    ``status`` is ``pass``/``fail``/``error``; ``value`` is the measured figure (a count for count-type
    gates), ``threshold`` the figure it was held against, ``comparator`` how (``>=``, ``>``, ``<``, …).
    ``details`` holds tables for the scorecard and ``figures`` plot specs rendered as SVG; both are JSON.
    """

    name: str
    gate_version: str
    status: GateStatus
    value: float | int | None
    threshold: float | int | None
    comparator: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    figures: tuple[dict[str, Any], ...] = ()
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["figures"] = list(self.figures)
        d["passed"] = self.passed
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateResult:
        keys = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in keys}
        kw["figures"] = tuple(kw.get("figures", ()))
        return cls(**kw)


@dataclass(frozen=True)
class Evidence:
    """A stored gate-suite run bound to the hashes it was computed from."""

    evidence_id: str
    family: str
    version_id: str
    suite: str
    suite_version: str
    results: tuple[GateResult, ...]
    checkpoint_hashes: dict[str, str]
    extract_digests: dict[str, str]
    champion_version_id: str | None
    seed: int
    environment: dict[str, str]
    created_at: str
    seconds: float
    extract_keys: dict[str, str] = field(default_factory=dict)
    # why the suite ran: {"command": "promote" | "dry-run" | "verify" | "pytest", "alias": …}
    purpose: dict[str, str] = field(default_factory=dict)
    # figure specs of the run as a whole (``GateSuite.figures``); hashed only when there are some
    figures: tuple[dict[str, Any], ...] = ()
    # gridded datasets read (name → digest) and ensembles used (label → digest), and the suite's cross-device
    # tolerance ({"rtol", "atol"}); like ``figures``, hashed only when there are some
    dataset_digests: dict[str, str] = field(default_factory=dict)
    ensemble_digests: dict[str, str] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    # the pinned datasets labelled synthetic (``synthetic.json`` or a ``synthetic`` attribute), so that the
    # scorecard, rendered from the evidence alone, can say so; hashed only when there are some
    synthetic_datasets: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True only when every gate passed and there was at least one gate (fail closed)."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def verdict(self) -> Decision:
        """``promoted`` when every gate passed, ``error`` when any could not be evaluated (or there were
        none), else ``refused``."""
        if self.passed:
            return "promoted"
        if not self.results or any(r.status == "error" for r in self.results):
            return "error"
        return "refused"

    @classmethod
    def from_stored(cls, evidence_id: str, body: str) -> Evidence:
        """Evidence from its stored JSON body; ``IntegrityError`` if the body no longer hashes to its id."""
        import json

        from registry.errors import IntegrityError
        from registry.hashing import digest_json

        d = json.loads(body)
        if digest_json(d) != evidence_id:
            raise IntegrityError(f"evidence {evidence_id[:12]} no longer matches its hash")
        d["results"] = tuple(GateResult.from_dict(r) for r in d["results"])
        d["figures"] = tuple(d.get("figures", ()))
        d["synthetic_datasets"] = tuple(d.get("synthetic_datasets", ()))
        return cls(evidence_id=evidence_id, **d)

    def content(self) -> dict[str, Any]:
        """The hashed part of the evidence (everything but its id)."""
        d = asdict(self)
        d.pop("evidence_id")
        d["results"] = [r.to_dict() for r in self.results]
        if self.figures:
            d["figures"] = list(self.figures)
        else:  # evidence stored before suites had figures keeps its hash
            d.pop("figures")
        for name in ("dataset_digests", "ensemble_digests", "tolerance", "synthetic_datasets"):  # likewise
            if not d[name]:  # before gridded data
                d.pop(name)
        if self.synthetic_datasets:
            d["synthetic_datasets"] = list(self.synthetic_datasets)
        return d


@dataclass(frozen=True)
class LedgerEntry:
    """One alias move; ``entry_hash`` chains to ``prev_hash`` of the entry before it."""

    seq: int
    family: str
    alias: str
    from_version: str | None
    to_version: str | None
    action: str  # promote | rollback
    forced: bool
    reason: str
    verdict_digest: str
    evidence_id: str | None
    who: str
    at: str
    prev_hash: str
    entry_hash: str

    def chained_fields(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("entry_hash")
        return d


@dataclass(frozen=True)
class ExtractRef:
    """A materialised extract in the cache: the key that identifies the request and the digest of its rows."""

    name: str
    key: str
    digest: str
    rows: int
    created_at: str
    path: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # columns, source, server version, filled NULLs, split…
