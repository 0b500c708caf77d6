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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PSF_FWHM_ARCSEC", "ApertureSet", "psf_fwhm", "aperture_set", "aperture_set_from_psf"]

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
    """Radii [mosaic pixels] and corrections (×, to total flux) for each EE fraction."""

    ee: tuple[int, ...]
    radii: tuple[float, ...]
    corrections: tuple[float, ...]
    sigma: float


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
    measured = _measured_fractions(psf_sigma, boxes, radii)
    return ApertureSet(tuple(int(e) for e in ee), tuple(float(r) for r in radii),
                       tuple(float(1.0 / f) for f in measured), float(sigma))


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


def _measured_fractions(sigma, boxes, radii, n_phases=4):
    """Mean fraction of the total flux in each exact-overlap circular aperture."""
    from photutils.aperture import CircularAperture, aperture_photometry

    n = 2 * int(np.ceil(6 * sigma + max(radii))) + 9
    fracs = np.zeros(len(radii))
    phases = (np.arange(n_phases) + 0.5) / n_phases - 0.5
    for px in phases:
        for py in phases:
            cx, cy = (n - 1) / 2.0 + px, (n - 1) / 2.0 + py
            img = np.outer(_profile_1d(sigma, boxes, cy, n), _profile_1d(sigma, boxes, cx, n))
            for k, r in enumerate(radii):
                phot = aperture_photometry(img, CircularAperture((cx, cy), r=r))
                fracs[k] += float(phot["aperture_sum"][0]) / img.sum()
    return fracs / n_phases**2


def aperture_set_from_psf(psf_oversampled, oversample: int, *, input_scale: float,
                          output_scale: float, pixfrac: float = 1.0, ee=(30, 50, 70),
                          n_phases: int = 3) -> ApertureSet:
    """Aperture radii and corrections measured on a tabulated PSF.

    Parameters
    ----------
    psf_oversampled : ndarray (n, n)
        The detector PSF (already integrated over an input pixel) sampled
        ``oversample``× finer than input pixels, centred, summing to the total flux
        convention (e.g. :func:`webbcal.simulate.psf_model` ``.data``).
    oversample : int
    input_scale, output_scale : float
        Detector and mosaic pixel scales [arcsec].
    pixfrac : float
        Drizzle pixfrac.

    The PSF is convolved with the drizzle drop and the output pixel, sampled on the
    mosaic grid at several sub-pixel phases, and measured with exact-overlap circular
    apertures; each radius is where the mean encircled fraction reaches ``ee``.
    """
    from photutils.aperture import CircularAperture, aperture_photometry
    from scipy.ndimage import map_coordinates, uniform_filter1d

    img = np.asarray(psf_oversampled, np.float64)
    total = img.sum() / oversample**2
    for width in (pixfrac * oversample, output_scale / input_scale * oversample):
        w = max(int(round(width)), 1)
        img = uniform_filter1d(uniform_filter1d(img, w, axis=0, mode="constant"), w, axis=1,
                               mode="constant")
    step = output_scale / input_scale * oversample  # oversampled samples per output pixel
    c = (img.shape[0] - 1) / 2.0
    n_out = int((img.shape[0] - 1) / step) - 2
    n_out -= 1 - n_out % 2
    radii_grid = np.linspace(0.3, 0.45 * n_out, 120)
    curve = np.zeros(radii_grid.size)
    phases = (np.arange(n_phases) + 0.5) / n_phases - 0.5
    k = np.arange(n_out) - (n_out - 1) / 2.0
    for px in phases:
        for py in phases:
            yy = (k[:, None] - py) * step + c
            xx = (k[None, :] - px) * step + c
            yy, xx = np.broadcast_arrays(yy, xx)
            sampled = map_coordinates(img, [yy.ravel(), xx.ravel()], order=1).reshape(yy.shape)
            sampled *= (output_scale / input_scale) ** 2 / total
            centre = ((n_out - 1) / 2.0 + px, (n_out - 1) / 2.0 + py)
            phot = aperture_photometry(sampled, [CircularAperture(centre, r=r)
                                                 for r in radii_grid])
            curve += np.array([float(phot[f"aperture_sum_{j}"][0])
                               for j in range(radii_grid.size)])
    curve /= n_phases**2
    curve = np.maximum.accumulate(curve)
    fr = np.asarray(ee, np.float64) / 100.0
    radii = np.interp(fr, curve, radii_grid)
    return ApertureSet(tuple(int(e) for e in ee), tuple(float(r) for r in radii),
                       tuple(float(1.0 / f) for f in fr), float("nan"))
