"""Running the CLI's own command handlers for the server, capturing the one JSON object each prints."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from registry.errors import AliasMoved, CatalogBusy, InvalidInput, RegistryError, UnknownName, UsageError
from registry.hashing import to_jsonable
from registry.output import Output


class CapturedOutput(Output):
    """An ``Output`` in ``--json`` mode that keeps what a command emits instead of printing it."""

    def __init__(self) -> None:
        super().__init__(json_mode=True)
        self.objects: list[Any] = []

    def emit(self, obj: Any, text: str | None = None) -> None:
        self.objects.append(to_jsonable(obj))

    def info(self, text: str) -> None:
        pass

    def error(self, message: str, kind: str = "Error") -> None:
        pass


@dataclass(frozen=True)
class CommandResult:
    """A command's exit code and the JSON object it printed (what ``registry … --json`` prints)."""

    exit_code: int
    body: Any


@lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    from registry.cli import build_parser

    return build_parser()


def run_command(app: Any, command: str, *options: str, positionals: tuple[str, ...] = ()) -> CommandResult:
    """Run ``registry COMMAND OPTIONS… -- POSITIONALS… --json`` in the server's ``app`` and capture its JSON.

    The arguments go through the CLI's own parser, so every default and check of the command holds; options are
    passed as ``--name=value`` and positionals after ``--``, so no value can be read as an option. Errors propagate.
    """
    argv = [*command.split(), "--json", *options, *(("--", *positionals) if positionals else ())]
    try:
        args = _parser().parse_args(argv)
    except SystemExit:
        raise InvalidInput(f"invalid arguments for {command}") from None
    args.app = app
    out = CapturedOutput()
    code = int(args.handler(args, out))
    return CommandResult(code, out.objects[-1] if out.objects else {})


def option(name: str, value: Any) -> tuple[str, ...]:
    """``--name=value`` (nothing for None or False; the bare flag for True)."""
    if value is None or value is False:
        return ()
    return (f"--{name}",) if value is True else (f"--{name}={value}",)


def http_status(exc: RegistryError) -> int:
    """The HTTP status of a registry error: 404 unknown, 400 usage, 409 alias moved, 503 busy, else 500."""
    if isinstance(exc, UnknownName):
        return 404
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, AliasMoved):
        return 409
    if isinstance(exc, CatalogBusy):
        return 503
    return 500


def error_body(exc: BaseException) -> dict[str, str]:
    """The body of an error response: the CLI's ``--json`` error object (kind and one line)."""
    return {"error": type(exc).__name__, "message": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}
