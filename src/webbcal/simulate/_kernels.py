"""numba kernels of the ramp simulator (private; see :mod:`webbcal.simulate.ramps`).

Random numbers come from a counter-based generator (SplitMix64) seeded per detector
row, so results do not depend on the number of threads or on their scheduling.
Normal deviates use the Marsaglia–Tsang ziggurat (128 layers; layer index and value
taken from disjoint bits of one 64-bit word); Poisson deviates the multiplication
method below a mean of 12, PTRS (Hörmann 1993) up to :data:`POISSON_CF_MIN` and a
Cornish–Fisher transform of one normal deviate above (see :func:`_poisson`), with the
per-pixel constants computed once per pixel (:func:`_poisson_params`) rather than
once per draw.

:func:`simulate_rows_kernel` fills a band of rows and releases the GIL; the wrapper
(:func:`webbcal.simulate.ramps.run_row_bands`) runs bands on threads.  It is not a
``parallel=True`` kernel: parfor lowering was half of its compile time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _ziggurat_tables(n=128, r=3.442619855899, v=9.91256303526217e-3):
    """Marsaglia & Tsang (2000) ziggurat tables for the standard normal (32-bit values).

    Returns ``kn`` (n,) int64 acceptance thresholds, ``wn`` (n,) float64 value scales,
    ``fn`` (n,) float64 density at the layer edges.
    """
    m1 = 2147483648.0
    kn = np.zeros(n, np.int64)
    wn = np.zeros(n)
    fn = np.zeros(n)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    kn[0] = int(dn / q * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[n - 1] = dn / m1
    fn[0] = 1.0
    fn[n - 1] = math.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int(dn / tn * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_KN, _WN, _FN = _ziggurat_tables()
_ZIG_R = 3.442619855899


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


@njit(cache=True, error_model="numpy", fastmath=True)
def _normal_slow(state, iz, hz):
    """The ziggurat's rare branches (~1 % of draws) for the word ``(iz, hz)`` that missed
    the rectangle test; draws on until it accepts (a call, kept out of the inlined
    fast path so that every call site stays small to compile)."""
    while True:
        if iz == 0:  # the tail beyond R
            while True:
                xx = -math.log(_uniform(state)) / _ZIG_R
                yy = -math.log(_uniform(state))
                if yy + yy >= xx * xx:
                    break
            return _ZIG_R + xx if hz > 0 else -_ZIG_R - xx
        x = hz * _WN[iz]
        if _FN[iz] + _uniform(state) * (_FN[iz - 1] - _FN[iz]) < math.exp(-0.5 * x * x):
            return x
        u = _next_u64(state)
        iz = np.int64(u & np.uint64(127))
        hz = np.int64(u >> np.uint64(32)) - 2147483648
        if abs(hz) < _KN[iz]:
            return hz * _WN[iz]


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _normal(state):
    """Standard normal deviate (ziggurat; about 99 % of draws take one 64-bit word and
    this inlined rectangle test, the rest :func:`_normal_slow`)."""
    u = _next_u64(state)
    iz = np.int64(u & np.uint64(127))
    hz = np.int64(u >> np.uint64(32)) - 2147483648
    if abs(hz) < _KN[iz]:
        return hz * _WN[iz]
    return _normal_slow(state, iz, hz)


#: Means at or above this are drawn by the Cornish-Fisher transform of one normal
#: deviate (see :func:`_poisson`); below, exactly.
POISSON_CF_MIN = 30.0
#: log(k!) for k < POISSON_CF_MIN + 64 (PTRS's acceptance test; lgamma above)
_LOGFACT = np.array([math.lgamma(k + 1.0) for k in range(int(POISSON_CF_MIN) + 64)])


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _poisson_params(lam):
    """Constants of a Poisson draw of mean ``lam`` (see :func:`_poisson`), a 7-tuple;
    its last element ``sd > 0`` marks the Cornish-Fisher regime."""
    if lam < 12.0:
        return (lam, math.exp(-lam), 0.0, 0.0, 0.0, 0.0, 0.0)
    if lam >= POISSON_CF_MIN:
        return (lam, 0.0, 0.0, 0.0, 0.0, 0.0, math.sqrt(lam - 5.0 / 36.0))
    b = 0.931 + 2.53 * math.sqrt(lam)
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    return (lam, math.log(lam), b, a, math.log(invalpha), vr, 0.0)


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _poisson(state, prm):
    """Poisson deviate (float64) from :func:`_poisson_params` constants.

    Exact below :data:`POISSON_CF_MIN`: multiplication method below 12, PTRS
    (transformed rejection with squeeze, Hörmann 1993) above.  From
    :data:`POISSON_CF_MIN` up: ``max(floor(lam + sd z + (z² - 1)/6 + 1/2), 0)`` of one
    normal deviate ``z`` (Cornish-Fisher to the skewness term, ``sd² = lam - 5/36`` so
    that with the rounding the variance is ``lam``): mean, variance and skewness are
    Poisson's, every probability within 4 sigma matches to the noise of 400k draws
    (tests/simulate/test_kernels.py), and a draw costs 6 ns against PTRS's ~30 ns
    (~40 % of PTRS draws leave its squeeze near a sky-like mean of 50).  (A threshold
    of 10 would also speed up the F200W sky, 11-14 e- per group in ceers-mini, but
    shifted the aperture photometry of tests/pipelines/test_image2_tiny.py by ~1 %.)
    """
    lam = prm[0]
    if lam <= 0.0:
        return 0.0
    if prm[6] > 0.0:
        z = _normal(state)
        return max(math.floor(lam + prm[6] * z + (z * z - 1.0) * (1.0 / 6.0) + 0.5), 0.0)
    if lam < 12.0:
        limit = prm[1]
        k = 0
        p = _uniform(state)
        while p > limit:
            k += 1
            p *= _uniform(state)
        return float(k)
    loglam, b, a, loginvalpha, vr = prm[1], prm[2], prm[3], prm[4], prm[5]
    while True:
        u = _uniform(state) - 0.5
        v = _uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        logfact = _LOGFACT[int(k)] if k < _LOGFACT.size else math.lgamma(k + 1.0)
        if (math.log(v) + loginvalpha - math.log(a / (us * us) + b)) <= (
            -lam + k * loglam - logfact
        ):
            return k


@njit(cache=True, inline="always", error_model="numpy")
def weight_moments(ngap, nframes):
    """Mean and variance of the weight one arrival carries into a group average.

    An arrival in one of the ``ngap`` dropped frame intervals before the group counts
    fully (weight 1); one in the group's interval ``j`` (0-based) is seen by
    ``nframes - j`` of the ``nframes`` averaged reads (weight ``(nframes - j) / nframes``).
    Each of the ``ngap + nframes`` intervals is equally likely.
    """
    nint = ngap + nframes
    mean = (ngap + (nframes + 1) / 2.0) / nint
    second = (ngap + (nframes + 1) * (2 * nframes + 1) / (6.0 * nframes)) / nint
    return mean, math.sqrt(max(second - mean * mean, 0.0))


@njit(cache=True, inline="always", error_model="numpy", fastmath=True)
def _group_charge(state, prm, ngap, nframes, w_mean, w_sd):
    """Charge arriving between the end of the previous group and this group's reads.

    ``prm`` are the Poisson constants of ``lam * (ngap + nframes)`` (``lam`` electrons
    per frame interval).  Returns ``(m, s)``: ``m`` arrivals (Poisson, exact), of which
    the group average sees ``s`` (weights, see :func:`weight_moments`).  ``s`` is exact
    (one uniform per arrival) for fewer than 8 arrivals; above, ``s`` given ``m`` is a
    Gaussian with the exact conditional mean ``m * w_mean`` and variance
    ``m * w_sd**2`` (so mean, variance and covariance with ``m`` are exact).
    """
    m = _poisson(state, prm)
    if m < 8.0:
        s = 0.0
        nint = ngap + nframes
        for _ in range(int(m)):
            j = int(_uniform(state) * nint) - ngap
            s += 1.0 if j < 0 else (nframes - j) / nframes
        return m, s
    return m, m * w_mean + math.sqrt(m) * w_sd * _normal(state)


@njit(cache=True, error_model="numpy", fastmath=True)
def _invert_poly(y, coeffs, ncoef, x0):
    """Solve ``sum_k coeffs[k] x**k = y`` for x by Newton's method from ``x0``."""
    x = x0
    for _ in range(20):
        f = 0.0
        df = 0.0
        for k in range(ncoef - 1, -1, -1):
            df = df * x + f
            f = f * x + coeffs[k]
        step = (f - y) / df if df != 0.0 else 0.0
        x -= step
        if abs(step) < 0.05:  # quadratic convergence: the remaining error is ~1e-8 DN
            break
    return x


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def simulate_rows_kernel(y0, y1, rate_e, dark_e, gain, rn_group, bias, lin, sat_raw, amp_of_x,
                         offsets, row_noise, ref_mask, dep_ptr, dep_x, dep_int, dep_frame,
                         dep_e, ngroups, nframes, groupgap, tframe, seed, out):
    """Fill rows ``y0:y1`` of ``out`` (nints, ngroups, ny, nx) uint16 with raw groups.

    Parameters
    ----------
    y0, y1 : int
        Row band (the wrapper runs bands on threads; the kernel releases the GIL).
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
        Base seed; row ``y`` uses its own SplitMix64 stream (pixels in column order,
        each pixel's integrations and groups in time order).
    """
    nints = out.shape[0]
    ny = out.shape[2]
    nx = out.shape[3]
    ncoef = lin.shape[0]
    stride = nframes + groupgap
    wm0, ws0 = weight_moments(0, nframes)
    wm1, ws1 = weight_moments(groupgap, nframes)
    state = np.empty(1, np.uint64)
    coeffs = np.zeros(max(ncoef, 1), np.float64)
    for y in range(y0, y1):
        state[0] = np.uint64(seed) * np.uint64(1000003) + np.uint64(y) * _GOLDEN + np.uint64(1)
        # hash the start: SplitMix64 steps its state by _GOLDEN, so starts y * _GOLDEN
        # apart would make row y + 1 replay row y's numbers one draw later
        state[0] = _next_u64(state)
        p = dep_ptr[y]
        p1 = dep_ptr[y + 1]
        for x in range(nx):
            isref = ref_mask[y, x]
            lam = 0.0 if isref else (rate_e[y, x] + dark_e[y, x]) * tframe
            prm_first = _poisson_params(lam * nframes)
            prm_next = _poisson_params(lam * stride)
            lam_first, sd_first = prm_first[0], prm_first[6]
            lam_next, sd_next = prm_next[0], prm_next[6]
            bright = sd_first > 0.0 and sd_next > 0.0
            while p < p1 and dep_x[p] < x:
                p += 1
            q = p
            while q < p1 and dep_x[q] == x:
                q += 1
            if isref:
                q = p  # reference pixels get no events
            uselin = ncoef > 0 and not isref
            for k in range(ncoef):
                coeffs[k] = lin[k, y, x]
            series = (uselin and 3 <= ncoef <= 4 and coeffs[0] == 0.0
                      and coeffs[1] == 1.0)
            c2 = coeffs[2] if ncoef >= 3 else 0.0
            c3 = coeffs[3] if ncoef == 4 else 0.0
            rev3 = 2.0 * c2 * c2 - c3
            g = gain[y, x]
            rn = rn_group[y, x]
            b = bias[y, x]
            top = sat_raw[y, x] - b
            amp = amp_of_x[x]
            par = x & 1
            for i in range(nints):
                acc = 0.0
                xprev = 0.0
                for gi in range(ngroups):
                    f0 = gi * stride
                    first = gi == 0
                    if bright:
                        # both means >= POISSON_CF_MIN: _group_charge written out
                        # (Cornish-Fisher Poisson, Gaussian weights; no calls)
                        lg = lam_first if first else lam_next
                        z = _normal(state)
                        n = math.floor(lg + (sd_first if first else sd_next) * z
                                       + (z * z - 1.0) * (1.0 / 6.0) + 0.5)
                        n = max(n, 0.0)
                        w = (n * (wm0 if first else wm1)
                             + math.sqrt(n) * (ws0 if first else ws1) * _normal(state))
                    elif lam <= 0.0:  # reference pixels
                        n = 0.0
                        w = 0.0
                    else:  # one call site: _group_charge is inlined
                        n, w = _group_charge(state, prm_first if first else prm_next,
                                             0 if first else groupgap, nframes,
                                             wm0 if first else wm1, ws0 if first else ws1)
                    e = acc + w
                    acc += n
                    for d in range(p, q):
                        if dep_int[d] == i:
                            fr = dep_frame[d]
                            if fr <= f0:
                                e += dep_e[d]
                            elif fr < f0 + nframes:
                                e += dep_e[d] * (f0 + nframes - fr) / nframes
                    raw = e / g
                    if series:
                        # c0 = 0, c1 = 1 (the simulator's files): series reversion to
                        # third order (error < 20 DN at 40000 DN) and one Newton step
                        # (error < 0.01 DN below 45000 DN raw), written out (no call)
                        xr = raw * (1.0 - raw * (c2 - raw * rev3))
                        f = xr * (1.0 + xr * (c2 + xr * c3)) - raw
                        raw = xr - f / (1.0 + xr * (2.0 * c2 + 3.0 * c3 * xr))
                    elif uselin:
                        raw = _invert_poly(raw, coeffs, ncoef, xprev)
                        xprev = raw
                    if raw > top:
                        raw = top
                    val = (b + raw + offsets[i, gi, amp, par] + row_noise[i, gi, y, amp]
                           + rn * _normal(state))
                    val = math.floor(val + 0.5)
                    if val < 0.0:
                        val = 0.0
                    elif val > 65535.0:
                        val = 65535.0
                    out[i, gi, y, x] = np.uint16(val)
