"""The catalog's own geometry, labelling, smoothing and deblending against photutils and
scipy (which the pipeline no longer imports), on small hand-made images."""

import numpy as np
import pytest

from webbcal.algorithms.image3 import _catalog_kernels as K
from webbcal.algorithms.image3._photometry import circle_box_overlap, circle_weights
from webbcal.algorithms.image3._photometry_kernels import circle_sums


def test_circle_weights_equal_photutils_exact_overlap():
    from photutils.geometry import circular_overlap_grid

    rng = np.random.default_rng(1)
    for _ in range(40):
        r = rng.uniform(0.3, 9.0)
        h = int(np.ceil(r)) + 1
        px, py = rng.uniform(-0.5, 0.5, 2)
        lo = -h - 0.5
        want = circular_overlap_grid(lo - px, -lo - px, lo - py, -lo - py, 2 * h + 1,
                                     2 * h + 1, r, 1, 1)
        got = circle_weights([px], [py], r, h)[0]
        assert np.abs(got - want).max() < 1e-9
        assert abs(got.sum() - np.pi * r * r) < 1e-9
    assert np.isclose(circle_box_overlap(0, 5, 0, 5, 2.0), np.pi)  # one quadrant


def test_circle_sums_kernel_matches_the_weights_and_reports_lost_pixels():
    rng = np.random.default_rng(2)
    img = rng.normal(0, 1, (40, 40)).astype(np.float32)
    var = rng.uniform(1, 2, (40, 40)).astype(np.float32)
    x, y, r = np.array([20.3, 1.2]), np.array([17.8, 20.0]), np.array([3.7, 3.0])
    img[18, 21] = np.nan
    flux, vsum, lost, wsum = circle_sums(img, var, x, y, r)
    w = circle_weights(x[:1] - 20, y[:1] - 18, r[:1], 5)[0]
    cut = img[13:24, 15:26]
    assert np.isclose(flux[0], np.nansum(w * cut))
    assert np.isclose(vsum[0], np.sum(w * np.where(np.isfinite(cut), var[13:24, 15:26], 0)))
    assert np.isclose(lost[0], w[5, 6]) and np.isclose(wsum[0], np.pi * 3.7**2)
    d = 1.2 + 0.5  # the second circle hangs over the left edge (x = −0.5) by a segment
    assert np.isclose(lost[1], 9 * np.arccos(d / 3) - d * np.sqrt(9 - d * d))


def test_label_components_matches_scipy_with_the_size_cut():
    from scipy import ndimage

    rng = np.random.default_rng(3)
    mask = rng.random((80, 90)) > 0.55
    got, n = K.label_components(mask, 4)
    lab, m = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = np.bincount(lab.ravel())
    keep = sizes >= 4
    keep[0] = False
    assert n == keep.sum()
    assert np.array_equal(got > 0, keep[lab])
    pairs = np.unique(np.stack([got[got > 0], lab[got > 0]]), axis=1)
    assert pairs.shape[1] == n  # one-to-one with scipy's components


def test_smooth_masked_is_a_normalised_convolution():
    from scipy.ndimage import correlate1d

    rng = np.random.default_rng(4)
    img = rng.normal(0, 1, (30, 40)).astype(np.float32)
    bad = rng.random(img.shape) > 0.9
    k = np.array([0.1, 0.2, 0.4, 0.2, 0.1], np.float32)
    good = (~bad).astype(np.float32)
    data = np.where(bad, 0, img).astype(np.float32)
    got = K.smooth_masked(data, good, k, np.float32(0.2))

    def conv(a):
        return correlate1d(correlate1d(a, k, axis=0, mode="constant"), k, axis=1,
                           mode="constant")

    den = conv(good)
    want = np.where(den > 0.2, conv(data) / np.where(den > 0, den, 1), 0)
    assert np.allclose(got, want, atol=1e-5)
    plain = K.smooth_masked(data, np.zeros((0, 0), np.float32), k, np.float32(0))
    assert np.allclose(plain, conv(data), atol=1e-5)


def test_deblending_reproduces_photutils_deblend_sources():
    """Three blended Gaussians, a faint bump below the contrast limit and an isolated
    star: the same partition of every pixel as photutils' deblend_sources."""
    from photutils.segmentation import SegmentationImage, deblend_sources

    from webbcal.algorithms.image3.catalog import _deblend

    y, x = np.mgrid[0:80, 0:100]
    img = np.zeros(x.shape)
    for x0, y0, f, s in ((30, 40, 100, 2.0), (37, 42, 60, 2.0), (33, 33, 30, 1.5),
                         (45, 40, 0.02, 1.0), (80, 20, 50, 2.0)):
        img += f * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))
    img = img.astype(np.float32)
    segm, n = K.label_components(img > 0.5, 5)
    assert n == 2
    ours, parent = _deblend(img, segm, n, 5)
    ref = deblend_sources(img, SegmentationImage(segm), 5, progress_bar=False).data
    assert ours.max() == ref.max() == 4
    on = ours > 0
    assert np.array_equal(on, ref > 0)
    assert np.unique(np.stack([ours[on], ref[on]]), axis=1).shape[1] == 4  # same partition
    assert sorted(np.bincount(parent[1:]).tolist()) == [0, 1, 3]  # children per parent


def test_star_peaks_rejects_cosmic_rays_and_pixels_next_to_bad_ones():
    y, x = np.mgrid[0:40, 0:40]
    img = (100 * np.exp(-((x - 12) ** 2 + (y - 15) ** 2) / 2.0)
           + 100 * np.exp(-((x - 28) ** 2 + (y - 25) ** 2) / 2.0)).astype(np.float32)
    img[30, 8] = 500  # a one-pixel cosmic ray
    bad = np.zeros(img.shape, bool)
    bad[26, 29] = True  # next to the second star
    k = np.array([0.25, 0.5, 0.25], np.float32)
    smooth = K.smooth_masked(np.where(bad, 0, img).astype(np.float32),
                             np.zeros((0, 0), np.float32), k, np.float32(0))
    ys, xs = K.star_peaks(smooth, np.where(bad, 0, img).astype(np.float32), bad,
                          np.float32(5.0), 3, 0.6)
    assert list(zip(ys.tolist(), xs.tolist())) == [(15, 12)]


def test_background_mesh_follows_a_sky_step_and_ignores_stars():
    """A mosaic's sky can step where exposures with different sky levels overlap; the
    mesh follows the step away from it, and bright stars do not lift it."""
    from webbcal.algorithms.image3.catalog import background_mesh

    rng = np.random.default_rng(0)
    img = rng.normal(0, 1, (512, 512)).astype(np.float32)
    img[:, 256:] += 5.0
    y, x = np.mgrid[0:512, 0:512]
    for x0, y0 in rng.uniform(20, 490, (60, 2)):
        img += (500 * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / 4.0)).astype(np.float32)
    bad = np.zeros(img.shape, bool)
    bad[:40, :40] = True
    m = background_mesh(img, bad, 64)
    assert m.shape == img.shape and m.dtype == np.float32
    assert np.abs(m[:, :160]).max() < 0.2 and np.abs(m[:, 352:] - 5).max() < 0.2
    assert 2 < m[300, 256] < 3  # interpolated across the step


@pytest.mark.parametrize("shape", [(9, 9, 4096), (3, 5, 7), (4, 1), (2, 6)])
def test_nanmedian_last_equals_numpy(shape):
    """The mesh's one-sort median equals np.nanmedian bit for bit: odd and even counts
    of finite values, all-NaN rows (NaN), no NaN at all."""
    import warnings

    from webbcal.algorithms.image3.catalog import nanmedian_last

    rng = np.random.default_rng(7)
    for frac in (0.0, 0.3, 0.9):
        a = rng.normal(size=shape).astype(np.float32)
        a[rng.random(shape) < frac] = np.nan
        a[0] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmedian(a, axis=-1)
        got = nanmedian_last(a)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)
    assert nanmedian_last(np.array([[1.0, 4.0, np.nan, 2.0]], np.float32))[0] == 2.0
    assert nanmedian_last(np.array([[1.0, 4.0, 3.0, 2.0]], np.float32))[0] == 2.5


def test_catalog_smooth_on_two_threads_equals_smooth_masked():
    """catalog._smooth (the two convolutions of smooth_masked on two threads, numpy's
    division) gives smooth_masked's output bit for bit, zeros where coverage is low."""
    from webbcal.algorithms.image3.catalog import _smooth

    rng = np.random.default_rng(3)
    data = rng.normal(size=(300, 410)).astype(np.float32)
    bad = rng.random(data.shape) < 0.1
    bad[100:160, 200:260] = True
    data[bad] = 0.0
    fwhm = 2.0
    h = int(np.ceil(2 * fwhm))
    k = np.exp(-0.5 * (np.arange(-h, h + 1) / (fwhm / 2.3548)) ** 2).astype(np.float32)
    k /= k.sum()
    ref = K.smooth_masked(data, (~bad).astype(np.float32), k, np.float32(0.2))
    got = _smooth(data, bad, fwhm)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
    assert np.all(got[120:140, 220:240] == 0.0)  # inside the hole: no good weight
