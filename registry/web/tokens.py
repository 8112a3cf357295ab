"""API tokens: only each secret's sha256 is stored in the catalog, with its family and alias scopes; revocable."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidInput, UnknownName
from registry.naming import check_alias, check_family

if TYPE_CHECKING:
    from registry.store import Store

PREFIX = "rgt_"
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_COLUMNS = "name, families, aliases, created_at, created_by, revoked_at"


@dataclass(frozen=True)
class Token:
    """A token's public record: its name (the ledger's actor for its writes) and what it may touch."""

    name: str
    families: tuple[str, ...]  # empty: every family
    aliases: tuple[str, ...]  # empty: no alias may be moved (register only)
    created_at: str
    created_by: str
    revoked_at: str | None = None

    def allows_family(self, family: str) -> bool:
        return not self.families or family in self.families

    def allows_alias(self, family: str, alias: str) -> bool:
        return self.allows_family(family) and alias in self.aliases

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "families": list(self.families), "aliases": list(self.aliases),
                "created_at": self.created_at, "created_by": self.created_by, "revoked_at": self.revoked_at}


def secret_digest(secret: str) -> str:
    """What the catalog stores of a secret: its sha256 (secrets are 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def check_token_name(name: str) -> str:
    """Return ``name`` if it can name a token (and so a ledger actor): lowercase, digits, ``._-``."""
    if not _NAME.match(name):
        raise InvalidInput(f"{name!r} is not a valid token name (lowercase letters, digits, '.', '-', '_'; "
                           "starts with a letter)")
    return name


def _row(row: tuple[Any, ...]) -> Token:
    return Token(row[0], tuple(json.loads(row[1])), tuple(json.loads(row[2])), row[3], row[4], row[5])


def create_token(store: Store, name: str, *, families: list[str], aliases: list[str]) -> tuple[Token, str]:
    """Store a new token and return it with its secret, which is shown once and never stored."""
    from registry.store import current_user, now_utc

    check_token_name(name)
    fams = tuple(sorted({check_family(f) for f in families}))
    alis = tuple(sorted({check_alias(a) for a in aliases}))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = Token(name, fams, alis, now_utc(), current_user())
    with store.catalog.write() as con:
        if con.execute("SELECT 1 FROM tokens WHERE name = ?", [name]).fetchall():
            raise InvalidInput(f"a token named {name!r} exists already (names are never reused, even revoked)")
        con.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    [name, secret_digest(secret), json.dumps(list(fams)), json.dumps(list(alis)),
                     token.created_at, token.created_by])
    return token, secret


def revoke_token(store: Store, name: str) -> Token:
    """Mark the token revoked; from then on its secret authenticates nothing."""
    from registry.store import now_utc

    check_token_name(name)
    with store.catalog.write() as con:
        row = con.execute(f"SELECT {_COLUMNS} FROM tokens WHERE name = ?", [name]).fetchone()
        if row is None:
            raise UnknownName(f"no token named {name!r}")
        if row[5] is None:
            con.execute("UPDATE tokens SET revoked_at = ? WHERE name = ?", [now_utc(), name])
        row = con.execute(f"SELECT {_COLUMNS} FROM tokens WHERE name = ?", [name]).fetchone()
    assert row is not None  # read back inside the same transaction
    return _row(row)


def _has_tokens_table(con: Any) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'tokens'").fetchall())


def list_tokens(store: Store) -> list[Token]:
    """Every token, revoked ones included, by name."""
    with store.catalog.read() as con:
        if con is None or not _has_tokens_table(con):
            return []
        return [_row(r) for r in con.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY name").fetchall()]


def authenticate(store: Store, secret: str) -> Token | None:
    """The live token whose secret this is, or None (unknown, malformed or revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    with store.catalog.read() as con:
        if con is None or not _has_tokens_table(con):
            return None
        row = con.execute(f"SELECT {_COLUMNS} FROM tokens WHERE token_sha256 = ? AND revoked_at IS NULL",
                          [secret_digest(secret)]).fetchone()
    return _row(row) if row else None
