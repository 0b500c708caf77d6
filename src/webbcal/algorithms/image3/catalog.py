"""Source detection and photometry on a mosaic (photutils), in the official catalog's terms.

Detection: the image (background-subtracted) is smoothed with a Gaussian of the PSF
FWHM, segmented at ``snr_threshold`` × the background noise with ``n_pixels``
connected pixels, and deblended (photutils ``detect_sources`` + ``deblend_sources``).
Measurement (photutils ``SourceCatalog`` and circular apertures): windowed centroids,
aperture fluxes at three radii (the official catalog uses the radii enclosing
30/50/70 % of the PSF energy) with aperture corrections to total, isophotal and Kron
fluxes, concentration indices and flags.

Fluxes are returned in the image's units × steradians per pixel when ``pixel_area_sr``
is given (MJy/sr → Jy with the factor 1e6), else in image units summed over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CatalogParams", "SourceTable", "measure_sources", "abmag"]


@dataclass(frozen=True)
class CatalogParams:
    """Detection and photometry settings (official ``source_catalog`` names where they exist)."""

    snr_threshold: float = 3.0
    npixels: int = 5
    deblend: bool = True
    kernel_fwhm: float = 2.0
    aperture_ee: tuple[int, int, int] = (30, 50, 70)
    aperture_radii: tuple[float, float, float] = (1.5, 2.5, 4.0)
    aperture_corrections: tuple[float, float, float] = (1.0, 1.0, 1.0)
    bkg_boxsize: int = 64


@dataclass(frozen=True)
class SourceTable:
    """Measured sources; every array has one entry per source.

    ``x``, ``y`` are 0-based mosaic pixels; fluxes in Jy when a pixel area was given;
    ``aper_flux`` / ``aper_flux_err`` are (n_sources, 3) for the three radii;
    ``flags`` bit 1 = touches the image edge or NaNs, bit 2 = blended (deblended parent).
    """

    label: np.ndarray
    x: np.ndarray
    y: np.ndarray
    aper_flux: np.ndarray
    aper_flux_err: np.ndarray
    aper_total_flux: np.ndarray
    aper_total_flux_err: np.ndarray
    isophotal_flux: np.ndarray
    isophotal_flux_err: np.ndarray
    kron_flux: np.ndarray
    kron_flux_err: np.ndarray
    concentration: np.ndarray
    flags: np.ndarray
    segmentation: np.ndarray = field(repr=False)
    background: float = 0.0
    background_rms: float = 0.0

    def __len__(self) -> int:
        return int(self.label.size)


def abmag(flux_jy):
    """AB magnitude of a flux in Jy (NaN for non-positive fluxes)."""
    f = np.asarray(flux_jy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, -2.5 * np.log10(f) + 8.9, np.nan)


def measure_sources(sci, err, *, params: CatalogParams = CatalogParams(),
                    pixel_area_sr: float | None = None, mask=None) -> SourceTable:
    """Detect, deblend and measure sources on a background-dominated image.

    Parameters
    ----------
    sci, err : ndarray (ny, nx) float32
        Image (e.g. MJy/sr) and its 1σ error; NaN pixels are masked.
    params : CatalogParams
    pixel_area_sr : float, optional
        Mosaic pixel solid angle [sr]; with it fluxes come out in Jy (MJy/sr input).
    mask : ndarray (ny, nx) bool, optional
        Extra pixels to ignore.
    """
    from astropy.convolution import convolve
    from astropy.stats import sigma_clipped_stats
    from photutils.aperture import CircularAperture, aperture_photometry
    from photutils.segmentation import (SourceCatalog, deblend_sources, detect_sources,
                                        make_2dgaussian_kernel)

    sci = np.asarray(sci, np.float64)
    err = np.asarray(err, np.float64)
    bad = ~np.isfinite(sci) | ~np.isfinite(err) | (err <= 0)
    if mask is not None:
        bad |= np.asarray(mask, bool)
    _, bkg, rms = sigma_clipped_stats(sci[~bad], sigma=3.0, maxiters=10)
    data = np.where(bad, 0.0, sci - bkg)
    errs = np.where(bad, np.nanmax(err[~bad]) if (~bad).any() else 1.0, err)

    size = 2 * int(np.ceil(2 * params.kernel_fwhm)) + 1
    kernel = make_2dgaussian_kernel(params.kernel_fwhm, size=size)
    smooth = convolve(data, kernel, mask=bad, normalize_kernel=True)
    threshold = params.snr_threshold * rms
    segm = detect_sources(smooth, threshold, params.npixels, mask=bad)
    if segm is None:
        return _empty(sci.shape, bkg, rms)
    parents = segm.data.copy()
    if params.deblend:
        segm = deblend_sources(smooth, segm, params.npixels, progress_bar=False)

    cat = SourceCatalog(data, segm, convolved_data=smooth, error=errs, mask=bad)
    x = np.asarray(cat.x_centroid_win, float)
    y = np.asarray(cat.y_centroid_win, float)
    fallback = ~np.isfinite(x) | ~np.isfinite(y)
    x[fallback] = np.asarray(cat.x_centroid, float)[fallback]
    y[fallback] = np.asarray(cat.y_centroid, float)[fallback]

    scale = pixel_area_sr * 1e6 if pixel_area_sr else 1.0
    positions = np.column_stack([x, y])
    aper_flux = np.zeros((len(x), 3))
    aper_err = np.zeros((len(x), 3))
    for k, radius in enumerate(params.aperture_radii):
        phot = aperture_photometry(data, CircularAperture(positions, r=radius), error=errs,
                                   mask=bad)
        aper_flux[:, k] = np.asarray(phot["aperture_sum"]) * scale
        aper_err[:, k] = np.asarray(phot["aperture_sum_err"]) * scale
    corr = params.aperture_corrections[-1]
    blended = _blended(parents, segm.data, np.asarray(cat.label))
    edge = ~np.isfinite(np.asarray(cat.kron_flux, float))
    ny, nx = sci.shape
    r = params.aperture_radii[-1]
    edge |= (x < r) | (y < r) | (x > nx - 1 - r) | (y > ny - 1 - r)
    flags = edge.astype(np.int32) | (blended.astype(np.int32) << 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        concentration = aper_flux[:, 2] / aper_flux[:, 0]
    return SourceTable(
        label=np.asarray(cat.label),
        x=x, y=y,
        aper_flux=aper_flux, aper_flux_err=aper_err,
        aper_total_flux=aper_flux[:, 2] * corr, aper_total_flux_err=aper_err[:, 2] * corr,
        isophotal_flux=np.asarray(cat.segment_flux, float) * scale,
        isophotal_flux_err=np.asarray(cat.segment_flux_err, float) * scale,
        kron_flux=np.asarray(cat.kron_flux, float) * scale,
        kron_flux_err=np.asarray(cat.kron_flux_err, float) * scale,
        concentration=concentration, flags=flags,
        segmentation=segm.data.astype(np.int32), background=float(bkg),
        background_rms=float(rms),
    )


def _blended(parents: np.ndarray, children: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """True for each child label whose parent segment was split into several sources."""
    on = children > 0
    pairs = np.unique(np.stack([parents[on], children[on]]), axis=1)  # (parent, child)
    parent_ids, n_children = np.unique(pairs[0], return_counts=True)
    split = dict(zip(parent_ids.tolist(), (n_children > 1).tolist()))
    parent_of = dict(zip(pairs[1].tolist(), pairs[0].tolist()))
    return np.array([split[parent_of[int(lab)]] for lab in labels], bool)


def _empty(shape, bkg, rms) -> SourceTable:
    z = np.zeros(0)
    return SourceTable(np.zeros(0, int), z, z, np.zeros((0, 3)), np.zeros((0, 3)), z, z, z, z,
                       z, z, z, np.zeros(0, np.int32), np.zeros(shape, np.int32),
                       float(bkg), float(rms))
