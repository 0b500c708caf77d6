"""Numba kernels of the image2 algorithms (private; wrapped in ``skymap.py``)."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, parallel=True)
def cubic_grid_interp(z, iy, wy, ix, wx, base, period, out):  # pragma: no cover - numba
    """Separable 4-point (cubic Lagrange) interpolation of node values onto a pixel grid.

    ``out[j, i] = base + sum_a sum_b wy[j, a] * wx[i, b] * z[iy[j] + a, ix[i] + b]``,
    then reduced modulo ``period`` when ``period > 0``.

    Parameters
    ----------
    z : ndarray (my, mx) float64
        Values at the nodes.
    iy, ix : ndarray (ny,), (nx,) int64
        First node of each output row's / column's 4-node stencil.
    wy, wx : ndarray (ny, 4), (nx, 4) float64
        Stencil weights.
    base : float
        Added to every output value (keeps ``z`` small for precision).
    period : float
        Wrap outputs into ``[0, period)`` if positive (RA in degrees: 360).
    out : ndarray (ny, nx) float64
        Output, filled in place.
    """
    my = z.shape[0]
    nx = ix.shape[0]
    ny = iy.shape[0]
    t = np.empty((my, nx))
    for m in numba.prange(my):
        for i in range(nx):
            k = ix[i]
            t[m, i] = (wx[i, 0] * z[m, k] + wx[i, 1] * z[m, k + 1]
                       + wx[i, 2] * z[m, k + 2] + wx[i, 3] * z[m, k + 3])
    for j in numba.prange(ny):
        k = iy[j]
        a0, a1, a2, a3 = wy[j, 0], wy[j, 1], wy[j, 2], wy[j, 3]
        for i in range(nx):
            v = base + (a0 * t[k, i] + a1 * t[k + 1, i] + a2 * t[k + 2, i] + a3 * t[k + 3, i])
            if period > 0.0:
                v = v % period
            out[j, i] = v


@numba.njit(cache=True, parallel=True)
def tan_deproject_2d(xi, eta, ra0, dec0, ra_out, dec_out):  # pragma: no cover - numba
    """Gnomonic deprojection of 2-D standard-coordinate arrays into the outputs.

    Parameters
    ----------
    xi, eta : ndarray (ny, nx) float64
        Standard coordinates (deg) about the tangent point.
    ra0, dec0 : float
        Tangent point (deg).
    ra_out, dec_out : ndarray (ny, nx) float64
        Filled with RA in [0, 360) and Dec (deg).
    """
    d2r = math.pi / 180.0
    r2d = 180.0 / math.pi
    cd0 = math.cos(dec0 * d2r)
    sd0 = math.sin(dec0 * d2r)
    ny, nx = xi.shape
    for j in numba.prange(ny):
        for i in range(nx):
            x = xi[j, i] * d2r
            y = eta[j, i] * d2r
            den = cd0 - y * sd0
            ra_out[j, i] = (ra0 + math.atan2(x, den) * r2d) % 360.0
            dec_out[j, i] = math.atan2(sd0 + y * cd0, math.sqrt(x * x + den * den)) * r2d


@numba.njit(cache=True)
def _flat_row(data, dq, var_poisson, var_rnoise, flat, flat_err, flat_dq, no_flat_field,
              flag, out, err, vp_out, vr_out, vf_out, dq_out):  # pragma: no cover - numba
    """One row of :func:`flat_divide` (1-D arrays); returns the row's unusable-flat count."""
    one = np.float32(1.0)
    zero = np.float32(0.0)
    nbad = 0
    for i in range(data.shape[0]):
        f = flat[i]
        fdq = flat_dq[i]
        if f > zero and math.isfinite(f) and (fdq & no_flat_field) == 0:
            inv = one / f
            fe = flat_err[i]
            rel = fe * inv if math.isfinite(fe) else zero
            dq_out[i] = dq[i] | fdq
        else:
            inv = one
            rel = zero
            dq_out[i] = dq[i] | fdq | flag
            nbad += 1
        v = data[i] * inv
        inv2 = inv * inv
        vp = var_poisson[i] * inv2
        vr = var_rnoise[i] * inv2
        vf = (v * rel) * (v * rel)
        out[i] = v
        vp_out[i] = vp
        vr_out[i] = vr
        vf_out[i] = vf
        err[i] = math.sqrt(vp + vr + vf)
    return nbad


@numba.njit(cache=True, parallel=True)
def flat_divide(data, dq, var_poisson, var_rnoise, flat, flat_err, flat_dq, no_flat_field,
                do_not_use, out, err, vp_out, vr_out, vf_out, dq_out):  # pragma: no cover
    """One fused pass of the flat-field division (see ``flat.apply_flat``).

    Parameters
    ----------
    data, var_poisson, var_rnoise, flat, flat_err : ndarray (ny, nx) float32
        Image, its variances, the flat and its 1-σ error (zeros when none).
    dq, flat_dq : ndarray (ny, nx) uint32
        Image and flat DQ (zeros when the flat has none).
    no_flat_field, do_not_use : uint32
        DQ bits set where the flat is unusable.
    out, err, vp_out, vr_out, vf_out : ndarray (ny, nx) float32
        Outputs: data / flat, total error, and the three variances.
    dq_out : ndarray (ny, nx) uint32
        Output DQ.

    Returns
    -------
    int
        Number of pixels whose flat was unusable (left undivided).
    """
    ny = data.shape[0]
    flag = no_flat_field | do_not_use
    bad_rows = np.zeros(ny, np.int64)
    for j in numba.prange(ny):
        bad_rows[j] = _flat_row(data[j], dq[j], var_poisson[j], var_rnoise[j], flat[j],
                                flat_err[j], flat_dq[j], no_flat_field, flag, out[j], err[j],
                                vp_out[j], vr_out[j], vf_out[j], dq_out[j])
    return bad_rows.sum()
