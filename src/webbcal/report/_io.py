"""Light readers for the report: only the extensions and pixels a figure needs.

The full readers of :mod:`webbcal.datamodels` validate every extension and build the
gwcs from the ASDF extension (≈ 1.5 s the first time); the report needs neither, so
it memory-maps the FITS files and copies out what it uses. Truth tables are cached by
path and modification time (the demo builds the report and validates in one process).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

__all__ = ["read_planes", "read_headers", "exposure_info", "ramp_pixels", "raw_planes",
           "cached_table", "file_key", "read_ecsv_columns"]

_TABLES: dict[tuple, object] = {}


def file_key(path: str | os.PathLike | None) -> tuple | None:
    """``(path, mtime_ns, size)`` of a file (None for None): a cache key that changes
    when the file is rewritten."""
    if path is None:
        return None
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def read_headers(path: str | os.PathLike, ext: str = "SCI"):
    """``(primary, ext)`` headers of a FITS file."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as h:
        return h[0].header.copy(), (h[ext].header.copy() if ext in h else None)


def read_planes(path: str | os.PathLike, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Native-endian copies of the 2-D image extensions ``names`` (DQ as uint32, the
    rest float32); a missing extension is left out of the result."""
    from astropy.io import fits

    out = {}
    with fits.open(path, memmap=True, do_not_scale_image_data=True) as h:
        for name in names:
            if name not in h:
                continue
            out[name] = _scaled(h[name], np.uint32 if name == "DQ" else np.float32)
    return out


def _scaled(hdu, dtype) -> np.ndarray:
    """The HDU's data with BZERO/BSCALE applied, as a native ``dtype`` array (unsigned
    integers stored as signed + BZERO are unshifted without going through floats)."""
    raw = np.asarray(hdu.data)
    zero = float(hdu.header.get("BZERO", 0.0))
    scale = float(hdu.header.get("BSCALE", 1.0))
    if zero == 0.0 and scale == 1.0:
        return raw.astype(dtype)
    if scale == 1.0 and raw.dtype.kind == "i" and zero == 2.0 ** (8 * raw.dtype.itemsize - 1):
        unsigned = np.dtype(f"u{raw.dtype.itemsize}")
        return (raw.astype(raw.dtype.newbyteorder("="), copy=False).view(unsigned)
                ^ unsigned.type(zero)).astype(dtype)
    return (raw * scale + zero).astype(dtype)


def exposure_info(primary, sci=None, path=None):
    """The :class:`~webbcal.datamodels.exposure.ExposureInfo` of a product's headers."""
    from webbcal.datamodels.exposure import ExposureInfo

    return ExposureInfo.from_headers(primary, sci, path=path)


def _raw_sci(h):
    hdu = h["SCI"]
    return hdu.data, float(hdu.header.get("BZERO", 0.0)), float(hdu.header.get("BSCALE", 1.0))


def ramp_pixels(uncal: str | os.PathLike, pixels: list[tuple[int, int]], *,
                integration: int = 0) -> list[np.ndarray]:
    """Raw DN (float64, (ngroups,)) of the ``(y, x)`` pixels of one integration."""
    from astropy.io import fits

    if not pixels:
        return []
    ys, xs = (np.asarray(v, int) for v in zip(*pixels))
    with fits.open(uncal, memmap=True, do_not_scale_image_data=True) as h:
        sci, zero, scale = _raw_sci(h)
        block = np.stack([np.asarray(plane[ys, xs], np.float64)
                          for plane in sci[integration]], axis=0)  # (ngroups, npix)
    block = block * scale + zero
    return [block[:, k] for k in range(len(pixels))]


def raw_planes(uncal: str | os.PathLike, groups, *, integration: int = 0) -> np.ndarray:
    """Raw DN (float32, (len(groups), ny, nx)) of some groups of one integration."""
    from astropy.io import fits

    with fits.open(uncal, memmap=True, do_not_scale_image_data=True) as h:
        sci, zero, scale = _raw_sci(h)
        n = sci.shape[1]
        return np.stack([np.asarray(sci[integration, g % n], np.float32) * np.float32(scale)
                         + np.float32(zero) for g in groups])


def cached_table(path: Path):
    """An astropy Table read from ``path`` (``.fits`` or ``.ecsv``), cached by
    :func:`file_key`. ECSV files are read with :func:`read_ecsv_columns`. Callers must
    not modify it."""
    key = file_key(path)
    if key not in _TABLES:
        from astropy.table import Table

        if len(_TABLES) > 64:
            _TABLES.clear()
        if str(path).endswith(".fits"):
            _TABLES[key] = Table.read(path, format="fits")
        else:
            _TABLES[key] = read_ecsv_columns(path)
    return _TABLES[key]


_ECSV_COLUMN = re.compile(r"^# - \{name: ([^,}]+)(?:, unit: ([^,}]+))?, datatype: (\w+)\}\s*$")
_ECSV_TYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
               "uint64", "float16", "float32", "float64", "string"}


def read_ecsv_columns(path: str | os.PathLike):
    """An ECSV table as plain columns (with their units), read by astropy's C reader.

    Mixin columns (e.g. a SkyCoord ``sky_centroid``) come back as their serialized
    plain columns (``sky_centroid.ra``, ``sky_centroid.dec``). ~10× faster than
    ``Table.read(format="ascii.ecsv")``, which parses in Python; falls back to it for
    column types this reader does not know.
    """
    from astropy.io import ascii
    from astropy.table import Table

    columns = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            m = _ECSV_COLUMN.match(line.rstrip("\n"))
            if m:
                columns.append((m.group(1).strip(), m.group(2), m.group(3)))
            elif line.startswith("# - {name:"):
                columns = []  # a column description this reader does not parse
                break
    if not columns or any(t not in _ECSV_TYPES for _, _, t in columns):
        return Table.read(path, format="ascii.ecsv")
    table = ascii.read(path, format="basic", delimiter=" ", comment="#", fast_reader=True,
                       guess=False)
    if table.colnames != [n for n, _, _ in columns]:
        return Table.read(path, format="ascii.ecsv")
    for name, unit, dtype in columns:
        col = table[name]
        if dtype == "bool" and col.dtype.kind != "b":
            table[name] = np.char.strip(np.asarray(col).astype(str)) == "True"
        elif dtype not in ("string", "bool"):
            table[name] = np.asarray(col).astype(dtype)
        if unit:
            table[name].unit = unit.strip()
    return table
