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


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _twopoint_row(y, data, gdq_in, gain, readnoise, nframes, normal, four_group, three_group,
                    min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                    after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                    gdq_out, trigger, n_primary):
    """One row ``y`` of :func:`twopoint_kernel` (the parallel loop only calls this,
    which keeps numba compilation short)."""

    nints, ngroups, ny, nx = data.shape
    ndiffs = ngroups - 1
    dloc = np.empty((nx, ngroups), np.float64)
    gloc = np.empty((nx, ngroups), np.uint8)
    tloc = np.zeros((nx, ngroups), np.uint8)
    diffs = np.empty(ndiffs, np.float64)
    work = np.empty(ndiffs, np.float64)
    buf = np.empty(ndiffs, np.float64)
    ratio0 = np.empty(ndiffs, np.float64)
    is_cr = np.zeros(ndiffs, np.bool_)
    count = 0
    for i in range(nints):
        # copy the row's groups into a pixel-major block (sequential reads)
        for k in range(ngroups):
            for x in range(nx):
                dloc[x, k] = data[i, k, y, x]
                gloc[x, k] = gdq_in[i, k, y, x]
        tloc[:, :] = 0
        for x in range(nx):
            g = np.float64(gain[y, x])
            if not (g > 0.0):
                continue
            rn2 = np.float64(readnoise[y, x]) ** 2 / nframes
            n_usable = 0
            for k in range(ndiffs):
                if (gloc[x, k] & (dnu | sat)) or (gloc[x, k + 1] & (dnu | sat)):
                    diffs[k] = math.nan
                else:
                    diffs[k] = dloc[x, k + 1] - dloc[x, k]
                    if not math.isnan(diffs[k]):
                        n_usable += 1
                is_cr[k] = False
            if n_usable < 2:
                continue
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
                continue
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
                    if kmax >= 0 and rmax > _threshold(remaining, normal, four_group,
                                                       three_group):
                        is_cr[kmax] = True
                        n_cr += 1
                        found = True
            any_jump = False
            for k in range(ndiffs):
                if is_cr[k]:
                    count += 1
                    gloc[x, k + 1] |= jump
                if gloc[x, k + 1] & jump:
                    any_jump = True
            if not any_jump:
                continue
            # neighbour triggers and after-jump flags for every jump group (also
            # jumps already flagged on input, as the official code)
            for k in range(ndiffs):
                if not (gloc[x, k + 1] & jump) or math.isnan(diffs[k]):
                    continue
                r = ratio0[k]
                if flag_neighbors and r < max_nb and r > min_nb:
                    tloc[x, k + 1] = 1
                amp = (diffs[k] - med) * g
                n_after = 0
                if after_n1 > 0 and amp >= after_e1:
                    n_after = after_n1
                if after_n2 > 0 and amp >= after_e2 and after_n2 > n_after:
                    n_after = after_n2
                for kk in range(k + 2, min(k + 2 + n_after, ngroups)):
                    if not (gloc[x, kk] & (dnu | sat)):
                        gloc[x, kk] |= jump
        for k in range(ngroups):
            for x in range(nx):
                gdq_out[i, k, y, x] = gloc[x, k]
                if flag_neighbors:
                    trigger[i, k, y, x] = tloc[x, k]
    n_primary[y] = count


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def twopoint_kernel(data, gdq_in, gain, readnoise, nframes, normal, four_group, three_group,
                    min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
                    after_e1, after_n1, after_e2, after_n2, dnu, sat, jump,
                    gdq_out, trigger, n_primary):
    """First pass: flag jumps in each pixel's own ramp.

    Parameters
    ----------
    data : float32 (nints, ngroups, ny, nx), DN
    gdq_in : uint8, same shape; gdq_out : uint8 output, same shape (a copy of the input
        with JUMP_DET added)
    gain, readnoise : float32 (ny, nx); e-/DN and CDS read noise (DN)
    trigger : uint8 (nints, ngroups, ny, nx) output: 1 where a jump's neighbours must be
        flagged (``min_nb < ratio < max_nb``); only written if ``flag_neighbors``
    after_e1, after_e2 : float, electrons; after_n1, after_n2 : int groups to flag
        after jumps larger than these amplitudes (0 disables)
    n_primary : int64 (ny,) output, jumps found per row
    """
    nints, ngroups, ny, nx = data.shape
    for y in prange(ny):
        _twopoint_row(
            y, data, gdq_in, gain, readnoise, nframes, normal, four_group,
            three_group, min_diffs_single_pass, flag_neighbors, min_nb, max_nb,
            after_e1, after_n1, after_e2, after_n2, dnu, sat, jump, gdq_out,
            trigger, n_primary)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def flag_neighbors_kernel(trigger, gdq, dnu, sat, jump):
    """Second pass: flag the 4 neighbours of triggered jumps (not SAT/DNU groups)."""
    nints, ngroups, ny, nx = gdq.shape
    for y in prange(ny):
        for i in range(nints):
            for k in range(1, ngroups):
                for x in range(nx):
                    if gdq[i, k, y, x] & (dnu | sat | jump):
                        continue
                    t = 0
                    if y > 0:
                        t |= trigger[i, k, y - 1, x]
                    if y < ny - 1:
                        t |= trigger[i, k, y + 1, x]
                    if x > 0:
                        t |= trigger[i, k, y, x - 1]
                    if x < nx - 1:
                        t |= trigger[i, k, y, x + 1]
                    if t:
                        gdq[i, k, y, x] |= jump
