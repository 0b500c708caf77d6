"""The GROUP and INT_TIMES tables of level-1b/ramp/rateints products.

Column names and types are the official ones (stdatamodels ``group.schema`` and
``int_times.schema``). The builders compute nominal times from an `ExposureInfo`:
the exposure starts (EXPSTART) with one reset frame, then ``drpfrms1`` dropped frames;
each integration reads ``ngroups`` groups of ``nframes`` frames with ``groupgap``
dropped frames between groups, and one reset (+ ``drpfrms3`` dropped frames) separates
integrations. Barycentric/heliocentric columns hold the UTC MJD (no light-time
correction: we do not know the spacecraft position in simulations).
"""

from __future__ import annotations

import math

import numpy as np

from webbcal.datamodels._errors import FormatError

__all__ = ["GROUP_DTYPE", "INT_TIMES_DTYPE", "make_group_table", "make_int_times_table",
           "as_table"]

GROUP_DTYPE = np.dtype([
    ("integration_number", np.int32), ("group_number", np.int16), ("end_day", np.int16),
    ("end_milliseconds", np.int32), ("end_submilliseconds", np.int16),
    ("group_end_time", "S26"), ("number_of_columns", np.int16),
    ("number_of_rows", np.int16), ("number_of_gaps", np.int16),
    ("completion_code_number", np.int16), ("completion_code_text", "S36"),
    ("bary_end_time", np.float64), ("helio_end_time", np.float64),
])

INT_TIMES_DTYPE = np.dtype([
    ("integration_number", np.int32), ("int_start_MJD_UTC", np.float64),
    ("int_mid_MJD_UTC", np.float64), ("int_end_MJD_UTC", np.float64),
    ("int_start_BJD_TDB", np.float64), ("int_mid_BJD_TDB", np.float64),
    ("int_end_BJD_TDB", np.float64),
])

_MJD_2000 = 51544.0  # MJD of 2000-01-01T00:00 (end_day counts days from here)


def _start_mjd(exposure) -> float:
    return exposure.expstart if math.isfinite(exposure.expstart) else _MJD_2000


def _frame_ends(exposure) -> tuple[np.ndarray, np.ndarray]:
    """Seconds after EXPSTART at which each integration starts and each group ends.

    Returns ``int_start`` (nints,) and ``group_end`` (nints, ngroups) in s.
    """
    e = exposure
    per_int = e.frames_per_integration
    i = np.arange(e.nints)[:, None]
    g = np.arange(1, e.ngroups + 1)[None, :]
    first = 1 + e.drpfrms1 + i * (per_int + 1 + e.drpfrms3)  # frames before integration i
    group_end = (first + g * e.nframes + (g - 1) * e.groupgap) * e.tframe
    return (first[:, 0] * e.tframe).astype(float), group_end.astype(float)


def make_group_table(exposure) -> np.ndarray:
    """The GROUP table (one row per integration and group) for an exposure.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype `GROUP_DTYPE`, ``nints * ngroups`` rows.
    """
    from astropy.time import Time

    e = exposure
    _, ends = _frame_ends(e)
    mjd = _start_mjd(e) + ends.ravel() / 86400.0
    out = np.zeros(mjd.size, dtype=GROUP_DTYPE)
    ii, gg = np.meshgrid(np.arange(1, e.nints + 1), np.arange(1, e.ngroups + 1), indexing="ij")
    out["integration_number"] = ii.ravel()
    out["group_number"] = gg.ravel()
    days = np.floor(mjd - _MJD_2000)
    ms_total = (mjd - _MJD_2000 - days) * 86400e3
    out["end_day"] = days.astype(np.int16)
    out["end_milliseconds"] = np.floor(ms_total).astype(np.int32)
    out["end_submilliseconds"] = np.round((ms_total % 1.0) * 1000).clip(0, 999).astype(np.int16)
    iso = Time(mjd, format="mjd", scale="utc").isot
    out["group_end_time"] = np.char.encode(np.asarray(iso, dtype=str), "ascii")
    out["number_of_columns"] = e.subsize1
    out["number_of_rows"] = e.subsize2
    out["number_of_gaps"] = 0
    out["completion_code_number"] = 0
    out["completion_code_text"] = b"COMPLETE"
    out["bary_end_time"] = mjd
    out["helio_end_time"] = mjd
    return out


def make_int_times_table(exposure) -> np.ndarray:
    """The INT_TIMES table (one row per integration) for an exposure.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype `INT_TIMES_DTYPE`, ``nints`` rows; times in MJD.
    """
    e = exposure
    starts, ends = _frame_ends(e)
    t0 = _start_mjd(e)
    out = np.zeros(e.nints, dtype=INT_TIMES_DTYPE)
    out["integration_number"] = np.arange(1, e.nints + 1)
    start = t0 + starts / 86400.0
    end = t0 + ends[:, -1] / 86400.0
    for scale in ("MJD_UTC", "BJD_TDB"):
        out[f"int_start_{scale}"] = start
        out[f"int_mid_{scale}"] = 0.5 * (start + end)
        out[f"int_end_{scale}"] = end
    return out


def as_table(arr, dtype: np.dtype, *, path=None, where="table") -> np.ndarray:
    """Copy a structured array (e.g. read from FITS) into the official dtype.

    Missing official columns raise `FormatError`; extra columns are dropped.
    """
    arr = np.asarray(arr)
    names = arr.dtype.names or ()
    lower = {n.lower(): n for n in names}
    missing = [n for n in dtype.names if n.lower() not in lower]
    if missing:
        raise FormatError(path, where, f"columns {list(dtype.names)}",
                          f"columns {list(names)} (missing {missing})")
    out = np.zeros(arr.shape[0], dtype=dtype)
    for n in dtype.names:
        out[n] = arr[lower[n.lower()]]
    return out
