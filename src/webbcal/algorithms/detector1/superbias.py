"""superbias: subtract the bias image from every group; propagate the reference DQ.

Official behaviour (jwst ``superbias``): NaNs in the SUPERBIAS ``SCI`` become 0 (no
correction for those pixels), ``PIXELDQ |= SUPERBIAS.DQ``, and the same image is
subtracted from the ZEROFRAME when present. webbcal also marks the NaN pixels with
``nan_flag`` (UNRELIABLE_BIAS by default in the step) so the user can see them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.detector1.dq_init import check_plane, check_ramp_arrays

__all__ = ["SuperbiasResult", "subtract_superbias"]


@dataclass(frozen=True)
class SuperbiasResult:
    """Summary of :func:`subtract_superbias` (arrays are updated in place).

    Attributes
    ----------
    n_nan : int
        Pixels whose bias was NaN (not corrected, flagged with ``nan_flag``).
    """

    n_nan: int


def subtract_superbias(
    data: np.ndarray,
    pixeldq: np.ndarray,
    bias: np.ndarray,
    bias_dq: np.ndarray | None = None,
    *,
    nan_flag: int = 0,
    zeroframe: np.ndarray | None = None,
) -> SuperbiasResult:
    """Subtract the superbias from every group of every integration (in place).

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx) float32
        Ramp in DN; ``data[i, g] -= bias``.
    pixeldq : ndarray, (ny, nx) uint32
        Pixel DQ, updated in place with ``bias_dq`` and ``nan_flag``.
    bias : ndarray, (ny, nx) float
        SUPERBIAS ``SCI`` in DN, cut to the subarray.
    bias_dq : ndarray, (ny, nx) integer, optional
        SUPERBIAS ``DQ``.
    nan_flag : int, optional
        DQ bits set on pixels whose bias is NaN (0: none).
    zeroframe : ndarray, (nints, ny, nx) float32, optional
        ZEROFRAME, corrected in place too.

    Returns
    -------
    SuperbiasResult
    """
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    check_ramp_arrays(data, None, pixeldq)
    nints, ngroups, ny, nx = data.shape
    check_plane("SUPERBIAS SCI", bias, (ny, nx))
    bias = np.array(bias, dtype=np.float32, order="C")  # a 2-D copy we may edit
    nan = np.isnan(bias)
    n_nan = int(np.count_nonzero(nan))
    if n_nan:
        bias[nan] = 0.0
        if nan_flag:
            pixeldq[nan] |= np.uint32(nan_flag)
    if bias_dq is not None:
        check_plane("SUPERBIAS DQ", bias_dq, (ny, nx))
        pixeldq |= np.asarray(bias_dq).astype(np.uint32, copy=False)
    run_row_bands(k.subtract_plane, nints * ngroups * ny, data.reshape(nints * ngroups, ny, nx),
                  bias)
    if zeroframe is not None:
        check_plane("ZEROFRAME", zeroframe, (nints, ny, nx))
        run_row_bands(k.subtract_plane, zeroframe.shape[0] * ny, zeroframe, bias)
    return SuperbiasResult(n_nan=n_nan)
