"""numba kernels for the optional 1/f (row-stripe) correction (private; see ``one_over_f.py``).

Serial GIL-free kernels over a range of rows (or amplifiers), ``kernel(y0, y1, ...)``,
each writing only its own rows' outputs; ``one_over_f.py`` runs them on several
threads with :func:`webbcal._threads.run_row_bands` (see ``docs/internals.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def median_inplace(buf, n):
    """Median of ``buf[:n]`` (numpy convention for even n) by quickselect; reorders buf."""
    k = n // 2
    lo, hi = 0, n - 1
    while lo < hi:  # Wirth/Hoare selection of the k-th smallest
        pivot = buf[k]
        i, j = lo, hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while pivot < buf[j]:
                j -= 1
            if i <= j:
                buf[i], buf[j] = buf[j], buf[i]
                i += 1
                j -= 1
        if j < k:
            lo = i
        if k < i:
            hi = j
    m = buf[k]
    if n % 2 == 1:
        return m
    below = buf[0]
    for i in range(1, k):
        below = max(below, buf[i])
    return 0.5 * (below + m)


@njit(cache=True, nogil=True)
def amp_statistics(a0, a1, data, pdq, amp_edges, bad_bits, level, sig):
    """Median and robust sigma of the mean group difference, amplifiers ``a0 … a1 - 1``.

    ``data`` (ngroups, ny, nx) float32 of one integration; the mean group difference
    ``(data[-1] - data[0]) / (ngroups - 1)`` of every 7th row's pixels without any of
    ``bad_bits`` in ``pdq`` gives ``level[a]`` (median) and ``sig[a]`` (1.4826 × MAD),
    float64; ``inf`` and 0 for an amplifier with no usable pixel.
    """
    ng, ny, nx = data.shape
    inv = 1.0 / max(ng - 1, 1)
    nrow = (ny + 6) // 7
    for a in range(a0, a1):
        x0 = amp_edges[a]
        x1 = amp_edges[a + 1]
        buf = np.empty(nrow * (x1 - x0))
        n = 0
        for y in range(0, ny, 7):
            for x in range(x0, x1):
                if pdq[y, x] & bad_bits:
                    continue
                v = (data[ng - 1, y, x] - data[0, y, x]) * inv
                if not np.isnan(v):
                    buf[n] = v
                    n += 1
        if n == 0:
            level[a] = np.inf
            sig[a] = 0.0
            continue
        med = median_inplace(buf, n)
        for i in range(n):
            buf[i] = abs(buf[i] - med)
        level[a] = med
        sig[a] = 1.4826 * median_inplace(buf, n)


@njit(cache=True, nogil=True)
def mask_rows(y0, y1, data, pdq, amp_edges, nsigma, bad_bits, level, sig, raw):
    """``raw[y]`` (uint8) = 1 for rows ``y0 … y1 - 1``' pixels whose mean group
    difference is not below ``level + nsigma * sig`` of their amplifier (NaN
    included) or that have any of ``bad_bits`` in ``pdq``; 0 elsewhere."""
    ng = data.shape[0]
    namps = amp_edges.shape[0] - 1
    inv = 1.0 / max(ng - 1, 1)
    for y in range(y0, y1):
        for a in range(namps):
            cut = level[a] + nsigma * sig[a]
            for x in range(amp_edges[a], amp_edges[a + 1]):
                v = (data[ng - 1, y, x] - data[0, y, x]) * inv
                if (pdq[y, x] & bad_bits) or not (v <= cut):
                    raw[y, x] = 1
                else:
                    raw[y, x] = 0


@njit(cache=True, nogil=True)
def grow_rows(y0, y1, raw, mask):
    """``mask`` rows ``y0 … y1 - 1``: ``raw`` grown by one pixel (3×3 maximum)."""
    ny, nx = raw.shape
    for y in range(y0, y1):
        for x in range(nx):
            m = np.uint8(0)
            for yy in range(max(0, y - 1), min(ny, y + 2)):
                for xx in range(max(0, x - 1), min(nx, x + 2)):
                    m |= raw[yy, xx]
            mask[y, x] = m


@njit(cache=True, nogil=True)
def stripe_offset_rows(k0, k1, data, mask, amp_edges, min_pixels, out):
    """Median of the unmasked group differences per group, row and amplifier.

    Rows ``k = g * ny + y`` for ``k0 <= k < k1`` of ``out`` (ngroups, ny, namps)
    float32: ``out[g, y]`` is the median over unmasked pixels of ``data[g, y] -
    data[g-1, y]`` in each amplifier's segment; 0 for g = 0 and NaN where fewer than
    ``min_pixels`` pixels are usable.
    """
    ny = data.shape[1]
    namps = amp_edges.shape[0] - 1
    width = 0
    for a in range(namps):
        width = max(width, amp_edges[a + 1] - amp_edges[a])
    buf = np.empty(width, dtype=np.float32)
    for k in range(k0, k1):
        g = k // ny
        y = k - g * ny
        for a in range(namps):
            if g == 0:
                out[0, y, a] = 0.0
                continue
            n = 0
            for x in range(amp_edges[a], amp_edges[a + 1]):
                if mask[y, x] == 0:
                    v = data[g, y, x] - data[g - 1, y, x]
                    if not np.isnan(v):
                        buf[n] = v
                        n += 1
            out[g, y, a] = median_inplace(buf, n) if n >= min_pixels and n > 0 else np.nan


@njit(cache=True, nogil=True)
def subtract_stripe_rows(y0, y1, data, offsets, amp_edges):
    """Rows ``y0 … y1 - 1``: ``data[g, y, amp] -= sum(offsets[1..g, y, amp])`` (the
    cumulative stripe pattern; ``offsets[0]`` is 0)."""
    ng = data.shape[0]
    namps = amp_edges.shape[0] - 1
    for y in range(y0, y1):
        for a in range(namps):
            acc = np.float32(0.0)
            for g in range(ng):
                acc += offsets[g, y, a]
                d = data[g, y]
                for x in range(amp_edges[a], amp_edges[a + 1]):
                    d[x] -= acc
