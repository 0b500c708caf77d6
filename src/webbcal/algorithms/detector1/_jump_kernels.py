"""numba kernels for two-point-difference jump detection.

Private: called only by :func:`webbcal.algorithms.detector1.jump.detect_jumps`.
Reproduces ``stcal`` 1.20 ``twopoint_difference.find_crs`` (jwst 3.0 JumpStep) bit for
bit, pixel by pixel, all integrations of a pixel together (the official medians and
maxima run over integrations and groups):

* values in electrons as float32 products ``data * gain`` (read noise likewise), first
  differences of adjacent groups, NaN where either group is SATURATED or DO_NOT_USE;
  ``sigma = sqrt(|median| + (readnoise * gain)^2 / nframes)``;
* iterative mode (fewer than ``min_diffs_single_pass`` usable differences exposure-wide):
  on the *absolute* differences, the clipped median (>= 4 usable: every value equal
  to the largest dropped; 3: median; 2: the smaller) and the ratios
  ``| |d| - median | / sigma``; the difference(s) equal to the largest ratio are jumps
  if it exceeds the threshold for the number of usable differences (>= 4: 4σ, 3: 5σ,
  2: 6σ); they are removed and the search repeated (median rounded to float32 after
  the first pass, deviations always, as officially);
* single-pass mode: every difference with ``|d - plain median| / sigma`` above 4σ;
* neighbour triggers and after-jump flags use the plain median of all usable
  differences (``min_jump_to_flag_neighbors < ratio < max_jump_to_flag_neighbors``);
* JUMP_DET is removed where DO_NOT_USE or SATURATED is also set.

Speed: for 3 to 32 differences a row's differences are sorted column-wise by a sorting
network and screened in one vectorised pass; only pixels with any group DQ, non-finite
values, a tie for the clipped value, or a deviation near or above threshold go through
the exact per-pixel search (:func:`_pixel_search`), so the result is the same as
searching every pixel. The group DQ is flagged in place; neighbour triggers are kept
as one bit per pixel (``trig``), not as a cube. The row kernels release the GIL and run
on a thread pool (``parallel=True`` cost ~9 s of compilation for one thin loop). The
search itself is compiled without fast-math (``arcp`` would turn the divisions by
sigma into multiplications and change the last bit of ratios compared with numpy's).
``_median8``, ``_select``, ``_median_inplace``, ``sorting_network`` and
``sort_columns`` are shared with the ramp-fit kernels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: LLVM fast-math flags that keep NaN/inf semantics (isnan checks stay valid).
_FM = {"arcp", "contract", "nsz", "afn", "reassoc"}


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




@njit(cache=True, error_model="numpy")
def _median_of(src, n, buf, clip_abs):
    """Official medians of the non-NaN values of ``src[:n]``, using ``buf`` as scratch.

    ``clip_abs`` False: ``np.nanmedian`` (NaN if none). True: ``calc_med_first_diffs``
    of the absolute values: with >= 4 usable values every value equal to the largest
    is dropped first, with 3 the median, with 2 the smaller, fewer: NaN.
    Returns (median, number of usable values). A sorting network up to 8 values, else
    quickselect; the value equals numpy's either way. (One exit: compiles faster.)
    """
    m = 0
    amax = -1.0
    for k in range(n):
        v = src[k]
        if not math.isnan(v):
            v = abs(v) if clip_abs else v
            buf[m] = v
            m += 1
            amax = v if v > amax else amax
    nu = m
    med = math.nan
    if clip_abs and m == 2:
        med = buf[0] if buf[0] < buf[1] else buf[1]
        m = 0
    elif clip_abs and m < 2:
        m = 0
    elif clip_abs and m >= 4:
        m = 0
        for k in range(nu):
            if buf[k] != amax:
                buf[m] = buf[k]
                m += 1
    if 0 < m <= 8:
        med = _median8(buf, m)
    elif m > 8:
        med = _select(buf, m, m // 2)
        if m % 2 == 0:
            lower = buf[0]
            for i in range(1, m // 2):
                lower = buf[i] if buf[i] > lower else lower
            med = 0.5 * (lower + med)
    return med, nu


@njit(cache=True, error_model="numpy")
def _pixel_search(ve, gl, ngroups, rn2, thr, single, flag_neighbors, min_nb, max_nb,
                  after_e1, after_n1, after_e2, after_n2, dnu, sat, jump, tr,
                  d, absd, buf, ratio, is_cr):
    """The official search on one pixel, all integrations together.

    ``ve`` (nints * ngroups,) float64 holds the group values in electrons (float32
    products, as officially), ``gl`` (same length) uint8 their DQ; JUMP_DET (and
    after-jump flags) are added to ``gl`` in place. ``rn2`` is the read variance of one
    difference (e-^2), ``thr`` the thresholds for >= 4, 3, 2 usable differences.
    ``tr`` (same length) uint8 output: 1 on jump groups whose neighbours must be
    flagged. Returns (groups with JUMP_DET after the search, whether any). ``d`` … ``is_cr``
    are scratch of length ``nints * (ngroups - 1)``.
    """
    nints = gl.shape[0] // ngroups
    nd = ngroups - 1
    n = nints * nd
    for i in range(nints):
        for k in range(nd):
            a = i * ngroups + k
            j = i * nd + k
            is_cr[j] = 0
            if (gl[a] & (dnu | sat)) or (gl[a + 1] & (dnu | sat)):
                d[j] = math.nan
            else:
                d[j] = np.float64(np.float32(ve[a + 1] - ve[a]))
    med = math.nan
    have_med = False
    if single:      # official look_for_more_than_one_jump: plain median, one pass
        med = _median_of(d, n, buf, False)[0]
        have_med = True
        sig = math.sqrt(abs(med) + rn2)
        for j in range(n):
            if sig > 0.0 and not math.isnan(d[j]) and abs(d[j] - med) / sig > thr[0]:
                is_cr[j] = 1
    else:
        # official iterative_jump: flag the difference(s) of largest
        # | |d| - clipped median(|d|) | / sigma while above the threshold for the number
        # of usable differences; after the first pass the median is rounded to float32,
        # the deviation always is
        for k in range(n):
            absd[k] = abs(d[k])
        for it in range(n):
            mi, nu = _median_of(absd, n, buf, True)
            if it > 0:
                mi = np.float64(np.float32(mi))
            sig = math.sqrt(abs(mi) + rn2)
            if nu < 2 or not (sig > 0.0):
                break
            rmax = -1.0
            for k in range(n):
                if not math.isnan(absd[k]):
                    r = abs(np.float64(np.float32(absd[k] - mi))) / sig
                    ratio[k] = r
                    rmax = r if r > rmax else rmax
            t = thr[0] if nu >= 4 else (thr[1] if nu == 3 else thr[2])
            if not (rmax > t):
                break
            for k in range(n):
                if not math.isnan(absd[k]) and ratio[k] == rmax:
                    is_cr[k] = 1
                    absd[k] = math.nan
    count = 0           # official count: groups with JUMP_DET, input flags included
    for i in range(nints):
        for k in range(nd):
            a = i * ngroups + k + 1
            tr[a] = 0
            if is_cr[i * nd + k]:
                gl[a] |= jump
            if gl[a] & jump:
                count += 1
    if count == 0:
        return 0, False
    # neighbours and after-jump flags use the plain median of all usable differences
    if not have_med:
        med = _median_of(d, n, buf, False)[0]
    sig = math.sqrt(abs(med) + rn2)
    for i in range(nints):
        for k in range(nd):
            a = i * ngroups + k + 1
            if not (gl[a] & jump):
                continue
            e = d[i * nd + k] - med
            r = abs(e) / sig
            if flag_neighbors and r < max_nb and r > min_nb:
                tr[a] = 1
            n_after = 0
            if after_n1 > 0 and e >= after_e1:
                n_after = after_n1
            if after_n2 > 0 and e >= after_e2 and after_n2 > n_after:
                n_after = after_n2
            for kk in range(k + 2, min(k + 2 + n_after, ngroups)):
                if not (gl[i * ngroups + kk] & (dnu | sat)):
                    gl[i * ngroups + kk] |= jump
    return count, True


@njit(cache=True, nogil=True, error_model="numpy")
def twopoint_rows(y0, y1, data, gdq, gain, readnoise, nframes, thr, single, flag_neighbors,
                  min_nb, max_nb, after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                  pairs, trig, rowtrig, n_primary):
    """First pass on rows ``y0 … y1-1``: flag jumps in each pixel's own ramp, in place.

    A screen settles most pixels of a row (about nine in ten on a real exposure) at
    once: a pixel is left alone if all its group DQ is 0, its differences are finite
    and the largest deviation from the official median (plain median of the signed
    differences in single-pass mode, else the clipped median of the absolute
    differences), sorted column-wise by the network ``pairs``, is clearly below
    threshold. The others, except pixels with unusable gain (never searched), go
    through :func:`_pixel_search`. JUMP_DET is first cleared where DO_NOT_USE or
    SATURATED is also set (as the official step does after detection). Releases the
    GIL: the caller runs row blocks on threads (no ``parallel=True``: its lowering
    alone cost ~9 s of compilation).

    Parameters
    ----------
    y0, y1 : int
        Row range.
    data : float32 (nints, ngroups, ny, nx), DN (read only)
    gdq : uint8, same shape; JUMP_DET (and after-jump flags) are added in place
    gain, readnoise : float32 (ny, nx); e-/DN and CDS read noise (DN)
    nframes : int
    thr : float64 (3,); σ thresholds for >= 4, 3 and 2 usable differences
    single : bool; the official single-pass mode (enough differences exposure-wide)
    pairs : int64 (npairs, 2), sorting network for ``nints * (ngroups - 1)`` values, or
        an empty array to run every pixel through the full search
    trig : uint64 (nints, ngroups, ny, ceil(nx / 64)) zeros on input: bit ``x % 64`` of
        word ``x // 64`` is set where a jump's neighbours must be flagged
        (``min_nb < ratio < max_nb``); only written if ``flag_neighbors``
    rowtrig : uint8 (nints, ngroups, ny) zeros on input: 1 where a row has a trigger
    after_e1, after_e2 : float, electrons; after_n1, after_n2 : int groups to flag
        after jumps larger than these amplitudes (0 disables)
    n_primary : int64 (ny,) output, groups with JUMP_DET per row after this pass
    """
    nints, ngroups, ny, nx = data.shape
    nd = ngroups - 1
    n = nints * nd
    # few allocation signatures: each distinct one costs compilation time
    srt = np.empty((n if pairs.shape[0] > 0 else 1, nx), np.float64)
    scratch = np.empty((5, nints * ngroups), np.float64)
    ve, d, absd, buf, ratio = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    busy = np.zeros(nx, np.uint8)
    gl = np.zeros(nints * ngroups, np.uint8)
    tr = np.zeros(nints * ngroups, np.uint8)
    is_cr = np.zeros(n, np.uint8)
    # the screen compares squares in DN; the exact search works in float32 electrons,
    # so pixels within 1e-3 of the threshold are left to it
    t = thr[0] if (single or n >= 4) else (thr[1] if n == 3 else thr[2])
    thr2 = t * t * (1.0 - 1e-3)
    inv_nf = 1.0 / nframes
    use_net = pairs.shape[0] > 0
    clear = np.uint8(jump | dnu | sat)
    a1, a2 = (n - 1) // 2, n // 2               # plain median of all n
    b1, b2 = (n - 2) // 2, (n - 1) // 2         # median of the n - 1 smallest
    for y in range(y0, y1):
        # screen: mark in busy the pixels that need the exact search (see module doc)
        for x in range(nx):
            busy[x] = 0
        for i in range(nints):
            for k in range(ngroups):
                q = gdq[i, k, y]
                for x in range(nx):
                    busy[x] |= q[x]
        if not use_net:
            for x in range(nx):
                busy[x] = 1
        else:
            for i in range(nints):
                for k in range(nd):
                    a = data[i, k, y]
                    b = data[i, k + 1, y]
                    s = srt[i * nd + k]
                    for x in range(nx):
                        dd = np.float64(b[x]) - np.float64(a[x])
                        s[x] = dd if single else abs(dd)
                        busy[x] |= np.uint8(not (abs(dd) < 1e300))
            sort_columns(srt, pairs)
            gr = gain[y]
            rr = readnoise[y]
            for x in range(nx):  # branch-free screen of the whole row (vectorised)
                lo = srt[0, x]
                hi = srt[n - 1, x]
                tie = False
                if single:
                    med = 0.5 * (srt[a1, x] + srt[a2, x])
                elif n >= 4:
                    tie = srt[n - 2, x] == hi
                    med = 0.5 * (srt[b1, x] + srt[b2, x])
                else:
                    med = srt[1, x]
                rn = np.float64(rr[x])
                s2 = abs(med) / np.float64(gr[x]) + rn * rn * inv_nf
                dev = hi - med if hi - med > med - lo else med - lo
                busy[x] |= np.uint8(tie or dev * dev > thr2 * s2)
        count = 0
        for x in range(nx):
            if busy[x] == 0:
                continue
            g = np.float32(gain[y, x])
            rne = np.float32(readnoise[y, x] * g)
            rn2 = np.float64(np.float32(rne * rne)) / nframes
            cleared = False
            for i in range(nints):
                for k in range(ngroups):
                    a = i * ngroups + k
                    ve[a] = np.float32(data[i, k, y, x] * g)
                    v = gdq[i, k, y, x]
                    if (v & jump) and (v & (dnu | sat)):   # official: not both
                        v = np.uint8(v & (clear ^ np.uint8(jump)))
                        cleared = True
                    gl[a] = v
            n_found, any_jump = 0, False
            if g > 0.0:         # unusable gain: never searched
                n_found, any_jump = _pixel_search(
                    ve, gl, ngroups, rn2, thr, single, flag_neighbors, min_nb, max_nb,
                    after_e1, after_n1, after_e2, after_n2, dnu, sat, jump, tr,
                    d, absd, buf, ratio, is_cr)
            count += n_found
            if not (any_jump or cleared):
                continue
            bit = np.uint64(1) << np.uint64(x & 63)
            for i in range(nints):
                for k in range(ngroups):
                    a = i * ngroups + k
                    gdq[i, k, y, x] = gl[a]
                    if any_jump and tr[a]:
                        trig[i, k, y, x >> 6] |= bit
                        rowtrig[i, k, y] = 1
        n_primary[y] = count


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def flag_neighbors_rows(y0, y1, trig, rowtrig, gdq, dnu, sat, jump):
    """Second pass on rows ``y0 … y1-1``: flag the 4 neighbours of triggered jumps (not
    SAT/DNU/JUMP groups). Releases the GIL (the caller runs row blocks on threads).

    ``trig`` / ``rowtrig`` as filled by :func:`twopoint_rows` over all rows; ``gdq``
    modified in place.
    """
    nints, ngroups, ny, nx = gdq.shape
    nw = trig.shape[3]
    skip = np.uint8(dnu | sat | jump)
    flag = np.uint8(jump)
    one = np.uint64(1)
    top = np.uint64(63)
    for y in range(y0, y1):
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
