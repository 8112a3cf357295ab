"""How commands print: one JSON object with ``--json``, readable lines otherwise; errors are one line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from registry.hashing import to_jsonable


class Output:
    """Printer shared by every command."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode

    def emit(self, obj: Any, text: str | None = None) -> None:
        """Print ``obj`` as JSON in ``--json`` mode, else ``text`` (or a plain rendering of ``obj``)."""
        if self.json_mode:
            sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")
        elif text is not None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            sys.stdout.write(f"{obj}\n")
        sys.stdout.flush()

    def info(self, text: str) -> None:
        """Progress and side remarks: stderr, so stdout stays parseable."""
        sys.stderr.write(text + "\n")

    def error(self, message: str, kind: str = "Error") -> None:
        if self.json_mode:
            sys.stdout.write(json.dumps({"error": kind, "message": message}) + "\n")
        sys.stderr.write(f"registry: error: {message}\n")


def add_common(parser: Any) -> None:
    """Options every command takes."""
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON object")
    parser.add_argument("--home", default=argparse.SUPPRESS,
                        help="registry home (default: $REGISTRY_HOME or ./.registry)")
