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
        k = np.argmin(np.hypot(cat.x - x0, cat.y - y0))
        assert np.hypot(cat.x[k] - x0, cat.y[k] - y0) < 0.05
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
