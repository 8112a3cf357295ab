"""Tokens: hashes only, scopes (families default all, aliases default none), revocation, names never reused."""

from __future__ import annotations

import hashlib

import pytest

from registry.errors import InvalidInput, UnknownName
from registry.store import Store
from registry.web.tokens import PREFIX, Token, authenticate, create_token, list_tokens, revoke_token, secret_digest


def test_scopes_default_to_all_families_and_no_alias() -> None:
    anyone = Token("t", (), (), "now", "me")
    assert anyone.allows_family("ionis") and anyone.allows_family("toy")
    assert not anyone.allows_alias("toy", "production")
    staging = Token("t", ("toy",), ("staging",), "now", "me")
    assert staging.allows_alias("toy", "staging")
    assert not staging.allows_alias("toy", "production") and not staging.allows_alias("ionis", "staging")
    assert not staging.allows_family("ionis")


def test_only_the_digest_is_stored_and_it_authenticates(home) -> None:  # type: ignore[no-untyped-def]
    store = Store(home)
    token, secret = create_token(store, "ci.bot-1", families=["toy", "toy"], aliases=["staging", "production"])
    assert secret.startswith(PREFIX) and len(secret) > 40
    assert secret_digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.families, token.aliases) == (("toy",), ("production", "staging"))
    with store.catalog.read() as con:
        stored = con.execute("SELECT * FROM tokens").fetchall()
    assert secret not in repr(stored) and secret_digest(secret) in repr(stored)
    found = authenticate(store, secret)
    assert found is not None and found.name == "ci.bot-1" and found.created_by == token.created_by
    assert authenticate(store, secret + "x") is None
    assert authenticate(store, secret[len(PREFIX):]) is None  # the prefix is part of the secret
    assert authenticate(store, PREFIX + "x" * 300) is None
    assert (found.families, found.aliases, found.created_at, found.revoked_at) == \
        (("toy",), ("production", "staging"), token.created_at, None)
    assert [t.to_dict() for t in list_tokens(store)] == [{
        "name": "ci.bot-1", "families": ["toy"], "aliases": ["production", "staging"],
        "created_at": token.created_at, "created_by": token.created_by, "revoked_at": None}]
    assert authenticate(store, PREFIX + "\udc80") is None  # a lone surrogate from a header is no crash


def test_revoked_tokens_stop_at_once_and_names_are_never_reused(home) -> None:  # type: ignore[no-untyped-def]
    store = Store(home)
    _, secret = create_token(store, "bot", families=[], aliases=["production"])
    _, other = create_token(store, "other", families=[], aliases=[])
    first = revoke_token(store, "bot")
    assert first.revoked_at is not None
    assert revoke_token(store, "bot").revoked_at == first.revoked_at  # revoking again changes nothing
    assert authenticate(store, secret) is None
    assert authenticate(store, other) is not None  # only that token
    with pytest.raises(InvalidInput, match="exists already"):
        create_token(store, "bot", families=[], aliases=[])
    with pytest.raises(UnknownName):
        revoke_token(store, "nobody")


@pytest.mark.parametrize(("families", "aliases"), [(["Bad!"], []), ([], ["0abc"]), ([], ["Prod"])])
def test_bad_scopes_are_refused_and_nothing_is_stored(home, families, aliases) -> None:  # type: ignore[no-untyped-def]
    store = Store(home)
    with pytest.raises(InvalidInput):
        create_token(store, "bot", families=families, aliases=aliases)
    assert list_tokens(store) == []


def test_a_catalog_without_the_table_has_no_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    home = tmp_path / "old"
    home.mkdir()
    duckdb.connect(str(home / "catalog.duckdb")).close()  # a catalog from before tokens, never written since
    store = Store(home)
    assert list_tokens(store) == [] and authenticate(store, PREFIX + "abc") is None
