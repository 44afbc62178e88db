"""User-facing errors: each carries a one-line message and exits with code 2."""

from __future__ import annotations


class LoopsafeError(Exception):
    """Base class of errors shown to the user as one line, without a traceback."""

    exit_code = 2


class UsageError(LoopsafeError):
    """A command-line argument is wrong."""


class ConfigError(LoopsafeError):
    """The ``[tool.loopsafe]`` configuration is invalid."""


class InputError(LoopsafeError):
    """A path is missing or unreadable."""
