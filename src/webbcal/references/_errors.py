"""Errors of the reference subpackage and the helpers it borrows from datamodels."""

from __future__ import annotations

from webbcal.datamodels._errors import FormatError, atomic_write
from webbcal.errors import WebbcalError

__all__ = ["ReferenceError_", "CrdsSetupError", "NoMatchError", "FormatError", "atomic_write"]


class ReferenceError_(FormatError):
    """A reference file is not what it claims to be, or cannot be used for an exposure.

    Same arguments as :class:`webbcal.datamodels.FormatError`: ``(path, where,
    expected, found)``; the message names all four.
    """


class CrdsSetupError(WebbcalError):
    """The CRDS cache or environment cannot serve a reference lookup (message says why)."""


class NoMatchError(WebbcalError):
    """CRDS has no reference of a type for this exposure; names the type and parameters."""
