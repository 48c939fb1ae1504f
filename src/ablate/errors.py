"""Errors that mean the user's input is wrong: reported in one line, before any training."""


class AblateInputError(ValueError):
    """Bad configuration or data supplied by the user; the message names the fix."""


class ConfigError(AblateInputError):
    """A config value outside its valid set or range."""


class DataError(AblateInputError):
    """Data that cannot be fetched, read or trusted."""


class OutputError(AblateInputError):
    """An output location that cannot be written (a file where a folder should be, no
    permission, a full disk): named before anything is lost."""
