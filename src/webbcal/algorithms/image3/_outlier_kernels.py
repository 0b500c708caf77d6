"""numba kernels of outlier detection: poly5 blot, median of singles, flagging.

Wrapped by :mod:`webbcal.algorithms.image3.outliers`, which validates and casts inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_DEN6 = (-120.0, 24.0, -12.0, 12.0, -24.0, 120.0)


@njit(cache=True, inline="always")
def _lagrange6(t, w):
    """Weights of the 6-point Lagrange interpolation on nodes 0..5 at ``t`` into ``w``."""
    pre = 1.0
    for a in range(6):
        w[a] = pre
        pre *= t - a
    suf = 1.0
    for a in range(5, -1, -1):
        w[a] *= suf / _DEN6[a]
        suf *= t - a


@njit(cache=True, parallel=True)
def blot_poly5(image, px, py, corners, out):
    """6-point Lagrange (``poly5``) interpolation of ``image`` at (px, py).

    ``image`` (ny, nx) float32, NaN = undefined; ``px``, ``py`` float64 positions in
    ``image`` pixels: (nr, nc) pixel centres, or, with ``corners``, (nr + 1, nc + 1)
    corner maps whose four-corner means are the centres; ``out`` (nr, nc) float32
    gets NaN where the
    position is off the image (by more than half a pixel) or any of the 36 stencil
    values is NaN. Near the edges the stencil is shifted inside the image.
    """
    ny, nx = image.shape
    nr, nc = out.shape
    for r in prange(nr):
        wx = np.empty(6)
        wy = np.empty(6)
        for c in range(nc):
            if corners:
                x = 0.25 * (px[r, c] + px[r, c + 1] + px[r + 1, c] + px[r + 1, c + 1])
                y = 0.25 * (py[r, c] + py[r, c + 1] + py[r + 1, c] + py[r + 1, c + 1])
            else:
                x = px[r, c]
                y = py[r, c]
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


@njit(cache=True, parallel=True)
def masked_median(sci, good, out):
    """Per-pixel median over axis 0 of the ``good`` values of ``sci`` (n, ny, nx).

    Mean of the two middle values for an even count; NaN where none is good.
    """
    n, ny, nx = sci.shape
    for j in prange(ny):
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


@njit(cache=True, parallel=True)
def flag_kernel(sci, err, blot, snr1, snr2, scale1, scale2, backg, grow, first, second, out):
    """Official two-threshold outlier test with the blot's derivative term.

    ``sci``, ``err``, ``blot`` (ny, nx) float32; ``first``, ``second`` (ny, nx) uint8
    scratch; ``out`` (ny, nx) bool. ``|∂blot|`` is the largest absolute difference to
    the 4 neighbours (NaN neighbours ignored, as stcal's ``_abs_deriv``); NaN ERR
    counts as 0; NaN blot or sci never flags. ``out`` = first | (second & a first
    within ``grow`` pixels), i.e. stcal's ``dilate(mask1) & mask2``.
    """
    ny, nx = sci.shape
    for j in prange(ny):
        for i in range(nx):
            b = blot[j, i]
            d = sci[j, i]
            first[j, i] = 0
            second[j, i] = 0
            if not (np.isfinite(b) and np.isfinite(d)):
                continue
            der = 0.0
            if j > 0 and np.isfinite(blot[j - 1, i]):
                der = max(der, abs(b - blot[j - 1, i]))
            if j < ny - 1 and np.isfinite(blot[j + 1, i]):
                der = max(der, abs(b - blot[j + 1, i]))
            if i > 0 and np.isfinite(blot[j, i - 1]):
                der = max(der, abs(b - blot[j, i - 1]))
            if i < nx - 1 and np.isfinite(blot[j, i + 1]):
                der = max(der, abs(b - blot[j, i + 1]))
            e = err[j, i]
            if not np.isfinite(e):
                e = 0.0
            diff = abs(d - b - backg)
            if diff > snr1 * e + scale1 * der:
                first[j, i] = 1
            if diff > snr2 * e + scale2 * der:
                second[j, i] = 1
    for j in prange(ny):
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
