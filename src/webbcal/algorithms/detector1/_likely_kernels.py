"""numba kernel for the likelihood ramp fit of Brandt (2024, PASP 136, 045004/045005).

Private: used by :mod:`webbcal.algorithms.detector1.likely`.

The data are the resultant differences ``d_k = R_{k+1} - R_k`` (k = 0 … ngroups-2).
Resultant ``R_k`` averages ``nframes`` reads at frame times with mean ``tbar_k``;
with count rate ``f`` (DN/s), gain ``g`` and per-read noise ``s^2 = rn_cds^2 / 2``
their covariance is tridiagonal (Brandt 2024a, eqs. for resultant differences):

    Var(d_k)          = f/g (tau_{k+1} + tau_k - 2 tbar_k) + 2 s^2 / nframes
    Cov(d_k, d_{k+1}) = f/g (tbar_{k+1} - tau_{k+1})       -   s^2 / nframes

with ``tau_k`` the mean over read pairs of the earlier read time. The maximum
likelihood rate for a given covariance is the generalised least-squares estimate
``f = (dt^T C^-1 d) / (dt^T C^-1 dt)`` with variance ``1 / (dt^T C^-1 dt)``.
Differences touching SATURATED / DO_NOT_USE groups or containing a flagged jump are
removed by taking the sub-matrix of C, which is exact for a Gaussian likelihood.
The rate in C is iterated from the mean difference (three passes). The variance is
split into its read-noise and Poisson parts as ``w^T C_r w`` and ``w^T C_p w`` for the
final weights ``w``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: LLVM fast-math flags that keep NaN/inf semantics (isnan checks stay valid).
_FM = {"arcp", "contract", "nsz", "afn", "reassoc"}


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _solve_blocks(diag, off, use, rhs, out, cp, yp, n):
    """Solve C x = rhs on the usable entries; C tridiagonal (diag, off), blocks split at
    unusable entries. ``off[k]`` couples k and k+1."""
    k = 0
    while k < n:
        if not use[k]:
            out[k] = 0.0
            k += 1
            continue
        s = k
        e = k
        while e + 1 < n and use[e + 1]:
            e += 1
        cp[s] = off[s] / diag[s] if s < e else 0.0
        yp[s] = rhs[s] / diag[s]
        for j in range(s + 1, e + 1):
            m = diag[j] - off[j - 1] * cp[j - 1]
            cp[j] = off[j] / m if j < e else 0.0
            yp[j] = (rhs[j] - off[j - 1] * yp[j - 1]) / m
        out[e] = yp[e]
        for j in range(e - 1, s - 1, -1):
            out[j] = yp[j] - cp[j] * out[j + 1]
        k = e + 1


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _quad(ma, mb, use, w, n):
    """w^T M w for tridiagonal M restricted to usable entries."""
    acc = 0.0
    for k in range(n):
        if use[k]:
            acc += ma[k] * w[k] * w[k]
            if k + 1 < n and use[k + 1]:
                acc += 2.0 * mb[k] * w[k] * w[k + 1]
    return acc


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def likely_rows(y0, y1, data, gdq, pdq, gain, readnoise, tbar, tau, nframes, dnu, sat, jump,
                ngval, rate, dq, var_p, var_r, err, irate, idq, ivar_p, ivar_r, ierr):
    """Fit every pixel of rows ``y0 … y1 - 1``; releases the GIL (the wrapper runs bands
    of rows on threads, as for the OLS :func:`._ramp_fit_kernels.ols_fit_rows`).
    Shapes/dtypes as the OLS kernel; ``tbar``, ``tau`` float64 (ngroups,) in seconds."""

    nints, ngroups, ny, nx = data.shape
    n = ngroups - 1
    invalid = dnu | sat
    d = np.empty(max(n, 1), np.float64)
    dt = np.empty(max(n, 1), np.float64)
    use = np.empty(max(n, 1), np.bool_)
    pa = np.empty(max(n, 1), np.float64)
    pb = np.empty(max(n, 1), np.float64)
    ra = np.empty(max(n, 1), np.float64)
    rb = np.empty(max(n, 1), np.float64)
    ca = np.empty(max(n, 1), np.float64)
    cb = np.empty(max(n, 1), np.float64)
    w = np.empty(max(n, 1), np.float64)
    cp = np.empty(max(n, 1), np.float64)
    yp = np.empty(max(n, 1), np.float64)
    for y in range(y0, y1):
        for x in range(nx):
            g = np.float64(gain[y, x])
            pix = np.int64(pdq[y, x])
            if not (g > 0.0):
                pix |= dnu | ngval
            s2 = np.float64(readnoise[y, x]) ** 2 / 2.0 / nframes
            rdq = pix
            num = 0.0
            ive = 0.0
            ivp = 0.0
            ivr = 0.0
            n_dnu = 0
            n_sat = 0
            for i in range(nints):
                idq_i = pix
                nuse = 0
                nsat = 0
                nbad = 0
                for k in range(ngroups):
                    f = gdq[i, k, y, x]
                    if f & jump:
                        idq_i |= jump
                    if f & sat:
                        nsat += 1
                    if f & (dnu | sat):
                        nbad += 1
                for k in range(n):
                    f0 = gdq[i, k, y, x]
                    f1 = gdq[i, k + 1, y, x]
                    ok = not ((f0 | f1) & (dnu | sat)) and not (f1 & jump) and g > 0.0
                    d[k] = np.float64(data[i, k + 1, y, x]) - np.float64(data[i, k, y, x])
                    ok = ok and not math.isnan(d[k])
                    use[k] = ok
                    dt[k] = tbar[k + 1] - tbar[k]
                    # Poisson part per unit rate (DN/s) and read part
                    pa[k] = (tau[k + 1] + tau[k] - 2.0 * tbar[k]) / g
                    pb[k] = (tbar[k + 1] - tau[k + 1]) / g if k + 1 < n else 0.0
                    ra[k] = 2.0 * s2
                    rb[k] = -s2 if k + 1 < n else 0.0
                    if ok:
                        nuse += 1
                if nbad == ngroups or (gdq[i, 0, y, x] & sat):
                    idq_i |= dnu
                    if nsat == ngroups or (gdq[i, 0, y, x] & sat):
                        idq_i |= sat
                slope_i = math.nan
                vp_i = 0.0
                vr_i = 0.0
                err_i = 0.0
                if nuse == 0:
                    idq_i |= dnu
                else:
                    sd = 0.0
                    st = 0.0
                    for k in range(n):
                        if use[k]:
                            sd += d[k]
                            st += dt[k]
                    fr = sd / st
                    for _ in range(3):
                        fp = max(fr, 0.0)
                        for k in range(n):
                            ca[k] = fp * pa[k] + ra[k]
                            cb[k] = fp * pb[k] + rb[k]
                        _solve_blocks(ca, cb, use, dt, w, cp, yp, n)
                        den = 0.0
                        nm = 0.0
                        for k in range(n):
                            if use[k]:
                                den += w[k] * dt[k]
                                nm += w[k] * d[k]
                        fr = nm / den
                    for k in range(n):
                        w[k] = w[k] / den
                    fp = max(fr, 0.0)
                    slope_i = fr
                    vp_i = fp * _quad(pa, pb, use, w, n)
                    vr_i = _quad(ra, rb, use, w, n)
                    vt = vp_i + vr_i
                    err_i = math.sqrt(vt)
                    if not (idq_i & invalid):
                        num += slope_i / vt
                        ive += 1.0 / vt
                        if vp_i > 0.0:
                            ivp += 1.0 / vp_i
                        ivr += 1.0 / vr_i
                if idq_i & invalid:
                    slope_i = math.nan
                    vp_i = 0.0
                    vr_i = 0.0
                    err_i = 0.0
                if idq_i & dnu:
                    n_dnu += 1
                if idq_i & sat:
                    n_sat += 1
                rdq |= idq_i & jump
                irate[i, y, x] = slope_i
                idq[i, y, x] = idq_i
                ivar_p[i, y, x] = vp_i
                ivar_r[i, y, x] = vr_i
                ierr[i, y, x] = err_i
            if n_dnu == nints:
                rdq |= dnu
            if n_sat == nints:
                rdq |= sat
            if (rdq & invalid) or ive == 0.0:
                rate[y, x] = math.nan
                var_p[y, x] = 0.0
                var_r[y, x] = 0.0
                err[y, x] = 0.0
                if ive == 0.0:
                    rdq |= dnu
            else:
                rate[y, x] = num / ive
                vp = 1.0 / ivp if ivp > 0.0 else 0.0
                vr = 1.0 / ivr
                var_p[y, x] = vp
                var_r[y, x] = vr
                err[y, x] = math.sqrt(vp + vr)
            dq[y, x] = rdq
