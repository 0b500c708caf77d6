"""Raw up-the-ramp NIRCam groups from a true count-rate image (pure; no files).

Model of one pixel in one integration (time 0 = reset, frame ``k`` read at
``(k + 1) * tframe``; group ``g`` averages frames ``g*(nframes+groupgap) ...
+ nframes - 1``; ``groupgap`` frames are dropped between groups):

* photons + dark current arrive as a Poisson process in electrons; each group average
  sees the charge of every frame interval that ended before each averaged read (one
  Poisson draw per group with the exact mean/variance of the group-average weights,
  see ``_kernels._group_charge``; means of 30 e- and more are drawn by a
  Cornish-Fisher transform of a normal deviate, see ``_kernels._poisson``);
* cosmic rays and snowballs deposit charge at a random frame interval;
* electrons / gain -> linear DN; the nonlinearity is the *inverse* of the linearity
  reference polynomial (raw = P⁻¹(linear)); the raw signal stops at
  ``saturation_dn + sat_margin_dn - superbias`` (the saturation reference level is
  ``saturation_dn``, raw, bias included);
* raw DN = superbias + per-amplifier (even/odd column) offset + per-group bias drift
  + row-correlated 1/f noise (common to the 4 amplifiers plus a per-amplifier part,
  shared by the reference pixels of the same row) + read noise of the group average
  (``readnoise_dn / sqrt(2 * nframes)``: ``readnoise_dn`` is the CDS noise of single
  frames, the READNOISE reference convention), rounded and clipped to 0..65535.
* the 4-pixel reference border gets no light, dark or events, only the bias terms.

Everything is drawn from the seed: the result is identical for any thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RampTruth", "SimulatedRamp", "simulate_ramp", "reference_pixel_mask",
           "amplifier_of_column", "one_over_f_series", "make_events", "CR_DTYPE",
           "SNOWBALL_DTYPE", "FULL"]

FULL = 2048          # full-frame size (pixels)
BORDER = 4           # reference-pixel border width
AMP_WIDTH = 512      # columns per amplifier in 4-output mode

CR_DTYPE = np.dtype([("integration", "i4"), ("frame", "i4"), ("x", "i4"), ("y", "i4"),
                     ("electrons", "f8"), ("center_electrons", "f8")])
SNOWBALL_DTYPE = np.dtype([("integration", "i4"), ("frame", "i4"), ("x", "f8"), ("y", "f8"),
                           ("core_radius", "f8"), ("halo_radius", "f8"),
                           ("electrons", "f8")])


@dataclass(frozen=True)
class RampTruth:
    """What was injected into a simulated ramp.

    Attributes
    ----------
    cosmic_rays : structured array, CR_DTYPE
        One row per hit: integration, frame interval (0-based), centre pixel x, y (array
        coordinates), total and centre-pixel electrons.
    snowballs : structured array, SNOWBALL_DTYPE
        Centre (x, y), saturated-core and halo radii (pixels), total electrons.
    offsets : (nints, ngroups, namps, 2) float32
        Per-amplifier (even, odd column) offset + bias drift of each group, DN.
    row_noise : (nints, ngroups, ny, namps) float32
        The 1/f noise of each row and amplifier in each group, DN.
    exposed_s : float
        Time from reset to the last read of an integration, s (events fall in it).
    n_light_pixels : int
        Number of light-sensitive (non-reference) pixels.
    """

    cosmic_rays: np.ndarray
    snowballs: np.ndarray
    offsets: np.ndarray
    row_noise: np.ndarray
    exposed_s: float
    n_light_pixels: int


@dataclass(frozen=True)
class SimulatedRamp:
    """``data``: (nints, ngroups, ny, nx) uint16 raw DN; ``truth``: :class:`RampTruth`."""

    data: np.ndarray
    truth: RampTruth


def reference_pixel_mask(shape, substrt=(1, 1)) -> np.ndarray:
    """True on the 4-pixel reference border of the full 2048² frame, cut to a subarray.

    ``substrt`` is (SUBSTRT1, SUBSTRT2), 1-based full-frame start (x, y).  Returns
    (ny, nx) bool.
    """
    ny, nx = shape
    xf = np.arange(nx) + substrt[0] - 1
    yf = np.arange(ny) + substrt[1] - 1
    rx = (xf < BORDER) | (xf >= FULL - BORDER)
    ry = (yf < BORDER) | (yf >= FULL - BORDER)
    return ry[:, None] | rx[None, :]


def amplifier_of_column(nx, substrt=(1, 1), noutputs=4) -> np.ndarray:
    """Amplifier index (0..3) of each column, (nx,) int64; all 0 with one output."""
    if noutputs == 1:
        return np.zeros(nx, np.int64)
    xf = np.arange(nx) + substrt[0] - 1
    return np.clip(xf // AMP_WIDTH, 0, 3).astype(np.int64)


def one_over_f_series(n, rms, rng, *, shape=()) -> np.ndarray:
    """Gaussian series of length ``n`` (last axis) with a 1/f power spectrum and given rms.

    Returns float32 array of shape ``shape + (n,)``; zero mean over each series.
    """
    if rms <= 0:
        return np.zeros(shape + (n,), np.float32)
    white = rng.standard_normal(shape + (n,))
    spec = np.fft.rfft(white, axis=-1)
    f = np.fft.rfftfreq(n)
    f[0] = np.inf
    spec /= np.sqrt(np.maximum(f, 1.0 / n) * n)
    spec[..., 0] = 0.0
    series = np.fft.irfft(spec, n=n, axis=-1)
    series *= rms / np.sqrt(np.mean(series**2, axis=-1, keepdims=True))
    return series.astype(np.float32)


def make_events(shape, *, nints, nframes_total, tframe, rng, cr_rate=5.0,
                snowball_rate=7e-4, pixel_size_um=18.0, light_mask=None,
                deposit_cosmic_rays=True):
    """Draw cosmic rays and snowballs and their charge deposits.

    Parameters
    ----------
    shape : (ny, nx)
    nints, nframes_total : int
        Integrations and frame intervals per integration (reset to last read).
    tframe : float
        Frame time, s.
    cr_rate, snowball_rate : float
        Hits cm⁻² s⁻¹ over light-sensitive pixels of ``pixel_size_um`` µm.
    light_mask : (ny, nx) bool or None
        Pixels that can be hit (centres elsewhere are not drawn).
    deposit_cosmic_rays : bool
        False: the cosmic rays are drawn (and returned) exactly as with True, so every
        later random number is unchanged, but their charge is not deposited (a CR-free
        twin of the same exposure; snowballs are deposited either way).

    Returns
    -------
    cosmic_rays (CR_DTYPE), snowballs (SNOWBALL_DTYPE), deposits: dict of arrays
    ``y, x, integration, frame`` (int64) and ``electrons`` (float64), unsorted.
    """
    ny, nx = shape
    if light_mask is None:
        light_mask = np.ones(shape, bool)
    n_light = int(light_mask.sum())
    area_cm2 = n_light * (pixel_size_um * 1e-4) ** 2
    duration = nframes_total * tframe
    dep = {k: [] for k in ("y", "x", "integration", "frame", "electrons")}
    crs, sbs = [], []

    def add(yy, xx, ii, ff, ee):
        ok = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
        for k, v in zip(("y", "x", "integration", "frame", "electrons"), (yy, xx, ii, ff, ee)):
            dep[k].append(np.broadcast_to(v, ok.shape)[ok])

    for i in range(nints):
        n = rng.poisson(cr_rate * area_cm2 * duration)
        ys = rng.integers(0, ny, n)
        xs = rng.integers(0, nx, n)
        keep = light_mask[ys, xs]
        ys, xs = ys[keep], xs[keep]
        n = ys.size
        fr = rng.integers(0, nframes_total, n)
        e_tot = np.maximum(rng.lognormal(np.log(1500.0), 0.8, n), 300.0)
        fc = rng.uniform(0.6, 0.9, n)
        cr = np.zeros(n, CR_DTYPE)
        cr["integration"], cr["frame"], cr["x"], cr["y"] = i, fr, xs, ys
        cr["electrons"], cr["center_electrons"] = e_tot, e_tot * fc
        crs.append(cr)
        if deposit_cosmic_rays:
            add(ys, xs, np.full(n, i), fr, e_tot * fc)
            side = e_tot * (1 - fc) / 4
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                add(ys + dy, xs + dx, np.full(n, i), fr, side)
        # snowballs: saturated core + exponential halo
        nsb = rng.poisson(snowball_rate * area_cm2 * duration)
        for _ in range(nsb):
            cy, cx = rng.uniform(0, ny), rng.uniform(0, nx)
            rc = rng.uniform(1.5, 4.0)
            rh = 2.5 * rc
            f = int(rng.integers(0, nframes_total))
            r0 = int(np.ceil(rh)) + 1
            yy, xx = np.mgrid[int(cy) - r0:int(cy) + r0 + 1, int(cx) - r0:int(cx) + r0 + 1]
            r = np.hypot(yy + 0.5 - cy, xx + 0.5 - cx)
            amp, floor = 2.0e4, 300.0
            scale = (rh - rc) / np.log(amp / floor)
            e = np.where(r <= rc, 2.5e5, amp * np.exp(-(r - rc) / scale))
            sel = r <= rh
            add(yy[sel], xx[sel], np.full(sel.sum(), i), np.full(sel.sum(), f), e[sel])
            sbs.append(np.array([(i, f, cx, cy, rc, rh, float(e[sel].sum()))], SNOWBALL_DTYPE))
    deps = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in dep.items()}
    for k in ("y", "x", "integration", "frame"):
        deps[k] = deps[k].astype(np.int64)
    deps["electrons"] = deps["electrons"].astype(np.float64)
    cosmic = np.concatenate(crs) if crs else np.zeros(0, CR_DTYPE)
    snow = np.concatenate(sbs) if sbs else np.zeros(0, SNOWBALL_DTYPE)
    return cosmic, snow, deps


def run_row_bands(ny, args, *, threads=None, band=32):
    """Run ``simulate_rows_kernel(y0, y1, *args)`` over all rows in bands of ``band``
    rows on ``threads`` threads (:func:`webbcal._threads.run_row_bands`; the kernel
    releases the GIL and each row has its own random stream, so the result does not
    depend on the split)."""
    from webbcal._threads import run_row_bands as run
    from webbcal.simulate._kernels import simulate_rows_kernel

    run(simulate_rows_kernel, ny, *args, band=band, threads=threads)


def _as_image(value, shape, name, dtype=np.float32) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(shape, arr, dtype)
    if arr.shape != tuple(shape):
        raise ValueError(f"simulate_ramp: {name} has shape {arr.shape}, expected {tuple(shape)}")
    return np.ascontiguousarray(arr)


def _seed_of(rng) -> tuple[np.random.Generator, int]:
    if isinstance(rng, np.random.Generator):
        gen = rng
    else:
        gen = np.random.default_rng(rng)
    return gen, int(gen.integers(0, 2**62))


def simulate_ramp(rate_dn_s, *, ngroups, tframe, readnoise_dn, nframes=1, groupgap=0,
                  nints=1, gain=2.0, dark_dn_s=0.0, superbias_dn=0.0,
                  linearity_coeffs=None, saturation_dn=65535.0, sat_margin_dn=100.0,
                  amp_offset_dn=0.0, even_odd_dn=0.0, bias_drift_dn=0.0,
                  one_over_f_dn=0.0, one_over_f_amp_dn=0.0, cr_rate=5.0,
                  snowball_rate=7e-4, pixel_size_um=18.0, substrt=(1, 1), noutputs=4,
                  reference_border=True, rng=0, threads=None,
                  deposit_cosmic_rays=True) -> SimulatedRamp:
    """Simulate the raw uint16 groups of an exposure from its true rate.

    Parameters
    ----------
    rate_dn_s : (ny, nx) array_like
        True photon rate in linear DN/s (QE/flat already applied); electrons = DN × gain.
    ngroups, nframes, groupgap, nints : int
        Readout: groups per integration, frames averaged per group, frames dropped
        between groups, integrations.
    tframe : float
        Frame time, s.
    readnoise_dn : float or (ny, nx)
        CDS read noise of single frames, DN (READNOISE reference convention); a group
        average has sigma ``readnoise_dn / sqrt(2 * nframes)``.
    gain : float or (ny, nx)
        e-/DN.
    dark_dn_s : float or (ny, nx)
        Dark current, DN/s (Poisson in electrons with the photons).
    superbias_dn : float or (ny, nx)
        Bias level, DN.
    linearity_coeffs : (ncoeffs, ny, nx) or (ncoeffs,) or None
        Linearity reference polynomial (corrected = Σ c_k raw^k); the simulator applies
        its inverse.  None: perfectly linear.
    saturation_dn : float or (ny, nx)
        Saturation reference level (raw DN, bias included).  The signal plateaus at
        ``saturation_dn + sat_margin_dn``; the output is also capped at 65535.
    amp_offset_dn, even_odd_dn : float or (namps,) / (namps, 2)
        Per-amplifier offsets (scalar = rms of random offsets) and even/odd column
        offsets (scalar = rms), DN, constant over the exposure.
    bias_drift_dn : float
        rms of the per-group random-walk step of each amplifier's bias, DN.
    one_over_f_dn, one_over_f_amp_dn : float
        rms per frame of the row-correlated 1/f noise common to all amplifiers / of each
        amplifier's own part, DN (divided by sqrt(nframes) in a group average).
    cr_rate, snowball_rate : float
        Events cm⁻² s⁻¹ (pixels of ``pixel_size_um``).
    substrt : (int, int)
        SUBSTRT1, SUBSTRT2 of the array in the full frame (places the reference border
        and the amplifiers).
    noutputs : int
        4 or 1 readout amplifiers.
    reference_border : bool
        Whether the full-frame 4-pixel border inside the array carries no light.
    rng : int or numpy.random.Generator
        Seed; the same seed gives the same output for any thread count.
    threads : int or None
        Threads filling row bands; None: numba's thread count.
    deposit_cosmic_rays : bool
        False: a CR-free twin: the cosmic rays are drawn (and listed in ``truth``) as
        with True but deposit no charge; every other number (noise, snowballs) is the
        same (:func:`make_events`).

    Returns
    -------
    SimulatedRamp
        ``data`` (nints, ngroups, ny, nx) uint16 and ``truth``.
    """
    rate = np.asarray(rate_dn_s, dtype=np.float32)
    if rate.ndim != 2:
        raise ValueError(f"simulate_ramp: rate_dn_s must be 2-D (ny, nx), got shape {rate.shape}")
    if ngroups < 1 or nframes < 1 or groupgap < 0 or nints < 1:
        raise ValueError(f"simulate_ramp: bad readout ngroups={ngroups} nframes={nframes} "
                         f"groupgap={groupgap} nints={nints}")
    shape = rate.shape
    ny, nx = shape
    gen, seed = _seed_of(rng)
    gain_a = _as_image(gain, shape, "gain")
    rate_e = np.ascontiguousarray(np.maximum(rate, 0) * gain_a, np.float32)
    dark_e = np.maximum(_as_image(dark_dn_s, shape, "dark_dn_s"), 0) * gain_a
    rn_group = _as_image(readnoise_dn, shape, "readnoise_dn") / np.float32(np.sqrt(2.0 * nframes))
    bias = _as_image(superbias_dn, shape, "superbias_dn")
    sat = _as_image(saturation_dn, shape, "saturation_dn") + np.float32(sat_margin_dn)
    if linearity_coeffs is None:
        lin = np.zeros((0, ny, nx), np.float32)
    else:
        lin = np.asarray(linearity_coeffs, np.float32)
        if lin.ndim == 1:
            lin = np.ascontiguousarray(np.broadcast_to(lin[:, None, None], (lin.size, ny, nx)))
        elif lin.shape[1:] != shape:
            raise ValueError(f"simulate_ramp: linearity_coeffs shape {lin.shape}, "
                             f"expected (ncoeffs, {ny}, {nx})")
    ref = reference_pixel_mask(shape, substrt) if reference_border else np.zeros(shape, bool)
    amp_of_x = amplifier_of_column(nx, substrt, noutputs)
    namps = 4

    # per-amplifier offsets, even/odd offsets and bias drift (DN)
    amp_off = np.asarray(amp_offset_dn, np.float64)
    if amp_off.ndim == 0:
        amp_off = gen.normal(0.0, float(amp_off), namps) if amp_off > 0 else np.zeros(namps)
    eo = np.asarray(even_odd_dn, np.float64)
    if eo.ndim == 0:
        eo = gen.normal(0.0, float(eo), (namps, 2)) if eo > 0 else np.zeros((namps, 2))
    drift = np.zeros((nints, ngroups, namps))
    if bias_drift_dn > 0:
        drift = np.cumsum(gen.normal(0.0, bias_drift_dn, (nints, ngroups, namps)), axis=1)
    offsets = (amp_off[None, None, :, None] + eo[None, None, :, :]
               + drift[..., None]).astype(np.float32)
    scale = 1.0 / np.sqrt(nframes)
    common = one_over_f_series(ny, one_over_f_dn * scale, gen, shape=(nints, ngroups))
    own = one_over_f_series(ny, one_over_f_amp_dn * scale, gen, shape=(nints, ngroups, namps))
    row_noise = np.ascontiguousarray(common[..., None] + np.moveaxis(own, -2, -1))

    nframes_total = ngroups * (nframes + groupgap) - groupgap
    cosmic, snow, dep = make_events(shape, nints=nints, nframes_total=nframes_total,
                                    tframe=tframe, rng=gen, cr_rate=cr_rate,
                                    snowball_rate=snowball_rate, pixel_size_um=pixel_size_um,
                                    light_mask=~ref,
                                    deposit_cosmic_rays=deposit_cosmic_rays)
    order = np.lexsort((dep["x"], dep["y"]))
    dep = {k: np.ascontiguousarray(v[order]) for k, v in dep.items()}
    dep_ptr = np.searchsorted(dep["y"], np.arange(ny + 1)).astype(np.int64)

    out = np.empty((nints, ngroups, ny, nx), np.uint16)
    args = (rate_e, np.ascontiguousarray(dark_e, np.float32), gain_a,
            np.ascontiguousarray(rn_group, np.float32), bias, lin, sat, amp_of_x, offsets,
            row_noise, ref, dep_ptr, dep["x"], dep["integration"], dep["frame"],
            dep["electrons"], int(ngroups), int(nframes), int(groupgap), float(tframe),
            seed, out)
    run_row_bands(ny, args, threads=threads)
    truth = RampTruth(cosmic_rays=cosmic, snowballs=snow, offsets=offsets,
                      row_noise=row_noise, exposed_s=nframes_total * tframe,
                      n_light_pixels=int((~ref).sum()))
    return SimulatedRamp(data=out, truth=truth)
