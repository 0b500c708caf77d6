"""numba kernels for the optional 1/f (row-stripe) correction (private; see ``one_over_f.py``)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
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


@njit(cache=True, parallel=True)
def source_mask(data, pdq, amp_edges, nsigma, bad_bits, mask):
    """Mask (uint8 1) pixels whose mean signal per group stands out, and flagged pixels.

    ``data`` (ngroups, ny, nx) float32 of one integration. The mean group difference
    ``(data[-1] - data[0]) / (ngroups - 1)`` is compared, per amplifier, with its median
    and a robust sigma (1.4826 × MAD, estimated on every 7th row); pixels above
    ``median + nsigma * sigma`` or with any of ``bad_bits`` in ``pdq`` are masked, and
    the mask is grown by one pixel.
    """
    ng, ny, nx = data.shape
    namps = amp_edges.shape[0] - 1
    inv = 1.0 / max(ng - 1, 1)
    level = np.empty(namps)
    sig = np.empty(namps)
    for a in prange(namps):
        x0 = amp_edges[a]
        x1 = amp_edges[a + 1]
        nrow = (ny + 6) // 7
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
    raw = np.zeros((ny, nx), dtype=np.uint8)
    for y in prange(ny):
        for a in range(namps):
            cut = level[a] + nsigma * sig[a]
            for x in range(amp_edges[a], amp_edges[a + 1]):
                v = (data[ng - 1, y, x] - data[0, y, x]) * inv
                if (pdq[y, x] & bad_bits) or not (v <= cut):
                    raw[y, x] = 1
    for y in prange(ny):
        for x in range(nx):
            m = np.uint8(0)
            for yy in range(max(0, y - 1), min(ny, y + 2)):
                for xx in range(max(0, x - 1), min(nx, x + 2)):
                    m |= raw[yy, xx]
            mask[y, x] = m


@njit(cache=True, parallel=True)
def stripe_offsets(data, mask, amp_edges, min_pixels, out):
    """Median of the unmasked group differences per group, row and amplifier.

    ``out`` (ngroups, ny, namps) float32: ``out[g]`` is the median over unmasked pixels
    of ``data[g] - data[g-1]`` in each row segment; 0 for g = 0 and NaN where fewer
    than ``min_pixels`` pixels are usable.
    """
    ng, ny, nx = data.shape
    namps = amp_edges.shape[0] - 1
    width = 0
    for a in range(namps):
        width = max(width, amp_edges[a + 1] - amp_edges[a])
    for k in prange((ng - 1) * ny):
        g = k // ny + 1
        y = k - (g - 1) * ny
        buf = np.empty(width, dtype=np.float32)
        for a in range(namps):
            x0 = amp_edges[a]
            x1 = amp_edges[a + 1]
            n = 0
            for x in range(x0, x1):
                if mask[y, x] == 0:
                    v = data[g, y, x] - data[g - 1, y, x]
                    if not np.isnan(v):
                        buf[n] = v
                        n += 1
            out[g, y, a] = median_inplace(buf, n) if n >= min_pixels and n > 0 else np.nan
    for y in prange(ny):
        for a in range(namps):
            out[0, y, a] = 0.0


@njit(cache=True, parallel=True)
def subtract_stripes(data, offsets, amp_edges):
    """``data[g, y, amp] -= sum(offsets[1..g, y, amp])`` (the cumulative stripe pattern)."""
    ng, ny, nx = data.shape
    namps = amp_edges.shape[0] - 1
    for y in prange(ny):
        for a in range(namps):
            acc = np.float32(0.0)
            for g in range(ng):
                acc += offsets[g, y, a]
                d = data[g, y]
                for x in range(amp_edges[a], amp_edges[a + 1]):
                    d[x] -= acc
