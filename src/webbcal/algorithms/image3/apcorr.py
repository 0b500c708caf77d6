"""Aperture radii and corrections for the catalog's 30/50/70 % encircled-energy apertures.

Two routes: :func:`aperture_set_from_psf` measures them on a tabulated PSF (the
source_catalog step's default uses :func:`webbcal.simulate.psf_model`, a segmented-pupil
PSF with realistic wings); :func:`aperture_set` uses the Gaussian model below.

The official catalog takes them from the APCORR reference file. Until webbcal ships
measured PSF tables, the PSF is modelled as a Gaussian with the NIRCam FWHM of each
filter (JDox "NIRCam Point Spread Functions", empirical FWHM in arcsec), broadened by
what drizzling does to a point source on the mosaic: the input pixel response, the
drizzle drop (``pixfrac``) and the output pixel, each a box of variance 1/12 pixel²:

    σ² = (FWHM / 2.3548)² + (p_in² + (pixfrac·p_in)² + p_out²) / 12

For a Gaussian the encircled energy is EE(r) = 1 − exp(−r²/2σ²), which sets the
radius for each EE. The correction to total flux is then measured, not assumed: the
exact pixelated mosaic PSF (Gaussian ⊗ input box ⊗ drop box, integrated over output
pixels, at several sub-pixel phases) is measured with the same exact-overlap circular
apertures the catalog uses, so the small radii's pixelation bias is corrected too.
Exact circle/pixel overlaps come from :func:`._photometry.circle_weights` (the same
closed form photutils uses; photutils itself is not imported: ~2 s per run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PSF_FWHM_ARCSEC", "ApertureSet", "psf_fwhm", "aperture_set", "aperture_set_from_psf",
           "exposure_phase_sigma", "pixel_phase_sigma", "stamp_flux",
           "correction_uncertainty"]

#: NIRCam PSF FWHM [arcsec] by filter (JDox, empirical, 2023 table).
PSF_FWHM_ARCSEC = {
    "F070W": 0.029, "F090W": 0.033, "F115W": 0.040, "F140M": 0.048, "F150W": 0.050,
    "F150W2": 0.046, "F162M": 0.055, "F164N": 0.056, "F182M": 0.062, "F187N": 0.064,
    "F200W": 0.066, "F210M": 0.071, "F212N": 0.072, "F250M": 0.085, "F277W": 0.092,
    "F300M": 0.100, "F322W2": 0.097, "F323N": 0.108, "F335M": 0.111, "F356W": 0.116,
    "F360M": 0.120, "F405N": 0.136, "F410M": 0.137, "F430M": 0.145, "F444W": 0.145,
    "F460M": 0.155, "F466N": 0.158, "F470N": 0.160, "F480M": 0.162,
}


@dataclass(frozen=True)
class ApertureSet:
    """Radii [mosaic pixels] and corrections (×, to total flux) for each EE fraction.

    ``corrections`` are the means over sub-pixel phases. ``phase_fractions``
    (n_phase, n_phase, n_radii) float64, when present, holds the enclosed fraction for
    a source centred at phase ``(py, px)`` = ``(k + 0.5) / n_phase - 0.5`` pixels from
    a pixel centre: small apertures on a mosaic sampling the PSF at ~1 FWHM lose or
    gain a few per cent with the phase, so :meth:`corrections_at` interpolates it
    (periodic bilinear). ``fraction_sigma`` is the fractional uncertainty of each
    correction (the phase model's residual, see :func:`correction_uncertainty`);
    ``exposure_sigma`` the scatter of one exposure's enclosed fraction over its own
    sub-pixel phase (:func:`exposure_phase_sigma`); ``pixel_sigma`` (k, k) float64,
    when present, the same scatter per mosaic pixel about the source's pixel, as a
    fraction of the total flux (:func:`pixel_phase_sigma`, for
    :meth:`lost_data_sigma`).
    """

    ee: tuple[int, ...]
    radii: tuple[float, ...]
    corrections: tuple[float, ...]
    sigma: float
    phase_fractions: np.ndarray | None = field(default=None, repr=False, compare=False)
    fraction_sigma: tuple[float, ...] = ()
    exposure_sigma: tuple[float, ...] = ()
    pixel_sigma: np.ndarray | None = field(default=None, repr=False, compare=False)

    def total_sigma(self, n_exposures) -> np.ndarray:
        """Fractional uncertainty (n,) of the largest aperture's correction for sources
        covered by ``n_exposures`` (n,) exposures: ``fraction_sigma`` and the
        per-exposure pixel-phase scatter ``exposure_sigma`` / √N in quadrature (each
        exposure samples the undersampled PSF at its own sub-pixel phase, which the
        mosaic-pixel phase model cannot see)."""
        n = np.maximum(np.asarray(n_exposures, np.float64), 1.0)
        fs = self.fraction_sigma[-1] if self.fraction_sigma else 0.0
        es = self.exposure_sigma[-1] if self.exposure_sigma else 0.0
        return np.sqrt(fs**2 + es**2 / n)

    def lost_data_sigma(self, lost, n_exposures) -> np.ndarray:
        """Fractional total-flux uncertainty (n,) of sources whose mosaic pixels lost
        part of their exposures' weight (pixels flagged in some exposure).

        ``lost`` (n, k, k): fraction of the full drizzle weight missing in each mosaic
        pixel about the source's nearest pixel (k odd, centred; 0 = nothing lost);
        ``n_exposures`` (n,). Where an exposure is missing, a pixel holds the mean of
        the others, each sampling the undersampled PSF at its own sub-pixel phase, so
        the pixel deviates from the all-exposure mean that the corrections assume.
        With the pixel's per-exposure scatter s (``pixel_sigma``, a fraction of the
        total flux) and a lost weight fraction d of N equally weighted exposures, the
        deviation's variance is d · s² / (N (1 − d)) (d = 1/N: one exposure missing,
        s² / (N (N − 1))); pixels are summed as independent. 0 without
        ``pixel_sigma``.
        """
        lost = np.asarray(lost, np.float64)
        n_src = lost.shape[0]
        if self.pixel_sigma is None or n_src == 0:
            return np.zeros(n_src)
        s2 = np.asarray(self.pixel_sigma, np.float64) ** 2
        k, m = lost.shape[-1], s2.shape[0]
        if k > m:  # crop the cutouts to the map
            a = (k - m) // 2
            lost = lost[:, a:a + m, a:a + m]
        elif k < m:
            a = (m - k) // 2
            s2 = s2[a:a + k, a:a + k]
        d = np.clip(np.where(np.isfinite(lost), lost, 0.0), 0.0, 0.99)
        n = np.maximum(np.asarray(n_exposures, np.float64), 1.0).reshape(-1, 1, 1)
        return np.sqrt((d / (n * (1.0 - d)) * s2[None]).sum(axis=(1, 2)))

    def corrections_at(self, x, y) -> np.ndarray:
        """Corrections (n, n_radii) for sources at 0-based pixel positions ``x``, ``y`` (n,)."""
        x = np.atleast_1d(np.asarray(x, np.float64))
        y = np.atleast_1d(np.asarray(y, np.float64))
        if self.phase_fractions is None:
            return np.broadcast_to(np.asarray(self.corrections), (x.size, len(self.radii))).copy()
        t = self.phase_fractions
        n = t.shape[0]

        def index(v):  # periodic: grid nodes at (k + 0.5)/n - 0.5
            g = (np.where(np.isfinite(v), v - np.rint(v), 0.0) + 0.5) * n - 0.5
            k0 = np.floor(g).astype(int)
            return k0 % n, (k0 + 1) % n, g - k0

        x0, x1, fx = index(x)
        y0, y1, fy = index(y)
        fx, fy = fx[:, None], fy[:, None]
        frac = ((1 - fy) * ((1 - fx) * t[y0, x0] + fx * t[y0, x1])
                + fy * ((1 - fx) * t[y1, x0] + fx * t[y1, x1]))
        return 1.0 / frac


def psf_fwhm(filter_name: str) -> float:
    """PSF FWHM [arcsec] of a NIRCam filter (KeyError names the known filters)."""
    key = str(filter_name).upper()
    if key not in PSF_FWHM_ARCSEC:
        raise KeyError(f"no PSF FWHM for filter {filter_name!r}; known: "
                       f"{', '.join(PSF_FWHM_ARCSEC)}")
    return PSF_FWHM_ARCSEC[key]


def aperture_set(fwhm_arcsec: float, *, input_scale: float, output_scale: float,
                 pixfrac: float = 1.0, ee=(30, 50, 70)) -> ApertureSet:
    """Aperture radii for encircled-energy fractions on a drizzled mosaic.

    Parameters
    ----------
    fwhm_arcsec : float
        PSF FWHM [arcsec].
    input_scale, output_scale : float
        Detector and mosaic pixel scales [arcsec].
    pixfrac : float
        Drizzle pixfrac.
    ee : tuple of int
        Encircled-energy percentages.
    """
    sig2 = (fwhm_arcsec / 2.3548) ** 2 + (input_scale**2 * (1 + pixfrac**2)
                                          + output_scale**2) / 12.0
    sigma = np.sqrt(sig2) / output_scale
    fr = np.asarray(ee, np.float64) / 100.0
    radii = sigma * np.sqrt(-2.0 * np.log(1.0 - fr))
    psf_sigma = fwhm_arcsec / 2.3548 / output_scale
    boxes = (input_scale / output_scale, pixfrac * input_scale / output_scale)
    table = _measured_fractions(psf_sigma, boxes, radii)
    measured = table.mean(axis=(0, 1))
    # each exposure's own sub-pixel phase (see exposure_phase_sigma), on the same model
    scale = output_scale / input_scale
    det_psf = _gaussian_detector_psf(fwhm_arcsec / input_scale)
    exp_sigma = exposure_phase_sigma(det_psf, _OVERSAMPLE,
                                     radii=tuple(float(r) * scale for r in radii),
                                     drop=pixfrac, out_pixel=scale)
    return ApertureSet(tuple(int(e) for e in ee), tuple(float(r) for r in radii),
                       tuple(float(1.0 / f) for f in measured), float(sigma),
                       phase_fractions=table,
                       fraction_sigma=correction_uncertainty(table),
                       exposure_sigma=exp_sigma,
                       pixel_sigma=pixel_phase_sigma(det_psf, _OVERSAMPLE, drop=pixfrac,
                                                     out_pixel=scale))


_OVERSAMPLE = 8


def _gaussian_detector_psf(fwhm_pix: float, half: int = 8) -> np.ndarray:
    """Gaussian PSF of ``fwhm_pix`` input pixels integrated over an input pixel,
    sampled ``_OVERSAMPLE``× per input pixel over ±``half`` pixels (odd size, centred,
    summing to ``_OVERSAMPLE``², i.e. unit flux in :func:`exposure_phase_sigma`'s terms)."""
    from math import erf, sqrt

    n = 2 * half * _OVERSAMPLE + 1
    t = (np.arange(n) - (n - 1) / 2.0) / _OVERSAMPLE  # sample offsets [input pixels]
    s = fwhm_pix / 2.3548 * sqrt(2.0)
    cdf = np.vectorize(lambda v: 0.5 * (1.0 + erf(v / s)))
    prof = cdf(t + 0.5) - cdf(t - 0.5)  # 1-D pixel integral at each sample
    psf = np.outer(prof, prof)
    return psf * _OVERSAMPLE**2 / psf.sum()


def _profile_1d(sigma, boxes, centre, n, step=0.02):
    """Output-pixel integrals (n,) of a 1-D Gaussian ⊗ boxes centred at ``centre``."""
    half = n / 2.0 + 1.0
    t = np.arange(-half, half + step / 2, step)
    f = np.exp(-0.5 * ((t - (centre - (n - 1) / 2.0)) / sigma) ** 2)
    for width in boxes:
        k = max(int(round(width / step)), 1)
        f = np.convolve(f, np.ones(k) / k, mode="same")
    f /= f.sum()
    edges = np.arange(n + 1) - (n - 1) / 2.0 - 0.5
    cdf = np.concatenate([[0.0], np.cumsum(f)])
    return np.diff(np.interp(edges, t - step / 2, cdf[:-1]))


def _measured_fractions(sigma, boxes, radii, n_phases=8):
    """Fraction of the total flux in each exact-overlap circular aperture, per phase.

    Returns (n_phases, n_phases, n_radii) float64 for centres at phase
    ``(py, px)`` = ``(k + 0.5) / n_phases - 0.5`` pixels.
    """
    n = 2 * int(np.ceil(6 * sigma + max(radii))) + 9
    phases = (np.arange(n_phases) + 0.5) / n_phases - 0.5
    prof = [_profile_1d(sigma, boxes, (n - 1) / 2.0 + p, n) for p in phases]
    table = np.zeros((n_phases, n_phases, len(radii)))
    for j, py in enumerate(phases):
        for i, px in enumerate(phases):
            img = np.outer(prof[j], prof[i])
            centre = ((n - 1) / 2.0 + px, (n - 1) / 2.0 + py)
            table[j, i] = circle_sums(img, *centre, radii) / img.sum()
    return table


def circle_sums(image, cx, cy, radii) -> np.ndarray:
    """Exact-overlap sums (n_radii,) of ``image`` in circles of ``radii`` [pixels]
    about the 0-based position (``cx``, ``cy``); pixels outside the image count as 0."""
    from webbcal.algorithms.image3._photometry import circle_weights, cutouts

    radii = np.atleast_1d(np.asarray(radii, np.float64))
    xi, yi = int(np.rint(cx)), int(np.rint(cy))
    half = int(np.ceil(radii.max())) + 1
    cut = cutouts(np.asarray(image, np.float64), [xi], [yi], half)[0]
    w = circle_weights(np.full(radii.size, cx - xi), np.full(radii.size, cy - yi), radii, half)
    return (w * cut).sum(axis=(1, 2))


def correction_uncertainty(table, *, floor: float = 0.0) -> tuple[float, ...]:
    """Fractional uncertainty (per radius) of phase-interpolated aperture corrections.

    The bilinear interpolation residual, estimated as a quarter of the phase table's
    largest step between neighbouring nodes, and ``floor``, the PSF model's own
    uncertainty, in quadrature. Each exposure's own sub-pixel phase is a separate
    term (:func:`exposure_phase_sigma`, ÷ √N in :meth:`ApertureSet.total_sigma`).
    Centroid errors of S/N > 50 sources (< 0.05 px) change an aperture's enclosed
    flux only to second order and are left out.

    ``floor`` is 0 by default: the catalog's PSF (:func:`webbcal.simulate.psf_model`)
    is the one the simulator draws stars with, so the model has no error of its own
    there; real data need the reference PSF's error instead (a wavefront or colour
    mismatch of the ~90 % aperture's correction; the official APCORR files give none).
    The former 0.3 % floor stood in for two things that are not random PSF-model
    errors (2026-11-24, isolated S/N > 50 stars vs the simulator's truth, 90 %
    aperture): a common +0.19 % offset — corrections normalised to every sample of
    the PSF table instead of its stamp (:func:`stamp_flux`), now fixed — and, in
    F444W, flux errors that no error term should absorb (stars of S/N 60 – 120 1.0 %
    low, in the 70 – 90 % annulus; three stars 3 – 4σ off). Without the floor, with
    the exposure-phase and lost-data terms (:meth:`ApertureSet.lost_data_sigma`):
    ceers-pointing F200W, 153 stars, median ratio 1.000, χ² 1.13 (95 % for right
    errors: 0.79 – 1.24; was 1.002 / 0.65); ceers-mini F200W, 20 stars, 1.000 / 1.12
    (was 1.002 / 0.60); ceers-mini F444W, 61 stars, 0.999 / 1.77 (was 1.000 / 1.05;
    1.24 without the three). The remaining F200W excess is at the bright end and
    follows the mosaic's y (a ~0.25 % step between the two detector rows), a
    calibration difference rather than noise. The F444W flux errors were the
    catalog's sky (source wings; a 10-pixel source mask now) and dead pixels at
    three stars' peaks (flag bit 8): F444W now 1.001 / 1.12 (58 stars).
    """
    table = np.asarray(table, np.float64)
    out = []
    for k in range(table.shape[-1]):
        t = table[..., k]
        step = max(np.abs(np.diff(t, axis=0)).max(initial=0.0),
                   np.abs(np.diff(t, axis=1)).max(initial=0.0)) / t.mean()
        out.append(float(np.hypot(0.25 * step, floor)))
    return tuple(out)


def aperture_set_from_psf(psf_oversampled, oversample: int, *, input_scale: float,
                          output_scale: float, pixfrac: float = 1.0, ee=(30, 50, 70),
                          n_phases: int = 3) -> ApertureSet:
    """Aperture radii and corrections measured on a tabulated PSF.

    Parameters
    ----------
    psf_oversampled : ndarray (n, n)
        The detector PSF (already integrated over an input pixel) sampled
        ``oversample``× finer than input pixels, centred (e.g.
        :func:`webbcal.simulate.psf_model` ``.data``). Its total flux is that of its
        pixel stamp (:func:`stamp_flux`), the simulator's truth convention.
    oversample : int
    input_scale, output_scale : float
        Detector and mosaic pixel scales [arcsec].
    pixfrac : float
        Drizzle pixfrac.

    The PSF is convolved with the drizzle drop and the output pixel, sampled on the
    mosaic grid at several sub-pixel phases, and measured with exact-overlap circular
    apertures; each radius is where the mean encircled fraction reaches ``ee``.
    """
    from scipy.ndimage import map_coordinates, uniform_filter1d

    img = np.asarray(psf_oversampled, np.float64)
    total = stamp_flux(img, oversample)
    for width in (pixfrac * oversample, output_scale / input_scale * oversample):
        w = max(int(round(width)), 1)
        img = uniform_filter1d(uniform_filter1d(img, w, axis=0, mode="constant"), w, axis=1,
                               mode="constant")
    step = output_scale / input_scale * oversample  # oversampled samples per output pixel
    c = (img.shape[0] - 1) / 2.0
    n_out = int((img.shape[0] - 1) / step) - 2
    n_out -= 1 - n_out % 2
    k = np.arange(n_out) - (n_out - 1) / 2.0
    centre0 = (n_out - 1) / 2.0

    def sampled_at(px, py):
        yy, xx = np.broadcast_arrays((k[:, None] - py) * step + c, (k[None, :] - px) * step + c)
        out = map_coordinates(img, [yy.ravel(), xx.ravel()], order=1).reshape(yy.shape)
        return out * (output_scale / input_scale) ** 2 / total

    radii_grid = np.linspace(0.3, 0.45 * n_out, 120)
    curve = np.zeros(radii_grid.size)
    phases = (np.arange(n_phases) + 0.5) / n_phases - 0.5
    for px in phases:
        for py in phases:
            curve += circle_sums(sampled_at(px, py), centre0 + px, centre0 + py, radii_grid)
    curve /= n_phases**2
    curve = np.maximum.accumulate(curve)
    fr = np.asarray(ee, np.float64) / 100.0
    radii = np.interp(fr, curve, radii_grid)
    # enclosed fraction at the chosen radii per sub-pixel phase (see ApertureSet)
    n_table = 6
    tphases = (np.arange(n_table) + 0.5) / n_table - 0.5
    table = np.zeros((n_table, n_table, len(radii)))
    for j, py in enumerate(tphases):
        for i, px in enumerate(tphases):
            table[j, i] = circle_sums(sampled_at(px, py), centre0 + px, centre0 + py, radii)
    table *= fr / table.mean(axis=(0, 1))  # keep the phase-mean EE at its nominal value
    scale = output_scale / input_scale
    exp_sigma = exposure_phase_sigma(np.asarray(psf_oversampled, np.float64), oversample,
                                     radii=tuple(float(r) * scale for r in radii),
                                     drop=pixfrac, out_pixel=scale)
    return ApertureSet(tuple(int(e) for e in ee), tuple(float(r) for r in radii),
                       tuple(float(1.0 / f) for f in fr), float("nan"),
                       phase_fractions=table, fraction_sigma=correction_uncertainty(table),
                       exposure_sigma=exp_sigma,
                       pixel_sigma=pixel_phase_sigma(np.asarray(psf_oversampled, np.float64),
                                                     oversample, drop=pixfrac,
                                                     out_pixel=scale))


def stamp_flux(psf_oversampled, oversample: int) -> float:
    """Total flux of a tabulated PSF: the sum of its centred pixel stamp.

    The stamp samples the (pixel-integrated) PSF at the input-pixel centres, every
    ``oversample`` samples from the centre (index (n − 1) / 2), over the largest
    whole-pixel half-size that leaves a one-pixel margin, ``(n − 1) / 2 // oversample
    − 1`` pixels — :attr:`webbcal.simulate.psf.PSF.radius`, whose stamps the
    simulator normalises to unit sum and calls a star's true flux. Summing every
    sample instead (÷ oversample²) also counts the margin and the pixel-integration
    spill beyond the stamp: 1.0018 (F200W) / 1.0020 (F444W) for ``psf_model``, which
    made every aperture correction, hence every total flux, that much too high.

    Parameters
    ----------
    psf_oversampled : ndarray (n, n) float64
        Odd-sized, centred.
    oversample : int

    Returns
    -------
    float
        In the table's units × pixels (1.0 for ``psf_model``).
    """
    img = np.asarray(psf_oversampled, np.float64)
    c = (img.shape[0] - 1) // 2
    half = c // oversample - 1
    if half < 1:
        return float(img.sum() / oversample**2)
    lo, hi = c - half * oversample, c + half * oversample + 1
    return float(img[lo:hi:oversample, lo:hi:oversample].sum())


def exposure_phase_sigma(psf_oversampled, oversample: int, *, radii, drop: float = 1.0,
                         out_pixel: float = 1.0, n_out: int = 3,
                         n_in: int = 4) -> tuple[float, ...]:
    """Relative scatter of one exposure's enclosed fraction over its sub-pixel phase.

    One exposure samples the PSF at its own input-pixel phase; drizzling spreads each
    pixel's flux over a ``drop``-wide square, split among the mosaic pixels
    (``out_pixel`` wide) it overlaps, and the catalog sums the mosaic pixels in a
    circle about the star (exact overlap). For a fixed mosaic-pixel phase (whose mean
    effect the phase table of :class:`ApertureSet` corrects) the enclosed fraction
    still varies with the input phase — ~1 % for an undersampled PSF and a 90 %
    aperture — and the mosaic averages N exposures' values, so the total-flux
    correction is uncertain by this scatter / √N. Modelled exactly: the drizzled
    stamp is Oyᵀ V Ox with V the pixel-integrated PSF at the input pixel centres and
    O the 1-D drop/output-pixel overlaps.

    Parameters
    ----------
    psf_oversampled : ndarray (n, n) float64
        Pixel-integrated detector PSF sampled ``oversample``× per input pixel, centred
        (index (n − 1) / 2).
    oversample : int
    radii : sequence of float
        Aperture radii [input pixels].
    drop, out_pixel : float
        Drizzle drop size and mosaic pixel size [input pixels].
    n_out : int
        Mosaic-pixel phases per axis averaged over.
    n_in : int
        Input phases per axis (multiples of 1/``oversample``: exact samples, no
        interpolation).

    Returns
    -------
    tuple of float
        RMS over mosaic phases of std / mean over input phases, per radius.
    """
    from webbcal.algorithms.image3._photometry import circle_weights

    radii_out = np.asarray(radii, np.float64) / out_pixel
    out = np.zeros(len(radii_out))
    for pox, poy, stamps in _exposure_stamps(psf_oversampled, oversample, drop, out_pixel,
                                             None, n_out, n_in):
        n_o = stamps.shape[-1] // 2
        # circle about the star: the star sits at −po from the central mosaic pixel
        w = circle_weights(np.full(radii_out.size, -pox), np.full(radii_out.size, -poy),
                           radii_out, n_o)
        fr = np.einsum("pyx,ryx->pr", stamps, w)
        out += (fr.std(axis=0) / fr.mean(axis=0)) ** 2
    return tuple(float(v) for v in np.sqrt(out / n_out**2))


def pixel_phase_sigma(psf_oversampled, oversample: int, *, drop: float = 1.0,
                      out_pixel: float = 1.0, half: int = 6, n_out: int = 3,
                      n_in: int = 4) -> np.ndarray:
    """Per-pixel scatter of one exposure's drizzled star over its sub-pixel phase.

    The same drizzled stamps as :func:`exposure_phase_sigma` (one per input phase, at
    ``n_out`` × ``n_out`` mosaic phases); for each mosaic pixel within ``half`` of
    the star's pixel, the standard deviation over input phases as a fraction of the
    star's total flux (:func:`stamp_flux`), RMS over mosaic phases. For a
    well-sampled PSF it tends to 0; for NIRCam F200W at the native scale the central
    pixel's is ~0.7 % of the flux. Used by :meth:`ApertureSet.lost_data_sigma`.

    Returns
    -------
    ndarray (2·half + 1, 2·half + 1) float64
    """
    acc = np.zeros((2 * half + 1, 2 * half + 1))
    for _, _, stamps in _exposure_stamps(psf_oversampled, oversample, drop, out_pixel, half,
                                         n_out, n_in):
        acc += stamps.var(axis=0)
    return np.sqrt(acc / n_out**2)


def _exposure_stamps(psf_oversampled, oversample, drop, out_pixel, half_out, n_out, n_in):
    """Yield (pox, poy, stamps) per mosaic phase: stamps (n_in², 2·h + 1, 2·h + 1)
    float64 of one exposure's drizzled star at each input phase, as fractions of the
    total flux, h = ``half_out`` (None: all mosaic pixels the stamp reaches).

    The drizzled stamp is Oyᵀ V Ox with V the pixel-integrated PSF at the input pixel
    centres and O the 1-D drop/mosaic-pixel overlaps (÷ drop)."""
    psf = np.asarray(psf_oversampled, np.float64)
    c = (psf.shape[0] - 1) // 2
    half = int(c // oversample) - 1  # whole input pixels either side of the centre
    k = np.arange(-half, half + 1)
    step = max(oversample // n_in, 1)
    phases_in = np.arange(-(oversample // 2), oversample - oversample // 2, step)  # samples
    total = stamp_flux(psf, oversample)
    n_o = int(np.ceil((half + drop) / out_pixel)) + 1 if half_out is None else int(half_out)
    j = np.arange(-n_o, n_o + 1)

    def overlaps(ph, po):  # (input pixel, mosaic pixel) 1-D overlap / drop
        lo = np.maximum(k[:, None] + ph - drop / 2, (j[None, :] + po - 0.5) * out_pixel)
        hi = np.minimum(k[:, None] + ph + drop / 2, (j[None, :] + po + 0.5) * out_pixel)
        return np.clip(hi - lo, 0.0, None) / drop

    phases_out = (np.arange(n_out) + 0.5) / n_out - 0.5
    for poy in phases_out:
        for pox in phases_out:
            stamps = [overlaps(sy / oversample, poy).T
                      @ psf[c + k[:, None] * oversample + sy, c + k[None, :] * oversample + sx]
                      @ overlaps(sx / oversample, pox)
                      for sy in phases_in for sx in phases_in]
            yield pox, poy, np.asarray(stamps) / total
