"""The ``registry`` command: argument parsing and dispatch (heavy imports happen inside command handlers)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from registry import __version__
from registry.commands import COMMAND_MODULES
from registry.errors import ExitCode, RegistryError


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command (and as JSON under ``--json``)."""

    json_requested = False  # set by ``main`` from the raw arguments: parsing has not finished when it fails

    def error(self, message: str) -> NoReturn:
        from registry.output import Output

        Output(json_mode=_Parser.json_requested).error(f"{message} (see `{self.prog} --help`)", kind="UsageError")
        self.exit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every installed command."""
    parser = _Parser(
        prog="registry",
        description="Gated model registry: register checkpoints, run their family's gate suite, move aliases "
        "only when every gate passes, and keep a hash-chained ledger of every decision.",
        epilog="Names: FAMILY@N (version number), FAMILY@<hash prefix>, FAMILY@ALIAS (e.g. ionis@production).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--home", default=None,
                        help="registry home (default: $REGISTRY_HOME or ./.registry)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for dotted in COMMAND_MODULES:
        try:
            module = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:
            if exc.name == dotted:
                continue
            raise
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    _Parser.json_requested = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "handler", None):
        parser.print_help()
        return ExitCode.USAGE
    from registry.output import Output

    out = Output(json_mode=getattr(args, "json", False))
    try:
        return int(args.handler(args, out))
    except RegistryError as exc:
        out.error((str(exc).strip().splitlines() or [type(exc).__name__])[0], kind=type(exc).__name__)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        out.error("interrupted; nothing was half-written", kind="Interrupted")
        return int(ExitCode.INTERNAL)
    except Exception as exc:  # an unexpected failure is still one line unless asked for the traceback
        if os.environ.get("REGISTRY_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        out.error(f"internal error: {type(exc).__name__}: {first} (set REGISTRY_DEBUG=1 for the traceback)",
                  kind="InternalError")
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
