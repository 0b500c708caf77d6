"""Source catalog: positions and fluxes of known Gaussian sources, blends, magnitudes."""

import numpy as np

from webbcal.algorithms.image3.catalog import CatalogParams, abmag, measure_sources


def _scene(rng, sources, shape=(200, 200), sigma=1.5, noise=0.01, sky=0.3):
    y, x = np.indices(shape)
    img = np.full(shape, sky)
    for (x0, y0, flux) in sources:
        img += flux / (2 * np.pi * sigma**2) * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    img += rng.normal(0, noise, shape)
    return img.astype(np.float32), np.full(shape, noise, np.float32)


def test_positions_and_total_fluxes_of_isolated_stars():
    rng = np.random.default_rng(2)
    truth = [(50.3, 60.7, 40.0), (140.6, 45.2, 25.0), (100.1, 150.9, 60.0)]
    sci, err = _scene(rng, truth)
    r = 7.0  # 4.7σ: encloses 99.99 % of a Gaussian
    cat = measure_sources(sci, err, params=CatalogParams(aperture_radii=(2.0, 3.5, r)))
    assert len(cat) == 3
    for (x0, y0, flux) in truth:
        k = np.argmin(np.hypot(cat.x_win - x0, cat.y_win - y0))
        assert np.hypot(cat.x_win[k] - x0, cat.y_win[k] - y0) < 0.05  # windowed
        assert np.hypot(cat.x[k] - x0, cat.y[k] - y0) < 0.05  # official: segment moment
        assert abs(cat.aper_total_flux[k] / flux - 1) < 0.01
        assert cat.aper_flux[k, 0] < cat.aper_flux[k, 1] < cat.aper_flux[k, 2]
        assert abs(cat.kron_flux[k] / flux - 1) < 0.05
    assert abs(cat.background - 0.3) < 1e-3
    assert not (cat.flags & 2).any()


def test_deblends_a_close_pair_and_flags_it():
    rng = np.random.default_rng(5)
    sci, err = _scene(rng, [(100, 100, 50.0), (106, 100, 50.0), (40, 40, 30.0)])
    cat = measure_sources(sci, err)
    assert len(cat) == 3
    pair = np.hypot(cat.x - 103, cat.y - 100) < 5
    assert pair.sum() == 2 and (cat.flags[pair] & 2).all() and not (cat.flags[~pair] & 2).any()


def test_pixel_area_converts_to_jansky_and_abmag():
    rng = np.random.default_rng(1)
    sci, err = _scene(rng, [(100, 100, 40.0)])
    area = 2.1e-14
    cat = measure_sources(sci, err, pixel_area_sr=area,
                          params=CatalogParams(aperture_radii=(2.0, 3.5, 7.0)))
    assert abs(cat.aper_total_flux[0] / (40.0 * area * 1e6) - 1) < 0.01
    assert abs(abmag(3631.0) - 0.0) < 1e-3 and np.isnan(abmag(-1.0))


def test_blank_image_gives_an_empty_catalog():
    rng = np.random.default_rng(0)
    sci = rng.normal(0, 1, (64, 64)).astype(np.float32)
    cat = measure_sources(sci, np.ones_like(sci), params=CatalogParams(snr_threshold=10))
    assert len(cat) == 0 and cat.segmentation.shape == (64, 64)


def test_drizzle_noise_correlation_hand_values():
    """Square kernel, pixfrac 1, same scale: an output pixel mixes two inputs per axis
    with weights a, 1−a; phase-averaged var 2/3, neighbour cov 1/6 → ρ(1) = 1/4."""
    from webbcal.algorithms.image3._photometry import drizzle_noise_correlation

    rho = drizzle_noise_correlation(1.0, 1.0)
    assert abs(rho[0] - 1) < 1e-12 and abs(rho[1] - 0.25) < 0.005 and abs(rho[2]) < 1e-9
    assert np.allclose(drizzle_noise_correlation(0.0, 1.0)[1:], 0.0)  # point kernel


def _shifted(rng, shape, a, b):
    """White noise (σ=1) resampled onto a grid shifted by (a, b) pixels: square kernel."""
    img = rng.normal(0, 1, (shape[0] + 1, shape[1] + 1))
    return ((1 - a) * (1 - b) * img[:-1, :-1] + a * (1 - b) * img[:-1, 1:]
            + (1 - a) * b * img[1:, :-1] + a * b * img[1:, 1:])


def test_aperture_errors_match_the_scatter_of_drizzled_noise():
    """Aperture sums over drizzled noise scatter as the catalog's errors say (±8 %),
    while ignoring the correlation would underestimate them by ≥ 25 %."""
    from webbcal.algorithms.image3._photometry import (ApertureTable, aperture_variance_factor,
                                                       drizzle_noise_correlation)

    rng = np.random.default_rng(3)
    table = ApertureTable(3.0)
    factor = aperture_variance_factor(table, drizzle_noise_correlation(1.0, 1.0))
    sums, preds = [], []
    for _ in range(12):
        a, b = rng.random(2)
        img = _shifted(rng, (200, 200), a, b)
        var = np.full(img.shape, (a**2 + (1 - a) ** 2) * (b**2 + (1 - b) ** 2))  # per-pixel
        x = rng.uniform(10, 190, 150)
        y = rng.uniform(10, 190, 150)
        f, v, _ = table.sums(img, var, x, y)
        sums.append(f)
        preds.append(np.sqrt(v * factor))
    ratio = np.std(np.concatenate(sums)) / np.sqrt(np.mean(np.concatenate(preds) ** 2))
    assert abs(ratio - 1) < 0.08
    assert factor > 1.5


def test_phase_dependent_corrections_interpolate_the_table():
    from webbcal.algorithms.image3.apcorr import aperture_set

    ap = aperture_set(0.066, input_scale=0.0311, output_scale=0.0311)
    t = ap.phase_fractions
    n = t.shape[0]
    node = (np.arange(n) + 0.5) / n - 0.5
    c = ap.corrections_at(10 + node[2], 20 + node[5])
    assert np.allclose(c[0], 1 / t[5, 2])
    # periodic: phase +0.5 and −0.5 are the same point; centred sources lose less
    assert np.allclose(ap.corrections_at(3.5, 4.0), ap.corrections_at(2.5, 4.0))
    assert ap.corrections_at(3.0, 4.0)[0, 2] < ap.corrections_at(3.5, 4.5)[0, 2]
    assert all(0 < s < 0.05 for s in ap.fraction_sigma)


def _pixel_integrated_gaussian(sigma, oversample=8, half=12):
    """A Gaussian PSF integrated over one input pixel, sampled ``oversample``× per pixel."""
    from scipy.special import erf

    t = (np.arange(2 * half * oversample + 1) - half * oversample) / oversample
    s2 = np.sqrt(2.0) * sigma
    prof = 0.5 * (erf((t + 0.5) / s2) - erf((t - 0.5) / s2))
    return np.outer(prof, prof)


def _brute_force_phase_scatter(sigma, r, n_trials=96, seed=0):
    """Independent check of :func:`exposure_phase_sigma` (drop = mosaic pixel = one input
    pixel): drizzle a pixel-integrated Gaussian sampled at random input phases onto a
    mosaic grid at a fixed phase, sum an exact circle about the star, and return the
    relative scatter over input phases (RMS over a few mosaic phases)."""
    from scipy.special import erf

    from webbcal.algorithms.image3._photometry import circle_weights

    k = np.arange(-9, 10)
    rng = np.random.default_rng(seed)

    def over(ph, po):  # 1-D overlap of input pixel k (phase ph) with mosaic pixel j
        lo = np.maximum(k[:, None] + ph - 0.5, k[None, :] + po - 0.5)
        hi = np.minimum(k[:, None] + ph + 0.5, k[None, :] + po + 0.5)
        return np.clip(hi - lo, 0, None)

    def prof(ph):
        s2 = np.sqrt(2.0) * sigma
        return 0.5 * (erf((k + ph + 0.5) / s2) - erf((k + ph - 0.5) / s2))

    out = []
    for po in ((0.0, 0.0), (0.3, -0.2), (-0.45, 0.4)):
        w = circle_weights([-po[0]], [-po[1]], r, 9)[0]
        fr = []
        for _ in range(n_trials):
            ph = rng.uniform(-0.5, 0.5, 2)
            img = np.outer(prof(ph[1]) @ over(ph[1], po[1]), prof(ph[0]) @ over(ph[0], po[0]))
            fr.append((w * img).sum())
        out.append(np.std(fr) / np.mean(fr))
    return float(np.sqrt(np.mean(np.square(out))))


def test_exposure_phase_scatter_matches_a_brute_force_drizzle():
    """One exposure's enclosed flux within r depends on its own sub-pixel phase even
    at a fixed mosaic-pixel phase (~1 % for NIRCam SW and a 90 % aperture): the model
    agrees with an independent drizzle simulation, and a well-sampled PSF hardly
    shows it."""
    from webbcal.algorithms.image3.apcorr import exposure_phase_sigma

    sigma = 2.1 / 2.3548  # F200W at the native scale: FWHM 2.1 px
    got = exposure_phase_sigma(_pixel_integrated_gaussian(sigma), 8, radii=(2.2, 2.7))
    want = [_brute_force_phase_scatter(sigma, r) for r in (2.2, 2.7)]
    assert 0.008 < got[0] < 0.02 and got[1] < got[0]
    assert np.allclose(got, want, rtol=0.25)
    wide = exposure_phase_sigma(_pixel_integrated_gaussian(2.5), 8, radii=(8.0,))[0]
    assert wide < 1e-3


def test_total_sigma_adds_the_exposure_term_over_root_n():
    from webbcal.algorithms.image3.apcorr import ApertureSet

    ap = ApertureSet((30, 50, 70), (1.0, 1.5, 2.0), (3.3, 2.0, 1.43), 1.0,
                     fraction_sigma=(0.0, 0.0, 0.003), exposure_sigma=(0.0, 0.0, 0.02))
    got = ap.total_sigma(np.array([1, 4, 0]))
    assert np.allclose(got, [np.hypot(0.003, 0.02), np.hypot(0.003, 0.01),
                             np.hypot(0.003, 0.02)])


def test_a_star_with_a_masked_core_keeps_its_centroid():
    """A bright star whose core pixels are NaN in the mosaic (lost in every exposure):
    the windowed centroid alone locks onto the hole's rim; the segment moment holds."""
    rng = np.random.default_rng(4)
    x0, y0 = 100.4, 90.7
    sci, err = _scene(rng, [(x0, y0, 200.0)], sigma=2.0)
    sci[90:92, 101:103] = np.nan  # two pixels right of the peak, as on ceers-mini F200W
    cat = measure_sources(sci, err, params=CatalogParams(aperture_radii=(2.0, 3.5, 8.0)))
    assert len(cat) == 1
    assert np.hypot(cat.x_win[0] - x0, cat.y_win[0] - y0) < 0.1
    assert cat.flags[0] & 1  # masked pixels in the aperture
