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
from scipy import ndimage

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
    thresholds = (maskpt * np.asarray(median_weights, np.float32))[:, None, None]
    good = (wht > thresholds) & (wht > 0) & np.isfinite(sci)
    stack = np.sort(np.where(good, sci, np.nan).astype(np.float32), axis=0)  # NaNs last
    n_good = good.sum(axis=0)
    lo = np.take_along_axis(stack, np.maximum((n_good - 1) // 2, 0)[None], axis=0)[0]
    hi = np.take_along_axis(stack, np.minimum(n_good // 2, len(stack) - 1)[None], axis=0)[0]
    out = (0.5 * (lo + hi)).astype(np.float32)
    out[n_good == 0] = np.nan
    return out


def blot(median: np.ndarray, pixmap: np.ndarray) -> np.ndarray:
    """Interpolate the median mosaic back onto an exposure's pixels.

    ``pixmap`` (ny_in, nx_in, 2) is the exposure's input→mosaic pixel map (the one used
    to drizzle it). Uses the ``drizzle`` package's blot (poly5 interpolation).
    Pixels that fall off the mosaic or on NaN are NaN.
    """
    from drizzle.resample import blot_image

    med = np.asarray(median, np.float32)
    nan = ~np.isfinite(med)
    filled = np.where(nan, 0, med).astype(np.float32)
    shape = pixmap.shape[:2]
    out = blot_image(filled, np.asarray(pixmap, np.float64), iscale=1.0)
    # Invalidate pixels that landed on (or next to) undefined median values.
    if nan.any():
        grown = ndimage.binary_dilation(nan, iterations=2)
        x = np.clip(np.rint(pixmap[..., 0]), 0, med.shape[1] - 1)
        y = np.clip(np.rint(pixmap[..., 1]), 0, med.shape[0] - 1)
        ok = np.isfinite(x) & np.isfinite(y)
        bad = np.ones(shape, bool)
        bad[ok] = grown[y[ok].astype(int), x[ok].astype(int)]
        out = np.where(bad, np.nan, out)
    off = ~((pixmap[..., 0] > -0.5) & (pixmap[..., 0] < med.shape[1] - 0.5)
            & (pixmap[..., 1] > -0.5) & (pixmap[..., 1] < med.shape[0] - 0.5))
    return np.where(off, np.nan, out).astype(np.float32)


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
    """Boolean mask of outliers in one exposure.

    A pixel is an outlier if ``|sci − blot − backg| > snr[0]·err + scale[0]·|∂blot|``;
    its neighbours (within ``grow`` pixels) are outliers too if they exceed the second
    threshold ``snr[1]·err + scale[1]·|∂blot|``. Pixels where the blot is NaN are never
    flagged (no information there).
    """
    sci = np.asarray(sci, np.float32)
    blotted = np.asarray(blotted, np.float32)
    deriv = abs_derivative(np.where(np.isfinite(blotted), blotted, 0))
    diff = np.abs(sci - blotted - params.backg)
    valid = np.isfinite(diff) & np.isfinite(err)
    with np.errstate(invalid="ignore"):
        first = valid & (diff > params.snr[0] * err + params.scale[0] * deriv)
        second = valid & (diff > params.snr[1] * err + params.scale[1] * deriv)
    if params.grow > 0 and first.any():
        near = ndimage.binary_dilation(first, structure=np.ones((3, 3), bool),
                                       iterations=params.grow)
        return first | (second & near)
    return first
