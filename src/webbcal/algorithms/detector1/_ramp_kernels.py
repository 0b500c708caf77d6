"""numba kernels for the per-pixel ramp corrections (dq_init … dark_current).

Private: called only by the wrappers in this folder, which validate shapes and
dtypes. Every kernel works in place on C-contiguous arrays and handles the rows (or
``plane * ny + row`` indices) ``lo … hi - 1`` of its cube, ``kernel(lo, hi, …)``;
:func:`webbcal._threads.run_row_bands` splits the rows among threads. The kernels are
serial ``nogil`` functions rather than ``parallel=True`` ones: parfor lowering tripled
their compile time, and row bands on Python threads run as fast. Conventions: ``data``
float32 (nints, ngroups, ny, nx) or (nplanes, ny, nx); ``gdq`` uint8 of the same shape;
``pdq`` uint32 (ny, nx); DQ bits and ``lo``/``hi`` arrive as plain ``int`` (one
signature for every frame size).
"""

from __future__ import annotations

import numpy as np
from numba import njit


# ----------------------------------------------------------------------------- dq_init


@njit(cache=True, nogil=True)
def raw_to_float32(lo, hi, raw, out):
    """Copy a raw uint16 cube (nplanes, ny, nx) into float32 ``out`` of the same shape."""
    nplanes, ny, nx = raw.shape
    for k in range(lo, hi):
        p = k // ny
        y = k - p * ny
        r = raw[p, y]
        o = out[p, y]
        for x in range(nx):
            o[x] = np.float32(r[x])


# -------------------------------------------------------------------------- saturation


@njit(cache=True, nogil=True)
def sat_thresholds(lo, hi, sat, sat_dq, pdq, thr, nosat, no_sat_check, atod_limit):
    """Effective thresholds ``thr`` (ny, nx) float32; ``pdq |= sat_dq`` (+ NO_SAT_CHECK on NaN).

    NO_SAT_CHECK and NaN thresholds become ``atod_limit + 1`` (never reached by 16-bit
    data) and get ``nosat[y, x] = 1`` (uint8).
    """
    ny, nx = sat.shape
    nsc = np.uint32(no_sat_check)
    big = np.float32(atod_limit + 1.0)
    for y in range(lo, hi):
        sr = sat[y]
        dr = sat_dq[y]
        pr = pdq[y]
        tr = thr[y]
        nr = nosat[y]
        for x in range(nx):
            t = sr[x]
            d = np.uint32(dr[x]) | (nsc if np.isnan(t) else np.uint32(0))
            flag = (d & nsc) != 0
            tr[x] = big if flag else t
            nr[x] = np.uint8(flag)
            pr[x] |= d


@njit(cache=True, nogil=True)
def sat_first_group(lo, hi, data, gdq, thr, first, adfloor, adfloor_bits):
    """First group at/above threshold per pixel (``ngroups`` if none); A/D floor flags.

    data (ngroups, ny, nx) float32 of one integration; ``first`` (ny, nx) int32.
    Groups with ``value <= 0`` get ``adfloor_bits`` (AD_FLOOR | DO_NOT_USE) in that
    group only, and ``adfloor[y, x]`` (uint8) is set to 1. Groups are scanned
    backwards with branch-free selects on int32 row buffers (vectorised by LLVM).
    """
    ng, ny, nx = data.shape
    for y in range(lo, hi):
        f = np.full(nx, ng, dtype=np.int32)
        t = thr[y]
        for g in range(ng - 1, -1, -1):
            d = data[g, y]
            nlow = 0
            for x in range(nx):
                v = d[x]
                f[x] = np.int32(g) if v >= t[x] else f[x]
                nlow += np.int32(v <= 0)
            if nlow > 0:
                q = gdq[g, y]
                for x in range(nx):
                    if d[x] <= 0:
                        q[x] |= np.uint8(adfloor_bits)
                        adfloor[y, x] = 1
        fo = first[y]
        for x in range(nx):
            fo[x] = f[x]


@njit(cache=True, nogil=True)
def sat_grow_flag(lo, hi, first, gfirst, gdq, satany, n_grow, saturated):
    """Grow the first-saturated group over a (2n+1)² box and flag SATURATED from there on.

    ``gfirst[y, x] = min(first[box])`` (separable: column minimum, then row minimum);
    groups ``>= gfirst`` get ``saturated``. first/gfirst (ny, nx) int32; ``satany``
    (ny, nx) uint8 gets 1 where any group is saturated.
    """
    ng, ny, nx = gdq.shape
    sat8 = np.uint8(saturated)
    for y in range(lo, hi):
        y0 = max(0, y - n_grow)
        y1 = min(ny, y + n_grow + 1)
        colmin = first[y0].copy()
        for yy in range(y0 + 1, y1):
            fr = first[yy]
            for x in range(nx):
                colmin[x] = min(colmin[x], fr[x])
        gf = gfirst[y]
        for x in range(nx):  # sliding row minimum as shifted minima (vectorised)
            gf[x] = colmin[x]
        for s in range(1, n_grow + 1):
            for x in range(nx - s):
                gf[x] = min(gf[x], colmin[x + s])
            for x in range(s, nx):
                gf[x] = min(gf[x], colmin[x - s])
        mmin = ng
        sa = satany[y]
        for x in range(nx):
            mmin = min(mmin, gf[x])
            sa[x] |= np.uint8(gf[x] < ng)
        for g in range(mmin, ng):
            q = gdq[g, y]
            for x in range(nx):
                q[x] = q[x] | sat8 if g >= gf[x] else q[x]


@njit(cache=True, nogil=True)
def sat_read_pattern_passes(lo, hi, data, gdq, thr, gfirst, dilution, nosat, cand, rowany,
                            scale0, inv_n1, do_second, saturated, dnu):
    """The official passes that use the read pattern, for one integration.

    Mid-group saturation: a pixel is a candidate at group ``g`` when ``g + 1`` is the
    first (grown) SATURATED group (``gfirst == g + 1``), ``g`` has no DO_NOT_USE, the
    group's dilution (mean frame / last frame) is not 1, and ``data[g] >= thr *
    dilution[g]`` (dilution 1 for NO_SAT_CHECK pixels). ``cand`` (ny, nx) int32 gets
    ``g`` or -1, ``rowany[y]`` whether a row has a candidate; the DO_NOT_USE growth is
    :func:`sat_grow_candidates`.

    Second group (``do_second``): where ``gfirst == 2`` (group index 2 SATURATED, 1 not),
    ``data[0] * scale0 < thr`` and ``data[1] > thr * inv_n1``, group index 1 gets
    DO_NOT_USE. It is applied after this pixel's candidate test, as the official third
    pass runs after the second.
    """
    ng, ny, nx = data.shape
    sat8 = np.uint8(saturated)
    dnu8 = np.uint8(dnu)
    for y in range(lo, hi):
        gf = gfirst[y]
        cr = cand[y]
        n = 0
        for x in range(nx):
            c = -1
            g = gf[x] - 1
            if g < ng - 1:
                if g >= 0 and dilution[g] != 1.0:
                    if (gdq[g, y, x] & (sat8 | dnu8)) == 0:
                        dil = 1.0 if nosat[y, x] else dilution[g]
                        if data[g, y, x] >= thr[y, x] * dil:
                            c = g
                            n += 1
                if do_second and g == 1:
                    t = thr[y, x]
                    if data[0, y, x] * scale0 < t and data[1, y, x] > t * inv_n1:
                        gdq[1, y, x] |= dnu8
            cr[x] = c
        rowany[y] = n > 0


@njit(cache=True, nogil=True)
def sat_grow_candidates(lo, hi, cand, rowany, gdq, n_grow, dnu):
    """OR ``dnu`` into ``gdq[cand[q], p]`` for every pixel p within the box of a candidate q.

    Only rows with ``rowany`` set are scanned.
    """
    ng, ny, nx = gdq.shape
    for y in range(lo, hi):
        y0 = max(0, y - n_grow)
        y1 = min(ny, y + n_grow + 1)
        for yy in range(y0, y1):
            if not rowany[yy]:
                continue
            for xx in range(nx):
                c = cand[yy, xx]
                if c >= 0:
                    for x in range(max(0, xx - n_grow), min(nx, xx + n_grow + 1)):
                        gdq[c, y, x] |= np.uint8(dnu)


@njit(cache=True, nogil=True)
def sat_zeroframe_bad(lo, hi, zf, thr, bad):
    """``bad`` (ny, nx) uint8: 1 where the ZEROFRAME is saturated, 2 at the A/D floor."""
    ny, nx = zf.shape
    for y in range(lo, hi):
        for x in range(nx):
            if zf[y, x] >= thr[y, x]:
                bad[y, x] = 1
            elif zf[y, x] <= 0:
                bad[y, x] = 2
            else:
                bad[y, x] = 0


@njit(cache=True, nogil=True)
def sat_zeroframe_zero(lo, hi, zf, bad, n_grow):
    """Zero the ZEROFRAME (ny, nx) where ``bad`` is set or a saturated pixel is within
    the (2n+1)² box (run after :func:`sat_zeroframe_bad` finished on every row)."""
    ny, nx = zf.shape
    for y in range(lo, hi):
        y0 = max(0, y - n_grow)
        y1 = min(ny, y + n_grow + 1)
        for x in range(nx):
            if bad[y, x]:
                zf[y, x] = 0.0
                continue
            x0 = max(0, x - n_grow)
            x1 = min(nx, x + n_grow + 1)
            for yy in range(y0, y1):
                for xx in range(x0, x1):
                    if bad[yy, xx] == 1:
                        zf[y, x] = 0.0


# --------------------------------------------------------------------------- superbias


@njit(cache=True, nogil=True)
def subtract_plane(lo, hi, data, plane):
    """``data[p] -= plane`` for every plane p of data (nplanes, ny, nx) float32."""
    nplanes, ny, nx = data.shape
    for k in range(lo, hi):
        p = k // ny
        y = k - p * ny
        d = data[p, y]
        b = plane[y]
        for x in range(nx):
            d[x] -= b[x]


# --------------------------------------------------------------------------- linearity


@njit(cache=True, nogil=True)
def linearity_skip_mask(lo, hi, coeffs, lin_dq, pdq, skip, no_lin_corr):
    """Pixels left uncorrected: NO_LIN_CORR in ``lin_dq``, a NaN coefficient, or a zero
    linear term (official rules).

    ``skip`` (ny, nx) bool is written; ``pdq |= lin_dq`` and NO_LIN_CORR on skipped
    pixels. coeffs (ncoeffs >= 2, ny, nx) float32; lin_dq (ny, nx) uint32.
    """
    nc, ny, nx = coeffs.shape
    nlc = np.uint32(no_lin_corr)
    for y in range(lo, hi):
        anynan = np.zeros(nx, dtype=np.bool_)
        for c in range(nc):
            cr = coeffs[c, y]
            for x in range(nx):
                anynan[x] |= np.isnan(cr[x])
        c1 = coeffs[1, y]
        dr = lin_dq[y]
        pr = pdq[y]
        sk = skip[y]
        for x in range(nx):
            d = dr[x]
            bad = anynan[x] or c1[x] == 0 or (d & nlc) != 0
            sk[x] = bad
            pr[x] |= d | (nlc if bad else np.uint32(0))


@njit(cache=True, nogil=True)
def apply_polynomial(lo, hi, data, gdq, coeffs, skip, saturated):
    """``data = sum_k coeffs[k] * data**k`` (float32 Horner) on unsaturated groups.

    data/gdq (nplanes, ny, nx); coeffs (ncoeffs <= 8, ny, nx) float32; ``skip`` (ny, nx)
    bool marks pixels left untouched (NO_LIN_CORR). Horner always runs over eight
    orders, the missing high ones as zero rows (``r = 0 * v + c6 …``: the same float32
    operations for every reference), one vectorised row pass per order.
    """
    nplanes, ny, nx = data.shape
    nc = coeffs.shape[0]
    sat8 = np.uint8(saturated)
    r = np.empty(nx, dtype=np.float32)
    for y in range(lo, hi):  # the coefficient rows stay in cache across planes
        sk = skip[y]
        for p in range(nplanes):
            d = data[p, y]
            q = gdq[p, y]
            r[:] = 0.0  # order 7 (a zero row unless the reference has 8 coefficients)
            if nc > 7:
                c = coeffs[7, y]
                for x in range(nx):
                    r[x] = c[x]
            for k in range(6, -1, -1):
                if k < nc:
                    c = coeffs[k, y]
                    for x in range(nx):
                        r[x] = r[x] * d[x] + c[x]
                else:
                    for x in range(nx):
                        r[x] = r[x] * d[x] + np.float32(0.0)
            for x in range(nx):
                keep = sk[x] | ((q[x] & sat8) != 0)
                d[x] = d[x] if keep else r[x]


# -------------------------------------------------------------------------------- dark


@njit(cache=True, nogil=True)
def subtract_averaged_dark(lo, hi, data, dark, frame_start, nframes):
    """Subtract from group g the mean of dark frames ``frame_start[g] … + nframes - 1``.

    data (nints, ngroups, ny, nx) float32; dark (nframes_dark, ny, nx) float32. NaN
    dark values count as 0. The average is formed per pixel in registers (no averaged
    dark cube is allocated).
    """
    nints, ng, ny, nx = data.shape
    inv = 1.0 / nframes
    if nframes == 1:
        for k in range(lo, hi):
            i = k // ny
            y = k - i * ny
            for g in range(ng):
                dk = dark[frame_start[g], y]
                d = data[i, g, y]
                for x in range(nx):
                    v = dk[x]
                    d[x] -= v if not np.isnan(v) else np.float32(0.0)
        return
    for k in range(lo, hi):
        i = k // ny
        y = k - i * ny
        acc = np.empty(nx, dtype=np.float64)
        for g in range(ng):
            acc[:] = 0.0
            f0 = frame_start[g]
            for f in range(f0, f0 + nframes):
                dk = dark[f, y]
                for x in range(nx):
                    v = dk[x]
                    acc[x] += v if not np.isnan(v) else 0.0
            d = data[i, g, y]
            for x in range(nx):
                d[x] -= np.float32(acc[x] * inv)
