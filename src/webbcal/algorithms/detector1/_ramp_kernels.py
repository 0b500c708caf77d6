"""numba kernels for the per-pixel ramp corrections (dq_init … dark_current).

Private: called only by the wrappers in this folder, which validate shapes and
dtypes. Every kernel works in place on C-contiguous arrays, runs one ``prange`` over
rows (``nplanes * ny`` or ``nints * ny``) and touches the 4-D cube once. Conventions:
``data`` float32 (nints, ngroups, ny, nx) or (nplanes, ny, nx); ``gdq`` uint8 of the
same shape; ``pdq`` uint32 (ny, nx); DQ bits arrive as plain ``int``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------- dq_init


@njit(cache=True, parallel=True)
def raw_to_float32(raw, out):
    """Copy a raw uint16 cube (nplanes, ny, nx) into float32 ``out`` of the same shape."""
    nplanes, ny, nx = raw.shape
    for k in prange(nplanes * ny):
        p = k // ny
        y = k - p * ny
        for x in range(nx):
            out[p, y, x] = np.float32(raw[p, y, x])


# -------------------------------------------------------------------------- saturation


@njit(cache=True, parallel=True)
def sat_thresholds(sat, sat_dq, pdq, thr, no_sat_check, atod_limit):
    """Effective thresholds ``thr`` (ny, nx) float32; ``pdq |= sat_dq`` (+ NO_SAT_CHECK on NaN).

    NO_SAT_CHECK and NaN thresholds become ``atod_limit + 1`` (never reached by 16-bit data).
    """
    ny, nx = sat.shape
    for y in prange(ny):
        for x in range(nx):
            d = np.uint32(sat_dq[y, x])
            t = sat[y, x]
            if np.isnan(t):
                d |= np.uint32(no_sat_check)
            if d & np.uint32(no_sat_check):
                t = np.float32(atod_limit + 1.0)
            thr[y, x] = t
            pdq[y, x] |= d


@njit(cache=True, parallel=True)
def sat_first_group(data, gdq, thr, first, adfloor, adfloor_bits):
    """First group at/above threshold per pixel (``ngroups`` if none); A/D floor flags.

    data (ngroups, ny, nx) float32 of one integration; groups with ``value <= 0`` get
    ``adfloor_bits`` (AD_FLOOR | DO_NOT_USE) in that group only, and ``adfloor[y, x]``
    (uint8) is set to 1. Loops run groups-outer, columns-inner (contiguous rows).
    """
    ng, ny, nx = data.shape
    for y in prange(ny):
        for x in range(nx):
            first[y, x] = ng
        for g in range(ng):
            for x in range(nx):
                v = data[g, y, x]
                if v >= thr[y, x] and first[y, x] == ng:
                    first[y, x] = g
                if v <= 0:
                    gdq[g, y, x] |= np.uint8(adfloor_bits)
                    adfloor[y, x] = 1


@njit(cache=True, parallel=True)
def sat_grow_flag(first, gfirst, gdq, n_grow, saturated):
    """Grow the first-saturated group over a (2n+1)² box and flag SATURATED from there on.

    ``gfirst[y, x] = min(first[box])`` (separable: column minimum, then row minimum);
    groups ``>= gfirst`` get ``saturated``.
    """
    ng, ny, nx = gdq.shape
    sat8 = np.uint8(saturated)
    for y in prange(ny):
        y0 = max(0, y - n_grow)
        y1 = min(ny, y + n_grow + 1)
        colmin = np.empty(nx, dtype=first.dtype)
        for x in range(nx):
            colmin[x] = first[y0, x]
        for yy in range(y0 + 1, y1):
            for x in range(nx):
                colmin[x] = min(colmin[x], first[yy, x])
        mmin = ng
        for x in range(nx):
            m = colmin[x]
            for xx in range(max(0, x - n_grow), min(nx, x + n_grow + 1)):
                m = min(m, colmin[xx])
            gfirst[y, x] = m
            mmin = min(mmin, m)
        for g in range(mmin, ng):
            for x in range(nx):
                if g >= gfirst[y, x]:
                    gdq[g, y, x] |= sat8


@njit(cache=True, parallel=True)
def sat_mid_group_candidates(data, gdq, thr, gfirst, dilution, nosat, cand, saturated, dnu):
    """Groups that saturated part-way through their frame average (official 2nd pass).

    A pixel is a candidate at group ``g`` when group ``g + 1`` is flagged SATURATED but
    ``g`` is not (``gfirst == g + 1``), ``g`` carries no DO_NOT_USE, and
    ``data[g] >= thr * dilution[g]`` (dilution = mean frame / last frame of the group,
    1 for NO_SAT_CHECK pixels). ``cand`` (ny, nx) int16 gets ``g`` or -1.
    """
    ng, ny, nx = data.shape
    for y in prange(ny):
        for x in range(nx):
            c = -1
            g = gfirst[y, x] - 1
            if g >= 0 and g < ng - 1 and dilution[g] != 1.0:
                d = gdq[g, y, x]
                if (d & np.uint8(saturated | dnu)) == 0:
                    dil = 1.0 if nosat[y, x] else dilution[g]
                    if data[g, y, x] >= thr[y, x] * dil:
                        c = g
            cand[y, x] = c


@njit(cache=True, parallel=True)
def sat_grow_candidates(cand, gdq, n_grow, dnu):
    """OR ``dnu`` into ``gdq[cand[q], p]`` for every pixel p within the box of a candidate q."""
    ng, ny, nx = gdq.shape
    rowany = np.zeros(ny, dtype=np.bool_)
    for y in prange(ny):
        for x in range(nx):
            if cand[y, x] >= 0:
                rowany[y] = True
                break
    for y in prange(ny):
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


@njit(cache=True, parallel=True)
def sat_second_group(data, gdq, thr, scale0, inv_n1, saturated, dnu):
    """Official 3rd pass: group 2 (index 1) saturated mid-group by a bright event.

    Flags DO_NOT_USE in group index 1 where group 0 extrapolated to the end of group
    index 2 (``data[0] * scale0``) stays below threshold, ``data[1] > thr * inv_n1``,
    group index 2 is SATURATED and group index 1 is not.
    """
    ng, ny, nx = data.shape
    for y in prange(ny):
        for x in range(nx):
            t = thr[y, x]
            if (
                data[0, y, x] * scale0 < t
                and data[1, y, x] > t * inv_n1
                and (gdq[2, y, x] & np.uint8(saturated)) != 0
                and (gdq[1, y, x] & np.uint8(saturated)) == 0
            ):
                gdq[1, y, x] |= np.uint8(dnu)


@njit(cache=True, parallel=True)
def sat_zeroframe(zf, thr, n_grow):
    """Zero the ZEROFRAME (ny, nx) where it is saturated (grown) or at the A/D floor."""
    ny, nx = zf.shape
    bad = np.zeros((ny, nx), dtype=np.uint8)
    for y in prange(ny):
        for x in range(nx):
            if zf[y, x] >= thr[y, x]:
                bad[y, x] = 1
            elif zf[y, x] <= 0:
                bad[y, x] = 2
    for y in prange(ny):
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


@njit(cache=True, parallel=True)
def subtract_plane(data, plane):
    """``data[p] -= plane`` for every plane p of data (nplanes, ny, nx) float32."""
    nplanes, ny, nx = data.shape
    for k in prange(nplanes * ny):
        p = k // ny
        y = k - p * ny
        for x in range(nx):
            data[p, y, x] -= plane[y, x]


# --------------------------------------------------------------------------- linearity


@njit(cache=True, parallel=True)
def apply_polynomial(data, gdq, coeffs, skip, saturated):
    """``data = sum_k coeffs[k] * data**k`` (float32 Horner) on unsaturated groups.

    data/gdq (nplanes, ny, nx); coeffs (ncoeffs, ny, nx) float32; ``skip`` (ny, nx)
    bool marks pixels left untouched (NO_LIN_CORR).
    """
    nplanes, ny, nx = data.shape
    nc = coeffs.shape[0]
    sat8 = np.uint8(saturated)
    for y in prange(ny):  # the coefficient rows stay in cache across planes
        acc = np.empty(nx, dtype=np.float32)
        for p in range(nplanes):
            for x in range(nx):
                acc[x] = coeffs[nc - 1, y, x]
            for c in range(nc - 2, -1, -1):  # Horner, vectorised along the row
                for x in range(nx):
                    acc[x] = acc[x] * data[p, y, x] + coeffs[c, y, x]
            for x in range(nx):
                if not (skip[y, x] or (gdq[p, y, x] & sat8) != 0):
                    data[p, y, x] = acc[x]


# -------------------------------------------------------------------------------- dark


@njit(cache=True, parallel=True)
def subtract_averaged_dark(data, dark, frame_start, nframes):
    """Subtract from group g the mean of dark frames ``frame_start[g] … + nframes - 1``.

    data (nints, ngroups, ny, nx) float32; dark (nframes_dark, ny, nx) float32. NaN
    dark values count as 0. The average is formed per pixel in registers (no averaged
    dark cube is allocated).
    """
    nints, ng, ny, nx = data.shape
    inv = 1.0 / nframes
    if nframes == 1:
        for k in prange(nints * ny):
            i = k // ny
            y = k - i * ny
            for g in range(ng):
                f0 = frame_start[g]
                for x in range(nx):
                    v = dark[f0, y, x]
                    if not np.isnan(v):
                        data[i, g, y, x] -= v
        return
    for k in prange(nints * ny):
        i = k // ny
        y = k - i * ny
        acc = np.empty(nx, dtype=np.float64)
        for g in range(ng):
            acc[:] = 0.0
            f0 = frame_start[g]
            for f in range(f0, f0 + nframes):
                for x in range(nx):
                    v = dark[f, y, x]
                    if not np.isnan(v):
                        acc[x] += v
            for x in range(nx):
                data[i, g, y, x] -= np.float32(acc[x] * inv)
