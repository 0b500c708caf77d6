"""Ramp fitting: count rates (DN/s) and their variances from up-the-ramp groups.

Two algorithms, both arrays in / typed result out:

* ``"OLS"`` (default, the official pipeline's): ordinary least squares with the
  Fixsen et al. (2000) optimal weighting, ramps split into segments at jumps and
  ending at saturation / DO_NOT_USE, segments and integrations combined by inverse
  read-noise variance (as stcal 1.20), the official special cases (0, 1, 2 good
  groups, ZEROFRAME, one-group suppression). Kernel: :mod:`._ramp_fit_kernels`, run
  in bands of rows on numba's number of threads (:func:`webbcal._threads.run_row_bands`).
* ``"likely"``: the likelihood fit of Brandt (2024), see :mod:`.likely`.

Example
-------
>>> res = fit_ramps(data, gdq, pdq, gain, readnoise, frame_time=10.737,
...                 group_time=107.37, nframes=8, groupgap=2)   # doctest: +SKIP
>>> res.rate.shape, res.rateints.shape                          # doctest: +SKIP
((2048, 2048), (1, 2048, 2048))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from webbcal.datamodels.dqflags import DQ
from webbcal.errors import WebbcalError

__all__ = ["RampFitResult", "RampFitInputError", "fit_ramps"]

#: Up to this many groups, the median rates of clean pixels come from a sorting network
#: over whole rows and their slopes from precomputed coefficients (the fast path).
_MAX_NETWORK_GROUPS = 33

#: Rows per band handed to a thread (small enough to balance rows full of jumps).
_BAND_ROWS = 16


class RampFitInputError(WebbcalError, ValueError):
    """Arrays handed to the ramp fit do not have the expected shapes or values."""


@dataclass(frozen=True)
class RampFitResult:
    """Rates and variances of one exposure.

    Attributes
    ----------
    rate, var_poisson, var_rnoise, err : ndarray, float32 (ny, nx)
        Count rate (DN/s), its Poisson and read-noise variances ((DN/s)^2) and
        ``err = sqrt(var_poisson + var_rnoise)``. Unusable pixels: rate NaN, 0 variances.
    dq : ndarray, uint32 (ny, nx)
        Pixel DQ with JUMP_DET if any integration had a jump, DO_NOT_USE (and
        SATURATED) when no integration had usable data.
    rateints, var_poisson_ints, var_rnoise_ints, err_ints : ndarray, float32 (nints, ny, nx)
        The same per integration (``err_ints`` is the square root of the total
        variance of that integration, as the official ``rateints`` ERR).
    dq_ints : ndarray, uint32 (nints, ny, nx)
    """

    rate: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    rateints: np.ndarray
    var_poisson_ints: np.ndarray
    var_rnoise_ints: np.ndarray
    err_ints: np.ndarray
    dq_ints: np.ndarray


def _check_inputs(data, groupdq, pixeldq, gain, readnoise, zeroframe, dark):
    if data.ndim != 4:
        raise RampFitInputError(
            f"ramp data: expected 4-D (nints, ngroups, ny, nx), found shape {data.shape}")
    nints, ngroups, ny, nx = data.shape
    if groupdq.shape != data.shape:
        raise RampFitInputError(
            f"groupdq: expected shape {data.shape}, found {groupdq.shape}")
    for name, arr in (("pixeldq", pixeldq), ("gain", gain), ("readnoise", readnoise),
                      ("average_dark_current", dark)):
        if arr is not None and arr.shape != (ny, nx):
            raise RampFitInputError(f"{name}: expected shape {(ny, nx)}, found {arr.shape}")
    if zeroframe is not None and zeroframe.shape != (nints, ny, nx):
        raise RampFitInputError(
            f"zeroframe: expected shape {(nints, ny, nx)}, found {zeroframe.shape}")


def _empty_result(nints, ny, nx) -> dict:
    f2 = {k: np.empty((ny, nx), np.float32) for k in ("rate", "var_poisson", "var_rnoise", "err")}
    f3 = {k: np.empty((nints, ny, nx), np.float32)
          for k in ("rateints", "var_poisson_ints", "var_rnoise_ints", "err_ints")}
    return {**f2, **f3, "dq": np.empty((ny, nx), np.uint32),
            "dq_ints": np.empty((nints, ny, nx), np.uint32)}


def fit_ramps(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    gain: np.ndarray,
    readnoise: np.ndarray,
    *,
    frame_time: float,
    group_time: float,
    nframes: int,
    groupgap: int = 0,
    zeroframe: np.ndarray | None = None,
    average_dark_current: np.ndarray | None = None,
    algorithm: Literal["OLS", "likely"] = "OLS",
    weighting: Literal["optimal"] = "optimal",
    suppress_one_group: bool = True,
    do_not_use: int = int(DQ.DO_NOT_USE),
    saturated: int = int(DQ.SATURATED),
    jump_det: int = int(DQ.JUMP_DET),
    no_gain_value: int = int(DQ.NO_GAIN_VALUE),
) -> RampFitResult:
    """Fit count rates to ramps.

    Parameters
    ----------
    data : ndarray, float32 (nints, ngroups, ny, nx)
        Group values in DN, already bias/reference/linearity/dark corrected.
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
        Group DQ (SATURATED, DO_NOT_USE, JUMP_DET …).
    pixeldq : ndarray, uint32 (ny, nx)
    gain : ndarray (ny, nx)
        e-/DN. Pixels with gain <= 0 or NaN get NO_GAIN_VALUE | DO_NOT_USE.
    readnoise : ndarray (ny, nx)
        CDS read noise in DN (CRDS ``readnoise`` convention).
    frame_time, group_time : float
        Seconds (TFRAME, TGROUP).
    nframes, groupgap : int
        Frames averaged per group, frames dropped between groups.
    zeroframe : ndarray, float32 (nints, ny, nx), optional
        ZEROFRAME (DN); used for ramps with no good group when
        ``suppress_one_group`` is False, as the official step does (0 means unusable).
    average_dark_current : ndarray (ny, nx), optional
        DN/s added to the Poisson variance (official ``average_dark_current``); default 0.
    algorithm : {"OLS", "likely"}
    weighting : {"optimal"}
        The only official OLS weighting.
    suppress_one_group : bool
        Ramps with exactly one good group are treated as having none (official default).
    do_not_use, saturated, jump_det, no_gain_value : int
        DQ bit values.

    Returns
    -------
    RampFitResult
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    groupdq = np.ascontiguousarray(groupdq, dtype=np.uint8)
    _check_inputs(data, groupdq, pixeldq, gain, readnoise, zeroframe, average_dark_current)
    nints, ngroups, ny, nx = data.shape
    if weighting != "optimal":
        raise RampFitInputError(f"weighting: expected 'optimal', found {weighting!r}")
    if group_time <= 0 or frame_time <= 0 or nframes < 1:
        raise RampFitInputError(
            f"readout timing: expected frame_time, group_time > 0 and nframes >= 1, found "
            f"frame_time={frame_time}, group_time={group_time}, nframes={nframes}")
    pixeldq = np.ascontiguousarray(pixeldq, dtype=np.uint32)
    gain = np.ascontiguousarray(gain, dtype=np.float32)
    readnoise = np.ascontiguousarray(readnoise, dtype=np.float32)
    dark = (np.zeros((ny, nx), np.float32) if average_dark_current is None
            else np.ascontiguousarray(average_dark_current, dtype=np.float32))
    out = _empty_result(nints, ny, nx)
    algo = algorithm.lower()
    if algo == "likely":
        from webbcal.algorithms.detector1.likely import _fit_likely_into

        _fit_likely_into(data, groupdq, pixeldq, gain, readnoise, out,
                         frame_time=float(frame_time), group_time=float(group_time),
                         nframes=int(nframes), groupgap=int(groupgap),
                         do_not_use=do_not_use, saturated=saturated, jump_det=jump_det,
                         no_gain_value=no_gain_value)
        return RampFitResult(**out)
    if algo != "ols":
        raise RampFitInputError(f"algorithm: expected 'OLS' or 'likely', found {algorithm!r}")
    from webbcal.algorithms.detector1._jump_kernels import sorting_network
    from webbcal.algorithms.detector1._ramp_fit_kernels import (
        ols_fit_rows, slope_coefficients, weight_table)
    from webbcal._threads import run_row_bands

    use_zf = zeroframe is not None
    zf = (np.ascontiguousarray(zeroframe, dtype=np.float32) if use_zf
          else np.zeros((1, 1, 1), np.float32))
    args = (
        data, groupdq, pixeldq, gain, readnoise, dark, zf, use_zf,
        float(frame_time), float(group_time), int(nframes),
        bool(suppress_one_group and ngroups > 1),
        int(do_not_use), int(saturated), int(jump_det), int(no_gain_value),
        weight_table(ngroups), slope_coefficients(ngroups, float(group_time)),
        (sorting_network(ngroups - 1) if 3 <= ngroups <= _MAX_NETWORK_GROUPS
         else np.zeros((0, 2), np.int64)),
        out["rate"], out["dq"], out["var_poisson"], out["var_rnoise"], out["err"],
        out["rateints"], out["dq_ints"], out["var_poisson_ints"], out["var_rnoise_ints"],
        out["err_ints"],
    )
    run_row_bands(ols_fit_rows, ny, *args, band=_BAND_ROWS)
    return RampFitResult(**out)
