"""Shared machinery of the FITS reference models: headers, validation, DQ_DEF, subarrays."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from astropy.io import fits

from webbcal.datamodels.dqflags import DQ
from webbcal.references._errors import ReferenceError_, atomic_write

__all__ = ["ArraySpec", "FitsRef", "reference_header", "subarray_window", "REGISTRY"]

#: REFTYPE (upper case) -> reference class; filled by ``FitsRef.__init_subclass__``.
REGISTRY: dict[str, type] = {}

FULL_SIZE = 2048
DEFAULT_USEAFTER = "2022-01-01T00:00:00"

#: DQ_DEF columns, exactly as stdatamodels ``dq_def.schema``.
DQ_DEF_DTYPE = np.dtype([("BIT", ">i4"), ("VALUE", ">u4"), ("NAME", "S40"), ("DESCRIPTION", "S80")])


def reference_header(*, detector: str, useafter: str = DEFAULT_USEAFTER, instrument: str = "NIRCAM",
                     pedigree: str = "SIMULATION", author: str = "webbcal",
                     description: str | None = None, **keywords: Any) -> fits.Header:
    """Primary header with the keywords every CRDS reference file needs.

    Parameters
    ----------
    detector : str
        DETECTOR, e.g. ``'NRCA1'`` (``'N/A'`` for detector-independent files).
    useafter : str
        USEAFTER, ISO ``YYYY-MM-DDThh:mm:ss``.
    instrument, pedigree, author, description : str
        INSTRUME, PEDIGREE (GROUND, DUMMY, SIMULATION, MODEL, ``INFLIGHT yyyy-mm-dd yyyy-mm-dd``),
        AUTHOR, DESCRIP (a default from the reference type is used when None).
    **keywords
        More FITS keywords, by their FITS name in any case (``FILTER='F200W'``,
        ``PUPIL='CLEAR'``, ``EXP_TYPE='NRC_IMAGE'``, ``P_EXP_TY='NRC_IMAGE|'``,
        ``SUBARRAY='SUB160'``, ``SUBSTRT1=...``); ``None`` values are skipped.

    Returns
    -------
    astropy.io.fits.Header
    """
    hdr = fits.Header()
    hdr["TELESCOP"] = "JWST"
    hdr["INSTRUME"] = instrument.upper()
    hdr["DETECTOR"] = detector.upper()
    hdr["PEDIGREE"] = pedigree
    hdr["AUTHOR"] = author
    if description is not None:
        hdr["DESCRIP"] = description
    hdr["USEAFTER"] = useafter
    for key, value in keywords.items():
        if value is not None:
            hdr[key.upper()] = value
    return hdr


@dataclass(frozen=True)
class ArraySpec:
    """One image extension of a reference file.

    ``attr`` is the dataclass field, ``extname`` the FITS extension, ``ndim`` the number
    of axes, ``kind`` ``'f'`` (stored float32) or ``'u'`` (stored uint32).
    """

    attr: str
    extname: str
    ndim: int
    kind: str
    required: bool = True

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32 if self.kind == "f" else np.uint32)


def subarray_window(header: fits.Header, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(SUBSTRT1, SUBSTRT2, SUBSIZE1, SUBSIZE2) of a reference, 1-based; full frame if absent."""
    ny, nx = shape
    return (int(header.get("SUBSTRT1", 1)), int(header.get("SUBSTRT2", 1)),
            int(header.get("SUBSIZE1", nx)), int(header.get("SUBSIZE2", ny)))


def _dq_def_table(dq_arrays: list[np.ndarray]) -> np.ndarray:
    """DQ_DEF rows for every official bit set in the arrays (DO_NOT_USE always listed)."""
    used = np.uint32(DQ.DO_NOT_USE)
    for arr in dq_arrays:
        if arr is not None and arr.size:
            used |= np.bitwise_or.reduce(arr.astype(np.uint32, copy=False).ravel())
    rows = [(bit, 1 << bit, flag.name, flag.name.replace("_", " ").lower())
            for bit in range(32) for flag in [DQ(1 << bit)] if int(used) & (1 << bit)]
    return np.array(rows, dtype=DQ_DEF_DTYPE)


def _apply_dq_def(dq: np.ndarray, table, path) -> np.ndarray:
    """Translate a file's DQ bits to the official ones through its DQ_DEF table (by NAME)."""
    names = [str(n).strip().upper() for n in table["NAME"]]
    values = [int(v) for v in table["VALUE"]]
    official = {f.name: int(f) for f in DQ if f}
    if all(official.get(n) == v for n, v in zip(names, values)):
        return dq  # already official, the usual case
    out = np.zeros_like(dq)
    for name, value in zip(names, values):
        if name in official:
            out[(dq & np.uint32(value)) != 0] |= np.uint32(official[name])
    return out


class FitsRef:
    """Base of the FITS reference models (a dataclass per reference type).

    Subclasses set ``REFTYPE``, ``DATAMODL``, ``DESCRIPTION`` and ``ARRAYS`` and
    declare one dataclass field per array plus ``header``.
    """

    REFTYPE: ClassVar[str] = ""
    DATAMODL: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    ARRAYS: ClassVar[tuple[ArraySpec, ...]] = ()
    header: fits.Header

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.REFTYPE:
            REGISTRY[cls.REFTYPE.upper()] = cls

    # ---- header -------------------------------------------------------------
    def _shape2d(self) -> tuple[int, int]:
        return tuple(getattr(self, self.ARRAYS[0].attr).shape[-2:])

    def _extra_keywords(self) -> dict[str, Any]:
        """Keywords a subclass derives from its fields (PIXAR_SR, NGROUPS, ...)."""
        return {}

    def full_header(self) -> fits.Header:
        """The primary header as written: ``header`` plus the required keywords."""
        hdr = self.header.copy() if self.header is not None else fits.Header()
        for key in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND"):
            hdr.remove(key, ignore_missing=True, remove_all=True)
        hdr["DATAMODL"] = self.DATAMODL
        hdr["REFTYPE"] = self.REFTYPE
        hdr["TELESCOP"] = "JWST"
        hdr.setdefault("FILETYPE", self.REFTYPE)
        hdr.setdefault("INSTRUME", "NIRCAM")
        hdr.setdefault("DETECTOR", "N/A")
        hdr.setdefault("DESCRIP", self.DESCRIPTION)
        hdr.setdefault("AUTHOR", "webbcal")
        hdr.setdefault("PEDIGREE", "SIMULATION")
        hdr.setdefault("USEAFTER", DEFAULT_USEAFTER)
        if self.ARRAYS:
            x0, y0, nx, ny = subarray_window(hdr, self._shape2d())
            full = (x0, y0, nx, ny) == (1, 1, FULL_SIZE, FULL_SIZE)
            hdr.setdefault("SUBARRAY", "FULL" if full else "GENERIC")
            for key, value in (("SUBSTRT1", x0), ("SUBSTRT2", y0), ("SUBSIZE1", nx), ("SUBSIZE2", ny)):
                hdr[key] = value
            hdr.setdefault("FASTAXIS", 1)
            hdr.setdefault("SLOWAXIS", 2)
        for key, value in self._extra_keywords().items():
            hdr[key] = value
        return hdr

    # ---- writing ------------------------------------------------------------
    def _check_arrays(self, path=None) -> None:
        shape = None
        for spec in self.ARRAYS:
            arr = getattr(self, spec.attr)
            if arr is None:
                if spec.required:
                    raise ReferenceError_(path, f"{type(self).__name__}.{spec.attr}",
                                          f"a {spec.ndim}-D array", "None")
                continue
            arr = np.asarray(arr)
            if arr.ndim != spec.ndim:
                raise ReferenceError_(path, f"{spec.extname} ({spec.attr})",
                                      f"{spec.ndim}-D array", f"shape {arr.shape}")
            if shape is not None and arr.shape[-2:] != shape:
                raise ReferenceError_(path, f"{spec.extname} ({spec.attr})",
                                      f"image shape {shape}", f"{arr.shape[-2:]}")
            shape = arr.shape[-2:]

    def _table_hdus(self) -> list[fits.BinTableHDU]:
        """Extra table extensions (DQ_DEF for files with a DQ array)."""
        dq = [getattr(self, s.attr) for s in self.ARRAYS if s.kind == "u"]
        if not any(a is not None for a in dq):
            return []
        return [fits.BinTableHDU(_dq_def_table(dq), name="DQ_DEF")]

    def to_hdulist(self) -> fits.HDUList:
        """The file as an in-memory ``HDUList`` (official layout)."""
        self._check_arrays()
        hdus: list = [fits.PrimaryHDU(header=self.full_header())]
        for spec in self.ARRAYS:
            arr = getattr(self, spec.attr)
            if arr is not None:
                hdus.append(fits.ImageHDU(np.asarray(arr, dtype=spec.dtype), name=spec.extname))
        hdus.extend(self._table_hdus())
        return fits.HDUList(hdus)

    def write(self, path: str | os.PathLike) -> Path:
        """Write the file atomically (temporary name, then rename); returns the path."""
        path = Path(path)
        hdul = self.to_hdulist()
        hdul[0].header["FILENAME"] = path.name
        with atomic_write(path) as tmp:
            hdul.writeto(tmp, output_verify="exception")
        return path

    # ---- reading ------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike, *, skip: tuple[str, ...] = ()):
        """Read and validate a file of this type; raises ``ReferenceError_`` naming what is wrong.

        ``skip`` names optional arrays (attributes) not to read: they come back ``None``
        (e.g. a dark's ERR, which dark subtraction never uses: 1/3 of a big file).
        """
        path = Path(path)
        if not path.is_file():
            raise ReferenceError_(path, "file", f"an existing {cls.REFTYPE} reference file", "no such file")
        try:
            hdul = fits.open(path, memmap=False)
        except OSError as exc:
            raise ReferenceError_(path, "file", "a FITS file", f"unreadable ({exc})") from None
        with hdul:
            return cls._from_hdulist(hdul, path, skip=skip)

    @classmethod
    def _from_hdulist(cls, hdul: fits.HDUList, path, *, skip: tuple[str, ...] = ()) -> FitsRef:
        header = hdul[0].header.copy()
        _check_reftype(header, cls.REFTYPE, path)
        names = [h.name.upper() for h in hdul]
        values: dict[str, Any] = {}
        for spec in cls.ARRAYS:
            if spec.attr in skip:
                if spec.required:
                    raise ValueError(f"{cls.__name__}.read: {spec.attr} is required")
                values[spec.attr] = None
                continue
            if spec.extname not in names:
                if spec.required:
                    raise ReferenceError_(path, f"extension {spec.extname}", f"a {spec.ndim}-D image",
                                          f"extensions {names}")
                values[spec.attr] = None
                continue
            data = hdul[spec.extname].data
            if data is None or data.ndim != spec.ndim:
                found = "no data" if data is None else f"{data.ndim}-D shape {data.shape}"
                raise ReferenceError_(path, f"extension {spec.extname}", f"{spec.ndim}-D image", found)
            ok = data.dtype.kind == "f" if spec.kind == "f" else data.dtype.kind in "ui"
            if not ok:
                raise ReferenceError_(path, f"extension {spec.extname} dtype",
                                      "float32" if spec.kind == "f" else "uint32", data.dtype.name)
            values[spec.attr] = np.ascontiguousarray(data, dtype=spec.dtype)
        ref = cls._construct(values, header, hdul, path)
        ref._check_arrays(path)
        if "DQ_DEF" in names:
            table = hdul["DQ_DEF"].data
            for spec in cls.ARRAYS:
                if spec.kind == "u" and values.get(spec.attr) is not None:
                    setattr(ref, spec.attr, _apply_dq_def(getattr(ref, spec.attr), table, path))
        return ref

    @classmethod
    def _construct(cls, values: dict, header: fits.Header, hdul, path) -> FitsRef:
        return cls(**values, header=header)

    # ---- subarrays ----------------------------------------------------------
    def for_exposure(self, exposure):
        """A copy cut to the exposure's subarray.

        Parameters
        ----------
        exposure : webbcal.datamodels.ExposureInfo
            Uses ``substrt1, substrt2, subsize1, subsize2`` (1-based, full-frame science
            pixels) and ``subarray``.

        Raises
        ------
        ReferenceError_
            The reference does not cover the exposure's pixels.
        """
        x0, y0, nx, ny = subarray_window(self.header, self._shape2d())
        ex0, ey0 = int(exposure.substrt1), int(exposure.substrt2)
        enx, eny = int(exposure.subsize1), int(exposure.subsize2)
        if (ex0, ey0, enx, eny) == (x0, y0, nx, ny):
            return dataclasses.replace(self, header=self.header.copy())
        if ex0 < x0 or ey0 < y0 or ex0 + enx > x0 + nx or ey0 + eny > y0 + ny:
            raise ReferenceError_(
                self.header.get("FILENAME"), "SUBSTRT1/2, SUBSIZE1/2",
                f"a reference covering the exposure's subarray {exposure.subarray} "
                f"(x {ex0}..{ex0 + enx - 1}, y {ey0}..{ey0 + eny - 1})",
                f"reference pixels x {x0}..{x0 + nx - 1}, y {y0}..{y0 + ny - 1}")
        sx, sy = ex0 - x0, ey0 - y0
        cut = {}
        for spec in self.ARRAYS:
            arr = getattr(self, spec.attr)
            if arr is not None:
                cut[spec.attr] = np.ascontiguousarray(arr[..., sy:sy + eny, sx:sx + enx])
        hdr = self.header.copy()
        hdr["SUBARRAY"] = str(exposure.subarray)
        hdr["SUBSTRT1"], hdr["SUBSTRT2"], hdr["SUBSIZE1"], hdr["SUBSIZE2"] = ex0, ey0, enx, eny
        return dataclasses.replace(self, header=hdr, **cut)


def _check_reftype(header: fits.Header, reftype: str, path) -> None:
    found = str(header.get("REFTYPE", "")).strip().upper()
    if found != reftype.upper():
        raise ReferenceError_(path, "PRIMARY header REFTYPE", reftype.upper(), found or "missing")
