"""linearity: per-pixel polynomial correction of unsaturated groups.

Official behaviour (stcal ``linearity_correction``): the corrected value is
``sum_k c_k x**k`` with the LINEARITY reference's ``COEFFS`` (ncoeffs, ny, nx);
groups flagged SATURATED are left alone; pixels with NO_LIN_CORR in the reference DQ,
with a NaN coefficient, or with a zero linear coefficient get NO_LIN_CORR in the pixel
DQ and are not corrected; the reference DQ is ORed into the pixel DQ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.detector1.dq_init import check_plane, check_ramp_arrays

__all__ = ["LinearityResult", "correct_linearity"]


@dataclass(frozen=True)
class LinearityResult:
    """Summary of :func:`correct_linearity` (arrays updated in place).

    Attributes
    ----------
    n_no_lin_corr : int
        Pixels left uncorrected (NO_LIN_CORR).
    """

    n_no_lin_corr: int


def correct_linearity(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    coeffs: np.ndarray,
    lin_dq: np.ndarray | None = None,
    *,
    saturated: int,
    no_lin_corr: int,
    zeroframe: np.ndarray | None = None,
) -> LinearityResult:
    """Apply the linearity polynomial in place.

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx) float32
        Ramp in DN (bias-subtracted), corrected in place.
    groupdq : ndarray, (nints, ngroups, ny, nx) uint8
        Group DQ; groups with ``saturated`` are not corrected.
    pixeldq : ndarray, (ny, nx) uint32
        Pixel DQ, updated in place (``|= lin_dq``, NO_LIN_CORR on unusable coefficients).
    coeffs : ndarray, (ncoeffs, ny, nx) float
        Polynomial coefficients, constant term first (2 to 8 of them).
    lin_dq : ndarray, (ny, nx) integer, optional
        LINEARITY reference DQ.
    saturated, no_lin_corr : int
        DQ bit values.
    zeroframe : ndarray, (nints, ny, nx) float32, optional
        ZEROFRAME, corrected in place too (values of 0 = flagged are left alone).

    Returns
    -------
    LinearityResult
    """
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    check_ramp_arrays(data, groupdq, pixeldq)
    nints, ngroups, ny, nx = data.shape
    coeffs = np.ascontiguousarray(coeffs, dtype=np.float32)
    if coeffs.ndim != 3 or coeffs.shape[1:] != (ny, nx) or not 2 <= coeffs.shape[0] <= 8:
        raise ValueError(f"LINEARITY COEFFS: expected shape (ncoeffs = 2..8, {ny}, {nx}), "
                         f"found {coeffs.shape}")
    if lin_dq is None:
        lin_dq = np.zeros((ny, nx), dtype=np.uint32)
    check_plane("LINEARITY DQ", lin_dq, (ny, nx))
    bad = np.empty((ny, nx), dtype=np.bool_)
    run_row_bands(k.linearity_skip_mask, ny, coeffs, np.ascontiguousarray(lin_dq, dtype=np.uint32),
                  pixeldq, bad, int(no_lin_corr))
    run_row_bands(k.apply_polynomial, ny, data.reshape(nints * ngroups, ny, nx),
                  groupdq.reshape(nints * ngroups, ny, nx), coeffs, bad, int(saturated))
    if zeroframe is not None:
        check_plane("ZEROFRAME", zeroframe, (nints, ny, nx))
        zskip = np.zeros((nints, ny, nx), dtype=np.uint8)
        zskip[zeroframe == 0] = np.uint8(saturated)
        run_row_bands(k.apply_polynomial, ny, zeroframe, zskip, coeffs, bad, int(saturated))
    return LinearityResult(n_no_lin_corr=int(np.count_nonzero(bad)))
