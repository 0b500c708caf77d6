"""numba kernels of outlier detection: blot (bilinear, poly5), median of singles, flagging.

Wrapped by :mod:`webbcal.algorithms.image3.outliers`, which validates and casts inputs.
Every kernel is serial, releases the GIL and works on a band of rows ``[lo, hi)``
(its last two arguments): the wrappers run bands in threads
(:func:`webbcal.algorithms.image3.outliers.run_rows`), which costs far less
compilation than ``parallel=True``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: 1 / the 6-point Lagrange denominators (multiplying is ~15 % faster than dividing
#: in the poly5 blot; float32 results unchanged)
_INV6 = (-1.0 / 120.0, 1.0 / 24.0, -1.0 / 12.0, 1.0 / 12.0, -1.0 / 24.0, 1.0 / 120.0)


@njit(cache=True)
def _lagrange6(t, w):
    """Weights of the 6-point Lagrange interpolation on nodes 0..5 at ``t`` into ``w``."""
    pre = 1.0
    for a in range(6):
        w[a] = pre
        pre *= t - a
    suf = 1.0
    for a in range(5, -1, -1):
        w[a] *= suf * _INV6[a]
        suf *= t - a


@njit(cache=True, nogil=True)
def blot_poly5(image, px, py, corners, out, lo, hi):
    """6-point Lagrange (``poly5``) interpolation of ``image`` at (px, py).

    ``image`` (ny, nx) float32, NaN = undefined; ``px``, ``py`` float64 positions in
    ``image`` pixels: (nr, nc) pixel centres, or, with ``corners``, (nr + 1, nc + 1)
    corner maps whose four-corner means are the centres; ``out`` (nr, nc) float32
    gets NaN where the
    position is off the image (by more than half a pixel) or any of the 36 stencil
    values is NaN. Near the edges the stencil is shifted inside the image. Rows
    ``lo`` to ``hi`` of ``out``.
    """
    for r in range(lo, hi):
        _blot_poly5_row(image, px, py, corners, r, out)


@njit(cache=True)
def _position(px, py, corners, r, c):
    """Input-image position of output pixel (r, c): the map itself, or the mean of the
    four corners around it when ``corners`` (a corner map is one larger each way)."""
    if corners:
        return (0.25 * (px[r, c] + px[r, c + 1] + px[r + 1, c] + px[r + 1, c + 1]),
                0.25 * (py[r, c] + py[r, c + 1] + py[r + 1, c] + py[r + 1, c + 1]))
    return px[r, c], py[r, c]


@njit(cache=True)
def _blot_poly5_row(image, px, py, corners, r, out):
    """Row ``r`` of :func:`blot_poly5`."""
    ny, nx = image.shape
    wx = np.empty(6)
    wy = np.empty(6)
    for c in range(out.shape[1]):
        x, y = _position(px, py, corners, r, c)
        if not (x > -0.5 and x < nx - 0.5 and y > -0.5 and y < ny - 0.5):
            out[r, c] = np.nan
            continue
        ix = min(max(int(np.floor(x)) - 2, 0), nx - 6)
        iy = min(max(int(np.floor(y)) - 2, 0), ny - 6)
        tx = x - ix
        ty = y - iy
        _lagrange6(tx, wx)
        _lagrange6(ty, wy)
        acc = 0.0
        for a in range(6):
            row = 0.0
            for b in range(6):
                row += wx[b] * image[iy + a, ix + b]
            acc += wy[a] * row
        out[r, c] = acc  # NaN propagates from any stencil value


@njit(cache=True)
def _blot_linear_row(image, px, py, corners, r, out):
    """Bilinear value of ``image`` at the positions of row ``r`` (see blot_linear)."""
    ny, nx = image.shape
    for c in range(out.shape[1]):
        x, y = _position(px, py, corners, r, c)
        if not (x >= 0.0 and x < nx and y >= 0.0 and y < ny):
            out[r, c] = np.nan
            continue
        x = min(x, nx - 1.0)
        y = min(y, ny - 1.0)
        ix = min(int(x), nx - 2)
        iy = min(int(y), ny - 2)
        tx = x - ix
        ty = y - iy
        lo = (1.0 - tx) * image[iy, ix] + tx * image[iy, ix + 1]
        hi = (1.0 - tx) * image[iy + 1, ix] + tx * image[iy + 1, ix + 1]
        out[r, c] = (1.0 - ty) * lo + ty * hi  # NaN propagates from any of the 4 values


@njit(cache=True, nogil=True)
def blot_linear(image, px, py, corners, out, lo, hi):
    """Bilinear interpolation of ``image`` at (px, py), as drizzle's ``blot_image``
    with ``interp='linear'`` (the official outlier step's blot).

    Same arguments as :func:`blot_poly5`. Positions with ``0 <= x < nx`` and
    ``0 <= y < ny`` are valid (beyond ``n - 1`` the last value is used); others get
    NaN, as do positions next to a NaN value.
    """
    for r in range(lo, hi):
        _blot_linear_row(image, px, py, corners, r, out)


@njit(cache=True, nogil=True)
def masked_median(sci, good, out, lo, hi):
    """Per-pixel median over axis 0 of the ``good`` values of ``sci`` (n, ny, nx).

    Mean of the two middle values for an even count; NaN where none is good.
    """
    for j in range(lo, hi):
        _median_row(sci, good, j, out)


@njit(cache=True)
def _median_row(sci, good, j, out):
    """Row ``j`` of :func:`masked_median`."""
    n, _, nx = sci.shape
    buf = np.empty(n, np.float32)
    for i in range(nx):
        m = 0
        for k in range(n):
            if good[k, j, i]:
                v = sci[k, j, i]
                # insertion sort (n is small: the exposures covering a pixel)
                p = m
                while p > 0 and buf[p - 1] > v:
                    buf[p] = buf[p - 1]
                    p -= 1
                buf[p] = v
                m += 1
        if m == 0:
            out[j, i] = np.nan
        elif m % 2 == 1:
            out[j, i] = buf[m // 2]
        else:
            out[j, i] = 0.5 * (buf[m // 2 - 1] + buf[m // 2])


@njit(cache=True, nogil=True)
def flag_thresholds(sci, err, blot, snr1, snr2, scale1, scale2, curv1, curv2, backg, first,
                    second, lo, hi):
    """First half of the official two-threshold outlier test: the two masks.

    ``sci``, ``err``, ``blot`` (ny, nx) float32; ``first``, ``second`` (ny, nx) uint8
    (1 where ``|sci - blot - backg|`` exceeds ``snr1·err + scale1·|∂blot|``,
    resp. the second threshold). ``|∂blot|`` is the largest absolute difference to
    the 4 neighbours (NaN neighbours ignored, as stcal's ``_abs_deriv``); NaN ERR
    counts as 0; NaN blot or sci never flags. ``curv1``, ``curv2`` add
    ``curv·|∇²blot|`` to the thresholds (4-neighbour Laplacian; a NaN or missing
    neighbour counts as the pixel's own value). Rows ``lo`` to ``hi``.
    """
    for j in range(lo, hi):
        _flag_row_thresholds(sci, err, blot, snr1, snr2, scale1, scale2, curv1, curv2, backg,
                             j, first, second)


@njit(cache=True, nogil=True)
def flag_grow(first, second, grow, out, lo, hi):
    """Second half: ``out`` (ny, nx) bool = first | (second & a first within ``grow``
    pixels), i.e. stcal's ``dilate(mask1) & mask2``; rows ``lo`` to ``hi`` (all of
    ``first`` must be complete)."""
    for j in range(lo, hi):
        _flag_row_grow(first, second, grow, j, out)


@njit(cache=True)
def _flag_row_thresholds(sci, err, blot, snr1, snr2, scale1, scale2, curv1, curv2, backg, j,
                         first, second):
    """Row ``j`` of the two threshold masks of :func:`flag_kernel`."""
    ny, nx = sci.shape
    for i in range(nx):
        b = blot[j, i]
        d = sci[j, i]
        first[j, i] = 0
        second[j, i] = 0
        if not (np.isfinite(b) and np.isfinite(d)):
            continue
        der = 0.0
        lap = 0.0  # Σ (neighbour − b)
        if j > 0 and np.isfinite(blot[j - 1, i]):
            der = max(der, abs(b - blot[j - 1, i]))
            lap += blot[j - 1, i] - b
        if j < ny - 1 and np.isfinite(blot[j + 1, i]):
            der = max(der, abs(b - blot[j + 1, i]))
            lap += blot[j + 1, i] - b
        if i > 0 and np.isfinite(blot[j, i - 1]):
            der = max(der, abs(b - blot[j, i - 1]))
            lap += blot[j, i - 1] - b
        if i < nx - 1 and np.isfinite(blot[j, i + 1]):
            der = max(der, abs(b - blot[j, i + 1]))
            lap += blot[j, i + 1] - b
        lap = abs(lap)
        e = err[j, i]
        if not np.isfinite(e):
            e = 0.0
        diff = abs(d - b - backg)
        if diff > snr1 * e + scale1 * der + curv1 * lap:
            first[j, i] = 1
        if diff > snr2 * e + scale2 * der + curv2 * lap:
            second[j, i] = 1


@njit(cache=True)
def _flag_row_grow(first, second, grow, j, out):
    """Row ``j`` of :func:`flag_kernel`'s result: first | (second & a first nearby)."""
    ny, nx = first.shape
    for i in range(nx):
        flag = first[j, i] == 1
        if not flag and second[j, i] == 1:
            for jj in range(max(j - grow, 0), min(j + grow + 1, ny)):
                for ii in range(max(i - grow, 0), min(i + grow + 1, nx)):
                    if first[jj, ii] == 1:
                        flag = True
                        break
                if flag:
                    break
        out[j, i] = flag
