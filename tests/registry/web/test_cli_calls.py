"""The bridge to the CLI: its own parser, values never read as options, errors mapped to HTTP statuses."""

from __future__ import annotations

import pytest

from registry.errors import (
    AliasMoved,
    CatalogBusy,
    IntegrityError,
    InvalidCheckpoint,
    InvalidInput,
    UnknownName,
    UsageError,
)
from registry.web.cli_calls import error_body, http_status, option, run_command


@pytest.mark.parametrize(("error", "status"), [(UnknownName("x"), 404), (InvalidInput("x"), 400),
                                               (InvalidCheckpoint("x"), 400), (UsageError("x"), 400),
                                               (AliasMoved("x"), 409), (CatalogBusy("x"), 503),
                                               (IntegrityError("x"), 500)])
def test_http_status(error: Exception, status: int) -> None:
    assert http_status(error) == status  # type: ignore[arg-type]


def test_error_body_is_one_line() -> None:
    assert error_body(InvalidInput("first\nsecond")) == {"error": "InvalidInput", "message": "first"}
    assert error_body(InvalidInput("")) == {"error": "InvalidInput", "message": "InvalidInput"}


def test_option() -> None:
    assert [option("a", None), option("a", False), option("a", True), option("a", 0), option("a", "-x")] == \
        [(), (), ("--a",), ("--a=0",), ("--a=-x",)]


def test_values_that_look_like_options_stay_values(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="not a valid family name"):
        run_command(app, "list", positionals=("--help",))
    with pytest.raises(InvalidInput):
        run_command(app, "show", "--nonsense=1", positionals=("toy@1",))  # the parser's refusal, not an exit
    result = run_command(app, "list", positionals=("toy",))
    assert (result.exit_code, result.body) == (0, {"versions": []})
