"""Every exception the registry raises on purpose, and the CLI's exit codes.

    RegistryError                      base; ``str(err)`` is one line a person can act on
    ├── UsageError                     the caller asked for something impossible          (exit 2)
    │   ├── UnknownName                unknown family, version, alias, suite, extract, plugin
    │   ├── InvalidInput               bad JSON, bad parameters, rows outside physical ranges
    │   └── InvalidCheckpoint          corrupt / truncated / wrong-shape / code-carrying file
    ├── AliasMoved                     compare-and-set lost: the alias changed under us    (exit 1)
    ├── GateError                      a gate could not be evaluated (never a *failed* gate)
    │   └── DataMissing                an extract or baseline the gate needs is absent
    ├── IntegrityError                 a stored object, evidence or ledger entry no longer matches its hash (exit 3)
    ├── CatalogBusy                    another process held the catalog past the timeout (exit 3)
    └── SourceError                    an extract source could not be read                 (exit 3)

A gate that *fails* is a result inside a verdict, never an exception. A ``GateError`` raised while a
suite runs becomes an ``error`` row, and any error row refuses promotion (fail closed).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit status of the ``registry`` command."""

    OK = 0  # promoted, or a read-only command succeeded
    REFUSED = 1  # a gate failed or errored, the alias moved, verification found drift
    USAGE = 2  # unknown names, malformed input, bad checkpoint
    INTERNAL = 3  # integrity failures, busy catalog, unexpected exceptions


class RegistryError(Exception):
    """Base of every deliberate error; its message is a single line."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(RegistryError):
    """The request cannot be satisfied as asked."""

    exit_code = ExitCode.USAGE


class UnknownName(UsageError):
    """A family, version, alias, suite, extract or plugin name that does not exist."""


class InvalidInput(UsageError):
    """Malformed input data or parameters."""


class InvalidCheckpoint(UsageError):
    """A checkpoint, config or meta file that fails the family's validation."""


class AliasMoved(RegistryError):
    """The alias no longer points where the decision assumed."""

    exit_code = ExitCode.REFUSED


class GateError(RegistryError):
    """A gate could not be evaluated; the suite records it as an error and refuses."""


class DataMissing(GateError):
    """An extract or baseline that a gate needs is not available."""


class IntegrityError(RegistryError):
    """Stored bytes or records do not match their recorded hashes."""


class CatalogBusy(RegistryError):
    """The catalog stayed locked by another process for longer than the timeout."""


class SourceError(RegistryError):
    """An extract source (ClickHouse, file) could not be read."""
