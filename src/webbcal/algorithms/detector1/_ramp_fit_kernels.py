"""numba kernel for the OLS ramp fit with Fixsen et al. (2000) optimal weighting.

Private: called only by :func:`webbcal.algorithms.detector1.ramp_fit.fit_ramps`, which
validates shapes and dtypes and allocates the outputs. The arithmetic follows the
official ``stcal`` C ramp fitter (``slope_fitter.c``) pixel by pixel:

* segments are runs of groups whose group DQ is exactly 0; a group flagged only
  JUMP_DET starts the next segment (it is the first read after the jump);
  one-group segments are dropped when a longer one exists;
* each segment is fitted by weighted least squares with weights
  ``|(k - mid) / mid| ** P`` where P comes from the segment's S/N (Fixsen table);
* Poisson variance uses the pixel's median group-difference rate, read-noise
  variance ``12 sigma_g^2 / ((n^3 - n) t_g^2)`` with the per-group read noise
  ``sigma_g = readnoise_cds / sqrt(2 nframes)``;
* segments and integrations are combined with inverse total-variance weights, the
  variances by inverse-variance sums.

All per-pixel accumulations are float64; inputs and outputs are float32.

Speed: pixels whose groups are all good (most of an exposure) are fitted a row at a
time by :func:`_fit_clean_row`: median rates from a sorting network over the row,
slopes from precomputed coefficients (:func:`slope_coefficients`), vectorised over
``x``; the results equal :func:`_fit_pixel`'s to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# numba's on-disk cache does not track other files: after editing the median helpers in
# _jump_kernels.py, touch this file (or clear __pycache__) to recompile.
from webbcal.algorithms.detector1._jump_kernels import _median_inplace, sort_columns

#: LLVM fast-math flags that keep NaN/inf semantics (isnan checks stay valid).
_FM = {"arcp", "contract", "nsz", "afn", "reassoc"}

#: Variances above this are reported as 0 (official ``LARGE_VARIANCE_THRESHOLD``).
LARGE_VARIANCE_THRESHOLD = 1.0e6


#: Fixsen et al. (2000) weighting exponents P for S/N below 5, 10, 20, 50, 100 and above.
POWERS = (0.0, 0.4, 1.0, 3.0, 6.0, 10.0)


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
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


@njit(cache=True, error_model="numpy", fastmath=_FM, inline="always")
def _nan_median_sorted_prefix(buf, n):
    """Median of the non-NaN values in ``buf[:n]`` (compacted in place); NaN if none."""
    m = 0
    for k in range(n):
        v = buf[k]
        if not math.isnan(v):
            buf[m] = v
            m += 1
    if m == 0:
        return math.nan
    return _median_inplace(buf, m)


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
    return _nan_median_sorted_prefix(buf, ngroups - 1)


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
    rate_ive = 0.0
    rate_dq = pixdq
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
                num += slope / var_e
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
                slope_i = num * ve
                err_i = 0.0 if ve > LARGE_VARIANCE_THRESHOLD else math.sqrt(ve)
            if ivp > 0.0:
                rate_ivp += ivp
            rate_ivr += ivr
            rate_ive += ive
            rate_num += num
        if idq & dnu:
            n_dnu += 1
            slope_i = math.nan
        if idq & sat:
            n_sat += 1
            slope_i = math.nan
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
    if not math.isnan(slope):
        slope = slope / rate_ive
    return slope, rate_dq, vp, vr, err


def slope_coefficients(ngroups, group_time):
    """Fixsen-weighted least-squares slope coefficients of a full ramp, float64
    (7, ngroups): the fitted slope (DN/s) of ``n = ngroups`` groups with weights
    ``w_k = |(k - mid) / mid| ** P`` is ``sum_k c[j, k] * y_k`` for power index ``j``
    (the read-noise factor of the weights cancels). Row 6 holds
    ``1 / (group_time (n - 1))`` in column 0 (the Poisson-variance factor)."""
    out = np.zeros((len(POWERS) + 1, max(ngroups, 1)))
    if ngroups < 3:
        return out
    out[len(POWERS), 0] = 1.0 / (group_time * (ngroups - 1.0))
    k = np.arange(ngroups, dtype=np.float64)
    mid = (ngroups - 1) / 2.0
    for j, p in enumerate(POWERS):
        w = np.abs((k - mid) / mid) ** p
        sw, sx, sxx = w.sum(), (k * w).sum(), (k * k * w).sum()
        out[j] = (sw * k * w - sx * w) / (sw * sxx - sx * sx) / group_time
    return out


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _fit_clean_row(y, dloc, mr, gain, readnoise, pdq, dark_current, rn_scale, vr_const,
                   coef, pidx, acc, rate, dq, var_p, var_r, err, irate, idq, ivar_p,
                   ivar_r, ierr):
    """:func:`_fit_pixel` for a whole row at once, valid for pixels whose groups are all
    good (group DQ 0, finite values) with usable gain and read noise and
    ``ngroups >= 3``; outputs of other pixels are overwritten by the caller.

    Such a pixel has one full-length segment per integration, so its slope is
    ``sum_k coef[P, k] * y_k`` with the Fixsen power index P of its S/N, and all its
    integrations share one variance: the inverse-variance sums reduce to means. The
    loops run over ``x`` innermost and vectorise. ``dloc`` (nints*ngroups, nx) float64
    holds the row's groups, ``mr`` (nints, nx) the median difference rates;
    ``vr_const = 12 / (group_time**2 (n**3 - n))``; ``pidx`` int64 and ``acc`` float64
    (nx,) are scratch.
    """
    nints, nx = mr.shape
    n = dloc.shape[0] // nints
    cp = coef[6, 0]                     # 1 / (group_time (n - 1))
    inv_ints = 1.0 / nints
    gr = gain[y]
    rr = readnoise[y]
    pr = pdq[y]
    dr = dark_current[y]
    # loops with x innermost and no inner loops, so that they vectorise
    acc[:] = 0.0
    for i in range(nints):
        m = mr[i]
        for x in range(nx):
            acc[x] += m[x]
    vpi = ivar_p[0, y]
    vri = ivar_r[0, y]
    eri = ierr[0, y]
    vpr = var_p[y]
    vrr = var_r[y]
    err_r = err[y]
    for x in range(nx):
        g = np.float64(gr[x])
        rn_e = np.float64(rr[x]) * g * rn_scale
        mrate = acc[x] * inv_ints
        dcur = np.float64(dr[x])
        pnum = mrate + dcur if mrate > 0.0 else dcur
        vp_i = pnum * cp / g
        vr_i = vr_const * (rn_e * rn_e) / (g * g)
        var_e = vp_i + vr_i
        eri[x] = 0.0 if var_e > LARGE_VARIANCE_THRESHOLD else math.sqrt(var_e)
        vp = vp_i * inv_ints if vp_i > 0.0 else 0.0
        vp = 0.0 if vp >= LARGE_VARIANCE_THRESHOLD else vp
        vr = vr_i * inv_ints
        vr = 0.0 if vr >= LARGE_VARIANCE_THRESHOLD else vr
        vp_i = vp_i if vp_i > 0.0 else 0.0
        vpi[x] = 0.0 if vp_i >= LARGE_VARIANCE_THRESHOLD else vp_i
        vri[x] = 0.0 if vr_i >= LARGE_VARIANCE_THRESHOLD else vr_i
        vpr[x] = vp
        vrr[x] = vr
        err_r[x] = math.sqrt(vp + vr)
    dq[y] = pr
    for i in range(nints):
        idq[i, y] = pr
        if i > 0:
            ivar_p[i, y] = vpi
            ivar_r[i, y] = vri
            ierr[i, y] = eri
    rate_row = rate[y]
    rate_row[:] = 0.0
    c0 = coef[0]
    c1 = coef[1]
    c2 = coef[2]
    c3 = coef[3]
    c4 = coef[4]
    c5 = coef[5]
    for i in range(nints):
        o = i * n
        first = dloc[o]
        last = dloc[o + n - 1]
        for x in range(nx):
            g = np.float64(gr[x])
            rn_e = np.float64(rr[x]) * g * rn_scale
            diff = last[x] - first[x]
            den = rn_e * rn_e + diff * g
            snr = diff * g / math.sqrt(max(den, 1e-300)) if den > 0.0 else 0.0
            snr = snr if snr > 0.0 else 0.0
            pidx[x] = (0 if snr < 5.0 else 1 if snr < 10.0 else 2 if snr < 20.0
                       else 3 if snr < 50.0 else 4 if snr < 100.0 else 5)
            acc[x] = 0.0
        for k in range(n):
            dk = dloc[o + k]
            for x in range(nx):
                p = pidx[x]
                c = (c0[k] if p == 0 else c1[k] if p == 1 else c2[k] if p == 2
                     else c3[k] if p == 3 else c4[k] if p == 4 else c5[k])
                acc[x] += c * dk[x]
        ir = irate[i, y]
        for x in range(nx):
            ir[x] = acc[x]
            rate_row[x] += np.float32(acc[x] * inv_ints)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _ols_fit_row(y, data, gdq, pdq, gain, readnoise, dark_current, zeroframe, use_zf,
                 frame_time, group_time, nframes, suppress1g, dnu, sat, jump, ngval, wtab,
                 coef, pairs, rate, dq, var_p, var_r, err, irate, idq, ivar_p, ivar_r, ierr):
    """One row ``y`` of :func:`ols_fit_kernel` (the parallel loop only calls this,
    which keeps numba compilation short)."""

    nints, ngroups, ny, nx = data.shape
    nig = nints * ngroups
    one_group_time = (nframes + 1.0) * frame_time / 2.0
    rn_scale = 1.0 / math.sqrt(2.0 * nframes)
    use_net = pairs.shape[0] > 0 and ngroups >= 3
    # short ramps: group-major blocks (vectorised fast path); long ramps: pixel-major,
    # so that each pixel's groups are contiguous for the general fit
    shape = (nig, nx) if use_net else (nx, nig)
    dloc = np.empty(shape, np.float64)
    qloc = np.empty(shape, np.int64)
    busy = np.zeros(nx, np.uint8)
    nd = ngroups - 1
    srt = np.empty((max(nd, 1), nx), np.float64)
    mr = np.zeros((nints, nx), np.float64)
    pidx = np.empty(nx, np.int64)
    acc = np.empty(nx, np.float64)
    zf = np.zeros(nints, np.float64)
    seg_s = np.empty(ngroups + 1, np.int64)
    seg_e = np.empty(ngroups + 1, np.int64)
    buf = np.empty(ngroups + 1, np.float64)
    out_i = np.empty((nints, 6), np.float64)
    iscr = np.zeros((4, nints), np.int64)
    inv_tg = 1.0 / group_time
    vr_const = 12.0 / (group_time * group_time * (ngroups ** 3 - ngroups)) if ngroups > 1 \
        else 0.0
    for i in range(nints):
        for k in range(ngroups):
            c = i * ngroups + k
            dr = data[i, k, y]
            qr = gdq[i, k, y]
            if not use_net:
                for x in range(nx):
                    f = qr[x]
                    qloc[x, c] = f
                    dloc[x, c] = math.nan if (f & sat) else np.float64(dr[x])
                continue
            dl = dloc[c]
            ql = qloc[c]
            for x in range(nx):
                f = qr[x]
                v = np.float64(dr[x])
                ql[x] = f
                dl[x] = math.nan if (f & sat) else v
                busy[x] |= f | np.uint8(not (abs(v) < 1e300))
        if use_net:  # median difference rates of the whole row, for the clean pixels
            o = i * ngroups
            for k in range(nd):
                a = dloc[o + k]
                b = dloc[o + k + 1]
                s = srt[k]
                for x in range(nx):
                    s[x] = (b[x] - a[x]) * inv_tg
            sort_columns(srt, pairs)
            lo = srt[(nd - 1) // 2]
            hi = srt[nd // 2]
            m = mr[i]
            for x in range(nx):
                m[x] = 0.5 * (lo[x] + hi[x])
    if use_net:
        _fit_clean_row(y, dloc, mr, gain, readnoise, pdq, dark_current, rn_scale, vr_const,
                       coef, pidx, acc, rate, dq, var_p, var_r, err, irate, idq, ivar_p,
                       ivar_r, ierr)
    for x in range(nx):
        g = np.float64(gain[y, x])
        pix = np.int64(pdq[y, x])
        if not (g > 0.0):
            pix |= dnu | ngval
        rn_e = np.float64(readnoise[y, x]) * g * rn_scale
        if use_net and busy[x] == 0 and not (pix & (dnu | sat)) and rn_e > 0.0:
            continue  # done by _fit_clean_row
        if use_zf:
            for i in range(nints):
                zf[i] = zeroframe[i, y, x]
        if use_net:
            dl, ql, xx = dloc, qloc, x
        else:  # this pixel's ramp as a contiguous (nig, 1) block
            dl, ql, xx = dloc[x].reshape((nig, 1)), qloc[x].reshape((nig, 1)), 0
        s, rdq, vp, vr, e = _fit_pixel(
            dl, ql, xx, nints, ngroups, pix, g, rn_e, np.float64(dark_current[y, x]),
            zf, use_zf, frame_time, group_time, one_group_time, suppress1g, dnu, sat,
            jump, seg_s, seg_e, buf, out_i, iscr, wtab)
        rate[y, x] = s
        dq[y, x] = rdq
        var_p[y, x] = vp
        var_r[y, x] = vr
        err[y, x] = e
        for i in range(nints):
            irate[i, y, x] = out_i[i, 0]
            idq[i, y, x] = np.int64(out_i[i, 1])
            ivar_p[i, y, x] = out_i[i, 2]
            ivar_r[i, y, x] = out_i[i, 3]
            ierr[i, y, x] = out_i[i, 4]


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def ols_fit_kernel(data, gdq, pdq, gain, readnoise, dark_current, zeroframe, use_zf,
                   frame_time, group_time, nframes, suppress1g, dnu, sat, jump, ngval, wtab,
                   coef, pairs, rate, dq, var_p, var_r, err, irate, idq, ivar_p, ivar_r, ierr):
    """Fit every pixel; one ``prange`` over rows.

    Each row's groups are first copied into a group-major float64 block (the 4-D cube is
    read once, sequentially). Pixels whose groups are all good take the fast path
    :func:`_fit_clean_row` (median rates of the whole row from a sorting network), the
    others the general :func:`_fit_pixel`.

    Parameters
    ----------
    data : float32 (nints, ngroups, ny, nx), DN
    gdq : uint8 (nints, ngroups, ny, nx)
    pdq : uint32 (ny, nx)
    gain, readnoise, dark_current : float32 (ny, nx); e-/DN, CDS DN, DN/s
    zeroframe : float32 (nints, ny, nx), DN (ignored unless ``use_zf``)
    wtab : float64, from :func:`weight_table`
    coef : float64 (7, ngroups), from :func:`slope_coefficients`
    pairs : int64 (npairs, 2), sorting network for ``ngroups - 1`` values, or empty to
        fit every pixel with the general code
    rate, var_p, var_r, err : float32 (ny, nx) outputs; dq uint32 (ny, nx) output
    irate, ivar_p, ivar_r, ierr : float32 (nints, ny, nx) outputs; idq uint32 output
    """
    nints, ngroups, ny, nx = data.shape
    for y in prange(ny):
        _ols_fit_row(
            y, data, gdq, pdq, gain, readnoise, dark_current, zeroframe, use_zf,
            frame_time, group_time, nframes, suppress1g, dnu, sat, jump, ngval,
            wtab, coef, pairs, rate, dq, var_p, var_r, err, irate, idq, ivar_p, ivar_r, ierr)
