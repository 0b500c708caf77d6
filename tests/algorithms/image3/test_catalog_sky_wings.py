"""The catalog's sky must not see the wings of detected sources (issue 6, F444W).

On the ceers-mini F444W mosaic, with the detected sources grown by 3 pixels, the sky
the catalog subtracted sat 0.10 σ per pixel above the simulator's true sky: the PSF
and galaxy light beyond the segments' 3σ isophote. Over the ~100 pixels of a 90 %
aperture, isolated S/N ~100 stars came out ~1 % low. Grown by 10 pixels (the default)
the bias is 0.024 σ. Separately, a pixel lost at a star's peak in one exposure biases
its drizzled flux low (flag bit 8). Both are rebuilt here on small images.
"""

import numpy as np

from webbcal.algorithms.image3.catalog import CatalogParams, core_loss, measure_sources

SKY, NOISE = 0.3, 0.01


def _moffat(img, x0, y0, flux, alpha, beta=2.0, half=40):
    """Add a Moffat profile (sampled at pixel centres, ±``half`` px) in place; β = 2
    puts 1 / (1 + (r/α)²) of the flux beyond r, so wings carry much of it."""
    ya, xa = max(int(y0) - half, 0), max(int(x0) - half, 0)
    y, x = np.mgrid[ya:min(int(y0) + half + 1, img.shape[0]),
                    xa:min(int(x0) + half + 1, img.shape[1])]
    r2 = ((x - x0) ** 2 + (y - y0) ** 2) / alpha**2
    img[y, x] += flux * (beta - 1) / (np.pi * alpha**2) * (1 + r2) ** -beta


def _field(seed=5):
    """25 faint stars (Gaussian σ 1.3 px, flux 10: S/N ~100 in r = 6) at least 40 px
    from 200 bright, wide-winged sources (Moffat α 1.5 px, β 2: 1.3 % of the flux
    beyond 13 px; flux 30–120) on a 400² sky."""
    rng = np.random.default_rng(seed)
    shape = (400, 400)
    img = np.full(shape, SKY)
    xs = np.linspace(40, 360, 5) + 0.3
    stars = [(x, y + 0.2) for y in xs for x in xs]
    sx, sy = np.array([s[0] for s in stars]), np.array([s[1] for s in stars])
    n = 0
    while n < 200:
        x, y = rng.uniform(0, 400), rng.uniform(0, 400)
        if np.min(np.hypot(sx - x, sy - y)) < 40:
            continue
        _moffat(img, x, y, rng.uniform(30, 120), 1.5)
        n += 1
    yy, xx = np.mgrid[0:400, 0:400]
    for x, y in stars:
        img += 10.0 / (2 * np.pi * 1.3**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.3**2))
    img += rng.normal(0, NOISE, shape)
    return img.astype(np.float32), np.full(shape, NOISE, np.float32), stars


def test_source_mask_grow_keeps_wings_out_of_the_sky():
    sci, err, stars = _field()
    base = dict(aperture_radii=(2.0, 3.5, 6.0), bkg_boxsize=100, npixels=9)
    ratio, bkg = {}, {}
    for grow in (3, CatalogParams().source_mask_grow):
        cat = measure_sources(sci, err, params=CatalogParams(**base, source_mask_grow=grow))
        k = [int(np.argmin(np.hypot(cat.x_win - x, cat.y_win - y))) for x, y in stars]
        # r = 6 holds 1 − exp(−6²/2/1.3²) ≈ 1 − 2e−5 of a star's Gaussian
        ratio[grow] = float(np.median(cat.aper_total_flux[k] / 10.0))
        bkg[grow] = (cat.background - SKY) / NOISE
    print(f"sky bias [σ] / median star ratio: grow 3 {bkg[3]:+.3f} / {ratio[3]:.4f}, "
          f"grow 10 {bkg[10]:+.3f} / {ratio[10]:.4f}")
    assert CatalogParams().source_mask_grow == 10
    # measured: grow 3 +0.115 σ / 0.988, grow 10 +0.037 σ / 0.997; hand check: 0.115 σ
    # × 0.01 × 113 pixels of the r = 6 aperture = 0.013, 1.3 % of a star's 10
    assert bkg[3] > 0.09  # the bias this guards against: wings beyond 3 px
    assert ratio[3] < 0.991
    assert abs(bkg[10]) < 0.05 and bkg[10] < bkg[3] / 2.5
    assert abs(ratio[10] - 1) < 0.005


def test_core_loss_flags_lost_weight_at_the_peak_only():
    wht = np.full((60, 60), 3.0, np.float32)
    wht[30, 30] = 2.0  # one of three exposures lost this mosaic pixel: 1/3 lost
    wht[10, 40] = 2.7  # 0.1 lost: at the threshold, not above
    x = np.array([30.2, 31.4, 32.6, 40.0, 15.0, np.nan])
    y = np.array([29.8, 30.4, 30.0, 10.0, 45.0, 20.0])
    # nearest pixels (30,30), (31,30): the lost pixel in the 3×3; (33,30): 3 px away
    assert core_loss(wht, x, y).tolist() == [True, True, False, False, False, False]
    assert core_loss(wht, np.zeros(0), np.zeros(0)).shape == (0,)


def test_measure_sources_sets_flag_8_where_the_peak_lost_weight():
    rng = np.random.default_rng(2)
    shape = (100, 140)
    img = np.full(shape, SKY)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    stars = [(40.3, 50.2), (100.6, 50.7)]
    for x, y in stars:
        img += 20.0 / (2 * np.pi * 1.5**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 4.5)
    img = (img + rng.normal(0, NOISE, shape)).astype(np.float32)
    wht = np.full(shape, 3.0, np.float32)
    wht[50:52, 40:42] = 2.5  # the first star's peak lost part of one exposure
    params = CatalogParams(aperture_radii=(1.5, 2.5, 4.0))
    cat = measure_sources(img, np.full(shape, NOISE, np.float32), params=params, weight=wht)
    k = [int(np.argmin(np.hypot(cat.x_win - x, cat.y_win - y))) for x, y in stars]
    assert [int(v) for v in cat.flags[k] & 8] == [8, 0]
    plain = measure_sources(img, np.full(shape, NOISE, np.float32), params=params)
    assert not (plain.flags & 8).any()  # no weight map: nothing to say
