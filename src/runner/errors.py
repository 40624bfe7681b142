"""The runner's exceptions: each carries a one-line message that the CLI prints as is.

Families (models, data) raise these so that the CLI can turn any expected failure into
`error: <message>` and a non-zero exit, without a traceback.
"""


class RunnerError(Exception):
    """An expected, user-facing failure: the message names the bad thing and what is valid."""

    exit_code = 2


class ConfigError(RunnerError):
    """A config value, key or name that cannot be used."""


class DataError(RunnerError):
    """A dataset file that is missing, corrupt, or cannot be downloaded."""


class IncompatibleError(RunnerError):
    """A combination (model with dataset, checkpoint with task) that cannot work."""


class CheckpointError(RunnerError):
    """A checkpoint that does not exist, is not a Keras file, or belongs to another run."""
