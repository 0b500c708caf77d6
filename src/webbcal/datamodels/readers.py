"""Typed readers for JWST products, ours and MAST's (FITS + ASDF extension).

Each reader checks the extensions it needs (presence, ndim, dtype, consistent shapes
with NINTS/NGROUPS/SUBSIZE1/2) and raises `FormatError` naming the file, the
extension or keyword, what was expected and what was found. FITS keywords are
authoritative; the gwcs comes from the ASDF extension's ``meta.wcs`` when present.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from webbcal.datamodels._errors import FormatError
from webbcal.datamodels._fits import FitsFile, _stored_dtype, clean_header
from webbcal.datamodels.models import CubeModel, ImageModel, MosaicModel, RampModel
from webbcal.datamodels.tables import GROUP_DTYPE, INT_TIMES_DTYPE, as_table

__all__ = ["read", "read_uncal", "read_image", "read_cube", "read_mosaic", "product_type"]

_SUFFIXES = ("uncal", "ramp", "rate", "rateints", "cal", "calints", "i2d", "crf", "bsub")


def _headers(ff: FitsFile):
    return clean_header(ff.header("PRIMARY")), clean_header(ff.header("SCI"))


def _check_shape(ff, ext, shape, expected, what):
    if tuple(shape) != tuple(expected):
        raise FormatError(ff.path, f"extension {ext}", f"shape {tuple(expected)} ({what})",
                          f"shape {tuple(shape)}")


def _keyword_shape(ff, primary, shape, *, ndim):
    """Compare the last dims of SCI with SUBSIZE2/SUBSIZE1 (and NINTS/NGROUPS)."""
    keys = {"SUBSIZE2": -2, "SUBSIZE1": -1}
    if ndim == 4:
        keys.update(NINTS=0, NGROUPS=1)
    for key, axis in keys.items():
        if key in primary:
            try:
                value = int(primary[key])
            except (TypeError, ValueError):
                raise FormatError(ff.path, f"PRIMARY header keyword {key}", "an integer",
                                  repr(primary[key])) from None
            if shape[axis] != value:
                raise FormatError(ff.path, "extension SCI",
                                  f"axis {axis} of length {key}={value}", f"shape {shape}")


def _optional_table(ff, name, dtype):
    if name not in ff:
        return None
    return as_table(ff.table(name), dtype, path=ff.path, where=f"extension {name}")


def _wcs(ff):
    if "ASDF" not in ff:
        return None
    from webbcal.datamodels._asdf import read_asdf_wcs

    return read_asdf_wcs(ff.hdu("ASDF"), ff.path)


def read_uncal(path: str | os.PathLike, *, as_float32: bool = False) -> RampModel:
    """Read an uncal (level 1b) or ramp product.

    With ``as_float32``, a raw uint16 SCI cube is converted to float32 while it is
    read (chunk-wise: no uint16 copy of the cube is ever held), as detector1 needs.

    SCI must be 4-D ``(NINTS, NGROUPS, SUBSIZE2, SUBSIZE1)``, uint16 (raw) or float32
    (ramp); ramp products also carry PIXELDQ (uint32) and GROUPDQ (uint8). GROUP,
    INT_TIMES and ZEROFRAME are read when present.
    """
    with FitsFile(path) as ff:
        primary, sci_header = _headers(ff)
        for key in ("NINTS", "NGROUPS"):
            if key not in primary:
                raise FormatError(ff.path, f"PRIMARY header keyword {key}", "an integer",
                                  "no such keyword")
        shape = ff.shape("SCI")
        if len(shape) != 4:
            raise FormatError(ff.path, "extension SCI", "a 4-D array (nints, ngroups, ny, nx)",
                              f"a {len(shape)}-D array of shape {shape}")
        _keyword_shape(ff, primary, shape, ndim=4)
        stored = _stored_dtype(ff.hdu("SCI").header)
        if as_float32 and stored is not None and stored[0] in (np.uint16, np.float32):
            data = ff.image("SCI", ndim=4, as_dtype=np.float32)
        else:
            data = ff.image("SCI", ndim=4)
        if data.dtype not in (np.uint16, np.float32):
            raise FormatError(ff.path, "extension SCI", "uint16 (raw) or float32 (ramp) data",
                              f"{data.dtype} data")
        pixeldq = groupdq = zeroframe = None
        if "PIXELDQ" in ff:
            pixeldq = ff.image("PIXELDQ", dtype=np.uint32, ndim=2)
            _check_shape(ff, "PIXELDQ", pixeldq.shape, shape[2:], "SCI ny, nx")
        if "GROUPDQ" in ff:
            groupdq = ff.image("GROUPDQ", dtype=np.uint8, ndim=4)
            _check_shape(ff, "GROUPDQ", groupdq.shape, shape, "SCI shape")
        if "ZEROFRAME" in ff:
            zeroframe = ff.image("ZEROFRAME", dtype=data.dtype, ndim=3)
            _check_shape(ff, "ZEROFRAME", zeroframe.shape, (shape[0], *shape[2:]),
                         "SCI nints, ny, nx")
        if (pixeldq is None) != (groupdq is None) or (pixeldq is not None
                                                      and data.dtype != np.float32):
            raise FormatError(ff.path, "extensions PIXELDQ/GROUPDQ",
                              "both (float32 ramp) or neither (uint16 uncal)",
                              f"{ff.names} with SCI {data.dtype}")
        return RampModel(
            data=data, group=_optional_table(ff, "GROUP", GROUP_DTYPE),
            int_times=_optional_table(ff, "INT_TIMES", INT_TIMES_DTYPE),
            zeroframe=zeroframe, pixeldq=pixeldq, groupdq=groupdq,
            header=primary, sci_header=sci_header, filename=str(path))


_IMAGE_REQUIRED = ("ERR", "DQ", "VAR_POISSON", "VAR_RNOISE")


def _read_planes(ff, cls, ndim):
    primary, sci_header = _headers(ff)
    shape = ff.shape("SCI")
    if len(shape) != ndim:
        raise FormatError(ff.path, "extension SCI", f"a {ndim}-D array",
                          f"a {len(shape)}-D array of shape {shape}")
    if ndim == 2 or "SUBSIZE1" in primary:
        _keyword_shape(ff, primary, shape, ndim=ndim)
    if ndim == 3 and "NINTS" in primary and int(primary["NINTS"]) != shape[0]:
        raise FormatError(ff.path, "extension SCI", f"{primary['NINTS']} planes (NINTS)",
                          f"shape {shape}")
    arrays = {"data": ff.image("SCI", dtype=np.float32, ndim=ndim)}
    for ext in _IMAGE_REQUIRED:
        dtype = np.uint32 if ext == "DQ" else np.float32
        arrays[ext.lower()] = ff.image(ext, dtype=dtype, ndim=ndim)
        _check_shape(ff, ext, arrays[ext.lower()].shape, shape, "SCI shape")
    if "VAR_FLAT" in ff:
        arrays["var_flat"] = ff.image("VAR_FLAT", dtype=np.float32, ndim=ndim)
        _check_shape(ff, "VAR_FLAT", arrays["var_flat"].shape, shape, "SCI shape")
    if "AREA" in ff:
        arrays["area"] = ff.image("AREA", dtype=np.float32, ndim=2)
        _check_shape(ff, "AREA", arrays["area"].shape, shape[-2:], "SCI ny, nx")
    extra = {}
    if cls is CubeModel:
        extra["int_times"] = _optional_table(ff, "INT_TIMES", INT_TIMES_DTYPE)
    return cls(**arrays, **extra, wcs=_wcs(ff), header=primary, sci_header=sci_header,
               filename=str(ff.path))


def read_image(path: str | os.PathLike) -> ImageModel:
    """Read a rate or cal product: SCI, ERR, DQ, VAR_POISSON, VAR_RNOISE (2-D), plus
    VAR_FLAT and AREA when present, and the gwcs from the ASDF extension."""
    with FitsFile(path) as ff:
        return _read_planes(ff, ImageModel, 2)


def read_cube(path: str | os.PathLike) -> CubeModel:
    """Read a rateints/calints product: as `read_image` with 3-D (nints, ny, nx)
    planes, plus INT_TIMES when present."""
    with FitsFile(path) as ff:
        return _read_planes(ff, CubeModel, 3)


def read_mosaic(path: str | os.PathLike) -> MosaicModel:
    """Read an i2d product: SCI, ERR, WHT, VAR_POISSON, VAR_RNOISE, VAR_FLAT (2-D),
    CON (3-D int32, optional) and the gwcs. Reads ``.fits.gz`` too."""
    with FitsFile(path) as ff:
        primary, sci_header = _headers(ff)
        shape = ff.shape("SCI")
        if len(shape) != 2:
            raise FormatError(ff.path, "extension SCI", "a 2-D array",
                              f"a {len(shape)}-D array of shape {shape}")
        arrays = {"data": ff.image("SCI", dtype=np.float32, ndim=2)}
        for ext in ("ERR", "WHT", "VAR_POISSON", "VAR_RNOISE", "VAR_FLAT"):
            arrays[ext.lower()] = ff.image(ext, dtype=np.float32, ndim=2)
            _check_shape(ff, ext, arrays[ext.lower()].shape, shape, "SCI shape")
        con = None
        if "CON" in ff:
            con = ff.image("CON", dtype=np.int32)
            if con.ndim == 2:
                con = con[None]
            if con.ndim != 3 or con.shape[1:] != shape:
                raise FormatError(ff.path, "extension CON", f"shape (nplanes, {shape[0]}, "
                                  f"{shape[1]})", f"shape {con.shape}")
        return MosaicModel(**arrays, con=con, wcs=_wcs(ff), header=primary,
                           sci_header=sci_header, filename=str(ff.path))


def product_type(path: str | os.PathLike, primary=None, names=None, sci_ndim=None) -> str:
    """Product suffix of a file: 'uncal', 'ramp', 'rate', 'rateints', 'cal', 'calints',
    'i2d' — from the file name suffix, else from DATAMODL and the extensions."""
    stem = Path(path).name.split(".")[0]
    suffix = stem.rsplit("_", 1)[-1].lower() if "_" in stem else ""
    if suffix in _SUFFIXES:
        return suffix
    model = str(primary.get("DATAMODL", "")) if primary is not None else ""
    names = names or []
    if model == "Level1bModel" or (sci_ndim == 4 and "GROUPDQ" not in names):
        return "uncal"
    if model == "RampModel" or sci_ndim == 4:
        return "ramp"
    if "WHT" in names:
        return "i2d"
    if model == "CubeModel" or sci_ndim == 3:
        return "calints" if "VAR_FLAT" in names else "rateints"
    return "cal" if "VAR_FLAT" in names or "AREA" in names else "rate"


_READERS = {"uncal": read_uncal, "ramp": read_uncal, "rate": read_image, "cal": read_image,
            "bsub": read_image, "crf": read_image, "rateints": read_cube,
            "calints": read_cube, "i2d": read_mosaic}


def read(path: str | os.PathLike):
    """Read any supported product, dispatching on DATAMODL, extensions and suffix.

    Returns a `RampModel`, `ImageModel`, `CubeModel` or `MosaicModel`; ``*.json``
    files are read as an `Association`.
    """
    if str(path).lower().endswith(".json"):
        from webbcal.datamodels.association import read_association

        return read_association(path)
    with FitsFile(path) as ff:
        if "SCI" not in ff:
            raise FormatError(ff.path, "extension SCI", "a JWST product with a SCI extension",
                              f"extensions {ff.names}")
        primary = ff.header("PRIMARY")
        kind = _kind(ff, primary)
    return _READERS[kind](path)


def _kind(ff, primary) -> str:
    """Structure first (SCI ndim, GROUPDQ, WHT), the file-name suffix to break ties."""
    names, ndim = ff.names, len(ff.shape("SCI"))
    if ndim == 4:
        return "ramp" if "GROUPDQ" in names else "uncal"
    if ndim == 3:
        return "rateints"
    if "WHT" in names or product_type(ff.path) == "i2d":
        return "i2d"
    return "rate"  # rate and cal share one reader
