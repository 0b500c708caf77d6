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


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def _median_inplace(buf, m):
    """Median of ``buf[:m]`` (no NaNs), sorting the prefix in place."""
    for i in range(1, m):
        v = buf[i]
        j = i
        while j > 0 and buf[j - 1] > v:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = v
    if m % 2 == 1:
        return buf[m // 2]
    return 0.5 * (buf[m // 2] + buf[m // 2 - 1])


@njit(cache=True, error_model="numpy")
def _threshold(n_usable, normal, four_group, three_group):
    if n_usable >= 4:
        return normal
    if n_usable == 3:
        return four_group
    if n_usable == 2:
        return three_group
    return math.inf


@njit(cache=True, parallel=True, error_model="numpy")
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
    ndiffs = ngroups - 1
    for y in prange(ny):
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
                q = gloc[x]
                n_usable = 0
                for k in range(ndiffs):
                    if (q[k] & (dnu | sat)) or (q[k + 1] & (dnu | sat)):
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
                        q[k + 1] |= jump
                    if q[k + 1] & jump:
                        any_jump = True
                if not any_jump:
                    continue
                # neighbour triggers and after-jump flags for every jump group (also
                # jumps already flagged on input, as the official code)
                for k in range(ndiffs):
                    if not (q[k + 1] & jump) or math.isnan(diffs[k]):
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
                        if not (q[kk] & (dnu | sat)):
                            q[kk] |= jump
            for k in range(ngroups):
                for x in range(nx):
                    gdq_out[i, k, y, x] = gloc[x, k]
                    if flag_neighbors:
                        trigger[i, k, y, x] = tloc[x, k]
        n_primary[y] = count


@njit(cache=True, parallel=True, error_model="numpy")
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
