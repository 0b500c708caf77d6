"""The catalog's two centroids: ``x``/``y`` equal photutils' ``SourceCatalog.centroid``
on the convolved image (the official catalog's definition), ``x_win``/``y_win`` are the
windowed ones; ``label_stats`` computes the former by hand-checkable rules."""

import numpy as np
import pytest

from webbcal.algorithms.image3 import catalog as C
from webbcal.algorithms.image3._catalog_kernels import label_stats


def _centroids(*args):
    m0, mx, my = label_stats(*args)[6:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return mx / m0, my / m0


def _gauss(img, x0, y0, flux, sx, sy=None, theta=0.0):
    sy = sx if sy is None else sy
    y, x = np.indices(img.shape)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * (x - x0) + s * (y - y0), -s * (x - x0) + c * (y - y0)
    img += flux / (2 * np.pi * sx * sy) * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))


def test_label_stats_centroid_hand_values():
    segm = np.zeros((10, 12), np.int32)
    segm[2:5, 3:7] = 4
    segm[7:9, 1:3] = 2  # only masked or non-positive flux: NaN
    smooth = np.zeros((10, 12), np.float32)
    smooth[3, 4], smooth[3, 6], smooth[2, 4] = 1.0, 3.0, -5.0  # negatives count as zero
    smooth[4, 3] = 50.0  # masked below
    smooth[8, 10] = 100.0  # outside every segment
    smooth[7, 1], smooth[8, 2] = -1.0, 7.0
    bad = np.zeros((10, 12), bool)
    bad[4, 3] = bad[8, 2] = True
    z = np.zeros_like(smooth)
    cx, cy = _centroids(segm, 4, smooth, z, z, bad)
    assert (cx[4], cy[4]) == (5.5, 3.0)  # (1·4 + 3·6) / 4, row 3
    assert np.isnan(cx[2]) and np.isnan(cy[2]) and np.isnan(cx[1]) and np.isnan(cx[3])
    cx, cy = _centroids(segm, 4, smooth, z, z, np.zeros((0, 0), bool))  # no mask
    assert cx[4] == pytest.approx((4 + 18 + 3 * 50) / 54) and cy[4] == pytest.approx(
        (3 + 9 + 4 * 50) / 54)
    assert (cx[2], cy[2]) == (2.0, 8.0)


def test_label_stats_centroid_equals_photutils_with_mask_nan_and_negatives():
    from photutils.segmentation import SegmentationImage, SourceCatalog

    rng = np.random.default_rng(7)
    shape = (90, 110)
    conv = rng.normal(0.0, 1.0, shape).astype(np.float32)
    for _ in range(12):
        _gauss(conv, *rng.uniform(8, 100, 2), rng.uniform(50, 400), rng.uniform(1, 4))
    conv[40:43, 50:52] = np.nan
    segm = np.zeros(shape, np.int32)
    for lab in range(1, 9):  # rectangular segments with noise (negative) pixels in them
        y0, x0 = 10 * lab, 12 * lab - 8
        segm[y0 - 6:y0 + 4, x0:x0 + 11] = lab
    segm[38:46, 45:56] = 9  # holds the NaNs
    bad = rng.random(shape) < 0.05
    data = rng.normal(0.0, 1.0, shape)
    ref = SourceCatalog(data, SegmentationImage(segm), convolved_data=conv, mask=bad)
    z = np.zeros(shape, np.float32)
    cx, cy = _centroids(segm, 9, conv, z, z, bad)  # NaN pixels count as zero
    assert np.allclose(cx[1:], ref.centroid[:, 0], rtol=0, atol=1e-9)
    assert np.allclose(cy[1:], ref.centroid[:, 1], rtol=0, atol=1e-9)


def test_measure_sources_xcentroid_is_photutils_centroid_of_the_smoothed_image(monkeypatch):
    """On a field of stars, an elongated galaxy, a blended pair (deblended) and a star
    with a NaN core: ``x``/``y`` equal photutils' ``SourceCatalog.centroid`` for the
    catalog's own segmentation, with the smoothed detection image as
    ``convolved_data`` and the masked pixels as ``mask``, to 1e-6 px."""
    from photutils.segmentation import SegmentationImage, SourceCatalog

    seen = {}
    smooth = C._smooth

    def spy(data, bad, fwhm):
        seen["smooth"], seen["bad"] = smooth(data, bad, fwhm), bad.copy()
        return seen["smooth"]

    monkeypatch.setattr(C, "_smooth", spy)
    rng = np.random.default_rng(11)
    img = np.full((160, 180), 0.2)
    for x0, y0, f in ((30.3, 40.6, 40.0), (120.7, 30.2, 25.0), (150.2, 120.9, 60.0)):
        _gauss(img, x0, y0, f, 1.5)
    _gauss(img, 70.4, 110.8, 120.0, 6.0, 2.5, 0.6)  # galaxy
    _gauss(img, 95.0, 60.0, 50.0, 1.5)  # blended pair
    _gauss(img, 101.0, 61.5, 40.0, 1.5)
    _gauss(img, 40.5, 130.3, 200.0, 2.0)
    img += rng.normal(0.0, 0.01, img.shape)
    sci = img.astype(np.float32)
    sci[130:132, 41:43] = np.nan
    err = np.full(sci.shape, 0.01, np.float32)
    cat = C.measure_sources(sci, err, params=C.CatalogParams(aperture_radii=(2.0, 3.5, 7.0)))
    assert len(cat) == 7 and np.count_nonzero(cat.flags & 2) == 2  # the deblended pair
    ref = SourceCatalog(sci, SegmentationImage(cat.segmentation),
                        convolved_data=seen["smooth"], mask=seen["bad"])
    assert np.array_equal(ref.labels, cat.label)
    assert np.abs(cat.x - ref.centroid[:, 0]).max() < 1e-6
    assert np.abs(cat.y - ref.centroid[:, 1]).max() < 1e-6
    # the windowed centroids are a different, sharper estimate: near, not equal
    d = np.hypot(cat.x - cat.x_win, cat.y - cat.y_win)
    assert d.max() < 1.0 and d.max() > 1e-3
    k = int(np.argmin(np.hypot(cat.x_win - 40.5, cat.y_win - 130.3)))  # the NaN core
    assert np.hypot(cat.x_win[k] - 40.5, cat.y_win[k] - 130.3) < 0.1


def test_empty_catalog_has_both_centroids():
    sci = np.random.default_rng(0).normal(0, 1, (48, 48)).astype(np.float32)
    cat = C.measure_sources(sci, np.ones_like(sci), params=C.CatalogParams(snr_threshold=10))
    assert len(cat) == 0 and cat.x.size == cat.x_win.size == cat.y_win.size == 0
