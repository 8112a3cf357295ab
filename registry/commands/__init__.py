"""CLI command groups; each module exposes ``add_parsers(sub)`` and imports heavy libraries only inside handlers."""

COMMAND_MODULES: tuple[str, ...] = (
    "registry.commands.plugins_cmd",
    "registry.commands.versions",
    "registry.commands.promote",
    "registry.commands.ledger_cmd",
    "registry.commands.policy_cmd",
    "registry.commands.extract",
    "registry.commands.datasets",
    "registry.commands.train",
    "registry.commands.demo",
    "registry.commands.serve",
)
"""Modules whose ``add_parsers`` build the ``registry`` sub-commands; a module that does not exist is skipped."""
