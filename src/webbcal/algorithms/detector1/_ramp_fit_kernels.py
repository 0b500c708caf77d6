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
* segment slopes, and integration slopes, are combined with inverse *read-noise*
  variance weights (stcal >= 1.15, JP-4318); the Poisson and read-noise variances by
  inverse-variance sums; the per-integration ERR from the segments' total variances;
* a ramp with any saturated group gets SATURATED in its rate and rateints DQ while its
  slope (from the unsaturated groups) is kept.

All per-pixel accumulations are float64; inputs and outputs are float32.

Threads: :func:`ols_fit_rows` releases the GIL and the wrapper runs bands of rows on
numba's number of threads (see its docstring for why this is not ``parallel=True``).

Speed: pixels whose groups are all good (most of an exposure) are fitted a row at a
time by :func:`_fit_clean_row`: median rates from a sorting network over the row,
slopes from precomputed coefficients (:func:`slope_coefficients`), vectorised over
``x``; the results equal :func:`_fit_pixel`'s to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# numba's on-disk cache does not track other files: after editing _jump_kernels.py or
# _ramp_pixel_kernels.py, touch this file (or clear __pycache__) to recompile.
from webbcal.algorithms.detector1._jump_kernels import sort_columns
from webbcal.algorithms.detector1._ramp_pixel_kernels import (  # noqa: F401 (re-export)
    _FM, LARGE_VARIANCE_THRESHOLD, POWERS, _fit_pixel, weight_table)


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
    for x in range(nx):
        acc[x] = 0.0
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
    # element loops, not row assignments: those would compile numba's shape-mismatch
    # error path (string formatting, seconds of compile time)
    dq_r = dq[y]
    for x in range(nx):
        dq_r[x] = pr[x]
    for i in range(nints):
        idq_r = idq[i, y]
        for x in range(nx):
            idq_r[x] = pr[x]
        if i > 0:
            vpi_i = ivar_p[i, y]
            vri_i = ivar_r[i, y]
            eri_i = ierr[i, y]
            for x in range(nx):
                vpi_i[x] = vpi[x]
                vri_i[x] = vri[x]
                eri_i[x] = eri[x]
    rate_row = rate[y]
    for x in range(nx):
        rate_row[x] = 0.0
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


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def ols_fit_rows(y0, y1, data, gdq, pdq, gain, readnoise, dark_current, zeroframe, use_zf,
                 frame_time, group_time, nframes, suppress1g, dnu, sat, jump, ngval, wtab,
                 coef, pairs, rate, dq, var_p, var_r, err, irate, idq, ivar_p, ivar_r, ierr):
    """Fit every pixel of rows ``y0 … y1 - 1``; releases the GIL, so that
    :func:`~webbcal.algorithms.detector1.ramp_fit.fit_ramps` runs bands of rows on
    threads. (Not ``parallel=True``: numba links and re-optimises every callee into a
    parallel kernel's gufunc and again into the kernel, which tripled compile time.)

    Each row's groups are first copied into a group-major float64 block (the 4-D cube is
    read once, sequentially). Pixels whose groups are all good take the fast path
    :func:`_fit_clean_row` (median rates of the whole row from a sorting network), the
    others the general :func:`._ramp_pixel_kernels._fit_pixel`.

    Parameters
    ----------
    y0, y1 : int
        Row range.
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
    nig = nints * ngroups
    one_group_time = (nframes + 1.0) * frame_time / 2.0
    rn_scale = 1.0 / math.sqrt(2.0 * nframes)
    use_net = pairs.shape[0] > 0 and ngroups >= 3
    # short ramps: group-major blocks (vectorised fast path); long ramps: pixel-major,
    # so that each pixel's groups are contiguous for the general fit
    shape = (nig, nx) if use_net else (nx, nig)
    dloc = np.empty(shape, np.float64)
    qloc = np.empty(shape, np.int64)
    # np.empty only (each np.zeros dtype/shape combination is one more numba overload
    # to compile); every scratch array is written before it is read
    busy = np.empty(nx, np.uint8)
    nd = ngroups - 1
    srt = np.empty((max(nd, 1), nx), np.float64)
    mr = np.empty((nints, nx), np.float64)
    pidx = np.empty(nx, np.int64)
    acc = np.empty(nx, np.float64)
    zf = np.empty(nints, np.float64)
    seg_s = np.empty(ngroups + 1, np.int64)
    seg_e = np.empty(ngroups + 1, np.int64)
    buf = np.empty(ngroups + 1, np.float64)
    out_i = np.empty((nints, 6), np.float64)
    iscr = np.empty((4, nints), np.int64)
    inv_tg = 1.0 / group_time
    vr_const = 12.0 / (group_time * group_time * (ngroups ** 3 - ngroups)) if ngroups > 1 \
        else 0.0
    for y in range(y0, y1):
        for x in range(nx):
            busy[x] = 0
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
                    srt_k = srt[k]
                    for x in range(nx):
                        srt_k[x] = (b[x] - a[x]) * inv_tg
                sort_columns(srt, pairs)
                lo = srt[(nd - 1) // 2]
                hi = srt[nd // 2]
                m = mr[i]
                for x in range(nx):
                    m[x] = 0.5 * (lo[x] + hi[x])
        if use_net:
            _fit_clean_row(y, dloc, mr, gain, readnoise, pdq, dark_current, rn_scale,
                           vr_const, coef, pidx, acc, rate, dq, var_p, var_r, err, irate, idq,
                           ivar_p, ivar_r, ierr)
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
