"""numba kernels of the ramp simulator (private; see :mod:`webbcal.simulate.ramps`).

Random numbers come from a counter-based generator (SplitMix64) seeded per detector
row, so results do not depend on the number of threads or on their scheduling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always", error_model="numpy")
def _next_u64(state):
    """Advance the SplitMix64 state (a 1-element uint64 array) and return 64 bits."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always", error_model="numpy")
def _uniform(state):
    """Uniform float64 in (0, 1)."""
    return ((_next_u64(state) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _normal(state, cache):
    """Standard normal deviate (Box-Muller; the pair's second value kept in ``cache``)."""
    if cache[0] != 0.0:
        cache[0] = 0.0
        return cache[1]
    u1 = _uniform(state)
    u2 = _uniform(state)
    r = math.sqrt(-2.0 * math.log(u1))
    cache[0] = 1.0
    cache[1] = r * math.sin(2.0 * math.pi * u2)
    return r * math.cos(2.0 * math.pi * u2)


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _poisson(state, lam):
    """Exact Poisson deviate: multiplication method below 12, PTRS (Hoermann 1993) above."""
    if lam <= 0.0:
        return 0.0
    if lam < 12.0:
        limit = math.exp(-lam)
        k = 0
        p = _uniform(state)
        while p > limit:
            k += 1
            p *= _uniform(state)
        return float(k)
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = _uniform(state) - 0.5
        v = _uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return k


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _group_photons(state, cache, lam, nframes):
    """Photon electrons seen by one group average from the frames inside the group.

    ``lam`` electrons arrive per frame interval; an arrival in interval ``j`` (0-based,
    interval ``j`` ends at the group's frame ``j``) is seen by ``nframes - j`` of the
    ``nframes`` averaged frames.  Returns ``(total arrivals, weighted sum / nframes)``.
    Exact for fewer than 8 arrivals; above, the weighted sum given the count is drawn
    from a Gaussian with its exact mean and variance (the count itself stays Poisson).
    """
    n = _poisson(state, lam * nframes)
    if nframes == 1:
        return n, n
    if n < 8.0:
        w = 0.0
        for _ in range(int(n)):
            j = int(_uniform(state) * nframes)
            w += nframes - j
        return n, w / nframes
    mean_w = (nframes + 1.0) / (2.0 * nframes)
    var_w = (nframes * nframes - 1.0) / (12.0 * nframes * nframes)
    return n, n * mean_w + math.sqrt(n * var_w) * _normal(state, cache)


@njit(cache=True, error_model="numpy", fastmath=True)
def _invert_poly(y, coeffs, x0):
    """Solve ``sum_k coeffs[k] x**k = y`` for x by Newton's method from ``x0``."""
    x = x0
    nc = coeffs.shape[0]
    for _ in range(20):
        f = 0.0
        df = 0.0
        for k in range(nc - 1, -1, -1):
            df = df * x + f
            f = f * x + coeffs[k]
        step = (f - y) / df if df != 0.0 else 0.0
        x -= step
        if abs(step) < 1e-4:
            break
    return x


@njit(cache=True, parallel=True, error_model="numpy", fastmath=True)
def simulate_ramp_kernel(rate_e, dark_e, gain, rn_group, bias, lin, sat_raw, amp_of_x,
                         offsets, row_noise, ref_mask, dep_ptr, dep_x, dep_int, dep_frame,
                         dep_e, ngroups, nframes, groupgap, tframe, seed, out):
    """Fill ``out`` (nints, ngroups, ny, nx) uint16 with simulated raw groups.

    Parameters
    ----------
    rate_e, dark_e : (ny, nx) float32
        Photon and dark-current rates, e-/s (Poisson together).
    gain : (ny, nx) float32
        e-/DN.
    rn_group : (ny, nx) float32
        Read noise of one group average, DN (per-frame sigma / sqrt(nframes)).
    bias : (ny, nx) float32
        Superbias, DN.
    lin : (ncoeffs, ny, nx) float32
        Linearity-correction polynomial (raw - bias -> linear DN); inverted here.
    sat_raw : (ny, nx) float32
        Raw level (bias included) at which the pixel's signal stops growing, DN.
    amp_of_x : (nx,) int64
        Amplifier of each column.
    offsets : (nints, ngroups, namps, 2) float32
        Per-amplifier (even, odd column) offset + bias drift of each group, DN.
    row_noise : (nints, ngroups, ny, namps) float32
        1/f (row-correlated) noise of each group, DN.
    ref_mask : (ny, nx) bool
        Reference pixels: no light, no dark, no events, no nonlinearity.
    dep_ptr : (ny + 1,) int64; dep_x, dep_int, dep_frame : int64; dep_e : float64
        Charge deposits (cosmic rays, snowballs) sorted by (row, column): row ``y`` owns
        ``dep_ptr[y]:dep_ptr[y+1]``; each deposit adds ``dep_e`` electrons at frame
        interval ``dep_frame`` (0-based over the integration) of integration ``dep_int``.
    seed : int
        Base seed; row ``y`` uses its own SplitMix64 stream.
    """
    nints = out.shape[0]
    ny = out.shape[2]
    nx = out.shape[3]
    ncoef = lin.shape[0]
    stride = nframes + groupgap
    for y in prange(ny):
        state = np.empty(1, np.uint64)
        state[0] = np.uint64(seed) * np.uint64(1000003) + np.uint64(y) * _GOLDEN + np.uint64(1)
        _next_u64(state)
        cache = np.zeros(2, np.float64)
        coeffs = np.empty(max(ncoef, 1), np.float64)
        acc = np.empty(nx, np.float64)
        xprev = np.empty(nx, np.float64)
        p0 = dep_ptr[y]
        p1 = dep_ptr[y + 1]
        for i in range(nints):
            acc[:] = 0.0
            xprev[:] = 0.0
            for gi in range(ngroups):
                f0 = gi * stride
                p = p0
                for x in range(nx):
                    isref = ref_mask[y, x]
                    lam = 0.0 if isref else (rate_e[y, x] + dark_e[y, x]) * tframe
                    if gi > 0 and groupgap > 0:
                        acc[x] += _poisson(state, lam * groupgap)
                    n, w = _group_photons(state, cache, lam, nframes)
                    e = acc[x] + w
                    acc[x] += n
                    while p < p1 and dep_x[p] < x:
                        p += 1
                    d = p
                    while d < p1 and dep_x[d] == x:
                        if dep_int[d] == i and not isref:
                            fr = dep_frame[d]
                            if fr <= f0:
                                e += dep_e[d]
                            elif fr < f0 + nframes:
                                e += dep_e[d] * (f0 + nframes - fr) / nframes
                        d += 1
                    lin_dn = e / gain[y, x]
                    if isref or ncoef == 0:
                        raw = lin_dn
                    else:
                        for k in range(ncoef):
                            coeffs[k] = lin[k, y, x]
                        raw = _invert_poly(lin_dn, coeffs, xprev[x])
                        xprev[x] = raw
                    top = sat_raw[y, x] - bias[y, x]
                    if raw > top:
                        raw = top
                    amp = amp_of_x[x]
                    val = (bias[y, x] + raw + offsets[i, gi, amp, x & 1]
                           + row_noise[i, gi, y, amp] + rn_group[y, x] * _normal(state, cache))
                    val = math.floor(val + 0.5)
                    if val < 0.0:
                        val = 0.0
                    elif val > 65535.0:
                        val = 65535.0
                    out[i, gi, y, x] = np.uint16(val)
