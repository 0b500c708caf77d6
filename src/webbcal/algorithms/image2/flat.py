"""Flat-field correction with error propagation (official BASELINE variance scheme)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FlatFieldResult", "apply_flat"]


@dataclass(frozen=True)
class FlatFieldResult:
    """Flat-fielded image.

    Attributes
    ----------
    data, err, var_poisson, var_rnoise, var_flat : ndarray (ny, nx) float32
        Science (input units), total error, and the three variance terms.
    dq : ndarray (ny, nx) uint32
        Input DQ OR the flat's DQ, plus ``no_flat_field | do_not_use`` where the flat
        value is not usable (≤ 0 or not finite, or flagged NO_FLAT_FIELD in the flat).
    n_bad_flat : int
        Number of pixels left uncorrected because the flat was not usable.
    """

    data: np.ndarray
    err: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    var_flat: np.ndarray
    dq: np.ndarray
    n_bad_flat: int


def apply_flat(data: np.ndarray, dq: np.ndarray, var_poisson: np.ndarray,
               var_rnoise: np.ndarray, flat: np.ndarray, flat_err: np.ndarray | None = None,
               flat_dq: np.ndarray | None = None, *, no_flat_field: int,
               do_not_use: int) -> FlatFieldResult:
    """Divide an image by a flat and propagate the flat's error.

    ``data' = data / flat``; ``var_poisson' = var_poisson / flat²``; ``var_rnoise' =
    var_rnoise / flat²``; ``var_flat = (data' · flat_err / flat)²``; ``err = sqrt(sum of
    the three)``. Where the flat is ≤ 0, NaN/inf, or carries ``no_flat_field`` in its
    DQ, the pixel is not divided (flat taken as 1, no flat error) and gets
    ``no_flat_field | do_not_use``. Other flat DQ bits (e.g. UNRELIABLE_FLAT) are ORed in.

    Parameters
    ----------
    data, var_poisson, var_rnoise : ndarray (ny, nx) float32
        Image (any units) and its variances (units²).
    dq : ndarray (ny, nx) uint32
        Image DQ.
    flat : ndarray (ny, nx) float
        Flat field (unitless, ~1).
    flat_err : ndarray (ny, nx) float or None
        1-σ uncertainty of the flat (non-finite values count as 0); None for 0.
    flat_dq : ndarray (ny, nx) uint32 or None
        Flat DQ.
    no_flat_field, do_not_use : int
        DQ bits to set on pixels the flat cannot correct.

    Returns
    -------
    FlatFieldResult
    """
    shape = data.shape
    for name, arr in (("dq", dq), ("var_poisson", var_poisson), ("var_rnoise", var_rnoise),
                      ("flat", flat), ("flat_err", flat_err), ("flat_dq", flat_dq)):
        if arr is not None and arr.shape != shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
    from webbcal.algorithms.image2._kernels import flat_divide

    f32 = np.float32
    flat = np.ascontiguousarray(flat, dtype=f32)
    flat_err = (np.zeros(shape, f32) if flat_err is None
                else np.ascontiguousarray(flat_err, dtype=f32))
    flat_dq = (np.zeros(shape, np.uint32) if flat_dq is None
               else np.ascontiguousarray(flat_dq, dtype=np.uint32))
    out, err, vp, vr, vf = (np.empty(shape, f32) for _ in range(5))
    newdq = np.empty(shape, np.uint32)
    n_bad = flat_divide(np.ascontiguousarray(data, dtype=f32),
                        np.ascontiguousarray(dq, dtype=np.uint32),
                        np.ascontiguousarray(var_poisson, dtype=f32),
                        np.ascontiguousarray(var_rnoise, dtype=f32), flat, flat_err, flat_dq,
                        np.uint32(no_flat_field), np.uint32(do_not_use),
                        out, err, vp, vr, vf, newdq)
    return FlatFieldResult(data=out, err=err, var_poisson=vp, var_rnoise=vr, var_flat=vf,
                           dq=newdq, n_bad_flat=int(n_bad))
