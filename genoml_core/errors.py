"""Exceptions that say what is wrong and how to fix it."""

__all__ = ["GenomlError", "InputError", "ConfigError", "PlinkError"]


class GenomlError(Exception):
    """Base class for errors raised by genoml_core."""


class InputError(GenomlError, ValueError):
    """An input file is malformed or inconsistent: the message names the file, the
    sample or line, and the fix."""


class ConfigError(GenomlError, ValueError):
    """A configuration value is impossible or inconsistent with the data."""


class PlinkError(GenomlError, RuntimeError):
    """PLINK exited non-zero; the message carries its log tail."""
