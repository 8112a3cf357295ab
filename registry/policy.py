"""Promotion policy: which gate suites may move an alias, kept in the catalog and changed only through the ledger.

An alias's policy lists the suites it accepts; a promotion must pass one of them, run at the version the
installed plugin provides (its newest). Without a stored policy an alias accepts its family's default suite.
``production`` and ``staging`` exist for every family; any other alias exists once a policy was set for it,
or once it was created by a promotion with ``create_alias``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.catalog import rows_if_table
from registry.errors import InvalidInput, UnknownName, UsageError
from registry.hashing import canonical_json, digest_json
from registry.naming import check_alias, check_family, check_text

if TYPE_CHECKING:
    from registry.app import App
    from registry.records import LedgerEntry

DEFAULT_ALIASES = ("production", "staging")


@dataclass(frozen=True)
class Policy:
    """The suites ``family@alias`` accepts; ``ledger_seq`` is the entry that set it (None: the default)."""

    family: str
    alias: str
    suites: tuple[str, ...]
    ledger_seq: int | None = None

    @property
    def is_default(self) -> bool:
        return self.ledger_seq is None

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "alias": self.alias, "suites": list(self.suites),
                "default": self.is_default, "ledger_seq": self.ledger_seq}


def body_of(suites: Sequence[str], reason: str) -> dict[str, Any]:
    """What a policy entry records (in ``policies.body`` and as the ledger entry's reason)."""
    return {"suites": list(suites), "reason": reason}


def entry_digest(family: str, alias: str, body: Mapping[str, Any]) -> str:
    """The ``verdict_digest`` of a policy entry: it binds the family, alias and the policy body."""
    return digest_json({"policy": dict(body), "family": family, "alias": alias})


def suites_in(body: str) -> tuple[str, ...]:
    """The accepted suites of a stored policy body (JSON text)."""
    return tuple(json.loads(body)["suites"])


def stored(con: Any, family: str | None = None) -> dict[tuple[str, str], Policy]:
    """Policies set through the ledger, by (family, alias)."""
    if con is None:
        return {}
    rows = rows_if_table(con, "SELECT family, alias, body, ledger_seq FROM policies WHERE ? IS NULL OR family = ? "
                         "ORDER BY family, alias", [family, family])
    return {(f, a): Policy(f, a, suites_in(b), int(s)) for f, a, b, s in rows}


def known_aliases(con: Any, family: str) -> set[str]:
    """Aliases that exist for ``family``: the defaults, any with a policy, any that was ever moved."""
    names = set(DEFAULT_ALIASES)
    if con is None:
        return names
    names |= {a for (_f, a) in stored(con, family)}
    names |= {r[0] for r in con.execute("SELECT DISTINCT alias FROM ledger WHERE family = ?", [family]).fetchall()}
    names |= {r[0] for r in con.execute("SELECT DISTINCT alias FROM aliases WHERE family = ?", [family]).fetchall()}
    return names


def check_declared(con: Any, family: str, alias: str) -> None:
    """``UnknownName`` with a suggestion unless ``alias`` exists for ``family``."""
    known = known_aliases(con, family)
    if alias in known:
        return
    close = difflib.get_close_matches(alias, sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UnknownName(f"alias {family}@{alias} does not exist; {hint}pass --create-alias to create it, or declare "
                      f"it with `registry policy set {family} {alias} --suite SUITE`")


def policy_for(con: Any, family: str, alias: str, default_suite: str) -> Policy:
    """The policy in force for ``family@alias``: the stored one, else the family's default suite."""
    return stored(con, family).get((family, alias)) or Policy(family, alias, (default_suite,))


def check_suite(policy: Policy, suite: str) -> None:
    """``UsageError`` naming the accepted suites unless ``policy`` accepts ``suite``."""
    if suite not in policy.suites:
        need = " or ".join(policy.suites)
        raise UsageError(f"suite {suite!r} cannot move {policy.family}@{policy.alias}: its policy requires {need} "
                         "(a --dry-run may use any suite; `registry policy set` changes the policy)")


def set_policy(app: App, family: str, alias: str, suites: Sequence[str], *, reason: str = "") -> LedgerEntry:
    """Store the policy of ``family@alias`` and record the change as a ledger entry, in one transaction."""
    from registry import ledger
    from registry.store import current_user, now_utc

    check_family(family)
    check_alias(alias)
    check_text(reason, "--reason")
    app.plugins.family(family)
    if not suites:
        raise InvalidInput("a policy needs at least one suite (--suite NAME, repeatable)")
    # UnknownName lists the family's suites; a suite with options is stored under its canonical name
    chosen = list(dict.fromkeys(app.plugins.suite(family, name).name for name in suites))
    body = body_of(chosen, reason)
    with app.store.catalog.write() as con:
        entry = ledger.append(con, family=family, alias=alias, from_version=None, to_version=None,
                              action="policy", forced=False, reason=canonical_json(body),
                              verdict_digest=entry_digest(family, alias, body), evidence_id=None,
                              who=current_user(), at=now_utc())
        con.execute("DELETE FROM policies WHERE family = ? AND alias = ?", [family, alias])
        con.execute("INSERT INTO policies VALUES (?, ?, ?, ?)", [family, alias, canonical_json(body), entry.seq])
        return entry


def in_force(app: App, family: str | None = None) -> list[Policy]:
    """Every policy that applies: the stored ones and the defaults of each installed family's default aliases."""
    fams = app.plugins.families()
    with app.store.catalog.read() as con:
        explicit = stored(con, family)
        aliases = {f: known_aliases(con, f) for f in fams if family in (None, f)}
    out = dict(explicit)
    for f, names in aliases.items():
        for a in names:
            out.setdefault((f, a), Policy(f, a, (fams[f].default_suite,)))
    return [out[k] for k in sorted(out)]
