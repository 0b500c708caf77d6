"""numba kernels of the general (per-pixel) OLS ramp fit; see :mod:`._ramp_fit_kernels`.

:func:`_fit_pixel` fits any ramp (segments at jumps and saturation, special cases,
ZEROFRAME); the row-wise fast path for clean pixels in :mod:`._ramp_fit_kernels`
reproduces its results. Also the Fixsen et al. (2000) weighting table.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.algorithms.detector1._jump_kernels import _median_inplace

#: LLVM fast-math flags that keep NaN/inf semantics (isnan checks stay valid).
_FM = {"arcp", "contract", "nsz", "afn", "reassoc"}

#: Variances above this are reported as 0 (official ``LARGE_VARIANCE_THRESHOLD``).
LARGE_VARIANCE_THRESHOLD = 1.0e6


#: Fixsen et al. (2000) weighting exponents P for S/N below 5, 10, 20, 50, 100 and above.
POWERS = (0.0, 0.4, 1.0, 3.0, 6.0, 10.0)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def snr_power_index(snr):
    """Index into :data:`POWERS` of the weighting exponent for a segment S/N."""
    if snr < 5.0:
        return 0
    if snr < 10.0:
        return 1
    if snr < 20.0:
        return 2
    if snr < 50.0:
        return 3
    if snr < 100.0:
        return 4
    return 5


def weight_table(ngroups):
    """Optimal weights ``|(k - mid) / mid| ** P``, float64 (ngroups + 1, 6, ngroups),
    indexed [segment length, power index, group in segment] (lengths >= 3 only)."""
    tab = np.zeros((ngroups + 1, len(POWERS), max(ngroups, 1)))
    for n in range(3, ngroups + 1):
        mid = (n - 1) / 2.0
        k = np.arange(n)
        for j, p in enumerate(POWERS):
            tab[n, j, :n] = np.abs((k - mid) / mid) ** p
    return tab


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _integration_median_rate(dl, ql, x, o, ngroups, group_time, dnu, jump, buf):
    """Median first-difference rate (DN/s) of one integration (pixel ``x`` of the row
    blocks, groups ``o … o + ngroups - 1``), official conventions."""
    if ngroups == 1:
        if ql[o + 0, x] & dnu:
            return math.nan
        return dl[o + 0, x] / group_time
    for k in range(ngroups):
        buf[k] = math.nan if (ql[o + k, x] & dnu) else dl[o + k, x] / group_time
    loc0 = buf[0]
    all_nan = True
    for k in range(ngroups - 1):
        if ql[o + k + 1, x] & jump:
            buf[k] = math.nan
        else:
            buf[k] = buf[k + 1] - buf[k]
        if not math.isnan(buf[k]):
            all_nan = False
    if all_nan and not math.isnan(loc0):
        buf[0] = loc0
    m = 0
    for k in range(ngroups - 1):
        v = buf[k]
        if not math.isnan(v):
            buf[m] = v
            m += 1
    if m == 0:
        return math.nan
    return _median_inplace(buf, np.int64(m))


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _fit_pixel(dl, ql, x, nints, ngroups, pixdq, gain, rn_e, dcur, zf, use_zf, frame_time,
               group_time, one_group_time, suppress1g, dnu, sat, jump,
               seg_s, seg_e, buf, out_i, iscr, wtab):
    """Fit pixel ``x`` of a row block: ``dl[:, x]`` (nints*ngroups) float64 with SAT
    groups NaN, ``ql[:, x]`` int64 group DQ (both may be modified).

    ``out_i`` (nints, 6) receives per integration: slope, dq, var_p, var_r, err and a
    'contributed' marker; the return value is (slope, dq, var_p, var_r, err) of the
    exposure.
    """
    invalid = dnu | sat
    rate_num = 0.0
    rate_ivp = 0.0
    rate_ivr = 0.0
    rate_dq = pixdq
    any_sat = False
    mrate_acc = 0.0
    # --- group statistics, special single-group cases and the median rate
    for i in range(nints):
        o = i * ngroups
        iscr[0, i] = 0
        iscr[1, i] = 0
        iscr[2, i] = 0
        iscr[3, i] = 0
        if suppress1g:
            # official pre-pass: a ramp with exactly one good group becomes DO_NOT_USE
            n_good = 0
            for g in range(ngroups):
                if ql[o + g, x] == 0:
                    n_good += 1
            if n_good == 1:
                for g in range(ngroups):
                    ql[o + g, x] |= dnu
        cnt_good = 0
        has_jump = False
        for g in range(ngroups):
            f = ql[o + g, x]
            if f & jump:
                has_jump = True
            if f == 0:
                cnt_good += 1
            if (f & dnu) or (f & sat):
                iscr[2, i] += 1
            if f & sat:
                iscr[3, i] += 1
        if not suppress1g:
            if cnt_good == 1 and ql[o, x] == 0:
                iscr[0, i] = 1
            elif cnt_good == 0 and use_zf and zf[i] != 0.0:
                dl[o, x] = zf[i]
                ql[o, x] = 0
                iscr[2, i] -= 1
                if iscr[3, i] == ngroups:
                    iscr[3, i] -= 1
                iscr[1, i] = 1
        idq = pixdq
        if has_jump:
            idq |= jump
            rate_dq |= jump
        out_i[i, 1] = idq
        if ngroups == 1:
            mr = dl[o, x] / one_group_time
        elif iscr[0, i] == 1:
            mr = dl[o, x] / one_group_time
        elif iscr[1, i] == 1:
            mr = dl[o, x] / frame_time
        else:
            mr = _integration_median_rate(dl, ql, x, o, ngroups, group_time, dnu, jump, buf)
        if math.isnan(mr):
            mr = 0.0
        mrate_acc += mr
    mrate = mrate_acc / nints
    pnum = mrate + dcur if mrate > 0.0 else dcur
    bad_gain = not (gain > 0.0)
    n_dnu = 0
    n_sat = 0
    for i in range(nints):
        o = i * ngroups
        idq = np.int64(out_i[i, 1])
        slope_i = 0.0
        vp_i = 0.0
        vr_i = 0.0
        err_i = 0.0
        # --- segments
        nseg = 0
        if ql[o, x] & sat:
            idq |= dnu | sat
            slope_i = math.nan
        else:
            maxlen = 0
            in_seg = False
            start = 0
            for g in range(ngroups + 1):
                good = g < ngroups and ql[o + g, x] == 0
                if good and not in_seg:
                    start = g - 1 if (g > 0 and ql[o + g - 1, x] == jump) else g
                    in_seg = True
                elif (not good) and in_seg:
                    length = g - start
                    in_seg = False
                    if length == 1 and maxlen > 1:
                        continue
                    seg_s[nseg] = start
                    seg_e[nseg] = g
                    nseg += 1
                    if length > maxlen:
                        maxlen = length
            # prune: drop 1-group segments when a longer one exists, else keep the first
            if nseg > 1:
                if maxlen < 2:
                    nseg = 1
                else:
                    m = 0
                    for s in range(nseg):
                        if seg_e[s] - seg_s[s] > 1:
                            seg_s[m] = seg_s[s]
                            seg_e[m] = seg_e[s]
                            m += 1
                    nseg = m
        if iscr[2, i] == ngroups:
            idq |= dnu
            if iscr[3, i] == ngroups:
                idq |= sat
            nseg = 0
        if nseg > 0:
            ivr = 0.0
            ivp = 0.0
            ive = 0.0
            num = 0.0
            for s in range(nseg):
                a = seg_s[s]
                n = seg_e[s] - a
                if n == 1:
                    timing = group_time
                    if not suppress1g:
                        if iscr[0, i] == 1:
                            timing = one_group_time
                        elif iscr[1, i] == 1:
                            timing = frame_time
                    slope = dl[o + a, x] / timing
                    var_p = pnum / (timing * gain)
                    r = rn_e / timing
                    var_r = 12.0 * r * r / (6.0 * gain * gain)
                elif n == 2:
                    slope = (dl[o + a + 1, x] - dl[o + a, x]) / group_time
                    var_p = pnum / (group_time * gain)
                    r = rn_e / group_time
                    var_r = 12.0 * r * r / (6.0 * gain * gain)
                else:
                    diff = dl[o + a + n - 1, x] - dl[o + a, x]
                    den = rn_e * rn_e + diff * gain
                    snr = 0.0
                    if den > 0.0 and gain != 0.0:
                        snr = diff * gain / math.sqrt(den)
                        if snr < 0.0:
                            snr = 0.0
                    pidx = snr_power_index(snr)
                    invrn2 = 1.0 / (rn_e * rn_e)
                    sw = 0.0
                    sx = 0.0
                    sxx = 0.0
                    sy = 0.0
                    sxy = 0.0
                    for k in range(n):
                        w = wtab[n, pidx, k] * invrn2
                        xv = float(k + a)
                        yv = dl[o + a + k, x]
                        if math.isnan(yv):
                            yv = 0.0
                        sw += w
                        sx += xv * w
                        sxx += xv * xv * w
                        sy += yv * w
                        sxy += xv * yv * w
                    slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx) / group_time
                    var_p = pnum / (group_time * gain * (n - 1.0))
                    if bad_gain:
                        var_r = 0.0
                    else:
                        r = rn_e / group_time
                        var_r = 12.0 * r * r / ((n * n * n - n) * gain * gain)
                var_e = var_p + var_r
                ivr += 1.0 / var_r
                if var_p > 0.0:
                    ivp += 1.0 / var_p
                ive += 1.0 / var_e
                num += slope / var_r  # stcal >= 1.15 (JP-4318): read-noise weights
            if ivp > 0.0:
                vp_i = 1.0 / ivp
            if vp_i >= LARGE_VARIANCE_THRESHOLD:
                vp_i = 0.0
            vr_i = 1.0 / ivr
            if vr_i >= LARGE_VARIANCE_THRESHOLD:
                vr_i = 0.0
            if idq & invalid:
                slope_i = math.nan
                vp_i = 0.0
                vr_i = 0.0
                err_i = 0.0
            else:
                ve = 1.0 / ive
                slope_i = num * vr_i
                err_i = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
            if ivp > 0.0:
                rate_ivp += ivp
            rate_ivr += ivr
            rate_num += num
        if idq & dnu:
            n_dnu += 1
            slope_i = math.nan
        if idq & sat:
            n_sat += 1
            slope_i = math.nan
        if iscr[3, i] > 0:  # partial saturation: flagged, the slope kept
            idq |= sat
            any_sat = True
        out_i[i, 0] = slope_i
        out_i[i, 1] = idq
        out_i[i, 2] = vp_i
        out_i[i, 3] = vr_i
        out_i[i, 4] = err_i
    if n_dnu == nints:
        rate_dq |= dnu
    if n_sat == nints:
        rate_dq |= sat
    vp = rate_ivp
    if vp > 0.0:
        vp = 1.0 / vp
    if vp >= LARGE_VARIANCE_THRESHOLD or vp < 0.0:
        vp = 0.0
    vr = rate_ivr
    if vr > 0.0:
        vr = 1.0 / vr
    if vr >= LARGE_VARIANCE_THRESHOLD:
        vr = 0.0
    err = math.sqrt(vp + vr)
    slope = rate_num
    if rate_dq & invalid:
        slope = math.nan
        vp = 0.0
        vr = 0.0
        err = 0.0
    if any_sat:
        rate_dq |= sat
    if not math.isnan(slope):
        slope = slope * vr
    return slope, rate_dq, vp, vr, err
