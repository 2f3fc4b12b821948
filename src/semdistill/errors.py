"""The library's user-facing errors: the CLI prints these as one line, never a traceback."""


class UserError(Exception):
    """Base for errors caused by input the user can fix (config, files, weights, data)."""


class MissingDependency(UserError, ImportError):
    """An optional extra that a feature needs is not installed (the message names the
    ``pip install`` line)."""


class NonFiniteSymbols(UserError, ValueError):
    """A quantizer got NaN or infinite symbols: the transmitter diverged during training."""
