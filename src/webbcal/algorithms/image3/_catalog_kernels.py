"""numba kernels of :mod:`webbcal.algorithms.image3.catalog` and ``.tweakreg``.

Smoothing, connected-component labelling, per-label statistics and the
multi-threshold + watershed deblender (photutils' ``deblend_sources`` algorithm:
exponential thresholds, markers where a segment splits, marker-seeded watershed on
the inverted image, faintest sources below ``contrast`` merged back one at a time).
Replacing scipy.ndimage and photutils here saves their import time (~2 s of CPU) as
well as their per-source Python loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# 8-connectivity neighbour offsets
_DY = np.array([-1, -1, -1, 0, 0, 1, 1, 1], np.int64)
_DX = np.array([-1, 0, 1, -1, 1, -1, 0, 1], np.int64)


@njit(cache=True)
def _convolve_rows(img, kern):
    """1-D convolution of each row with ``kern`` (zero outside the image)."""
    ny, nx = img.shape
    h = kern.size // 2
    out = np.zeros((ny, nx), np.float32)
    for y in range(ny):
        row = img[y]
        acc = out[y]
        for k in range(-h, h + 1):
            kk = kern[k + h]
            lo = max(0, -k)
            hi = min(nx, nx - k)
            for x in range(lo, hi):  # contiguous: vectorises
                acc[x] += kk * row[x + k]
    return out


@njit(cache=True)
def _convolve_cols(img, kern):
    """1-D convolution of each column with ``kern`` (zero outside the image)."""
    ny, nx = img.shape
    h = kern.size // 2
    out = np.zeros((ny, nx), np.float32)
    for y in range(ny):
        acc = out[y]
        for k in range(-h, h + 1):
            yy = y + k
            if 0 <= yy < ny:
                kk = kern[k + h]
                src = img[yy]
                for x in range(nx):
                    acc[x] += kk * src[x]
    return out


@njit(cache=True, nogil=True)  # tweakreg runs it on members in threads
def smooth_masked(data, good, kern, min_weight):
    """Normalised separable convolution: Σ k·g·d / Σ k·g.

    data (ny, nx) float32 (zero at bad pixels), good (ny, nx) float32 weights (1 good,
    0 bad) or a (0, 0) array when every pixel is good (plain convolution), kern
    (2h+1,) float32 summing to 1. Output float32; 0 where the good weight is ≤
    ``min_weight``.
    """
    num = _convolve_cols(_convolve_rows(data, kern), kern)
    if good.size == 0:
        return num
    den = _convolve_cols(_convolve_rows(good, kern), kern)
    ny, nx = data.shape
    for y in range(ny):
        for x in range(nx):
            d = den[y, x]
            num[y, x] = num[y, x] / d if d > min_weight else np.float32(0.0)
    return num


@njit(cache=True, nogil=True)
def smooth_parts(i0, i1, data, good, kern, num, den):
    """``run_row_bands`` kernel over the two halves of :func:`smooth_masked` (item 0:
    ``num`` = the separable convolution of ``data``; item 1: ``den`` = that of
    ``good``), so that two threads compute them at once; the caller divides."""
    for i in range(i0, i1):
        if i == 0:
            num[:, :] = _convolve_cols(_convolve_rows(data, kern), kern)
        else:
            den[:, :] = _convolve_cols(_convolve_rows(good, kern), kern)


@njit(cache=True)
def label_components(mask, n_pixels):
    """8-connected components of ``mask`` (ny, nx) bool with ≥ ``n_pixels`` pixels.

    Returns (labels (ny, nx) int32, consecutive from 1 in raster order of each
    component's first pixel; n_labels).
    """
    ny, nx = mask.shape
    lab = np.zeros((ny, nx), np.int32)
    stack = np.empty(ny * nx, np.int64)  # each pixel is pushed once
    members = np.empty(ny * nx, np.int64)
    n = 0
    for y0 in range(ny):
        for x0 in range(nx):
            if not mask[y0, x0] or lab[y0, x0] != 0:
                continue
            n += 1
            lab[y0, x0] = n
            stack[0] = y0 * nx + x0
            top = 1
            size = 0
            while top > 0:
                top -= 1
                p = stack[top]
                members[size] = p
                size += 1
                y, x = p // nx, p % nx
                for k in range(8):
                    yy, xx = y + _DY[k], x + _DX[k]
                    if 0 <= yy < ny and 0 <= xx < nx and mask[yy, xx] and lab[yy, xx] == 0:
                        lab[yy, xx] = n
                        stack[top] = yy * nx + xx
                        top += 1
            if size < n_pixels:
                for i in range(size):
                    lab[members[i] // nx, members[i] % nx] = 0
                n -= 1
    return lab, n


@njit(cache=True)
def label_stats(segm, n, smooth, a, b, bad):
    """Per label 1..n: pixel count, bounding box (y0, y1, x0, x1, half-open), the
    (y, x) of the brightest ``smooth`` pixel, the sums of images ``a`` and ``b``
    (float32, same shape) over the label, and the moments (Σw, Σw·x, Σw·y) of the
    label's centroid.

    The centroid Σw·x / Σw, Σw·y / Σw is photutils' ``SourceCatalog.centroid`` with
    ``convolved_data = smooth`` (the official catalog's ``xcentroid``/``ycentroid``):
    w is ``smooth`` with negative, non-finite and ``bad`` (ny, nx bool; a (0, 0)
    array: none) pixels taken as zero; photutils gives NaN where Σw = 0. Arrays
    indexed by label (size n + 1), the moments float64 (pixels from 0).
    """
    ny, nx = segm.shape
    count = np.zeros(n + 1, np.int64)
    box = np.empty((n + 1, 4), np.int64)
    box[:, 0] = ny
    box[:, 1] = 0
    box[:, 2] = nx
    box[:, 3] = 0
    peak = np.full(n + 1, -np.inf)
    py = np.zeros(n + 1, np.int64)
    px = np.zeros(n + 1, np.int64)
    sa = np.zeros(n + 1)
    sb = np.zeros(n + 1)
    m0 = np.zeros(n + 1)
    mx = np.zeros(n + 1)
    my = np.zeros(n + 1)
    use_bad = bad.size > 0
    for y in range(ny):
        for x in range(nx):
            lab = segm[y, x]
            if lab <= 0:
                continue
            count[lab] += 1
            sa[lab] += a[y, x]
            sb[lab] += b[y, x]
            box[lab, 0] = min(box[lab, 0], y)
            box[lab, 1] = max(box[lab, 1], y + 1)
            box[lab, 2] = min(box[lab, 2], x)
            box[lab, 3] = max(box[lab, 3], x + 1)
            v = smooth[y, x]
            if v > peak[lab]:
                peak[lab] = v
                py[lab] = y
                px[lab] = x
            if v > 0 and v < np.inf and not (use_bad and bad[y, x]):
                w = np.float64(v)
                m0[lab] += w
                mx[lab] += w * x
                my[lab] += w * y
    return count, box, py, px, sa, sb, m0, mx, my



@njit(cache=True)
def _markers(data, mask, smin, smax, n_pixels, n_levels, exponential):
    """photutils' multi-threshold markers of one segment; (markers, n) with n = 0 when
    the segment never splits."""
    have = False
    lower = np.zeros(data.shape, np.int32)
    n_low = 0
    for i in range(1, n_levels + 1):
        f = i / (n_levels + 1.0)
        t = smin * (smax / smin) ** f if exponential else smin + (smax - smin) * f
        upper, n_up = label_components(mask & (data > t), n_pixels)
        if n_up <= 1:
            continue
        if not have:
            lower, n_low, have = upper, n_up, True
            continue
        first = np.zeros(n_low + 1, np.int64)
        split = np.zeros(n_low + 1, np.bool_)
        lo1, up1 = lower.reshape(-1), upper.reshape(-1)
        for p in range(lo1.size):
            a, b = lo1[p], up1[p]
            if a > 0 and b > 0:
                if first[a] == 0:
                    first[a] = b
                elif first[a] != b:
                    split[a] = True
        if split.any():
            new = np.zeros(data.shape, np.bool_)
            new1 = new.reshape(-1)
            for p in range(lo1.size):
                a = lo1[p]
                if a > 0:
                    new1[p] = (up1[p] > 0) if split[a] else True
            lower, n_low = label_components(new, 1)
    if not have:
        return lower, 0
    return lower, n_low


@njit(cache=True)
def _watershed(data, markers, mask):
    """Marker-seeded watershed of −``data`` inside ``mask`` (8-connected, ties
    first-in first-out, as skimage's); labels in place of ``markers``.

    A binary min-heap on parallel arrays keyed by (−value, age): pops written out
    here, pushes (seeds and neighbours) through :func:`_heap_push`.
    """
    ny, nx = data.shape
    size = markers.size
    key = np.empty(size, np.float64)
    age = np.empty(size, np.int64)
    pix = np.empty(size, np.int64)
    m1, d1 = markers.reshape(-1), data.reshape(-1)
    n = 0
    t = 0
    p = 0
    while True:
        if p < size:  # seeding: every marker pixel
            if m1[p] <= 0:
                p += 1
                continue
            q, kq = p, -np.float64(d1[p])
            p += 1
        else:  # flooding: pop the lowest, push its unlabelled neighbours
            if n == 0:
                break
            top = pix[0]
            n -= 1
            key[0], age[0], pix[0] = key[n], age[n], pix[n]
            i = 0
            while True:  # sift down
                c = 2 * i + 1
                if c >= n:
                    break
                if c + 1 < n and (key[c + 1] < key[c]
                                  or (key[c + 1] == key[c] and age[c + 1] < age[c])):
                    c += 1
                if key[c] < key[i] or (key[c] == key[i] and age[c] < age[i]):
                    key[i], key[c] = key[c], key[i]
                    age[i], age[c] = age[c], age[i]
                    pix[i], pix[c] = pix[c], pix[i]
                    i = c
                else:
                    break
            y, x = top // nx, top % nx
            lab = m1[top]
            q = -1
            for k in range(8):
                yy, xx = y + _DY[k], x + _DX[k]
                if 0 <= yy < ny and 0 <= xx < nx and mask[yy, xx] and markers[yy, xx] == 0:
                    markers[yy, xx] = lab
                    q2 = yy * nx + xx
                    n = _heap_push(key, age, pix, n, -np.float64(d1[q2]), t, q2)
                    t += 1
            continue
        n = _heap_push(key, age, pix, n, kq, t, q)  # a seed
        t += 1
    return markers


@njit(cache=True)
def _heap_push(key, age, pix, n, k, a, q):
    """Push (key k, age a, pixel q) onto the min-heap of :func:`_watershed` holding
    ``n`` entries (sift up); returns the new size."""
    key[n], age[n], pix[n] = k, a, q
    i = n
    while i > 0:
        par = (i - 1) // 2
        if key[i] < key[par] or (key[i] == key[par] and age[i] < age[par]):
            key[i], key[par] = key[par], key[i]
            age[i], age[par] = age[par], age[i]
            pix[i], pix[par] = pix[par], pix[i]
            i = par
        else:
            break
    return n + 1


@njit(cache=True)
def deblend_segment(data, mask, n_pixels, n_levels, contrast):
    """Deblend one segment (``mask`` within the cutout ``data``; both C-contiguous,
    float32 and bool).

    Returns (labels (ny, nx) int32 consecutive from 1 inside ``mask``, n); n = 0 when
    the segment stays one source.
    """
    smin, smax, ssum = np.inf, -np.inf, 0.0
    d1, k1 = data.reshape(-1), mask.reshape(-1)
    for p in range(d1.size):
        if k1[p]:
            v = np.float64(d1[p])
            smin = min(smin, v)
            smax = max(smax, v)
            ssum += v
    empty = np.zeros(data.shape, np.int32)
    if not smin < smax or _n_local_maxima(data, mask, 2) < 2:
        return empty, 0  # every split level needs one local maximum per component
    exponential = smin > 0
    markers, n = _markers(data, mask, smin, smax, n_pixels, n_levels, exponential)
    if n == 0:
        return empty, 0
    if exponential and n > 200:  # photutils: too many markers → linear levels
        markers, n = _markers(data, mask, smin, smax, n_pixels, n_levels, False)
        if n == 0:
            return empty, 0
    n_max = n
    count = np.zeros(n_max + 1, np.int64)
    while True:
        markers = _watershed(data, markers, mask)
        m1 = markers.reshape(-1)
        flux = np.zeros(n_max + 1)
        count[:] = 0
        for p in range(m1.size):
            lab = m1[p]
            if lab > 0:
                flux[lab] += d1[p]
                count[lab] += 1
        faint, faint_flux, n_alive = -1, np.inf, 0
        for lab in range(1, n_max + 1):
            if count[lab] > 0:
                n_alive += 1
                if flux[lab] < faint_flux:
                    faint, faint_flux = lab, flux[lab]
        if n_alive <= 1 or faint_flux / ssum >= contrast:
            break
        for p in range(m1.size):  # merge the faintest back, flood again
            if m1[p] == faint:
                m1[p] = 0
    if n_alive <= 1:
        return empty, 0
    remap = np.zeros(n_max + 1, np.int32)
    k = 0
    for lab in range(1, n_max + 1):  # consecutive, in marker order
        if count[lab] > 0:
            k += 1
            remap[lab] = k
    m1 = markers.reshape(-1)
    for p in range(m1.size):
        m1[p] = remap[m1[p]]
    return markers, k


@njit(cache=True)
def _n_local_maxima(data, mask, stop):
    """Pixels of ``mask`` ≥ their 8 neighbours inside ``mask`` (counting stops at ``stop``)."""
    ny, nx = data.shape
    n = 0
    for y in range(ny):
        for x in range(nx):
            if not mask[y, x]:
                continue
            v = data[y, x]
            top = True
            for k in range(8):
                yy, xx = y + _DY[k], x + _DX[k]
                if 0 <= yy < ny and 0 <= xx < nx and mask[yy, xx] and data[yy, xx] > v:
                    top = False
                    break
            if top:
                n += 1
                if n >= stop:
                    return n
    return n


@njit(cache=True, nogil=True)  # tweakreg runs it on members in threads
def star_peaks(smooth, data, bad, threshold, edge, max_peak_fraction):
    """Star candidates of :func:`webbcal.algorithms.image3.tweakreg.find_stars`.

    Pixels of ``smooth`` (ny, nx) float32 above ``threshold`` that are ≥ every other
    pixel of their 5×5 box, at least ``edge`` pixels from the border, with no ``bad``
    pixel within 2 (city-block) pixels, and whose ``data`` value holds less than
    ``max_peak_fraction`` of the 3×3 sum (not a cosmic ray or hot pixel).
    Returns (ys, xs) int64 in raster order.
    """
    ny, nx = smooth.shape
    ys = np.empty(1024, np.int64)
    xs = np.empty(1024, np.int64)
    n = 0
    for y in range(edge, ny - edge):
        for x in range(edge, nx - edge):
            v = smooth[y, x]
            if not v > threshold:
                continue
            ok = True
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    if smooth[y + dy, x + dx] > v:
                        ok = False
                    if abs(dy) + abs(dx) <= 2 and bad[y + dy, x + dx]:
                        ok = False
            if not ok:
                continue
            box = 0.0
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    box += data[y + dy, x + dx]
            if box > 0 and data[y, x] / box >= max_peak_fraction:
                continue
            if n == ys.size:
                ys = np.concatenate((ys, np.empty(n, np.int64)))
                xs = np.concatenate((xs, np.empty(n, np.int64)))
            ys[n] = y
            xs[n] = x
            n += 1
    return ys[:n].copy(), xs[:n].copy()
