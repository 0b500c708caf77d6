"""Calibration reference files in the official CRDS layouts, and their selection.

Reference models (dataclasses: arrays + ``header``; ``read``, ``write``, ``for_exposure``)::

    MaskRef, SaturationRef, SuperbiasRef, LinearityRef, DarkRef, GainRef,
    ReadnoiseRef, FlatRef, PhotomRef, AreaRef, DistortionRef

Selection: :func:`get_references` (overrides, then the real ``crds`` client, imported
lazily), :func:`resolve_reference` (path/object → loaded model), and
:func:`write_crds_cache` to build a self-contained offline CRDS cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from webbcal.references._base import REGISTRY, FitsRef, reference_header
from webbcal.references._cache import CacheEntry, CrdsCache, write_crds_cache
from webbcal.references._distortion import DistortionRef
from webbcal.references._errors import CrdsSetupError, NoMatchError, ReferenceError_
from webbcal.references._models import (AreaRef, DarkRef, FlatRef, GainRef, LinearityRef, MaskRef,
                                        PhotomRef, ReadnoiseRef, SaturationRef, SuperbiasRef)
from webbcal.references._select import (crds_parameters, current_context, get_references, reference_name,
                                        resolve_reference)

__all__ = ["MaskRef", "SaturationRef", "SuperbiasRef", "LinearityRef", "DarkRef", "GainRef",
           "ReadnoiseRef", "FlatRef", "PhotomRef", "AreaRef", "DistortionRef", "read_reference",
           "get_references", "resolve_reference", "reference_name", "crds_parameters", "current_context",
           "write_crds_cache", "CacheEntry", "CrdsCache", "reference_header",
           "ReferenceError_", "CrdsSetupError", "NoMatchError"]


def read_reference(path: str | os.PathLike):
    """Read any supported reference file, choosing the model from its REFTYPE.

    FITS files: primary-header REFTYPE; ASDF files: ``meta.reftype``.

    Raises
    ------
    ReferenceError_
        Missing file, unknown or missing REFTYPE, or an invalid layout.
    """
    path = Path(path)
    if not path.is_file():
        raise ReferenceError_(path, "file", "an existing reference file", "no such file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"#ASDF"):
        return DistortionRef.read(path)
    if magic != b"SIMPLE":
        raise ReferenceError_(path, "file", "a FITS or ASDF reference file", f"starts with {magic!r}")
    from astropy.io import fits

    reftype = str(fits.getheader(path, 0).get("REFTYPE", "")).strip().upper()
    cls = REGISTRY.get(reftype)
    if cls is None:
        raise ReferenceError_(path, "PRIMARY header REFTYPE", f"one of {sorted(REGISTRY)}",
                              reftype or "missing")
    return cls.read(path)
