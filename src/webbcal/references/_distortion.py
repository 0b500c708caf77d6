"""Distortion reference (ASDF, official ``DistortionModel`` layout)."""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.references._base import DEFAULT_USEAFTER, REGISTRY
from webbcal.references._errors import ReferenceError_, atomic_write

__all__ = ["DistortionRef"]

#: pupils the official NIRCam imaging distortion files apply to (P_PUPIL pattern)
_P_PUPIL = "CLEAR|F162M|F164N|F323N|F405N|F466N|F470N|GDHS0|GDHS60|WLM8|WLP8|PINHOLES|MASKIPR|FLAT|"


@dataclass(eq=False)
class DistortionRef:
    """NIRCam imaging distortion (``DistortionModel``, REFTYPE ``distortion``, ASDF).

    Attributes
    ----------
    model : astropy.modeling.Model
        0-based full-frame science pixels (x, y) → (V2, V3) arcsec, with an inverse.
    meta : dict
        The ASDF ``meta`` tree (official field names: ``instrument.detector``,
        ``instrument.channel``, ``exposure.type``, ``useafter``, ``pedigree``, ...);
        the required entries are filled in on write.
    input_units, output_units : str
        ``'pixel'`` and ``'arcsec'`` (as the official files).
    """

    REFTYPE = "DISTORTION"
    DATAMODL = "DistortionModel"
    model: Any
    meta: dict = field(default_factory=dict)
    input_units: str = "pixel"
    output_units: str = "arcsec"

    @property
    def header(self) -> dict:
        """Flat view of the main selection keywords (FITS names), like the FITS references."""
        inst = self.meta.get("instrument", {})
        return {"REFTYPE": self.REFTYPE, "DETECTOR": inst.get("detector", "N/A"),
                "CHANNEL": inst.get("channel", "N/A"), "USEAFTER": self.meta.get("useafter"),
                "FILENAME": self.meta.get("filename")}

    def full_meta(self) -> dict:
        """``meta`` as written: the caller's entries plus the required reference keywords."""
        meta = copy.deepcopy(self.meta)
        meta.update(reftype="distortion", model_type=self.DATAMODL, telescope="JWST")
        meta.setdefault("description", "NIRCam imaging distortion: science pixels to V2/V3")
        meta.setdefault("author", "webbcal")
        meta.setdefault("pedigree", "SIMULATION")
        meta.setdefault("useafter", DEFAULT_USEAFTER)
        inst = meta.setdefault("instrument", {})
        inst.setdefault("name", "NIRCAM")
        det = str(inst.setdefault("detector", "N/A")).upper()
        # stdatamodels requires module, channel and p_pupil for NIRCam distortion files
        if det.startswith("NRC"):
            inst.setdefault("module", det[3])
            inst.setdefault("channel", "LONG" if det.endswith("LONG") else "SHORT")
        inst.setdefault("p_pupil", _P_PUPIL)
        meta.setdefault("exposure", {}).setdefault("type", "NRC_IMAGE")
        return meta

    def write(self, path: str | os.PathLike) -> Path:
        """Write the ASDF file atomically; returns the path."""
        import asdf
        from astropy import units as u

        path = Path(path)
        meta = self.full_meta()
        meta["filename"] = path.name
        meta["input_units"] = u.Unit(self.input_units)
        meta["output_units"] = u.Unit(self.output_units)
        with atomic_write(path) as tmp:
            asdf.AsdfFile({"meta": meta, "model": self.model}).write_to(tmp)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> DistortionRef:
        """Read and validate a distortion ASDF file (REFTYPE, ``model``, units)."""
        import asdf
        from astropy.modeling import Model

        path = Path(path)
        if not path.is_file():
            raise ReferenceError_(path, "file", "an existing DISTORTION reference file", "no such file")
        try:
            af = asdf.open(path, lazy_load=False, memmap=False)
        except Exception as exc:  # asdf raises many types for a non-ASDF file
            raise ReferenceError_(path, "file", "an ASDF file", f"unreadable ({exc})") from None
        with af:
            meta = dict(af.tree.get("meta", {}))
            found = str(meta.get("reftype", "")).upper()
            if found != cls.REFTYPE:
                raise ReferenceError_(path, "meta.reftype", "distortion", found or "missing")
            model = af.tree.get("model")
            if not isinstance(model, Model):
                raise ReferenceError_(path, "model", "an astropy.modeling Model", type(model).__name__)
            units = {}
            for key in ("input_units", "output_units"):
                if key not in meta:
                    raise ReferenceError_(path, f"meta.{key}", "a unit", "missing")
                units[key] = str(meta.pop(key))
            meta = copy.deepcopy(meta)
        return cls(model=model, meta=meta, **units)

    def for_exposure(self, exposure) -> DistortionRef:
        """The model works in full-frame pixels; subarray offsets are applied by the WCS step."""
        return dataclasses.replace(self, meta=copy.deepcopy(self.meta))


REGISTRY["DISTORTION"] = DistortionRef
