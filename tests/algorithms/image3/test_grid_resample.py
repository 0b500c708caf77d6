"""Output grid geometry and drizzle accumulation: invariants and hand-checkable cases."""

import numpy as np
import pytest
from astropy.wcs import WCS

from webbcal.algorithms.image3.grid import OutputGrid, pixmap_from_sky, tan_deproject, tan_project
from webbcal.algorithms.image3.resample import (DrizzleParams, MosaicAccumulator, block_median,
                                                drizzle_weights)
from webbcal.datamodels.dqflags import DQ


@pytest.fixture
def grid():
    return OutputGrid(crval=(214.9, 52.9), crpix=(150.3, 120.7), pixel_scale=0.03,
                      rotation=37.0, shape=(300, 320))


def test_grid_matches_astropy_tan_wcs(grid):
    wcs = WCS(grid.to_header())
    x, y = np.meshgrid(np.linspace(-50, 400, 7), np.linspace(-20, 350, 5))
    ra, dec = grid.pixel_to_world(x, y)
    ra_ap, dec_ap = wcs.wcs_pix2world(x, y, 0)
    assert np.allclose(ra, ra_ap, atol=1e-10) and np.allclose(dec, dec_ap, atol=1e-10)
    xb, yb = grid.world_to_pixel(ra_ap, dec_ap)
    assert np.max(np.hypot(xb - x, yb - y)) < 1e-7


def test_tan_roundtrip_across_ra_zero():
    ra = np.array([359.99, 0.0, 0.01]); dec = np.array([-30.0, -30.01, -29.99])
    xi, eta = tan_project(ra, dec, (0.0, -30.0))
    ra2, dec2 = tan_deproject(xi, eta, (0.0, -30.0))
    assert np.allclose(((ra2 - ra + 180) % 360) - 180, 0, atol=1e-10)
    assert np.allclose(dec2, dec, atol=1e-10)
    assert xi[0] < 0 < xi[2]  # xi points east


def test_covering_contains_points_and_tiles_partition(grid):
    ra, dec = grid.pixel_to_world(np.array([0, 319, 0, 319]), np.array([0, 0, 299, 299]))
    g = OutputGrid.covering(ra, dec, pixel_scale=0.03, rotation=37.0)
    x, y = g.world_to_pixel(ra, dec)
    assert x.min() >= 0 and y.min() >= 0 and x.max() <= g.shape[1] - 1 and y.max() <= g.shape[0] - 1
    tiles = list(g.tiles(128))
    assert sum(t.shape[0] * t.shape[1] for _, _, t in tiles) == g.shape[0] * g.shape[1]
    x0, y0, t = tiles[-1]
    ra_t, dec_t = t.pixel_to_world(0.0, 0.0)
    ra_g, dec_g = g.pixel_to_world(float(x0), float(y0))
    assert abs(ra_t - ra_g) < 1e-12 and abs(dec_t - dec_g) < 1e-12


def _distorted_pixmap(shape, *, scale=0.8, angle=20.0, offset=(30.0, 25.0), k=2e-5):
    """A smooth, distorted input→output mapping (rotation, scale, quadratic terms)."""
    y, x = np.indices(shape, dtype=np.float64)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    xo = scale * (c * x - s * y) + offset[0] + k * x * x
    yo = scale * (s * x + c * y) + offset[1] + k * x * y
    return np.stack([xo, yo], axis=-1)


def _add(acc, sci, pixmap, var=1.0, dq=None):
    shape = sci.shape
    acc.add(sci, pixmap, dq=np.zeros(shape, np.uint32) if dq is None else dq,
            var_rnoise=np.full(shape, var, np.float32), var_poisson=np.full(shape, var, np.float32),
            exptime=100.0)


def test_constant_surface_brightness_stays_constant_through_distortion():
    shape = (120, 120)
    pixmap = _distorted_pixmap(shape)
    acc = MosaicAccumulator((170, 170))
    _add(acc, np.full(shape, 3.7, np.float32), pixmap)
    m = acc.finalize()
    interior = m.wht > 0.999 * np.nanmax(m.wht) * 0.5
    # pixels fully covered by input (away from the footprint edge)
    inner = np.zeros_like(interior); inner[40:110, 50:110] = True
    vals = m.sci[inner & interior]
    assert vals.size > 1000
    assert np.max(np.abs(vals / 3.7 - 1)) < 1e-3


def test_point_source_total_flux_is_conserved():
    shape = (80, 80)
    y, x = np.indices(shape)
    sb = np.exp(-((x - 40.3) ** 2 + (y - 39.6) ** 2) / (2 * 1.8**2)).astype(np.float32)
    scale = 0.8  # output pixel = 1/0.8 input pixels on a side → area ratio 1/0.64
    acc = MosaicAccumulator((100, 100))
    _add(acc, sb, _distorted_pixmap(shape, scale=scale, k=0.0))
    m = acc.finalize()
    flux_in = sb.sum()                       # × input pixel area (1)
    flux_out = np.nansum(m.sci) / scale**2   # × output pixel area (1/scale²)
    assert abs(flux_out / flux_in - 1) < 5e-3


def test_ivm_weighting_and_bad_pixels():
    shape = (50, 50)
    pixmap = _distorted_pixmap(shape, scale=1.0, angle=0.0, offset=(0.0, 0.0), k=0.0)
    acc = MosaicAccumulator(shape, DrizzleParams(weight_type="ivm"))
    dq = np.zeros(shape, np.uint32); dq[25, 25] = DQ.DO_NOT_USE
    a = np.full(shape, 2.0, np.float32); a[25, 25] = 1e6  # bad pixel: must not leak
    _add(acc, a, pixmap, var=1.0, dq=dq)
    _add(acc, np.full(shape, 7.0, np.float32), pixmap, var=4.0)
    m = acc.finalize()
    expected = (2.0 / 1.0 + 7.0 / 4.0) / (1 / 1.0 + 1 / 4.0)
    assert abs(m.sci[10, 10] - expected) < 1e-4
    assert abs(m.sci[25, 25] - 7.0) < 1e-4       # only the second input there
    assert m.con is not None and m.con[0, 10, 10] == 0b11 and m.con[0, 25, 25] == 0b10
    # variance of a weighted mean: sum w² v / (sum w)²
    w = np.array([1.0, 0.25]); v = np.array([1.0, 4.0])
    assert abs(m.var_rnoise[10, 10] - (w**2 * v).sum() / w.sum() ** 2) < 1e-4
    assert m.n_inputs == 2


def _rotated(shape, angle, offset, stretch=1.03):
    """A rotated, slightly non-linear centre pixmap (ny, nx, 2)."""
    y, x = np.indices(shape, dtype=np.float64)
    t = np.radians(angle)
    xo = offset[0] + stretch * (np.cos(t) * x - np.sin(t) * y) + 1e-5 * x * y
    yo = offset[1] + stretch * (np.sin(t) * x + np.cos(t) * y) + 2e-5 * x * x
    return np.stack([xo, yo], axis=-1)


@pytest.mark.parametrize("angle", [0.3, 23.0, 90.0, 181.0])
def test_square_kernel_matches_the_drizzle_package(angle):
    """Our numba square kernel = drizzle's C kernel (SCI, WHT, variances, context)."""
    from drizzle.resample import Drizzle

    rng = np.random.default_rng(3)
    shape, out_shape = (70, 60), (200, 200)
    pixmap = _rotated(shape, angle, (95.0, 95.0))  # all inside (drizzle C has edge effects)
    sci = rng.normal(1, 0.3, shape).astype(np.float32)
    vr = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    vp = rng.uniform(0.1, 0.2, shape).astype(np.float32)
    dq = np.zeros(shape, np.uint32); dq[30:33, 20] = DQ.DO_NOT_USE
    acc = MosaicAccumulator(out_shape, DrizzleParams(weight_type="ivm"))
    acc.add(sci, pixmap, dq=dq, var_rnoise=vr, var_poisson=vp)
    m = acc.finalize()
    w = np.where(dq == 0, 1 / vr, 0).astype(np.float32)
    d = Drizzle(kernel="square", out_shape=out_shape, fillval=np.nan, fillval2=np.nan,
                out_img2=[np.zeros(out_shape, np.float32) for _ in range(3)])
    d.add_image(np.where(w > 0, sci, 0).astype(np.float32), exptime=1.0, pixmap=pixmap,
                data2=[vr, vp, np.zeros_like(vr)], weight_map=w, in_units="cps")
    assert np.array_equal(m.wht > 0, d.out_wht > 0)
    ok = d.out_wht > 1e-3 * d.out_wht.max()
    assert ok.sum() > 3000
    np.testing.assert_allclose(m.wht[ok], d.out_wht[ok], rtol=1e-5)
    np.testing.assert_allclose(m.sci[ok], d.out_img[ok], rtol=0, atol=1e-5)
    np.testing.assert_allclose(m.var_rnoise[ok], d.out_img2[0][ok], rtol=1e-4)
    np.testing.assert_allclose(m.var_poisson[ok], d.out_img2[1][ok], rtol=1e-4)
    assert np.array_equal(m.con[0] != 0, d.out_ctx[0] != 0)


def test_subtracting_contributions_equals_drizzling_without_those_pixels():
    """Pixels flagged after drizzling: their contributions (and context) come off."""
    from webbcal.algorithms.image3.resample import (contributions, corners_from_centers,
                                                    drizzle_square_add, variance_planes)

    rng = np.random.default_rng(2)
    shape, out = (60, 55), (110, 110)
    corners = corners_from_centers(_rotated(shape, 17.0, (40.0, 20.0), stretch=1.1))
    sci = rng.normal(1, 0.3, shape).astype(np.float32)
    w = rng.uniform(0.5, 2, shape).astype(np.float32)
    var = variance_planes(*rng.uniform(0.5, 1.5, (3, *shape)).astype(np.float32), shape)
    flag = np.zeros(shape, bool); flag[30:33, 20:23] = True; flag[5, 7] = flag[50, 40] = True

    def drizzled(weights):
        sums = (np.zeros(out, np.float32), np.zeros(out, np.float32),
                np.zeros((3, *out), np.float32), np.zeros((1, *out), np.int32))
        assert drizzle_square_add(*sums, sci, corners, weights, var, con_index=3)
        return sums

    num, wht, v, con = drizzled(w)
    ref = drizzled(np.where(flag, 0, w).astype(np.float32))
    c = contributions(sci, corners, w, var, flag, out_shape=out)
    assert c.jj.size > 9 * 2 and (~c.keep).sum() >= 1   # the 3x3 block empties a pixel
    num, wht, v = num.astype(float), wht.astype(float), v.astype(float)
    np.subtract.at(num, (c.jj, c.ii), c.num)
    np.subtract.at(wht, (c.jj, c.ii), c.wht)
    for k in range(3):
        np.subtract.at(v[k], (c.jj, c.ii), c.var[k])
    con[0, c.jj[~c.keep], c.ii[~c.keep]] &= ~np.int32(1 << 3)
    np.testing.assert_allclose(num, ref[0], atol=1e-5)
    np.testing.assert_allclose(wht, ref[1], atol=1e-5)
    np.testing.assert_allclose(v, ref[2], atol=1e-5)
    assert np.array_equal(con, ref[3])


def test_tiles_reproduce_the_untiled_mosaic():
    rng = np.random.default_rng(1)
    shape = (90, 90)
    sci = rng.normal(5, 1, shape).astype(np.float32)
    pixmap = _distorted_pixmap(shape)
    full = MosaicAccumulator((130, 130), DrizzleParams(context=False))
    _add(full, sci, pixmap)
    ref = full.finalize().sci
    for y0 in (0, 64):
        for x0 in (0, 64):
            ny, nx = min(64, 130 - y0), min(64, 130 - x0)
            acc = MosaicAccumulator((ny, nx), DrizzleParams(context=False))
            sub = pixmap - np.array([x0, y0], dtype=np.float64)
            _add(acc, sci, sub)
            out = acc.finalize().sci
            # the numba kernel has no edge effects: tiles are exact
            np.testing.assert_array_equal(out, ref[y0:y0 + ny, x0:x0 + nx])


def test_pixmap_from_sky_inverts_grid(grid):
    y, x = np.indices((4, 5), dtype=np.float64)
    ra, dec = grid.pixel_to_world(x + 10, y + 20)
    pm = pixmap_from_sky(ra, dec, grid)
    assert np.allclose(pm[..., 0], x + 10, atol=1e-7) and np.allclose(pm[..., 1], y + 20, atol=1e-7)


def _exposure(acc, sci, var_rnoise, **kw):
    shape = sci.shape
    pixmap = _distorted_pixmap(shape, scale=1.0, angle=0.0, offset=(0.0, 0.0), k=0.0)
    acc.add(sci, pixmap, dq=np.zeros(shape, np.uint32), var_rnoise=var_rnoise,
            var_poisson=np.zeros(shape, np.float32), exptime=100.0, **kw)


def _star_pair(weight_type):
    """Two exposures of one star (flux 100) sampled at different pixel phases: all in
    pixel (5, 5) in A, split 50/50 over (5, 5) and (5, 6) in B. A's core lost groups
    (VAR_RNOISE 4 instead of 1), as a saturated or jump-hit core does."""
    shape = (12, 12)
    a = np.zeros(shape, np.float32); a[5, 5] = 100.0
    b = np.zeros(shape, np.float32); b[5, 5] = b[5, 6] = 50.0
    var_a = np.ones(shape, np.float32); var_a[5, 5] = 4.0
    acc = MosaicAccumulator(shape, DrizzleParams(weight_type=weight_type))
    _exposure(acc, a, var_a)
    _exposure(acc, b, np.ones(shape, np.float32))
    return acc.finalize()


def test_per_pixel_ivm_biases_a_star_and_ivm_med_does_not():
    """Hand-checkable: per-pixel ivm gives (5,5) = (100/4 + 50)/(1/4 + 1) = 60 and
    (5,6) = 25, total 85 (15 % lost); ivm-med weights both exposures 1 (their median
    1/VAR_RNOISE): 75 + 25 = 100."""
    ivm = _star_pair("ivm")
    assert ivm.sci[5, 5] == pytest.approx(60.0, abs=1e-4)
    assert np.nansum(ivm.sci) == pytest.approx(85.0, abs=1e-3)
    med = _star_pair("ivm-med")
    assert med.sci[5, 5] == pytest.approx(75.0, abs=1e-4)
    assert np.nansum(med.sci) == pytest.approx(100.0, abs=1e-3)
    smed = _star_pair("ivm-smed")
    assert np.nansum(smed.sci) == pytest.approx(100.0, abs=1e-3)
    assert DrizzleParams().weight_type == "ivm-med"


def test_ivm_med_keeps_inverse_variance_weighting_between_exposures():
    """Exposures with VAR_RNOISE 1 and 4 are weighted 1 : 1/4 (ivm-med, the given
    per-exposure weight), and a bad pixel still gets weight 0."""
    shape = (20, 20)
    acc = MosaicAccumulator(shape, DrizzleParams(weight_type="ivm-med"))
    _exposure(acc, np.full(shape, 2.0, np.float32), np.ones(shape, np.float32))
    var = np.full(shape, 4.0, np.float32); var[3, 3] = 100.0  # one noisy pixel: median 1/4
    _exposure(acc, np.full(shape, 7.0, np.float32), var)
    m = acc.finalize()
    expected = (2.0 + 7.0 / 4.0) / (1 + 1 / 4.0)
    assert m.sci[3, 3] == pytest.approx(expected, abs=1e-4)
    assert m.sci[10, 10] == pytest.approx(expected, abs=1e-4)
    w = drizzle_weights(np.array([[0, DQ.DO_NOT_USE]], np.uint32),
                        np.array([[2.0, 2.0]], np.float32), weight_type="ivm-med",
                        exptime=1.0, median_weight=0.3)
    assert w.tolist() == [[pytest.approx(0.3), 0.0]]


def test_ivm_smed_is_smooth_over_a_small_core():
    """Block-median smoothing: a 3x3 core with 4x the read-noise variance gets its
    block's weight (1), while a block-wide change (a different amplifier) is kept."""
    shape = (64, 64)
    var = np.ones(shape, np.float32)
    var[20:23, 20:23] = 4.0
    var[:, 48:] = 2.0
    w = drizzle_weights(np.zeros(shape, np.uint32), var, weight_type="ivm-smed",
                        exptime=1.0)
    assert np.all(w[:, :48] == 1.0)
    assert np.all(w[:, 48:] == 0.5)
    assert block_median(np.arange(16, dtype=np.float32).reshape(4, 4),
                        np.ones((4, 4), bool), 2)[0, 0] == 2.5  # median of 0, 1, 4, 5


def test_unknown_weight_type_is_an_error():
    with pytest.raises(ValueError, match="ivm-med"):
        drizzle_weights(np.zeros((2, 2), np.uint32), np.ones((2, 2), np.float32),
                        weight_type="ivm-sky", exptime=1.0)
