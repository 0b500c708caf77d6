"""The total-flux error model of the catalog (apcorr): the PSF table's flux convention,
the correction's own uncertainty and the lost-data term, checked by hand and by
Monte Carlo."""

import numpy as np
import pytest

from webbcal.algorithms.image3._photometry import lost_weight
from webbcal.algorithms.image3.apcorr import (
    ApertureSet, _gaussian_detector_psf, correction_uncertainty, exposure_phase_sigma,
    pixel_phase_sigma, stamp_flux)


def test_stamp_flux_sums_the_centred_pixel_stamp_only():
    o = 4
    psf = np.zeros((4 * o * 2 + 1,) * 2)  # half = 8 samples... c = 16, stamp half = 3 px
    c = (psf.shape[0] - 1) // 2
    psf[c, c] = 0.5  # on the central pixel's sample
    psf[c + 3 * o, c - 2 * o] = 0.25  # on a stamp pixel's sample (3 px, −2 px)
    psf[c + 1, c] = 7.0  # between samples: not a pixel-centre value
    psf[c + 4 * o, c] = 9.0  # in the one-pixel margin beyond the stamp
    assert stamp_flux(psf, o) == pytest.approx(0.75, abs=1e-15)


def test_stamp_flux_is_the_simulators_unit_flux():
    # psf_model normalises its pixel stamp to 1 (the truth flux); all its samples ÷ o²
    # hold 0.2 % more, which had biased every total flux high by as much
    from webbcal.simulate.psf import psf_model

    p = psf_model("F444W", 0.063, 4.4, radius_pix=8)
    assert stamp_flux(p.data, p.oversample) == pytest.approx(1.0, abs=1e-12)
    assert p.data.sum() / p.oversample**2 > 1.0005
    assert p.stamp(0.0, 0.0).sum() == pytest.approx(stamp_flux(p.data, p.oversample),
                                                    abs=1e-9)


def test_correction_uncertainty_has_no_floor_by_default():
    flat = np.full((4, 4, 2), 0.9)
    assert correction_uncertainty(flat) == (0.0, 0.0)
    assert correction_uncertainty(flat, floor=0.003) == pytest.approx((0.003, 0.003))
    # the interpolation term: a quarter of the largest neighbour step over the mean
    t = np.full((4, 4, 1), 0.5)
    t[1, 2, 0] = 0.52
    assert correction_uncertainty(t)[0] == pytest.approx(0.25 * 0.02 / t.mean(), rel=1e-12)


def _aps(pixel_sigma):
    return ApertureSet((90,), (5.0,), (1.1,), 1.0, fraction_sigma=(0.0,),
                       exposure_sigma=(0.0,), pixel_sigma=pixel_sigma)


def test_lost_data_sigma_by_hand():
    s = np.zeros((5, 5))
    s[2, 2] = 0.01
    s[2, 3] = 0.004
    aps = _aps(s)
    lost = np.zeros((3, 5, 5))
    lost[0, 2, 2] = 1 / 3  # one of 3 exposures lost at the centre: s / √(N (N − 1))
    lost[1, 2, 3] = 0.25  # a quarter of 4 at a side pixel
    lost[1, 2, 2] = 0.25
    # source 2: nothing lost
    got = aps.lost_data_sigma(lost, np.array([3, 4, 3]))
    assert got[0] == pytest.approx(0.01 / np.sqrt(6), rel=1e-12)
    assert got[1] == pytest.approx(np.sqrt((0.01**2 + 0.004**2) / 12), rel=1e-12)
    assert got[2] == 0.0
    # cutouts larger or smaller than the map are cropped about the centre
    big = np.pad(lost, ((0, 0), (2, 2), (2, 2)), constant_values=0.5)
    assert np.allclose(aps.lost_data_sigma(big, np.array([3, 4, 3])), got)
    assert np.allclose(aps.lost_data_sigma(lost[:, 1:4, 1:4], np.array([3, 4, 3])), got)
    assert np.all(_aps(None).lost_data_sigma(lost, np.array([3, 4, 3])) == 0)


def test_lost_data_variance_matches_monte_carlo():
    # N exposures' values of one pixel scatter by s about the PSF's mean; losing one
    # exposure there leaves the mean of the others: its deviation from the mean of
    # all has variance s² / (N (N − 1)) = d s² / (N (1 − d)) with d = 1 / N
    rng = np.random.default_rng(1)
    n, s = 4, 0.02
    v = rng.normal(0.3, s, (200_000, n))
    dev = v[:, 1:].mean(axis=1) - v.mean(axis=1)
    m = np.zeros((1, 1))
    m[0, 0] = s
    want = _aps(m).lost_data_sigma(np.full((1, 1, 1), 1 / n), np.array([n]))[0]
    assert dev.std() == pytest.approx(want, rel=0.01)


def test_pixel_phase_sigma_vanishes_for_a_well_sampled_psf():
    # drizzling one exposure (pixfrac 1, same scale) interpolates linearly between its
    # pixel samples: the error is second order, ½ φ(1 − φ) P'' per axis, so the
    # scatter over the phase φ falls as peak / σ² ∝ FWHM⁻⁴ once the PSF is sampled;
    # an undersampled (NIRCam SW-like) core scatters by % of the flux, symmetrically
    def peak(fwhm):
        return pixel_phase_sigma(_gaussian_detector_psf(fwhm, half=12), 8, half=4)

    wide, wider, narrow = peak(5.0), peak(8.0), peak(1.2)
    assert wide.shape == narrow.shape == (9, 9)
    assert wide.max() / wider.max() == pytest.approx((8.0 / 5.0) ** 4, rel=0.15)
    assert narrow.max() > 0.02
    assert np.unravel_index(narrow.argmax(), narrow.shape) == (4, 4)
    assert np.allclose(narrow, narrow.T) and np.allclose(narrow, narrow[::-1, ::-1])


def test_pixel_scatter_sums_no_lower_than_the_aperture_scatter():
    # the aperture's enclosed flux is the sum of its pixels: with the pixels' scatter
    # positively or negatively correlated, its scatter stays below Σ s (triangle
    # inequality); the 90 % aperture's is far below (flux moves between pixels)
    psf = _gaussian_detector_psf(1.2, half=10)
    m = pixel_phase_sigma(psf, 8, half=8)
    big = exposure_phase_sigma(psf, 8, radii=(4.0,))[0]
    assert 0 < big < m.sum() / 20


def test_lost_weight_finds_the_dip():
    w = np.full((40, 40), 2.0, np.float32)
    w[20, 21] = 1.5  # 25 % lost right of the source
    w[22, 20] = 1.99  # 0.5 %: drizzle ripple, not lost data
    w[5, 5] = 0.0  # far away
    lost = lost_weight(w, np.array([20.2]), np.array([19.8]), 3)
    assert lost.shape == (1, 7, 7)
    assert lost[0, 3, 4] == pytest.approx(0.25)
    assert np.count_nonzero(lost) == 1


def test_cache_keeps_pixel_sigma(tmp_path):
    from webbcal.algorithms.image3.apcorr import aperture_set
    from webbcal.steps.image3.source_catalog import cached_aperture_set

    def compute():
        return aperture_set(0.066, input_scale=0.031, output_scale=0.031, ee=(30, 50, 70, 90))

    key = {"filter": "F200W", "ee": [30, 50, 70, 90]}
    first = cached_aperture_set(key, compute, cache_dir=tmp_path)
    second = cached_aperture_set(key, lambda: None, cache_dir=tmp_path)  # from disk
    assert first.pixel_sigma is not None and first.pixel_sigma.max() > 0.005
    assert np.array_equal(first.pixel_sigma, second.pixel_sigma)


def test_measure_sources_adds_the_lost_data_term_only_where_weight_was_lost():
    from webbcal.algorithms.image3.apcorr import aperture_set
    from webbcal.algorithms.image3.catalog import CatalogParams, measure_sources

    rng = np.random.default_rng(3)
    n = 96
    aps = aperture_set(0.066, input_scale=0.031, output_scale=0.031, ee=(30, 50, 70, 90))
    yy, xx = np.mgrid[:n, :n]
    s = aps.sigma
    star = 2000.0 * np.exp(-((xx - 40.3) ** 2 + (yy - 50.6) ** 2) / (2 * s * s)) / (2 * np.pi * s * s)
    sci = (star + rng.normal(0, 1.0, (n, n))).astype(np.float32)
    err = np.ones((n, n), np.float32)
    p = CatalogParams(npixels=5, bkg_boxsize=0, empty_apertures=False, drizzle_drop=1.0,
                      input_step=1.0, aperture_radii=aps.radii)
    cov = np.full((n, n), 3, np.int16)
    flat = np.full((n, n), 4.0, np.float32)
    dip = flat.copy()
    dip[51, 40] = 4.0 * (1 - 1 / 3)  # one of three exposures lost in the core pixel
    base = measure_sources(sci, err, params=p, apertures=aps, coverage=cov)
    same = measure_sources(sci, err, params=p, apertures=aps, coverage=cov, weight=flat)
    lost = measure_sources(sci, err, params=p, apertures=aps, coverage=cov, weight=dip)
    assert len(base) == 1
    assert same.aper_total_flux_err[0] == base.aper_total_flux_err[0]
    # the added fraction, in quadrature, is the map's value there over √(N (N − 1))
    c = aps.pixel_sigma.shape[0] // 2  # the star (40.3, 50.6) sits on pixel (40, 51)
    sig = aps.pixel_sigma[c, c]
    want = np.hypot(base.aper_total_flux_err[0], base.aper_total_flux[0] * sig / np.sqrt(6))
    assert lost.aper_total_flux_err[0] == pytest.approx(want, rel=1e-6)
    assert lost.aper_total_flux_err[0] > 1.05 * base.aper_total_flux_err[0]
