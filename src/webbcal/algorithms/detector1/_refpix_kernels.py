"""numba kernels for the NIR reference-pixel correction (private; see ``refpix.py``).

Arrays: ``data`` float32 (nplanes, ny, nx) (every group of every integration is a
plane), ``pdq`` uint32 (ny, nx). Reference values are float64 scalars/vectors.
Kernels are serial ``nogil`` functions ``kernel(lo, hi, …)`` over an index range
``lo … hi - 1``, run on row bands in threads by :func:`webbcal._threads.run_row_bands`
(cheaper to compile than ``parallel=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def clipped_mean(values, n, low, high):
    """Mean of ``values[:n]`` after iterative sigma clipping (scipy ``sigmaclip`` rules).

    Repeats: keep ``mean - low*std <= v <= mean + high*std`` (population std) until no
    value is removed. Returns NaN when ``n == 0``. ``values`` is reordered.
    """
    if n == 0:
        return np.nan
    while True:
        s = 0.0
        for i in range(n):
            s += values[i]
        mean = s / n
        ss = 0.0
        for i in range(n):
            d = values[i] - mean
            ss += d * d
        std = np.sqrt(ss / n)
        if std == 0.0:
            return mean
        lo = mean - low * std
        hi = mean + high * std
        m = 0
        for i in range(n):
            v = values[i]
            if v >= lo and v <= hi:
                values[m] = v
                m += 1
        if m == n:
            return mean
        n = m


@njit(cache=True)
def _gather(data, pdq, refmask, p, y0, y1, x0, x1, parity, parity_offset, odd_even, dnu, buf):
    """Copy good reference values of a block (``refmask`` set, not DO_NOT_USE, not NaN)
    of one column parity into ``buf``, row by row; returns their number."""
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            if not refmask[y, x] or (pdq[y, x] & np.uint32(dnu)):
                continue
            if odd_even and ((x + parity_offset) & 1) != parity:
                continue
            v = data[p, y, x]
            if np.isnan(v):
                continue
            buf[n] = v
            n += 1
    return n


@njit(cache=True, nogil=True)
def ref_levels(lo, hi, data, pdq, refmask, amp_edges, rows, nmax, parity_offset, odd_even, dnu,
               sigma, pair, out):
    """Reference levels per plane, amplifier and column parity, for ``k = plane * namps +
    amp`` in ``lo … hi - 1``.

    For each row block ``rows[b] = (y0, y1)`` the level is the sigma-clipped mean of the
    good reference pixels (``refmask``) of the amplifier's columns ``amp_edges[a] …
    amp_edges[a+1]-1`` and one parity; two blocks (bottom, top) are averaged (either
    alone where the other has no good pixel). ``pair``: an amplifier with no level for
    one parity gets NaN for both (the official top/bottom rule). ``out`` (nplanes,
    namps, 2) float64; ``nmax`` is at least the largest number of pixels of a block
    plus one. One kernel serves full frames (four amplifiers, blocks bottom/top) and
    single-output subarrays (one amplifier, one block over every reference pixel).
    """
    nplanes, ny, nx = data.shape
    namps = amp_edges.shape[0] - 1
    nblocks = rows.shape[0]
    buf = np.empty(nmax, dtype=np.float64)
    for k in range(lo, hi):
        p = k // namps
        a = k - p * namps
        x0 = amp_edges[a]
        x1 = amp_edges[a + 1]
        for parity in range(2):
            lev0 = np.nan
            lev1 = np.nan
            for b in range(nblocks):
                n = _gather(data, pdq, refmask, p, rows[b, 0], rows[b, 1], x0, x1, parity,
                            parity_offset, odd_even, dnu, buf)
                m = clipped_mean(buf, n, sigma, sigma)
                if b == 0:
                    lev0 = m
                else:
                    lev1 = m
            if np.isnan(lev0):
                out[p, a, parity] = lev1
            elif np.isnan(lev1):
                out[p, a, parity] = lev0
            else:
                out[p, a, parity] = 0.5 * (lev0 + lev1)
        if pair and (np.isnan(out[p, a, 0]) or np.isnan(out[p, a, 1])):
            out[p, a, 0] = np.nan
            out[p, a, 1] = np.nan


@njit(cache=True)
def _median_sorted(buf, n):
    # insertion sort (n is at most a few dozen)
    for i in range(1, n):
        v = buf[i]
        j = i - 1
        while j >= 0 and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v
    if n % 2 == 1:
        return buf[n // 2]
    return 0.5 * (buf[n // 2 - 1] + buf[n // 2])


@njit(cache=True)
def _side_median(data, pdq, levels, amp_of_col, p, y, c0, c1, half, parity_offset, dnu, buf):
    """Running median at row y of columns c0:c1 (after the top/bottom correction).

    The window is rows ``y-half … y+half`` reflected at the array ends without
    repeating the edge row; DO_NOT_USE pixels are left out; NaN if nothing is left.
    """
    ny = data.shape[1]
    n = 0
    for r in range(y - half, y + half + 1):
        rr = r
        if rr < 0:
            rr = -rr
        if rr >= ny:
            rr = 2 * (ny - 1) - rr
        rr = min(max(rr, 0), ny - 1)
        for x in range(c0, c1):
            if pdq[rr, x] & np.uint32(dnu):
                continue
            v = data[p, rr, x]
            if np.isnan(v):
                continue
            lev = levels[p, amp_of_col[x], (x + parity_offset) & 1]
            if not np.isnan(lev):
                v -= lev
            buf[n] = v
            n += 1
    if n == 0:
        return np.nan
    return _median_sorted(buf, n)


@njit(cache=True, nogil=True)
def side_signal(lo, hi, data, pdq, levels, amp_of_col, n_left, n_right, parity_offset, smoothing,
                dnu, out):
    """Row-by-row side reference signal ``out`` (nplanes, ny) float32.

    Running medians (window ``smoothing`` rows) of the left and right reference
    columns are averaged (one alone if the other is NaN; 0 if both are).
    """
    nplanes, ny, nx = data.shape
    half = smoothing // 2
    for k in range(lo, hi):
        p = k // ny
        y = k - p * ny
        buf = np.empty((2 * half + 1) * max(n_left, n_right, 1), dtype=np.float64)
        left = np.nan
        right = np.nan
        if n_left > 0:
            left = _side_median(data, pdq, levels, amp_of_col, p, y, 0, n_left, half,
                                parity_offset, dnu, buf)
        if n_right > 0:
            right = _side_median(data, pdq, levels, amp_of_col, p, y, nx - n_right, nx, half,
                                 parity_offset, dnu, buf)
        if np.isnan(left) and np.isnan(right):
            out[p, y] = 0.0
        elif np.isnan(left):
            out[p, y] = right
        elif np.isnan(right):
            out[p, y] = left
        else:
            out[p, y] = 0.5 * (left + right)


@njit(cache=True, nogil=True)
def apply_refpix(lo, hi, data, col_levels, side, side_gain):
    """``data[p, y, x] -= col_levels[p, x] + side_gain * side[p, y]`` in place.

    ``col_levels`` (nplanes, nx) float32 is the top/bottom level of each column's
    amplifier and parity (0 where there is none).
    """
    nplanes, ny, nx = data.shape
    for k in range(lo, hi):
        p = k // ny
        y = k - p * ny
        s = np.float32(side_gain * side[p, y])
        d = data[p, y]
        c = col_levels[p]
        for x in range(nx):
            d[x] -= c[x] + s
