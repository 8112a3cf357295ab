"""The registry home: versions, aliases, evidence and ledger in the catalog; bytes in the object store."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import getpass
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from registry import ledger
from registry.catalog import Catalog
from registry.errors import AliasMoved, IntegrityError, UnknownName
from registry.faults import crash_point
from registry.hashing import canonical_json, digest_json
from registry.naming import VersionRef, check_alias, check_text, parse_ref
from registry.objects import ObjectStore
from registry.records import Evidence, FileRef, LedgerEntry, ModelVersion


def now_utc(*, precise: bool = False) -> str:
    """Current UTC time, ISO-8601 with seconds (``precise``: microseconds, for ordering runs)."""
    now = _dt.datetime.now(_dt.UTC)
    return now.isoformat(timespec="microseconds") if precise else now.replace(microsecond=0).isoformat()


ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("registry_actor", default=None)
"""Who acts in this context instead of the process's user (the web server sets a token's name per request)."""


def current_user() -> str:
    """Who is acting: the context's ``ACTOR`` if set, else ``$REGISTRY_USER`` or the login name."""
    actor = ACTOR.get()
    if actor:
        return actor
    try:
        user = os.environ.get("REGISTRY_USER") or getpass.getuser()
    except Exception:
        return "unknown"
    return check_text(user, "the user name ($REGISTRY_USER or the login name)")


def version_id_for(family: str, hashes: Mapping[str, str]) -> str:
    """A version's identity: the hash of its family and its files' content hashes by role."""
    return digest_json({"family": family, "files": dict(sorted(hashes.items()))})


_VERSION_COLS = "v.family, v.number, v.version_id, v.name, v.lineage, v.created_at, v.created_by"


class Store:
    """Everything under one registry home."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.catalog = Catalog(self.home)
        self.objects = ObjectStore(self.home / "objects")
        self._checkouts: tempfile.TemporaryDirectory[str] | None = None

    # ---------------------------------------------------------------- versions
    def register(self, family: str, files: Mapping[str, Path], *, name: str = "",
                 lineage: Mapping[str, Any] | None = None) -> tuple[ModelVersion, bool]:
        """Store ``files`` (role → path) as a version of ``family``; return it and whether it is new.

        Registering the same bytes again returns the existing version unchanged.
        """
        check_text(name, "the version name")
        for path in files.values():
            check_text(Path(path).name, "a file name")
        with self._writing() as con:
            refs: list[FileRef] = []
            for role, path in sorted(files.items()):
                sha, size = self.objects.put(Path(path))
                refs.append(FileRef(role, sha, size, Path(path).name))
            crash_point("register:objects-written")
            vid = version_id_for(family, {r.role: r.sha256 for r in refs})
            existing = self._versions(con, "v.version_id = ?", [vid])
            if existing:
                return existing[0], False
            number = con.execute("SELECT coalesce(max(number), 0) + 1 FROM versions WHERE family = ?",
                                 [family]).fetchall()[0][0]
            version = ModelVersion(family, int(number), vid, name or f"{family}-{number}", tuple(refs),
                                   dict(lineage or {}), now_utc(), current_user())
            con.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [family, version.number, vid, version.name, canonical_json(version.lineage),
                         version.created_at, version.created_by])
            con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                            [[vid, r.role, r.sha256, r.size, r.filename] for r in refs])
            crash_point("register:catalog-written")
            return version, True

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Any]:
        """A catalog write that first removes what a writer killed earlier left in the object store."""
        with self.catalog.write() as con:
            self.objects.sweep(self._referenced(con))
            yield con

    @staticmethod
    def _referenced(con: Any) -> set[str]:
        return {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM files").fetchall()}

    @staticmethod
    def _versions(con: Any, where: str = "TRUE", params: list[Any] | None = None) -> list[ModelVersion]:
        rows = con.execute(
            f"SELECT {_VERSION_COLS}, f.role, f.sha256, f.size, f.filename FROM versions v "
            f"JOIN files f USING (version_id) WHERE {where} ORDER BY v.family, v.number, f.role",
            params or []).fetchall()
        out: dict[str, tuple[tuple[Any, ...], list[FileRef]]] = {}
        for row in rows:
            head, file = row[:7], FileRef(*row[7:])
            out.setdefault(head[2], (head, []))[1].append(file)
        return [ModelVersion(h[0], h[1], h[2], h[3], tuple(fs), json.loads(h[4]), h[5], h[6])
                for h, fs in out.values()]

    def versions(self, family: str | None = None) -> list[ModelVersion]:
        """All versions (of one family), ordered by family and number."""
        with self.catalog.read() as con:
            if con is None:
                return []
            return self._versions(con, "? IS NULL OR v.family = ?", [family, family])

    def families_in_use(self) -> list[str]:
        with self.catalog.read() as con:
            if con is None:
                return []
            return [r[0] for r in con.execute("SELECT DISTINCT family FROM versions ORDER BY 1").fetchall()]

    def resolve(self, ref: VersionRef | str) -> ModelVersion:
        """The version a reference names: number, then alias, then unique hash prefix."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        with self.catalog.read() as con:
            if con is None:
                raise UnknownName(f"no version {ref}: the registry at {self.home} is empty")
            found: list[ModelVersion] = []
            if ref.number is not None:
                found = self._versions(con, "v.family = ? AND v.number = ?", [ref.family, ref.number])
            if not found:
                row = con.execute("SELECT version_id FROM aliases WHERE family = ? AND alias = ?",
                                  [ref.family, ref.selector]).fetchone()
                if row and row[0]:
                    found = self._versions(con, "v.version_id = ?", [row[0]])
            if not found and ref.could_be_hash:
                found = self._versions(con, "v.family = ? AND starts_with(v.version_id, ?)",
                                       [ref.family, ref.selector])
                if len(found) > 1:
                    raise UnknownName(f"{ref} is ambiguous: {len(found)} versions start with {ref.selector!r}")
            if not found:
                from registry.policy import known_aliases

                if ref.number is None and ref.selector in known_aliases(con, ref.family):
                    raise UnknownName(f"alias {ref} is not set: no version of {ref.family} holds it yet")
                raise UnknownName(f"no version {ref} (not a version number, alias or hash prefix of {ref.family})")
            return found[0]

    def by_id(self, version_id: str) -> ModelVersion:
        with self.catalog.read() as con:
            found = self._versions(con, "v.version_id = ?", [version_id]) if con is not None else []
        if not found:
            raise UnknownName(f"no version with id {version_id[:12]}")
        return found[0]

    def checkout(self, version: ModelVersion) -> dict[str, Path]:
        """Verified paths of a version's files, under their original file names (read-only links)."""
        if self._checkouts is None:
            self._checkouts = tempfile.TemporaryDirectory(prefix="registry-checkout-")
        out: dict[str, Path] = {}
        for f in version.files:
            src = self.objects.verified(f.sha256)
            if src.stat().st_size != f.size:
                raise IntegrityError(f"object {f.sha256[:12]} has the wrong size")
            dest = Path(self._checkouts.name) / version.version_id[:16] / f.role / f.filename
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(src.resolve(), dest)
            out[f.role] = dest
        return out

    # ---------------------------------------------------------------- aliases
    def aliases(self, family: str | None = None) -> dict[tuple[str, str], str | None]:
        with self.catalog.read() as con:
            if con is None:
                return {}
            rows = con.execute("SELECT family, alias, version_id FROM aliases WHERE ? IS NULL OR family = ? "
                               "ORDER BY family, alias", [family, family]).fetchall()
        return {(f, a): v for f, a, v in rows}

    def holder(self, family: str, alias: str) -> str | None:
        return self.aliases(family).get((family, alias))

    def move_alias(self, family: str, alias: str, *, expected: str | None, to: str | None, action: str,
                   verdict_digest: str, evidence: Evidence | None = None, evidence_id: str | None = None,
                   forced: bool = False, reason: str = "") -> LedgerEntry:
        """Compare-and-set: move ``alias`` from ``expected`` to ``to`` and append the ledger entry, in one
        transaction (the evidence, if given, is stored in the same transaction). ``AliasMoved`` if the
        alias no longer points at ``expected``."""
        check_alias(alias)
        with self._writing() as con:
            if evidence is not None:
                self._insert_evidence(con, evidence)
                evidence_id = evidence.evidence_id
            row = con.execute("SELECT version_id FROM aliases WHERE family = ? AND alias = ?",
                              [family, alias]).fetchone()
            current = row[0] if row else None
            if current != expected:
                raise AliasMoved(f"alias {family}@{alias} moved while deciding: it now points at "
                                 f"{self._label(con, current)}, not {self._label(con, expected)}; decide again")
            entry = ledger.append(con, family=family, alias=alias, from_version=current, to_version=to,
                                  action=action, forced=forced, reason=reason, verdict_digest=verdict_digest,
                                  evidence_id=evidence_id, who=current_user(), at=now_utc())
            crash_point("promote:ledger-written")
            con.execute("DELETE FROM aliases WHERE family = ? AND alias = ?", [family, alias])
            if to is not None:
                con.execute("INSERT INTO aliases VALUES (?, ?, ?, ?)", [family, alias, to, entry.seq])
            if evidence is not None:
                self.note_head(con, evidence.evidence_id)
            crash_point("promote:alias-written")
            return entry

    @staticmethod
    def _label(con: Any, version_id: str | None) -> str:
        if version_id is None:
            return "nothing"
        row = con.execute("SELECT family, number FROM versions WHERE version_id = ?", [version_id]).fetchone()
        return f"{row[0]}@{row[1]}" if row else version_id[:12]

    # ---------------------------------------------------------------- evidence
    @classmethod
    def _insert_evidence(cls, con: Any, ev: Evidence) -> None:
        if con.execute("SELECT 1 FROM evidence WHERE evidence_id = ?", [ev.evidence_id]).fetchall():
            return
        con.execute("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [ev.evidence_id, ev.family, ev.version_id, ev.suite, ev.suite_version, ev.passed,
                     ev.created_at, canonical_json(ev.content())])
        cls.note_head(con, ev.evidence_id)

    @staticmethod
    def note_head(con: Any, evidence_id: str) -> None:
        """Record the ledger head as it stands now as the head after ``evidence_id``'s decision."""
        seq, head = ledger.head(con)
        con.execute("DELETE FROM decision_heads WHERE evidence_id = ?", [evidence_id])
        con.execute("INSERT INTO decision_heads VALUES (?, ?, ?)", [evidence_id, seq, head])

    def head_after(self, evidence_id: str) -> tuple[int, str] | None:
        """The ledger head recorded right after the decision ``evidence_id`` was part of."""
        from registry.catalog import rows_if_table

        with self.catalog.read() as con:
            rows = rows_if_table(con, "SELECT ledger_seq, entry_hash FROM decision_heads WHERE evidence_id = ?",
                                 [evidence_id]) if con is not None else []
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def save_evidence(self, ev: Evidence) -> None:
        with self._writing() as con:
            self._insert_evidence(con, ev)

    def evidence(self, evidence_id: str) -> Evidence:
        with self.catalog.read() as con:
            row = con.execute("SELECT body FROM evidence WHERE evidence_id = ?",
                              [evidence_id]).fetchone() if con is not None else None
        if row is None:
            raise UnknownName(f"no evidence {evidence_id[:12]}")
        return Evidence.from_stored(evidence_id, row[0])

    def evidence_for(self, version_id: str, suite: str | None = None) -> list[Evidence]:
        """Stored runs for a version, oldest first."""
        with self.catalog.read() as con:
            if con is None:
                return []
            rows = con.execute("SELECT evidence_id, body FROM evidence WHERE version_id = ? AND "
                               "(? IS NULL OR suite = ?) ORDER BY created_at, evidence_id",
                               [version_id, suite, suite]).fetchall()
        return [Evidence.from_stored(i, b) for i, b in rows]

    # ---------------------------------------------------------------- ledger
    def ledger(self, family: str | None = None, alias: str | None = None) -> list[LedgerEntry]:
        with self.catalog.read() as con:
            return ledger.entries(con, family, alias) if con is not None else []

    def ledger_head(self) -> tuple[int, str]:
        """``(seq, entry_hash)`` of the newest ledger entry (``(0, GENESIS)`` for an empty ledger)."""
        with self.catalog.read() as con:
            return ledger.head(con) if con is not None else (0, ledger.GENESIS)

    def verify_ledger(self, *, defaults: Mapping[str, str] | None = None,
                      witnesses: Iterable[tuple[int | None, str]] = ()) -> list[str]:
        """Every problem in the ledger, the policies, the versions and their objects (see ``registry.fsck``)."""
        from registry.fsck import check_versions

        with self.catalog.read() as con:
            if con is None:
                return ledger.check_witnesses([], witnesses)
            return (ledger.verify(con, defaults=defaults, witnesses=witnesses)
                    + check_versions(con, self.objects))
