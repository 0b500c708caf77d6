"""Outlier (cosmic-ray residual) detection for imaging, as the official step does it.

1. Each exposure is drizzled alone onto the common grid ("singles").
2. The singles are median-combined, ignoring pixels whose weight is below
   ``maskpt`` × the exposure's median weight (:func:`median_of_singles`). Callers do
   this one output tile at a time, so only ``n_exposures`` × one tile is in memory.
3. The median is blotted back onto each exposure's pixels (:func:`blot`, bilinear
   as the official step).
4. Pixels that differ from the blotted median by more than
   ``snr`` × ERR + ``scale`` × |∂ median| (+ ``curvature`` × |∇² median|, a webbcal
   addition, 0 by default here) are outliers; a second, lower threshold flags their
   neighbours (:func:`flag_outliers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OutlierParams", "median_of_singles", "blot", "abs_derivative", "flag_outliers",
           "run_rows"]


def run_rows(kernel, n: int, *args) -> None:
    """Call ``kernel(*args, lo, hi)`` on contiguous bands of ``range(n)`` in threads,
    one band per numba thread (:func:`webbcal._threads.run_row_bands`, whose kernels
    take the band first). The kernel must release the GIL (``nogil=True``) and write
    only its own rows. With one thread it is one call.
    """
    from webbcal._threads import default_threads, run_row_bands

    n = int(n)
    threads = max(1, min(default_threads(), n // 8))
    run_row_bands(lambda lo, hi: kernel(*args, lo, hi), n, band=-(-n // threads) or 1,
                  threads=threads)


@dataclass(frozen=True)
class OutlierParams:
    """Official ``outlier_detection`` imaging defaults (``curvature`` (0, 0): the
    official rule; see :mod:`webbcal.steps.image3.outlier_detection`).

    For exposures aligned by tweakreg (registration ≲ 0.1 px), ``scale`` (0.15, 0.1)
    with ``curvature`` (0.2, 0.1) flags the cosmic rays that the official ``scale``
    hides on bright-star flanks (``benchmarks/image3.py --outlier-rates``, seeds
    1–32: CR pixels left > 5σ 0.52 % → 0.15 %, star pixels flagged 0 → 0.016 %).
    """

    snr: tuple[float, float] = (5.0, 4.0)
    scale: tuple[float, float] = (1.2, 0.7)
    curvature: tuple[float, float] = (0.0, 0.0)
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
    run_rows(masked_median, out.shape[0], sci, np.ascontiguousarray(good), out)
    return out


def blot(median: np.ndarray, pixmap=None, *, corners=None,
         interp: str = "linear") -> np.ndarray:
    """Interpolate the median mosaic back onto an exposure's pixels.

    ``pixmap`` (ny_in, nx_in, 2) is the exposure's input→mosaic pixel map (the one used
    to drizzle it); or give ``corners``, the corner map (ny_in+1, nx_in+1, 2) or its
    (x, y) planes (:func:`pixmap.grid_corner_planes`), whose four-corner means are the
    pixel centres. ``interp``: ``"linear"`` (bilinear, what the official step uses:
    stcal's ``gwcs_blot`` calls drizzle's ``blot_image`` with ``interp="linear"``;
    positions ``0 <= x < nx`` are valid) or ``"poly5"`` (6-point Lagrange; positions
    within half a pixel of the mosaic). numba kernels. Pixels that fall off the mosaic,
    or whose stencil touches an undefined (NaN) median value, are NaN.

    Returns
    -------
    ndarray (ny_in, nx_in) float32
    """
    from webbcal.algorithms.image3._outlier_kernels import blot_linear, blot_poly5

    kernels = {"linear": (blot_linear, 2), "poly5": (blot_poly5, 6)}
    if interp not in kernels:
        raise ValueError(f"blot interp: expected one of {sorted(kernels)}, found {interp!r}")
    kernel, need = kernels[interp]
    med = np.ascontiguousarray(median, np.float32)
    if min(med.shape) < need:
        raise ValueError(f"median image must be at least {need}x{need} for {interp}, "
                         f"found {med.shape}")
    if corners is not None:
        px, py = corners if isinstance(corners, tuple) else (corners[..., 0], corners[..., 1])
        shape = (px.shape[0] - 1, px.shape[1] - 1)
    else:
        px, py = pixmap[..., 0], pixmap[..., 1]
        shape = px.shape
    out = np.empty(shape, np.float32)
    run_rows(kernel, shape[0], med, np.ascontiguousarray(px, np.float64),
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
    threshold ``snr[1]·err + scale[1]·|∂blot|``; ``curvature[i]·|∇²blot|`` is added to
    threshold i (4-neighbour Laplacian). ``|∂blot|`` ignores NaN neighbours;
    NaN ERR counts as 0; pixels where the blot is NaN are never flagged (no
    information there). Two numba passes over row bands, in threads.
    """
    from webbcal.algorithms.image3._outlier_kernels import flag_grow, flag_thresholds

    sci = np.ascontiguousarray(sci, np.float32)
    shape = sci.shape
    first = np.empty(shape, np.uint8)
    second = np.empty(shape, np.uint8)
    out = np.empty(shape, np.bool_)
    run_rows(flag_thresholds, shape[0], sci, np.ascontiguousarray(err, np.float32),
             np.ascontiguousarray(blotted, np.float32), float(params.snr[0]),
             float(params.snr[1]), float(params.scale[0]), float(params.scale[1]),
             float(params.curvature[0]), float(params.curvature[1]), float(params.backg),
             first, second)
    run_rows(flag_grow, shape[0], first, second, int(params.grow), out)
    return out
