"""numba kernels for two-point-difference jump detection.

Private: called only by :func:`webbcal.algorithms.detector1.jump.detect_jumps`.
Follows the official ``stcal`` ``twopoint_difference.find_crs`` pixel by pixel:

* first differences of adjacent groups, NaN where either group is SATURATED or
  DO_NOT_USE;
* a clipped median difference: with >= 4 usable differences the one of largest
  absolute value is dropped before the median, with 3 the plain median, with 2 the
  difference of smaller absolute value;
* ``sigma = sqrt(|median| / gain + readnoise^2 / nframes)`` (DN; the read noise is the
  CDS noise, so ``readnoise^2 / nframes`` is the read variance of one difference of
  ``nframes``-averaged groups);
* the largest ratio ``|diff - median| / sigma`` is a jump if it exceeds the threshold
  for the number of usable differences (4σ; 5σ with 3 differences, 6σ with 2); it
  is removed and the search repeated while more than two differences remain;
* with ``>= min_diffs_single_pass`` usable differences, a single pass against the
  plain median flags every difference above the threshold.

Speed: for 3 to 32 differences a row's differences are sorted column-wise by a sorting
network and screened in one vectorised pass; only pixels with flagged groups, non-finite
values, a tie for the clipped value, or a deviation near or above threshold go through
the exact per-pixel search (:func:`_pixel_search`), so the result is the same as
searching every pixel. The group DQ is flagged in place; neighbour triggers are kept
as one bit per pixel (``trig``), not as a cube.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

#: LLVM fast-math flags that keep NaN/inf semantics (isnan checks stay valid).
_FM = {"arcp", "contract", "nsz", "afn", "reassoc"}


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
def _clipped_median(diffs, n, buf):
    """Official clipped median of the non-NaN values of ``diffs[:n]`` (see module doc)."""
    m = 0
    imax = -1
    amax = -1.0
    for k in range(n):
        v = diffs[k]
        if not math.isnan(v):
            if abs(v) > amax:
                amax = abs(v)
                imax = m
            buf[m] = v
            m += 1
    if m == 0:
        return math.nan
    if m == 1:
        return math.nan
    if m == 2:
        return buf[0] if abs(buf[0]) <= abs(buf[1]) else buf[1]
    if m >= 4:
        buf[imax] = buf[m - 1]
        m -= 1
    return _median_inplace(buf, m)


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
def _pick8(i, v0, v1, v2, v3, v4, v5, v6, v7):
    if i < 4:
        if i < 2:
            return v0 if i == 0 else v1
        return v2 if i == 2 else v3
    if i < 6:
        return v4 if i == 4 else v5
    return v6 if i == 6 else v7


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _median8(buf, m):
    """Median of ``buf[:m]``, m <= 8, by a branch-free 19-comparator sorting network.

    Missing slots are padded with -inf/+inf in (nearly) equal numbers, so the
    median sits at a known position of the sorted 8 values.
    """
    lo_pad = (8 - m) // 2
    hi = lo_pad + m
    v0 = buf[0 - lo_pad] if (lo_pad <= 0 and 0 < hi) else (-np.inf if 0 < lo_pad else np.inf)
    v1 = buf[1 - lo_pad] if (lo_pad <= 1 and 1 < hi) else (-np.inf if 1 < lo_pad else np.inf)
    v2 = buf[2 - lo_pad] if (lo_pad <= 2 and 2 < hi) else (-np.inf if 2 < lo_pad else np.inf)
    v3 = buf[3 - lo_pad] if (lo_pad <= 3 and 3 < hi) else (-np.inf if 3 < lo_pad else np.inf)
    v4 = buf[4 - lo_pad] if (lo_pad <= 4 and 4 < hi) else (-np.inf if 4 < lo_pad else np.inf)
    v5 = buf[5 - lo_pad] if (lo_pad <= 5 and 5 < hi) else (-np.inf if 5 < lo_pad else np.inf)
    v6 = buf[6 - lo_pad] if (lo_pad <= 6 and 6 < hi) else (-np.inf if 6 < lo_pad else np.inf)
    v7 = buf[7 - lo_pad] if (lo_pad <= 7 and 7 < hi) else (-np.inf if 7 < lo_pad else np.inf)
    v0, v2 = min(v0, v2), max(v0, v2)
    v1, v3 = min(v1, v3), max(v1, v3)
    v4, v6 = min(v4, v6), max(v4, v6)
    v5, v7 = min(v5, v7), max(v5, v7)
    v0, v4 = min(v0, v4), max(v0, v4)
    v1, v5 = min(v1, v5), max(v1, v5)
    v2, v6 = min(v2, v6), max(v2, v6)
    v3, v7 = min(v3, v7), max(v3, v7)
    v0, v1 = min(v0, v1), max(v0, v1)
    v2, v3 = min(v2, v3), max(v2, v3)
    v4, v5 = min(v4, v5), max(v4, v5)
    v6, v7 = min(v6, v7), max(v6, v7)
    v2, v4 = min(v2, v4), max(v2, v4)
    v3, v5 = min(v3, v5), max(v3, v5)
    v1, v4 = min(v1, v4), max(v1, v4)
    v3, v6 = min(v3, v6), max(v3, v6)
    v1, v2 = min(v1, v2), max(v1, v2)
    v3, v4 = min(v3, v4), max(v3, v4)
    v5, v6 = min(v5, v6), max(v5, v6)
    i1 = lo_pad + (m - 1) // 2
    i2 = lo_pad + m // 2
    return 0.5 * (_pick8(i1, v0, v1, v2, v3, v4, v5, v6, v7)
                  + _pick8(i2, v0, v1, v2, v3, v4, v5, v6, v7))


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _select(buf, m, k):
    """Reorder ``buf[:m]`` so that ``buf[k]`` is its k-th smallest value (quickselect)
    with everything before it not larger; returns that value."""
    lo = 0
    hi = m - 1
    while hi > lo:
        mid = (lo + hi) // 2
        # median-of-three pivot
        a, b, c = buf[lo], buf[mid], buf[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        i = lo
        j = hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return buf[k]


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
def _median_inplace(buf, m):
    """Median of ``buf[:m]`` (no NaNs): sorting network up to 8 values, else
    quickselect (reorders the prefix)."""
    if m <= 8:
        return _median8(buf, m)
    upper = _select(buf, m, m // 2)
    if m % 2 == 1:
        return upper
    lower = buf[0]
    for i in range(1, m // 2):
        if buf[i] > lower:
            lower = buf[i]
    return 0.5 * (lower + upper)


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
def _threshold(n_usable, normal, four_group, three_group):
    if n_usable >= 4:
        return normal
    if n_usable == 3:
        return four_group
    if n_usable == 2:
        return three_group
    return math.inf



def sorting_network(n):
    """Comparator pairs (npairs, 2) int64 of Batcher's odd-even merge sort for ``n`` values.

    Built for the next power of two and restricted to pairs inside ``[0, n)`` (the
    missing slots act as +inf at the top, which those comparators would never move).
    Plain Python, cheap; used with :func:`sort_columns`.
    """
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k - 1, size - j - k - 1) + 1):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def sort_columns(cols, pairs):
    """Sort every column of ``cols`` (m, nx) float64 ascending, in place, with the
    comparator network ``pairs`` (from :func:`sorting_network`); the inner loops run
    over ``x`` and vectorise. Columns holding NaN come out in no defined order."""
    nx = cols.shape[1]
    for p in range(pairs.shape[0]):
        a = cols[pairs[p, 0]]
        b = cols[pairs[p, 1]]
        for x in range(nx):
            u = a[x]
            v = b[x]
            a[x] = u if u < v else v
            b[x] = v if u < v else u


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _pixel_search(dv, gl, i, y, x, g, rn2, normal, four_group, three_group,
                  min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                  after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                  trig, rowtrig, diffs, work, buf, ratio0, is_cr):
    """The full official search on one pixel's ramp of integration ``i``.

    ``dv`` (ngroups,) float64 are the group values, ``gl`` (ngroups,) uint8 their DQ:
    JUMP_DET (and after-jump flags) are added to ``gl`` in place. Sets the neighbour
    trigger bits ``trig[i, k, y, x >> 6]`` and ``rowtrig[i, k, y]``. Returns (number of
    jumps found, whether ``gl`` has any JUMP_DET). ``diffs`` … ``is_cr`` are scratch.
    """
    ngroups = dv.shape[0]
    ndiffs = ngroups - 1
    n_usable = 0
    for k in range(ndiffs):
        if (gl[k] & (dnu | sat)) or (gl[k + 1] & (dnu | sat)):
            diffs[k] = math.nan
        else:
            diffs[k] = dv[k + 1] - dv[k]
            if not math.isnan(diffs[k]):
                n_usable += 1
        is_cr[k] = False
    if n_usable < 2:
        return 0, False
    if n_usable >= min_diffs_single_pass:
        m = 0
        for k in range(ndiffs):
            if not math.isnan(diffs[k]):
                buf[m] = diffs[k]
                m += 1
        med = _median_inplace(buf, m)
    else:
        med = _clipped_median(diffs, ndiffs, buf)
    sigma = math.sqrt(abs(med) / g + rn2)
    if not (sigma > 0.0):
        return 0, False
    rmax = -1.0
    kmax = -1
    for k in range(ndiffs):
        ratio0[k] = abs(diffs[k] - med) / sigma
        if not math.isnan(diffs[k]) and ratio0[k] > rmax:
            rmax = ratio0[k]
            kmax = k
    if n_usable >= min_diffs_single_pass:
        for k in range(ndiffs):
            if not math.isnan(diffs[k]) and ratio0[k] > normal:
                is_cr[k] = True
    elif rmax > _threshold(n_usable, normal, four_group, three_group):
        is_cr[kmax] = True
        n_cr = 1
        for k in range(ndiffs):
            work[k] = diffs[k]
        found = True
        while found and (n_usable - n_cr + 1) > 2:
            found = False
            for k in range(ndiffs):
                if is_cr[k]:
                    work[k] = math.nan
            remaining = n_usable - n_cr
            med2 = _clipped_median(work, ndiffs, buf)
            sig2 = math.sqrt(abs(med2) / g + rn2)
            kmax = -1
            rmax = -1.0
            for k in range(ndiffs):
                if not math.isnan(work[k]):
                    r = abs(work[k] - med2) / sig2
                    if r > rmax:
                        rmax = r
                        kmax = k
            if kmax >= 0 and rmax > _threshold(remaining, normal, four_group, three_group):
                is_cr[kmax] = True
                n_cr += 1
                found = True
    count = 0
    any_jump = False
    for k in range(ndiffs):
        if is_cr[k]:
            count += 1
            gl[k + 1] |= jump
        if gl[k + 1] & jump:
            any_jump = True
    if not any_jump:
        return 0, False
    # neighbour triggers and after-jump flags for every jump group (also jumps already
    # flagged on input, as the official code)
    bit = np.uint64(1) << np.uint64(x & 63)
    for k in range(ndiffs):
        if not (gl[k + 1] & jump) or math.isnan(diffs[k]):
            continue
        r = ratio0[k]
        if flag_neighbors and r < max_nb and r > min_nb:
            trig[i, k + 1, y, x >> 6] |= bit
            rowtrig[i, k + 1, y] = 1
        amp = (diffs[k] - med) * g
        n_after = 0
        if after_n1 > 0 and amp >= after_e1:
            n_after = after_n1
        if after_n2 > 0 and amp >= after_e2 and after_n2 > n_after:
            n_after = after_n2
        for kk in range(k + 2, min(k + 2 + n_after, ngroups)):
            if not (gl[kk] & (dnu | sat)):
                gl[kk] |= jump
    return count, True


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _twopoint_row(y, data, gdq, gain, readnoise, nframes, normal, four_group, three_group,
                  min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                  after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                  pairs, trig, rowtrig):
    """One row ``y`` of :func:`twopoint_kernel`; returns the number of jumps found.

    Fast path (``pairs`` not empty): the row's differences are sorted column-wise by a
    sorting network and screened in one vectorised pass: a pixel with all group DQ 0
    and finite differences whose largest deviation from the (clipped) median is below
    threshold has no jump and is done. Every other pixel (about one in ten on a real
    exposure) gets the exact :func:`_pixel_search`. Pixels with unusable gain are
    never searched.
    """
    nints, ngroups, ny, nx = data.shape
    ndiffs = ngroups - 1
    use_net = pairs.shape[0] > 0
    single = ndiffs >= min_diffs_single_pass
    srt = np.empty((max(ndiffs, 1) if use_net else 1, nx), np.float64)
    busy = np.empty(nx, np.uint8)
    # pixel-major copies of the row's ramps (long ramps: each pixel's groups contiguous)
    dpm = np.empty((nx if not use_net else 1, ngroups), np.float64)
    gpm = np.empty((nx if not use_net else 1, ngroups), np.uint8)
    diffs = np.empty(ndiffs, np.float64)
    work = np.empty(ndiffs, np.float64)
    buf = np.empty(ndiffs, np.float64)
    ratio0 = np.empty(ndiffs, np.float64)
    is_cr = np.zeros(ndiffs, np.bool_)
    m = ndiffs - 1
    inv_nf = 1.0 / nframes
    # rows of the sorted differences that hold the (clipped) median
    a1, a2 = (ndiffs - 1) // 2, ndiffs // 2          # plain median of all
    b1, b2 = (m - 1) // 2, m // 2                    # largest dropped
    c1, c2 = 1 + (m - 1) // 2, 1 + m // 2            # smallest dropped
    thr = normal if (single or ndiffs >= 4) else four_group
    # the screen compares squares without division; near the threshold (1e-9) the exact
    # search decides
    thr2 = thr * thr * (1.0 - 1e-9)
    count = 0
    for i in range(nints):
        if use_net:
            busy[:] = 0
            for k in range(ngroups):
                q = gdq[i, k, y]
                for x in range(nx):
                    busy[x] |= q[x]
            for k in range(ndiffs):
                a = data[i, k, y]
                b = data[i, k + 1, y]
                s = srt[k]
                for x in range(nx):
                    d = np.float64(b[x]) - np.float64(a[x])
                    s[x] = d
                    busy[x] |= np.uint8(not (abs(d) < 1e300))
            sort_columns(srt, pairs)
            lo_r = srt[0]
            hi_r = srt[ndiffs - 1]
            gr = gain[y]
            rr = readnoise[y]
            for x in range(nx):  # branch-free screen of the whole row (vectorised)
                lo = lo_r[x]
                hi = hi_r[x]
                tie = False
                if single:
                    med = 0.5 * (srt[a1, x] + srt[a2, x])
                elif ndiffs >= 4:
                    top = abs(hi) > abs(lo)
                    tie = abs(hi) == abs(lo)
                    med = 0.5 * ((srt[b1, x] + srt[b2, x]) if top
                                 else (srt[c1, x] + srt[c2, x]))
                else:
                    med = srt[1, x]
                rn = np.float64(rr[x])
                s2 = abs(med) / np.float64(gr[x]) + rn * rn * inv_nf
                dev = max(hi - med, med - lo)
                busy[x] |= np.uint8(tie or dev * dev > thr2 * s2)
        else:
            for k in range(ngroups):
                a = data[i, k, y]
                q = gdq[i, k, y]
                for x in range(nx):
                    dpm[x, k] = a[x]
                    gpm[x, k] = q[x]
        changed = False
        for x in range(nx):
            if use_net and busy[x] == 0:
                continue
            g = np.float64(gain[y, x])
            if not (g > 0.0):
                continue
            rn2 = np.float64(readnoise[y, x]) ** 2 / nframes
            if use_net:
                dv = dpm[0]
                gl = gpm[0]
                for k in range(ngroups):
                    dv[k] = data[i, k, y, x]
                    gl[k] = gdq[i, k, y, x]
            else:
                dv = dpm[x]
                gl = gpm[x]
            n_found, any_jump = _pixel_search(
                dv, gl, i, y, x, g, rn2, normal, four_group, three_group,
                min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                trig, rowtrig, diffs, work, buf, ratio0, is_cr)
            count += n_found
            if any_jump:
                if use_net:
                    for k in range(ngroups):
                        gdq[i, k, y, x] = gl[k]
                else:
                    changed = True
        if changed:
            for k in range(ngroups):
                q = gdq[i, k, y]
                for x in range(nx):
                    q[x] = gpm[x, k]
    return count


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def twopoint_kernel(data, gdq, gain, readnoise, nframes, normal, four_group, three_group,
                    min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                    after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                    pairs, trig, rowtrig, n_primary):
    """First pass: flag jumps in each pixel's own ramp, in place.

    Parameters
    ----------
    data : float32 (nints, ngroups, ny, nx), DN (read only)
    gdq : uint8, same shape; JUMP_DET (and after-jump flags) are added in place
    gain, readnoise : float32 (ny, nx); e-/DN and CDS read noise (DN)
    pairs : int64 (npairs, 2), sorting network for ``ngroups - 1`` values (3 to 32
        differences), or an empty array to run every pixel through the full search
    trig : uint64 (nints, ngroups, ny, ceil(nx / 64)) zeros on input: bit ``x % 64`` of
        word ``x // 64`` is set where a jump's neighbours must be flagged
        (``min_nb < ratio < max_nb``); only written if ``flag_neighbors``
    rowtrig : uint8 (nints, ngroups, ny) zeros on input: 1 where a row has a trigger
    after_e1, after_e2 : float, electrons; after_n1, after_n2 : int groups to flag
        after jumps larger than these amplitudes (0 disables)
    n_primary : int64 (ny,) output, jumps found per row
    """
    nints, ngroups, ny, nx = data.shape
    for y in prange(ny):
        n_primary[y] = _twopoint_row(
            y, data, gdq, gain, readnoise, nframes, normal, four_group,
            three_group, min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
            after_e1, after_n1, after_e2, after_n2, dnu, sat, jump, pairs, trig, rowtrig)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def flag_neighbors_kernel(trig, rowtrig, gdq, dnu, sat, jump):
    """Second pass: flag the 4 neighbours of triggered jumps (not SAT/DNU/JUMP groups).

    ``trig`` / ``rowtrig`` as filled by :func:`twopoint_kernel`; ``gdq`` modified in place.
    """
    nints, ngroups, ny, nx = gdq.shape
    nw = trig.shape[3]
    skip = np.uint8(dnu | sat | jump)
    flag = np.uint8(jump)
    one = np.uint64(1)
    top = np.uint64(63)
    for y in prange(ny):
        for i in range(nints):
            for k in range(1, ngroups):
                up = y > 0 and rowtrig[i, k, y - 1] != 0
                down = y < ny - 1 and rowtrig[i, k, y + 1] != 0
                me = rowtrig[i, k, y] != 0
                if not (up or down or me):
                    continue
                q = gdq[i, k, y]
                for w in range(nw):
                    t = np.uint64(0)
                    if up:
                        t |= trig[i, k, y - 1, w]
                    if down:
                        t |= trig[i, k, y + 1, w]
                    if me:
                        c = trig[i, k, y, w]
                        t |= (c << one) | (c >> one)
                        if w > 0:
                            t |= trig[i, k, y, w - 1] >> top
                        if w < nw - 1:
                            t |= trig[i, k, y, w + 1] << top
                    x = w * 64
                    while t != 0 and x < nx:
                        if t & one:
                            if not (q[x] & skip):
                                q[x] |= flag
                        t >>= one
                        x += 1
