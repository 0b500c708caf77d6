"""numba kernels for the geometry of large pixel grids (private).

The wrappers in ``siaf.py`` and ``sky.py`` validate inputs, allocate outputs and use
numpy for small arrays; these kernels do the same arithmetic point by point. Each is a
serial, GIL-free kernel over a range of flat point indices, ``kernel(i0, i1, ...)``,
writing only outputs ``i0 … i1 - 1``; the wrappers run them on several threads with
:func:`webbcal._threads.run_row_bands` (see ``docs/internals.md``).
"""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True)
def _poly(m, x, y):
    """Value of ``sum m[p, q] x**p y**q`` for a 6×6 (degree-5) matrix at one point.

    Written out (Horner in y inside Horner in x) so that the five inner chains run in
    parallel on the CPU and the loop over points can be vectorized.
    """
    return (m[0, 0] + y * (m[0, 1] + y * (m[0, 2] + y * (m[0, 3] + y * (m[0, 4] + y * m[0, 5]))))
            + x * ((m[1, 0] + y * (m[1, 1] + y * (m[1, 2] + y * (m[1, 3] + y * m[1, 4]))))
                   + x * ((m[2, 0] + y * (m[2, 1] + y * (m[2, 2] + y * m[2, 3])))
                          + x * ((m[3, 0] + y * (m[3, 1] + y * m[3, 2]))
                                 + x * ((m[4, 0] + y * m[4, 1]) + x * m[5, 0])))))


@numba.njit(cache=True, nogil=True)
def sci_to_v2v3_kernel(i0, i1, x, y, cx, cy, xref, yref, rot, v2ref, v3ref, out_v2, out_v3):
    """0-based science pixels → V2/V3 (arcsec) for points ``i0 … i1 - 1`` of flat
    float64 arrays.

    ``rot`` is the 2×2 ideal→V2V3 matrix (parity and V3IdlYAngle); ``xref, yref`` are
    SIAF XSciRef/YSciRef (1-based).
    """
    for i in range(i0, i1):
        dx = x[i] + 1.0 - xref
        dy = y[i] + 1.0 - yref
        xi = _poly(cx, dx, dy)
        yi = _poly(cy, dx, dy)
        out_v2[i] = v2ref + rot[0, 0] * xi + rot[0, 1] * yi
        out_v3[i] = v3ref + rot[1, 0] * xi + rot[1, 1] * yi


@numba.njit(cache=True, nogil=True)
def v2v3_to_sci_kernel(i0, i1, v2, v3, ix, iy, cx, cy, jxx, jxy, jyx, jyy, xref, yref, rot_inv,
                       v2ref, v3ref, n_iter, out_x, out_y):
    """V2/V3 (arcsec) → 0-based science pixels, points ``i0 … i1 - 1``: Idl2Sci
    guess, then `n_iter` Newton (chord) steps on Sci2Idl with the Jacobian (``jab`` =
    ∂(Sci2Idl a)/∂b coefficient matrices) evaluated at the guess; the guess is within
    ~0.05 px, so each step gains many digits."""
    for i in range(i0, i1):
        dv2 = v2[i] - v2ref
        dv3 = v3[i] - v3ref
        xi = rot_inv[0, 0] * dv2 + rot_inv[0, 1] * dv3
        yi = rot_inv[1, 0] * dv2 + rot_inv[1, 1] * dv3
        dx = _poly(ix, xi, yi)
        dy = _poly(iy, xi, yi)
        a = _poly(jxx, dx, dy)
        b = _poly(jxy, dx, dy)
        c = _poly(jyx, dx, dy)
        d = _poly(jyy, dx, dy)
        det = a * d - b * c
        for _ in range(n_iter):
            rx = _poly(cx, dx, dy) - xi
            ry = _poly(cy, dx, dy) - yi
            dx -= (d * rx - b * ry) / det
            dy -= (-c * rx + a * ry) / det
        out_x[i] = dx + xref - 1.0
        out_y[i] = dy + yref - 1.0


@numba.njit(cache=True)
def _sincos(a):
    """(sin a, cos a); Taylor series for |a| < 0.01 rad (exact to double precision)."""
    if abs(a) < 0.01:
        a2 = a * a
        s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0)))
        c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0)))
        return s, c
    return math.sin(a), math.cos(a)


@numba.njit(cache=True)
def _atan2(y, x):
    """atan2(y, x); Taylor series of atan(y/x) when 0 < |y| < 0.01 x."""
    if x > 0.0 and abs(y) < 0.01 * x:
        t = y / x
        t2 = t * t
        return t * (1.0 - t2 * (1.0 / 3.0 - t2 * (0.2 - t2 * (1.0 / 7.0 - t2 / 9.0))))
    return math.atan2(y, x)


@numba.njit(cache=True, nogil=True)
def v2v3_to_sky_kernel(i0, i1, v2, v3, mat, v2ref, v3ref, scale, out_ra, out_dec):
    """V2/V3 (arcsec) → RA/Dec (deg), points ``i0 … i1 - 1``: velocity-aberration
    scale about the reference point, then the attitude matrix ``mat`` (unit vector in
    V frame → sky)."""
    d2r = math.pi / 180.0 / 3600.0
    for i in range(i0, i1):
        a = (v2ref + scale * (v2[i] - v2ref)) * d2r
        b = (v3ref + scale * (v3[i] - v3ref)) * d2r
        sa, ca = _sincos(a)
        sb, cb = _sincos(b)
        ux = cb * ca
        uy = cb * sa
        uz = sb
        sx = mat[0, 0] * ux + mat[0, 1] * uy + mat[0, 2] * uz
        sy = mat[1, 0] * ux + mat[1, 1] * uy + mat[1, 2] * uz
        sz = mat[2, 0] * ux + mat[2, 1] * uy + mat[2, 2] * uz
        ra = math.degrees(math.atan2(sy, sx))
        if ra < 0.0:
            ra += 360.0
        out_ra[i] = ra
        out_dec[i] = math.degrees(math.atan2(sz, math.hypot(sx, sy)))


@numba.njit(cache=True)
def _sincos_near(a, a0, s0, c0):
    """(sin a, cos a) for `a` near `a0` (radians) with ``s0, c0 = sin a0, cos a0``."""
    d = a - a0
    if d > math.pi:
        d -= 2.0 * math.pi
    elif d < -math.pi:
        d += 2.0 * math.pi
    sd, cd = _sincos(d)
    return s0 * cd + c0 * sd, c0 * cd - s0 * sd


@numba.njit(cache=True, nogil=True)
def sky_to_v2v3_kernel(i0, i1, ra, dec, mat, v2ref, v3ref, scale, ra0, dec0, out_v2, out_v3):
    """RA/Dec (deg) → V2/V3 (arcsec), points ``i0 … i1 - 1``: inverse of
    `v2v3_to_sky_kernel` (``mat`` is the transposed attitude matrix). ``ra0, dec0``
    (deg, the pointing reference) only speed up the trigonometry of nearby points."""
    r2a = 180.0 / math.pi * 3600.0
    a0 = math.radians(ra0)
    b0 = math.radians(dec0)
    sa0, ca0 = math.sin(a0), math.cos(a0)
    sb0, cb0 = math.sin(b0), math.cos(b0)
    for i in range(i0, i1):
        sa, ca = _sincos_near(math.radians(ra[i]), a0, sa0, ca0)
        sb, cb = _sincos_near(math.radians(dec[i]), b0, sb0, cb0)
        ux = cb * ca
        uy = cb * sa
        uz = sb
        vx = mat[0, 0] * ux + mat[0, 1] * uy + mat[0, 2] * uz
        vy = mat[1, 0] * ux + mat[1, 1] * uy + mat[1, 2] * uz
        vz = mat[2, 0] * ux + mat[2, 1] * uy + mat[2, 2] * uz
        v2 = _atan2(vy, vx) * r2a
        v3 = _atan2(vz, math.sqrt(vx * vx + vy * vy)) * r2a
        out_v2[i] = v2ref + (v2 - v2ref) / scale
        out_v3[i] = v3ref + (v3 - v3ref) / scale
