"""numba kernels of the catalog's photometry (:mod:`webbcal.algorithms.image3.catalog`):
exact-overlap circular aperture sums with per-source radii and first moments (Kron).

Loops over each source's own pixels instead of (n, k, k) cutout stacks: a Kron window
of a bright source spans 80 × 80 pixels, which made the stacks the catalog's largest
cost.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _g(u, r):
    """∫₀ᵘ √(r² − t²) dt for |u| ≤ r."""
    s = r * r - u * u
    return 0.5 * (u * np.sqrt(s if s > 0 else 0.0)
                  + r * r * np.arcsin(min(max(u / r, -1.0), 1.0)))


@njit(cache=True)
def _quadrant(x, y, r):
    """Area of the disc of radius ``r`` about the origin with ξ ≤ x, η ≤ y (scalar
    version of :func:`webbcal.algorithms.image3._photometry._quadrant_area`)."""
    xc = min(max(x, -r), r)
    yc = min(max(y, -r), r)
    a = np.sqrt(max(r * r - yc * yc, 0.0))
    u = min(max(x, -a), a)
    inner = _g(u, r) + _g(a, r)
    chord = yc * (u + a)
    if yc >= 0:
        return 2.0 * (_g(xc, r) + 0.25 * np.pi * r * r) - inner + chord
    return inner + chord


@njit(cache=True)
def circle_sums(data, var, x, y, radius):
    """Exact-overlap circular aperture sums of ``data`` and ``var`` (ny, nx) at
    0-based (``x``, ``y``) (n,) with per-source ``radius`` (n,) [pixels].

    Pixels wholly inside the circle weigh 1, pixels it misses 0, the rest their
    exact overlap. NaN ``data`` pixels (and pixels off the image) count as zero and
    their weight is reported. Returns (flux, var_sum, lost_weight, total_weight),
    each (n,) float64; a non-finite or non-positive radius gives NaN.
    """
    ny, nx = data.shape
    n = x.size
    flux = np.full(n, np.nan)
    vsum = np.full(n, np.nan)
    lost = np.zeros(n)
    wsum = np.zeros(n)
    for s in range(n):
        r = radius[s]
        if not (r > 0) or not np.isfinite(x[s]) or not np.isfinite(y[s]):
            continue
        f = 0.0
        v = 0.0
        for j in range(int(np.floor(y[s] - r + 0.5)), int(np.floor(y[s] + r + 0.5)) + 1):
            y0 = j - 0.5 - y[s]
            y1 = y0 + 1.0
            ny2 = min(y0 * y0, y1 * y1) if y0 * y1 > 0 else 0.0
            fy2 = max(y0 * y0, y1 * y1)
            for i in range(int(np.floor(x[s] - r + 0.5)), int(np.floor(x[s] + r + 0.5)) + 1):
                x0 = i - 0.5 - x[s]
                x1 = x0 + 1.0
                nx2 = min(x0 * x0, x1 * x1) if x0 * x1 > 0 else 0.0
                if nx2 + ny2 >= r * r:
                    continue
                if max(x0 * x0, x1 * x1) + fy2 <= r * r:
                    w = 1.0
                else:
                    w = (_quadrant(x1, y1, r) - _quadrant(x0, y1, r)
                         - _quadrant(x1, y0, r) + _quadrant(x0, y0, r))
                    w = min(max(w, 0.0), 1.0)
                wsum[s] += w
                if 0 <= j < ny and 0 <= i < nx and np.isfinite(data[j, i]):
                    f += w * data[j, i]
                    v += w * var[j, i]
                else:
                    lost[s] += w
        flux[s] = f
        vsum[s] = v
    return flux, vsum, lost, wsum


@njit(cache=True)
def first_moments(data, x, y, rmax):
    """Σ I and Σ r·I of ``data`` (NaN → 0) over pixels with centres within ``rmax``
    (n,) of (``x``, ``y``) (n,) — the first-moment (Kron) radius is their ratio."""
    ny, nx = data.shape
    n = x.size
    s0 = np.zeros(n)
    s1 = np.zeros(n)
    for s in range(n):
        rm = rmax[s]
        for j in range(max(int(np.ceil(y[s] - rm)), 0), min(int(np.floor(y[s] + rm)), ny - 1) + 1):
            for i in range(max(int(np.ceil(x[s] - rm)), 0),
                           min(int(np.floor(x[s] + rm)), nx - 1) + 1):
                rr = np.sqrt((i - x[s]) ** 2 + (j - y[s]) ** 2)
                v = data[j, i]
                if rr <= rm and np.isfinite(v):
                    s0[s] += v
                    s1[s] += rr * v
    return s0, s1
