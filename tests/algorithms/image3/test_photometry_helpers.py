"""Catalog helpers that replaced scipy.ndimage calls: the source mask dilation and the
correlated-noise variance factor of an aperture, against scipy and brute force."""

import numpy as np
from scipy.ndimage import convolve1d, maximum_filter

from webbcal.algorithms.image3._photometry import (ApertureTable, aperture_variance_factor,
                                                   drizzle_noise_correlation, source_mask)


def test_source_mask_is_a_square_dilation_up_to_the_edges():
    rng = np.random.default_rng(0)
    seg = (rng.random((61, 83)) > 0.99).astype(np.int32) * 5
    seg[0, 3] = seg[-1, -1] = seg[30, 0] = 1  # sources on every edge
    for grow in (0, 1, 3):
        assert np.array_equal(source_mask(seg, grow), maximum_filter(seg > 0, size=2 * grow + 1))
    one = np.zeros((9, 9), np.int32)
    one[4, 4] = 2
    assert source_mask(one, 2).sum() == 25 and source_mask(one, 2)[2:7, 2:7].all()


def test_variance_factor_of_uncorrelated_pixels_is_sum_w2_over_sum_w():
    t = ApertureTable(2.3, n_phase=8)
    w = t.weights.reshape(-1, *t.weights.shape[2:])
    expected = np.mean((w**2).sum(axis=(1, 2)) / w.sum(axis=(1, 2)))
    assert abs(aperture_variance_factor(t, np.array([1.0, 0.0, 0.0])) - expected) < 1e-12


def test_variance_factor_of_drizzled_noise_matches_a_scipy_convolution():
    for radius, drop, step in ((1.0, 1.0, 1.0), (3.5, 0.8, 2.0)):
        t = ApertureTable(radius, n_phase=8)
        rho = drizzle_noise_correlation(drop, step)
        kern = np.concatenate([rho[:0:-1], rho])
        ref = []
        for wi in t.weights.reshape(-1, *t.weights.shape[2:]):
            cw = convolve1d(convolve1d(wi, kern, axis=0, mode="constant"), kern, axis=1,
                            mode="constant")
            ref.append((cw * wi).sum() / wi.sum())
        assert abs(aperture_variance_factor(t, rho) / np.mean(ref) - 1) < 1e-12
        assert aperture_variance_factor(t, rho) > aperture_variance_factor(t, np.array([1.0]))


def test_segment_centroid_is_the_first_moment_of_the_positive_smoothed_flux():
    from webbcal.algorithms.image3._photometry import segment_centroid

    smooth = np.zeros((10, 12))
    segm = np.zeros((10, 12), np.int32)
    segm[2:5, 3:7] = 4
    smooth[3, 4], smooth[3, 6], smooth[2, 4] = 1.0, 3.0, -5.0  # negatives ignored
    smooth[8, 10] = 100.0  # outside the segment
    x, y = segment_centroid(smooth, segm, 4, (2, 5, 3, 7), -1.0, -1.0)
    assert (x, y) == (5.5, 3.0)  # (1·4 + 3·6) / 4, row 3
    assert segment_centroid(np.zeros((10, 12)), segm, 4, (2, 5, 3, 7), 1.5, 2.5) == (1.5, 2.5)
