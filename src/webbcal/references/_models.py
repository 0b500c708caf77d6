"""The FITS reference models in their official CRDS layouts (stdatamodels schemas).

Every class is a mutable dataclass: arrays (science orientation, ``arr[..., y, x]``)
plus ``header`` (the primary ``fits.Header``; required keywords are filled in on
write, see :func:`webbcal.references.reference_header`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from webbcal.references._base import ArraySpec, FitsRef, _check_reftype
from webbcal.references._errors import ReferenceError_

__all__ = ["MaskRef", "SaturationRef", "SuperbiasRef", "LinearityRef", "DarkRef", "GainRef",
           "ReadnoiseRef", "FlatRef", "AreaRef", "PhotomRef"]

_HEADER = dict(default_factory=fits.Header)


@dataclass(eq=False)
class MaskRef(FitsRef):
    """Bad-pixel mask (``MaskModel``): ``dq`` (ny, nx) uint32, official DQ bits."""

    REFTYPE = "MASK"
    DATAMODL = "MaskModel"
    DESCRIPTION = "Bad pixel mask"
    ARRAYS = (ArraySpec("dq", "DQ", 2, "u"),)
    dq: np.ndarray
    header: fits.Header = field(**_HEADER)


@dataclass(eq=False)
class SaturationRef(FitsRef):
    """Saturation (``SaturationModel``): ``data`` (ny, nx) float32 DN threshold, ``dq`` uint32."""

    REFTYPE = "SATURATION"
    DATAMODL = "SaturationModel"
    DESCRIPTION = "Saturation thresholds"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"), ArraySpec("dq", "DQ", 2, "u", required=False))
    data: np.ndarray
    dq: np.ndarray | None = None
    header: fits.Header = field(**_HEADER)


@dataclass(eq=False)
class SuperbiasRef(FitsRef):
    """Super bias (``SuperBiasModel``): ``data``, ``err`` (ny, nx) float32 DN, ``dq`` uint32."""

    REFTYPE = "SUPERBIAS"
    DATAMODL = "SuperBiasModel"
    DESCRIPTION = "Super bias"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"), ArraySpec("err", "ERR", 2, "f", required=False),
              ArraySpec("dq", "DQ", 2, "u", required=False))
    data: np.ndarray
    err: np.ndarray | None = None
    dq: np.ndarray | None = None
    header: fits.Header = field(**_HEADER)


@dataclass(eq=False)
class LinearityRef(FitsRef):
    """Linearity (``LinearityModel``): ``coeffs`` (ncoeffs, ny, nx) float32, ``dq`` uint32.

    Corrected counts are ``sum_k coeffs[k] * raw**k`` (DN).
    """

    REFTYPE = "LINEARITY"
    DATAMODL = "LinearityModel"
    DESCRIPTION = "Linearity correction coefficients"
    ARRAYS = (ArraySpec("coeffs", "COEFFS", 3, "f"), ArraySpec("dq", "DQ", 2, "u", required=False))
    coeffs: np.ndarray
    dq: np.ndarray | None = None
    header: fits.Header = field(**_HEADER)


@dataclass(eq=False)
class DarkRef(FitsRef):
    """Dark (``DarkModel``): ``data``/``err`` (nframes_dark, ny, nx) float32 DN, ``dq`` uint32.

    One plane per frame (NFRAMES=1, GROUPGAP=0, NGROUPS = number of planes), as CRDS
    NIRCam darks; the step averages frames into groups.
    """

    REFTYPE = "DARK"
    DATAMODL = "DarkModel"
    DESCRIPTION = "Dark current, one plane per frame"
    ARRAYS = (ArraySpec("data", "SCI", 3, "f"), ArraySpec("err", "ERR", 3, "f", required=False),
              ArraySpec("dq", "DQ", 2, "u", required=False))
    data: np.ndarray
    err: np.ndarray | None = None
    dq: np.ndarray | None = None
    header: fits.Header = field(**_HEADER)

    def _extra_keywords(self):
        return {"NFRAMES": 1, "GROUPGAP": 0, "NGROUPS": int(np.shape(self.data)[0]),
                "NINTS": int(self.header.get("NINTS", 1))}


@dataclass(eq=False)
class GainRef(FitsRef):
    """Gain (``GainModel``): ``data`` (ny, nx) float32, e-/DN."""

    REFTYPE = "GAIN"
    DATAMODL = "GainModel"
    DESCRIPTION = "Gain"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"),)
    data: np.ndarray
    header: fits.Header = field(**_HEADER)

    def _extra_keywords(self):
        return {"BUNIT": "electrons/DN"}


@dataclass(eq=False)
class ReadnoiseRef(FitsRef):
    """Read noise (``ReadnoiseModel``): ``data`` (ny, nx) float32, DN (CDS noise, as CRDS)."""

    REFTYPE = "READNOISE"
    DATAMODL = "ReadnoiseModel"
    DESCRIPTION = "CDS read noise"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"),)
    data: np.ndarray
    header: fits.Header = field(**_HEADER)

    def _extra_keywords(self):
        return {"BUNIT": "DN"}


@dataclass(eq=False)
class FlatRef(FitsRef):
    """Pixel flat (``FlatModel``): ``data``, ``err`` (ny, nx) float32 (unitless), ``dq`` uint32."""

    REFTYPE = "FLAT"
    DATAMODL = "FlatModel"
    DESCRIPTION = "Pixel-to-pixel flat field"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"), ArraySpec("err", "ERR", 2, "f", required=False),
              ArraySpec("dq", "DQ", 2, "u", required=False))
    data: np.ndarray
    err: np.ndarray | None = None
    dq: np.ndarray | None = None
    header: fits.Header = field(**_HEADER)


@dataclass(eq=False)
class AreaRef(FitsRef):
    """Pixel area map (``PixelAreaModel``): ``data`` (ny, nx) float32, relative to nominal.

    ``pixar_sr`` / ``pixar_a2``: nominal pixel area (sr, arcsec²), keywords PIXAR_SR/PIXAR_A2.
    """

    REFTYPE = "AREA"
    DATAMODL = "PixelAreaModel"
    DESCRIPTION = "Pixel area map"
    ARRAYS = (ArraySpec("data", "SCI", 2, "f"),)
    data: np.ndarray
    pixar_sr: float = 0.0
    pixar_a2: float = 0.0
    header: fits.Header = field(**_HEADER)

    def _extra_keywords(self):
        return {"PIXAR_SR": float(self.pixar_sr), "PIXAR_A2": float(self.pixar_a2)}

    @classmethod
    def _construct(cls, values, header, hdul, path):
        for key in ("PIXAR_SR", "PIXAR_A2"):
            if key not in header:
                raise ReferenceError_(path, f"PRIMARY header {key}", "nominal pixel area", "missing")
        return cls(**values, pixar_sr=float(header["PIXAR_SR"]), pixar_a2=float(header["PIXAR_A2"]),
                   header=header)


#: PHOTOM table columns written (official NrcImgPhotomModel: filter/pupil 12 chars).
PHOTOM_DTYPE = np.dtype([("filter", "U12"), ("pupil", "U12"), ("photmjsr", np.float32),
                         ("uncertainty", np.float32)])


@dataclass(eq=False)
class PhotomRef(FitsRef):
    """NIRCam imaging photometric calibration (``NrcImgPhotomModel``).

    ``table``: structured array, one row per filter/pupil, fields ``filter``, ``pupil``
    (str), ``photmjsr`` (MJy/sr per DN/s), ``uncertainty`` (same unit), see
    :data:`PHOTOM_DTYPE`. ``pixar_sr``/``pixar_a2``: nominal pixel area.
    """

    REFTYPE = "PHOTOM"
    DATAMODL = "NrcImgPhotomModel"
    DESCRIPTION = "NIRCam imaging photometric conversion"
    table: np.ndarray
    pixar_sr: float = 0.0
    pixar_a2: float = 0.0
    header: fits.Header = field(**_HEADER)

    def _extra_keywords(self):
        return {"PIXAR_SR": float(self.pixar_sr), "PIXAR_A2": float(self.pixar_a2),
                "EXP_TYPE": self.header.get("EXP_TYPE", "NRC_IMAGE"),
                "P_EXP_TY": self.header.get("P_EXP_TY", "NRC_IMAGE|NRC_TSIMAGE|NRC_FLAT|NRC_LED|")}

    def _check_arrays(self, path=None):
        table = np.asarray(self.table)
        missing = [n for n in PHOTOM_DTYPE.names if table.dtype.names is None or n not in table.dtype.names]
        if missing:
            raise ReferenceError_(path, "PHOTOM table columns", str(list(PHOTOM_DTYPE.names)),
                                  str(table.dtype.names))

    def _table_hdus(self):
        table = np.asarray(self.table)
        rows = np.zeros(len(table), dtype=[("filter", "S12"), ("pupil", "S12"),
                                            ("photmjsr", ">f4"), ("uncertainty", ">f4")])
        for name in rows.dtype.names:
            rows[name] = np.char.encode(table[name].astype(str), "ascii") if name in ("filter", "pupil") \
                else table[name]
        return [fits.BinTableHDU(rows, name="PHOTOM")]

    @classmethod
    def _from_hdulist(cls, hdul, path, *, skip=()):
        header = hdul[0].header.copy()
        _check_reftype(header, cls.REFTYPE, path)
        if "PHOTOM" not in [h.name.upper() for h in hdul]:
            raise ReferenceError_(path, "extension PHOTOM", "a table", f"extensions {[h.name for h in hdul]}")
        data = hdul["PHOTOM"].data
        names = [n.lower() for n in data.columns.names]
        missing = [n for n in PHOTOM_DTYPE.names if n not in names]
        if missing:
            raise ReferenceError_(path, "PHOTOM table columns", str(list(PHOTOM_DTYPE.names)), str(names))
        table = np.zeros(len(data), dtype=PHOTOM_DTYPE)
        for name in PHOTOM_DTYPE.names:
            col = data.field(name)
            table[name] = np.char.strip(col.astype(str)) if name in ("filter", "pupil") else col
        return cls(table=table, pixar_sr=float(header.get("PIXAR_SR", 0.0)),
                   pixar_a2=float(header.get("PIXAR_A2", 0.0)), header=header)

    def lookup(self, filter: str, pupil: str = "CLEAR") -> tuple[float, float]:
        """(photmjsr, uncertainty) for a filter/pupil; raises ``ReferenceError_`` if absent."""
        rows = np.flatnonzero((np.char.upper(self.table["filter"]) == filter.upper())
                              & (np.char.upper(self.table["pupil"]) == pupil.upper()))
        if rows.size == 0:
            have = sorted({f"{f}/{p}" for f, p in zip(self.table["filter"], self.table["pupil"])})
            raise ReferenceError_(self.header.get("FILENAME"), "PHOTOM table row",
                                  f"filter/pupil {filter}/{pupil}", f"rows {have}")
        row = self.table[rows[0]]
        return float(row["photmjsr"]), float(row["uncertainty"])

    def for_exposure(self, exposure):
        """Photometry does not depend on the subarray: a copy."""
        return dataclasses.replace(self, table=self.table.copy(), header=self.header.copy())
