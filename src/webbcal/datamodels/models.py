"""In-memory JWST products: RampModel (uncal/ramp), ImageModel (rate/cal),
CubeModel (rateints/calints), MosaicModel (i2d), and their FITS writers.

Every model keeps the primary header (``header``) and the SCI header (``sci_header``)
with the official MAST keywords; ``exposure`` parses them into an `ExposureInfo`.
``write(path)`` writes the official extension layout atomically, with DATAMODL and
TELESCOP set, and an ``ASDF`` extension holding the gwcs when ``wcs`` is set.
"""

from __future__ import annotations

import copy as _copy
import dataclasses
import gzip
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits

from webbcal.datamodels._errors import FormatError, atomic_write
from webbcal.datamodels._fits import clean_header
from webbcal.datamodels._fits_write import (astropy_hdu_bytes, image_header_bytes,
                                             primary_bytes, write_image_data, write_parts)
from webbcal.datamodels.exposure import ExposureInfo

__all__ = ["RampModel", "ImageModel", "CubeModel", "MosaicModel"]


class _ModelBase:
    """Shared behaviour: exposure metadata, copy, validation, atomic write."""

    #: DATAMODL written for this model (subclasses may pick per content).
    datamodl = ""

    @property
    def exposure(self) -> ExposureInfo:
        """The exposure keywords of ``header``/``sci_header`` (FormatError if missing)."""
        return ExposureInfo.from_headers(self.header, self.sci_header, path=self.filename)

    def copy(self):
        """A deep copy (arrays, tables and headers are copied; the wcs too)."""
        return _copy.deepcopy(self)

    # subclasses: list of (EXTNAME, attribute, dtype, required) in file order
    _extensions: tuple = ()

    def _arrays(self):
        for extname, attr, dtype, _ in self._extensions:
            value = getattr(self, attr)
            if value is not None:
                yield extname, attr, dtype, value

    def validate(self) -> None:
        """Check dtypes, ndims and shapes; raise FormatError naming the attribute."""
        raise NotImplementedError

    def _check(self, attr, value, ndim, shape=None, dtypes=None):
        value = np.asarray(value)
        if value.ndim != ndim:
            raise FormatError(self.filename, f"{type(self).__name__}.{attr}",
                              f"a {ndim}-D array", f"shape {value.shape}")
        if shape is not None and value.shape != tuple(shape):
            raise FormatError(self.filename, f"{type(self).__name__}.{attr}",
                              f"shape {tuple(shape)}", f"shape {value.shape}")
        if dtypes is not None and value.dtype not in [np.dtype(d) for d in dtypes]:
            raise FormatError(self.filename, f"{type(self).__name__}.{attr}",
                              f"dtype {' or '.join(str(np.dtype(d)) for d in dtypes)}",
                              f"dtype {value.dtype}")

    def _primary_header(self) -> fits.Header:
        h = clean_header(self.header)
        h["TELESCOP"] = ("JWST", "Telescope used to acquire the data")
        h["DATAMODL"] = (self._datamodl(), "Type of data model")
        return h

    def _datamodl(self) -> str:
        return self.datamodl

    def _ext_header(self, extname: str) -> fits.Header | None:
        """Extra keywords of an image extension: SCI gets ``sci_header``; ERR gets the
        SCI's BUNIT (the official ``bunit_err``: ERR is in the units of SCI)."""
        if extname == "SCI":
            return self.sci_header
        if extname == "ERR" and "BUNIT" in self.sci_header:
            return fits.Header([("BUNIT", self.sci_header["BUNIT"],
                                 "physical units of the array values")])
        return None

    def to_hdulist(self) -> fits.HDUList:
        """The FITS layout of this model (validated first)."""
        self.validate()
        hdus: list[Any] = [fits.PrimaryHDU(header=self._primary_header())]
        for extname, attr, dtype, value in self._arrays():
            if value.dtype.names:  # table
                hdus.append(fits.BinTableHDU(data=np.asarray(value), name=extname))
                continue
            arr = np.ascontiguousarray(value, dtype=dtype) if dtype else np.asarray(value)
            header = self._ext_header(extname)
            header = clean_header(header) if header is not None else None
            hdus.append(fits.ImageHDU(data=arr, header=header, name=extname))
        wcs = getattr(self, "wcs", None)
        if wcs is not None:
            from webbcal.datamodels._asdf import make_asdf_hdu

            if _has_asdf_text(wcs):  # the ASDF file as emitted, in the same table layout
                data = np.frombuffer(wcs.asdf_bytes(), np.uint8)[None, :]
                column = fits.Column(name="ASDF_METADATA", format=f"{data.shape[1]}B",
                                     array=data)
                hdus.append(fits.BinTableHDU.from_columns([column], name="ASDF"))
            else:
                hdus.append(make_asdf_hdu({"meta": {"wcs": wcs}}))
        return fits.HDUList(hdus)

    def write(self, path) -> None:
        """Write the product to ``path`` atomically (temporary name, then rename).

        Image extensions are written directly (one conversion pass, in chunks, the
        extensions in parallel threads at their known offsets); tables and the ASDF
        extension go through astropy. A ``.gz`` path is written as one gzip stream.
        """
        self.validate()
        wcs = getattr(self, "wcs", None)
        asdf_hdu = None
        if wcs is not None and _has_asdf_text(wcs):  # no asdf import (e.g. a mosaic's TAN)
            from webbcal.datamodels._asdf_text import asdf_extension_bytes

            asdf_hdu = asdf_extension_bytes(wcs.asdf_bytes())
        elif wcs is not None:
            from webbcal.datamodels._asdf import make_asdf_hdu

            asdf_hdu = astropy_hdu_bytes(make_asdf_hdu({"meta": {"wcs": wcs}}))
        gz = str(path).lower().endswith(".gz")
        parts: list = [primary_bytes(self._primary_header())]
        for extname, attr, dtype, value in self._arrays():
            if value.dtype.names:
                parts.append(astropy_hdu_bytes(fits.BinTableHDU(data=np.asarray(value),
                                                                name=extname)))
                continue
            arr = np.asarray(value, dtype=dtype) if dtype else np.asarray(value)
            parts += [image_header_bytes(extname, arr, self._ext_header(extname)), arr]
        if asdf_hdu is not None:
            parts.append(asdf_hdu)
        with atomic_write(path) as tmp:
            if gz:  # one stream
                with gzip.open(tmp, "wb") as f:
                    for part in parts:
                        if isinstance(part, bytes):
                            f.write(part)
                        else:
                            write_image_data(f, part)
            else:  # image data of the extensions written in parallel, at their offsets
                write_parts(tmp, parts)
        self.filename = str(path)


def _has_asdf_text(wcs) -> bool:
    """True for a wcs that serializes itself (``asdf_bytes()``, e.g.
    :class:`webbcal.datamodels._asdf_text.TanGwcs`) instead of going through asdf."""
    return callable(getattr(type(wcs), "asdf_bytes", None))


def _hdr():
    return field(default_factory=fits.Header, repr=False)


@dataclass(eq=False)
class RampModel(_ModelBase):
    """Up-the-ramp data: an uncal (level 1b) or a ramp product.

    Attributes
    ----------
    data : ndarray, (nints, ngroups, ny, nx)
        uint16 DN for raw (uncal) data, float32 DN once processed (ramp).
    group, int_times : structured ndarray or None
        GROUP and INT_TIMES tables (official columns, see `webbcal.datamodels.tables`).
    zeroframe : ndarray (nints, ny, nx) or None
        uint16 (raw) or float32 zero frame.
    pixeldq : ndarray (ny, nx) uint32 or None
    groupdq : ndarray (nints, ngroups, ny, nx) uint8 or None
        Present in ramp products; their presence makes DATAMODL ``RampModel``.
    """

    data: np.ndarray
    group: np.ndarray | None = None
    int_times: np.ndarray | None = None
    zeroframe: np.ndarray | None = None
    pixeldq: np.ndarray | None = None
    groupdq: np.ndarray | None = None
    header: fits.Header = _hdr()
    sci_header: fits.Header = _hdr()
    filename: str | None = None

    _extensions = (
        ("SCI", "data", None, True), ("PIXELDQ", "pixeldq", np.uint32, False),
        ("GROUPDQ", "groupdq", np.uint8, False), ("ZEROFRAME", "zeroframe", None, False),
        ("GROUP", "group", None, False), ("INT_TIMES", "int_times", None, False),
    )

    @property
    def is_raw(self) -> bool:
        """True for level-1b data (uint16 SCI and no PIXELDQ/GROUPDQ)."""
        return self.data.dtype == np.uint16 and self.pixeldq is None and self.groupdq is None

    def _datamodl(self) -> str:
        return "Level1bModel" if self.is_raw else "RampModel"

    def validate(self) -> None:
        self._check("data", self.data, 4, dtypes=(np.uint16, np.float32))
        nints, ngroups, ny, nx = self.data.shape
        if not self.is_raw and self.data.dtype != np.float32:
            raise FormatError(self.filename, "RampModel.data",
                              "float32 data when PIXELDQ/GROUPDQ are present",
                              f"dtype {self.data.dtype}")
        if self.pixeldq is not None:
            self._check("pixeldq", self.pixeldq, 2, (ny, nx), (np.uint32,))
        if self.groupdq is not None:
            self._check("groupdq", self.groupdq, 4, self.data.shape, (np.uint8,))
        if self.zeroframe is not None:
            self._check("zeroframe", self.zeroframe, 3, (nints, ny, nx), (self.data.dtype,))


_VARS = ("err", "var_poisson", "var_rnoise")


@dataclass(eq=False)
class ImageModel(_ModelBase):
    """A 2-D calibrated image: rate (DN/s) or cal (MJy/sr) product.

    Attributes
    ----------
    data, err, var_poisson, var_rnoise : ndarray (ny, nx) float32
        Omitted ones are filled with zeros.
    dq : ndarray (ny, nx) uint32
        Pixel DQ (`webbcal.datamodels.DQ` bits); zeros when omitted.
    var_flat, area : ndarray (ny, nx) float32 or None
        Present in cal products.
    wcs : gwcs.WCS or None
        Written to / read from the ASDF extension (``meta.wcs``).
    """

    data: np.ndarray
    err: np.ndarray | None = None
    dq: np.ndarray | None = None
    var_poisson: np.ndarray | None = None
    var_rnoise: np.ndarray | None = None
    var_flat: np.ndarray | None = None
    area: np.ndarray | None = None
    wcs: Any = None
    header: fits.Header = _hdr()
    sci_header: fits.Header = _hdr()
    filename: str | None = None

    datamodl = "ImageModel"
    _extensions = (
        ("SCI", "data", np.float32, True), ("ERR", "err", np.float32, True),
        ("DQ", "dq", np.uint32, True), ("AREA", "area", np.float32, False),
        ("VAR_POISSON", "var_poisson", np.float32, True),
        ("VAR_RNOISE", "var_rnoise", np.float32, True),
        ("VAR_FLAT", "var_flat", np.float32, False),
    )
    _ndim = 2

    def __post_init__(self):
        shape = np.shape(self.data)
        for name in _VARS:
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(shape, np.float32))
        if self.dq is None:
            self.dq = np.zeros(shape, np.uint32)

    def validate(self) -> None:
        self._check("data", self.data, self._ndim, dtypes=(np.float32,))
        shape = self.data.shape
        for name in (*_VARS, "var_flat"):
            if getattr(self, name) is not None:
                self._check(name, getattr(self, name), self._ndim, shape, (np.float32,))
        self._check("dq", self.dq, self._ndim, shape, (np.uint32,))
        if self.area is not None:
            self._check("area", self.area, 2, shape[-2:], (np.float32,))


@dataclass(eq=False)
class CubeModel(ImageModel):
    """Per-integration images (rateints/calints): as `ImageModel` but 3-D
    ``(nints, ny, nx)``, plus the INT_TIMES table (``int_times``)."""

    int_times: np.ndarray | None = None

    datamodl = "CubeModel"
    _extensions = ImageModel._extensions + (("INT_TIMES", "int_times", None, False),)
    _ndim = 3


@dataclass(eq=False)
class MosaicModel(_ModelBase):
    """A resampled image on a sky grid (i2d product).

    Attributes
    ----------
    data, err, wht, var_poisson, var_rnoise, var_flat : ndarray (ny, nx) float32
        Omitted ones are filled with zeros.
    con : ndarray (nplanes, ny, nx) int32 or None
        Context image: bit ``k % 32`` of plane ``k // 32`` marks input ``k``.
    wcs : gwcs.WCS or None
    """

    data: np.ndarray
    err: np.ndarray | None = None
    wht: np.ndarray | None = None
    var_poisson: np.ndarray | None = None
    var_rnoise: np.ndarray | None = None
    var_flat: np.ndarray | None = None
    con: np.ndarray | None = None
    wcs: Any = None
    header: fits.Header = _hdr()
    sci_header: fits.Header = _hdr()
    filename: str | None = None

    datamodl = "ImageModel"
    _extensions = (
        ("SCI", "data", np.float32, True), ("ERR", "err", np.float32, True),
        ("CON", "con", np.int32, False), ("WHT", "wht", np.float32, True),
        ("VAR_POISSON", "var_poisson", np.float32, True),
        ("VAR_RNOISE", "var_rnoise", np.float32, True),
        ("VAR_FLAT", "var_flat", np.float32, True),
    )
    _floats = ("err", "wht", "var_poisson", "var_rnoise", "var_flat")

    def __post_init__(self):
        for name in self._floats:
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(np.shape(self.data), np.float32))

    def validate(self) -> None:
        self._check("data", self.data, 2, dtypes=(np.float32,))
        for name in self._floats:
            self._check(name, getattr(self, name), 2, self.data.shape, (np.float32,))
        if self.con is not None:
            self._check("con", self.con, 3, None, (np.int32,))
            if self.con.shape[1:] != self.data.shape:
                raise FormatError(self.filename, "MosaicModel.con",
                                  f"shape (nplanes, {self.data.shape[0]}, {self.data.shape[1]})",
                                  f"shape {self.con.shape}")


def fields_of(model) -> list[str]:
    """Names of the dataclass fields of a model (for generic tools such as ``info``)."""
    return [f.name for f in dataclasses.fields(model)]
