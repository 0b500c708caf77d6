"""Errors of the reference subpackage and the helpers it borrows from datamodels."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from webbcal.errors import WebbcalError

try:  # the datamodels contract; fall back to its private module while it is being built
    from webbcal.datamodels import FormatError, atomic_write
except ImportError:  # pragma: no cover - depends on the state of webbcal.datamodels
    try:
        from webbcal.datamodels._errors import FormatError, atomic_write
    except ImportError:
        class FormatError(WebbcalError, ValueError):
            """Stand-in with the contract's signature (file, where, expected, found)."""

            def __init__(self, path, where, expected, found):
                self.path, self.where, self.expected, self.found = (
                    None if path is None else str(path), str(where), str(expected), str(found))
                name = self.path if self.path is not None else "<in memory>"
                super().__init__(f"{name}: {where}: expected {expected}, found {found}")

        @contextlib.contextmanager
        def atomic_write(path):
            path = Path(path)
            tmp = path.parent / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
            try:
                yield tmp
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                raise

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
