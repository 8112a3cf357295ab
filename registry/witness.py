"""Ledger heads as witnesses: their text form, and reading them back from a file of heads or a scorecard."""

from __future__ import annotations

import re
from pathlib import Path

from registry.errors import InvalidInput

_HEAD = re.compile(r"(?:(\d{1,18}):)?([0-9a-f]{64})\Z")
_IN_TEXT = re.compile(r"(?<![0-9a-f:])(\d{1,18}):([0-9a-f]{64})(?![0-9a-f])")
SCORECARD_META = "registry-ledger-head"
_IN_SCORECARD = re.compile(rf'<meta name="{SCORECARD_META}" content="(\d{{1,18}}):([0-9a-f]{{64}})">')
MAX_FILE_BYTES = 64 * 1024 * 1024


def format_head(seq: int, entry_hash: str) -> str:
    """``SEQ:HASH``, the form every command prints and ``--witness`` takes."""
    return f"{seq}:{entry_hash}"


def parse_head(text: str) -> tuple[int | None, str]:
    """``SEQ:HASH`` (or a bare 64-hex HASH) as ``(seq, hash)``; ``InvalidInput`` for anything else."""
    m = _HEAD.match(text.strip().lower())
    if not m:
        raise InvalidInput(f"{text[:80]!r} is not a ledger head (SEQ:HASH as `registry ledger head` prints it)")
    return (int(m.group(1)) if m.group(1) is not None else None), m.group(2)


def heads_in_file(path: Path) -> list[tuple[int | None, str]]:
    """Every head a file witnesses: a scorecard's recorded head, or each ``SEQ:HASH`` in a text file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"--witness-file {path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidInput(f"--witness-file {path}: {exc.strerror or exc}") from None
    found = _IN_SCORECARD.findall(text) or _IN_TEXT.findall(text)
    if not found:
        raise InvalidInput(f"--witness-file {path} holds no ledger head (SEQ:HASH lines or a scorecard)")
    return [(int(seq), h) for seq, h in found]
