"""Exceptions that say what is wrong and how to fix it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

__all__ = ["GenomlError", "InputError", "ConfigError", "PlinkError", "reject_unknown", "field_names"]


class GenomlError(Exception):
    """Base class for errors raised by genoml_core."""


class InputError(GenomlError, ValueError):
    """An input file is malformed or inconsistent: the message names the file, the
    sample or line, and the fix."""


class ConfigError(GenomlError, ValueError):
    """A configuration value is impossible or inconsistent with the data."""


class PlinkError(GenomlError, RuntimeError):
    """PLINK exited non-zero; the message carries its log tail."""


def field_names(cls: type) -> set[str]:
    """The field names of a dataclass: the keys its ``from_dict`` accepts."""
    return {f.name for f in dataclasses.fields(cls)}


def reject_unknown(given: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Raise :class:`ConfigError` ``unknown {what} [...]; allowed: [...]`` when ``given`` has a key
    outside ``allowed`` (the one check behind every options ``from_dict``)."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown {what} {unknown}; allowed: {sorted(set(allowed))}")
