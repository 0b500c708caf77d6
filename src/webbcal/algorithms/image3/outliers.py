"""Outlier (cosmic-ray residual) detection for imaging, as the official step does it.

1. Each exposure is drizzled alone onto the common grid ("singles").
2. The singles are median-combined, ignoring pixels whose weight is below
   ``maskpt`` × the exposure's median weight (:func:`median_of_singles`). Callers do
   this one output tile at a time, so only ``n_exposures`` × one tile is in memory.
3. The median is blotted back onto each exposure's pixels (:func:`blot`).
4. Pixels that differ from the blotted median by more than
   ``snr`` × ERR + ``scale`` × |∂ median| are outliers; a second, lower threshold
   flags their neighbours (:func:`flag_outliers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OutlierParams", "median_of_singles", "blot", "abs_derivative", "flag_outliers"]


@dataclass(frozen=True)
class OutlierParams:
    """Official ``outlier_detection`` imaging defaults."""

    snr: tuple[float, float] = (5.0, 4.0)
    scale: tuple[float, float] = (1.2, 0.7)
    backg: float = 0.0
    maskpt: float = 0.7
    grow: int = 1


def median_of_singles(sci: np.ndarray, wht: np.ndarray, *, maskpt: float,
                      median_weights: np.ndarray) -> np.ndarray:
    """NaN-aware median of drizzled singles over one output tile.

    Parameters
    ----------
    sci, wht : ndarray (n_exposures, ny, nx) float32
        Each exposure drizzled alone onto the tile, and its drizzle weight.
    maskpt : float
        Pixels whose weight is below ``maskpt`` × that exposure's ``median_weights``
        are left out (partial coverage, bad pixels).
    median_weights : ndarray (n_exposures,)
        Median of each exposure's positive weights over the whole grid (not the tile:
        the cut must not depend on the tiling).

    Returns
    -------
    ndarray (ny, nx) float32
        Median; NaN where no exposure contributes.
    """
    from webbcal.algorithms.image3._outlier_kernels import masked_median

    sci = np.ascontiguousarray(sci, np.float32)
    thresholds = (maskpt * np.asarray(median_weights, np.float32))[:, None, None]
    good = (wht > thresholds) & (wht > 0) & np.isfinite(sci)
    out = np.empty(sci.shape[1:], np.float32)
    masked_median(sci, good, out)
    return out


def blot(median: np.ndarray, pixmap=None, *, corners=None) -> np.ndarray:
    """Interpolate the median mosaic back onto an exposure's pixels.

    ``pixmap`` (ny_in, nx_in, 2) is the exposure's input→mosaic pixel map (the one used
    to drizzle it); or give ``corners``, the corner map (ny_in+1, nx_in+1, 2) or its
    (x, y) planes (:func:`pixmap.grid_corner_planes`). Interpolation is 6-point
    Lagrange (``poly5``, as the official step's default), in a numba kernel. Pixels that fall off the mosaic, or whose
    stencil touches an undefined (NaN) median value, are NaN.

    Returns
    -------
    ndarray (ny_in, nx_in) float32
    """
    from webbcal.algorithms.image3._outlier_kernels import blot_poly5

    med = np.ascontiguousarray(median, np.float32)
    if min(med.shape) < 6:
        raise ValueError(f"median image must be at least 6x6 for poly5, found {med.shape}")
    if corners is not None:
        px, py = corners if isinstance(corners, tuple) else (corners[..., 0], corners[..., 1])
        shape = (px.shape[0] - 1, px.shape[1] - 1)
    else:
        px, py = pixmap[..., 0], pixmap[..., 1]
        shape = px.shape
    out = np.empty(shape, np.float32)
    blot_poly5(med, np.ascontiguousarray(px, np.float64),
               np.ascontiguousarray(py, np.float64), corners is not None, out)
    return out


def abs_derivative(image: np.ndarray) -> np.ndarray:
    """Largest absolute difference between each pixel and its 4 neighbours (float32)."""
    a = np.asarray(image, np.float32)
    out = np.zeros_like(a)
    for axis in (0, 1):
        d = np.abs(np.diff(a, axis=axis))
        lo = [slice(None)] * 2; hi = [slice(None)] * 2
        lo[axis] = slice(0, -1); hi[axis] = slice(1, None)
        np.fmax(out[tuple(lo)], d, out=out[tuple(lo)])
        np.fmax(out[tuple(hi)], d, out=out[tuple(hi)])
    return out


def flag_outliers(sci, err, blotted, *, params: OutlierParams = OutlierParams()) -> np.ndarray:
    """Boolean mask (ny, nx) of outliers in one exposure (stcal's ``flag_resampled_crs``).

    A pixel is an outlier if ``|sci − blot − backg| > snr[0]·err + scale[0]·|∂blot|``;
    its neighbours (within ``grow`` pixels) are outliers too if they exceed the second
    threshold ``snr[1]·err + scale[1]·|∂blot|``. ``|∂blot|`` ignores NaN neighbours;
    NaN ERR counts as 0; pixels where the blot is NaN are never flagged (no
    information there). One fused numba pass.
    """
    from webbcal.algorithms.image3._outlier_kernels import flag_kernel

    sci = np.ascontiguousarray(sci, np.float32)
    shape = sci.shape
    first = np.empty(shape, np.uint8)
    second = np.empty(shape, np.uint8)
    out = np.empty(shape, np.bool_)
    flag_kernel(sci, np.ascontiguousarray(err, np.float32),
                np.ascontiguousarray(blotted, np.float32), float(params.snr[0]),
                float(params.snr[1]), float(params.scale[0]), float(params.scale[1]),
                float(params.backg), int(params.grow), first, second, out)
    return out
