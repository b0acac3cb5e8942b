"""Errors the CLI turns into one clear message (kept import-light for fast browsing commands)."""


class ConfigError(ValueError):
    """A configuration (run config or problem.yaml) is malformed; the message names the field."""


class DatabaseError(RuntimeError):
    """The database cannot be opened or does not hold what was asked for."""


class CampaignError(RuntimeError):
    """The campaign cannot go on (e.g. the seed program fails on the training instances)."""
