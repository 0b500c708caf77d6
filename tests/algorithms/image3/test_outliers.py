"""Outlier detection: median of singles, blot, thresholds (hand-checkable cases)."""

import numpy as np

from webbcal.algorithms.image3.outliers import (OutlierParams, abs_derivative, blot,
                                                flag_outliers, median_of_singles)


def test_median_ignores_low_weight_and_nan_pixels():
    sci = np.array([[[1.0, 5.0]], [[2.0, np.nan]], [[100.0, 7.0]]], np.float32)
    wht = np.array([[[1.0, 1.0]], [[1.0, 1.0]], [[0.1, 1.0]]], np.float32)  # 3rd weak at px 0
    med = median_of_singles(sci, wht, maskpt=0.7, median_weights=np.ones(3))
    assert med[0, 0] == 1.5          # 100 excluded by weight
    assert med[0, 1] == 6.0          # NaN excluded
    none = median_of_singles(sci, np.zeros_like(wht), maskpt=0.7, median_weights=np.ones(3))
    assert np.isnan(none).all()


def test_abs_derivative_of_a_ramp_and_a_spike():
    img = np.zeros((5, 5), np.float32); img[2, 2] = 10
    d = abs_derivative(img)
    assert d[2, 2] == 10 and d[1, 2] == 10 and d[2, 1] == 10 and d[0, 0] == 0
    ramp = np.tile(np.arange(6, dtype=np.float32) * 3, (4, 1))
    assert np.all(abs_derivative(ramp) == 3)


def test_blot_recovers_a_smooth_image_through_a_shift():
    y, x = np.indices((60, 60), dtype=np.float64)
    median = (100 + 0.5 * x + 0.2 * y).astype(np.float32)
    pixmap = np.stack([x[5:45, 5:45] + 3.25, y[5:45, 5:45] + 2.5], axis=-1)
    out = blot(median, pixmap)
    expected = 100 + 0.5 * pixmap[..., 0] + 0.2 * pixmap[..., 1]
    assert np.max(np.abs(out - expected)) < 1e-3


def test_blot_matches_the_drizzle_package_poly5():
    """Our numba poly5 blot = drizzle's ``blot_image`` (interp='poly5') on a star."""
    from drizzle.resample import blot_image

    y, x = np.indices((80, 90), dtype=np.float64)
    img = (0.3 + 50 * np.exp(-0.5 * ((x - 40.3) ** 2 + (y - 37.8) ** 2) / 1.1**2))
    yy, xx = np.indices((60, 70), dtype=np.float64)
    t = np.radians(3.0)
    pm = np.stack([10.2 + np.cos(t) * xx - np.sin(t) * yy,
                   8.7 + np.sin(t) * xx + np.cos(t) * yy], axis=-1)
    ours = blot(img.astype(np.float32), pm, interp="poly5")
    ref = blot_image(img.astype(np.float32), pm, iscale=1.0)
    assert np.max(np.abs(ours - ref)) < 1e-4 * 50


def test_linear_blot_matches_the_drizzle_package_linear():
    """The default (official) blot = drizzle's ``blot_image(interp='linear')``,
    edges included: off the image (x < 0 or x >= nx) NaN where drizzle fills."""
    from drizzle.resample import blot_image

    y, x = np.indices((50, 60), dtype=np.float64)
    img = (0.3 + 50 * np.exp(-0.5 * ((x - 30.3) ** 2 + (y - 27.8) ** 2) / 1.1**2))
    img = img.astype(np.float32)
    yy, xx = np.indices((56, 66), dtype=np.float64)
    t = np.radians(2.0)
    pm = np.stack([-3.1 + np.cos(t) * xx - np.sin(t) * yy,
                   -2.7 + np.sin(t) * xx + np.cos(t) * yy], axis=-1)
    ours = blot(img, pm)
    ref = np.full(pm.shape[:2], -999.0, np.float32)
    blot_image(img, pm, iscale=1.0, interp="linear", out_img=ref, fillval=-999.0)
    off = ref == -999.0
    assert off.sum() > 100 and np.isnan(ours[off]).all()
    assert np.max(np.abs(ours[~off] - ref[~off])) < 1e-5 * 50
    img[20, 20] = np.nan
    assert np.isnan(blot(img, pm)).sum() == off.sum() + 4  # the 4 cells around it


def test_blot_from_corners_and_nan_handling():
    from webbcal.algorithms.image3.resample import corners_from_centers

    y, x = np.indices((40, 40), dtype=np.float64)
    med = (10 + 0.3 * x - 0.1 * y).astype(np.float32)
    pm = np.stack([x[:20, :20] + 5.5, y[:20, :20] + 7.25], axis=-1)
    assert np.allclose(blot(med, corners=corners_from_centers(pm), interp="poly5"),
                       blot(med, pm, interp="poly5"), atol=1e-4)
    med[20, 20] = np.nan
    out = blot(med, pm, interp="poly5")
    # the 6-point stencil of position p is floor(p) - 2 ... floor(p) + 3
    fx, fy = np.floor(pm[..., 0]), np.floor(pm[..., 1])
    near = (fx >= 17) & (fx <= 22) & (fy >= 17) & (fy <= 22)
    assert np.isnan(out[near]).all() and np.isfinite(out[~near]).all()


def test_flag_outliers_matches_stcal_rule():
    """first | (second & dilate(first)) with NaN-aware derivative, on random data."""
    from scipy import ndimage

    rng = np.random.default_rng(5)
    blt = rng.normal(10, 3, (50, 60)).astype(np.float32)
    sci = (blt + rng.normal(0, 1, blt.shape) * rng.uniform(0, 12, blt.shape)).astype(np.float32)
    err = np.full(blt.shape, 1.0, np.float32)
    p = OutlierParams()
    d = abs_derivative(blt)
    diff = np.abs(sci - blt)
    first = diff > p.snr[0] * err + p.scale[0] * d
    second = diff > p.snr[1] * err + p.scale[1] * d
    expected = ndimage.binary_dilation(first, np.ones((3, 3), bool)) & second
    got = flag_outliers(sci, err, blt, params=p)
    assert first.sum() > 20 and np.array_equal(got, expected)


def test_flags_a_cosmic_ray_and_its_neighbours_but_not_a_star():
    y, x = np.indices((40, 40))
    star = 500 * np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / (2 * 1.2**2))
    err = np.full((40, 40), 1.0, np.float32)
    sci = star.astype(np.float32)  # noiseless: thresholds are exact
    sci[8, 30] += 50; sci[8, 31] += 4.5   # CR and a weaker neighbour (between thresholds)
    sci[30, 8] += 4.5                      # isolated 4.5σ: below the first threshold
    mask = flag_outliers(sci, err, star.astype(np.float32), params=OutlierParams())
    assert mask[8, 30] and mask[8, 31]
    assert not mask[30, 8]
    assert not mask[15:26, 15:26].any()    # steep star core protected by the derivative term
    assert mask.sum() <= 4


def test_curvature_term_adds_the_laplacian_of_the_blot():
    """thresholds snr·err + scale·|∂blot| + curvature·|∇²blot| (4-neighbour Laplacian,
    edges: a missing neighbour counts as the pixel itself), against numpy."""
    from scipy import ndimage

    rng = np.random.default_rng(7)
    blt = rng.normal(10, 3, (40, 50)).astype(np.float32)
    sci = (blt + rng.normal(0, 1, blt.shape) * rng.uniform(0, 15, blt.shape)).astype(np.float32)
    err = np.full(blt.shape, 1.0, np.float32)
    p = OutlierParams(scale=(0.1, 0.05), curvature=(0.4, 0.25))
    pad = np.pad(blt.astype(np.float64), 1, mode="edge")
    lap = np.abs(pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:] - 4 * blt)
    d = abs_derivative(blt)
    diff = np.abs(sci - blt)
    first = diff > p.snr[0] * err + p.scale[0] * d + p.curvature[0] * lap
    second = diff > p.snr[1] * err + p.scale[1] * d + p.curvature[1] * lap
    expected = ndimage.binary_dilation(first, np.ones((3, 3), bool)) & second
    got = flag_outliers(sci, err, blt, params=p)
    without = flag_outliers(sci, err, blt, params=OutlierParams(scale=(0.1, 0.05)))
    # the term matters here (fewer flags with it), and matches the rule exactly
    assert first.sum() > 20 and without.sum() > got.sum()
    assert np.array_equal(got, expected)
