"""The fast paths of the image3 kernels give what the plain ones do.

- the drizzle hot loop takes its geometry helpers inlined; ``undrizzle_square`` (the
  contributions of flagged pixels) takes the separately compiled ones: both must give
  the same overlaps, so subtracting contributions cancels the sums exactly;
- the poly5 blot multiplies by reciprocal Lagrange denominators instead of dividing.
"""

import numpy as np
import pytest

from webbcal.algorithms.image3 import _kernels as K
from webbcal.algorithms.image3._outlier_kernels import _lagrange6
from webbcal.algorithms.image3.resample import (contributions, drizzle_square_add,
                                                variance_planes)


def _rotated_corners(shape, angle, offset, scale=1.0):
    """Corner planes (ny+1, nx+1) of a rotated, slightly non-linear map."""
    y, x = np.mgrid[-0.5:shape[0] + 0.5, -0.5:shape[1] + 0.5]
    t = np.radians(angle)
    cx = offset[0] + scale * (np.cos(t) * x - np.sin(t) * y) + 1e-4 * x * y
    cy = offset[1] + scale * (np.sin(t) * x + np.cos(t) * y) + 2e-4 * x * x
    return np.ascontiguousarray(cx), np.ascontiguousarray(cy)


@pytest.mark.parametrize("angle", [0.02, 33.0, 90.0, 200.0])
@pytest.mark.parametrize("scale", [1.0, 0.6])
def test_contributions_of_every_pixel_equal_what_was_drizzled(angle, scale):
    """Sums of all pixels minus all their contributions (the other geometry path) is 0,
    and each pixel's overlaps sum to its full weight (flux conservation of the drop)."""
    rng = np.random.default_rng(7)
    shape, out = (23, 19), (60, 60)
    cx, cy = _rotated_corners(shape, angle, (30.0, 30.0), scale)
    sci = rng.normal(5, 1, shape).astype(np.float32)
    wgt = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    var = variance_planes(*(rng.uniform(0.1, 1, shape).astype(np.float32) for _ in range(3)),
                          shape)
    num = np.zeros(out, np.float32)
    wht = np.zeros(out, np.float32)
    v = np.zeros((3, *out), np.float32)
    con = np.zeros((1, *out), np.int32)
    assert drizzle_square_add(num, wht, v, con, sci, (cx, cy), wgt, var)
    c = contributions(sci, (cx, cy), wgt, var, np.ones(shape, bool), out_shape=out)
    rnum, rwht = np.zeros(out), np.zeros(out)
    np.add.at(rnum, (c.jj, c.ii), c.num)
    np.add.at(rwht, (c.jj, c.ii), c.wht)
    np.testing.assert_allclose(rwht, wht, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rnum, num, rtol=1e-6, atol=1e-5)
    total = wgt.sum(dtype=np.float64)
    assert abs(rwht.sum() - total) < 1e-10 * total  # drops fully inside: all weight lands
    assert np.array_equal(rwht > 0, con[0] != 0)


def test_overlaps_one_pixel_at_a_time_equal_the_whole_footprint():
    """Overlaps of one output pixel (undrizzle_square's neighbour test) = the footprint's."""
    rng = np.random.default_rng(2)
    a1, a2 = np.empty((6, 6)), np.empty((6, 6))
    xs, ys = np.empty(4), np.empty(4)
    cx, cy = _rotated_corners((8, 8), 17.0, (10.0, 10.0), 1.1)
    for _ in range(50):
        r, c = rng.integers(0, 8, 2)
        jaco = K._drop(cx, cy, r, c, 0.8, xs, ys)
        inside, ii0, jj0, ni, nj = K._footprint(xs, ys, 40, 40)
        assert inside and jaco > 0
        K._pixel_overlaps(xs, ys, jj0, ii0, nj, ni, a1)
        # one output pixel at a time, as undrizzle_square's neighbour test does
        one = np.empty((1, 1))
        for a in range(nj):
            for b in range(ni):
                K._pixel_overlaps(xs, ys, jj0 + a, ii0 + b, 1, 1, one)
                a2[a, b] = -one[0, 0] / jaco
        np.testing.assert_allclose(-a1[:nj, :ni] / jaco, a2[:nj, :ni], rtol=0, atol=1e-15)
        assert abs(-a1[:nj, :ni].sum() / jaco - 1.0) < 1e-12  # the drop is all on the output


def test_lagrange6_weights_reproduce_polynomials_to_degree_five():
    w = np.empty(6)
    for t in np.linspace(0.0, 5.0, 23):
        _lagrange6(t, w)
        nodes = np.arange(6.0)
        for p in range(6):
            assert abs(np.dot(w, nodes ** p) - t ** p) < 1e-10 * max(1.0, t ** p)
    _lagrange6(2.0, w)  # at a node: that node's weight is 1, the others 0
    np.testing.assert_allclose(w, [0, 0, 1, 0, 0, 0], atol=1e-15)


def test_add_single_is_the_numpy_expressions_bit_for_bit():
    """outlier_detection folds each single into the sums with one fused kernel."""
    from webbcal.algorithms.image3._kernels import add_single
    from webbcal.algorithms.image3.outliers import run_rows

    rng = np.random.default_rng(5)
    shape = (37, 29)
    num_k = rng.normal(3, 1, shape).astype(np.float32)
    wht_k = np.where(rng.random(shape) < 0.3, 0, rng.uniform(0.1, 2, shape)).astype(np.float32)
    num, wht = (rng.normal(0, 1, shape).astype(np.float32) for _ in range(2))
    single = np.full(shape, np.nan, np.float32)
    ref_num, ref_wht = num + num_k, wht + wht_k
    ref_single = np.full(shape, np.nan, np.float32)
    np.divide(num_k, wht_k, out=ref_single, where=wht_k > 0)
    run_rows(add_single, shape[0], num_k, wht_k, num, wht, single)
    assert np.array_equal(num, ref_num) and np.array_equal(wht, ref_wht)
    assert np.array_equal(single, ref_single, equal_nan=True)
    assert np.isnan(single[wht_k == 0]).all()
    assert not num_k.any()  # zeroed for the next member
