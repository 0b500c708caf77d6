"""Flat-field division and photometric conversion on hand-checkable arrays."""

import numpy as np
import pytest

from webbcal.algorithms.image2 import MJYSR_TO_UJYA2, apply_flat, apply_photom, photuja2
from webbcal.datamodels import DQ

BITS = dict(no_flat_field=int(DQ.NO_FLAT_FIELD), do_not_use=int(DQ.DO_NOT_USE))


def arrays(shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    data = rng.uniform(1, 10, shape).astype(np.float32)
    dq = np.zeros(shape, np.uint32)
    vp = rng.uniform(0.1, 1, shape).astype(np.float32)
    vr = np.full(shape, 0.05, np.float32)
    return data, dq, vp, vr


def test_unit_flat_changes_nothing():
    data, dq, vp, vr = arrays()
    r = apply_flat(data, dq, vp, vr, np.ones_like(data), np.zeros_like(data), None, **BITS)
    assert np.array_equal(r.data, data) and np.array_equal(r.var_poisson, vp)
    assert np.array_equal(r.var_rnoise, vr) and np.all(r.var_flat == 0)
    assert np.allclose(r.err, np.sqrt(vp + vr)) and np.array_equal(r.dq, dq)
    assert r.n_bad_flat == 0


def test_flat_division_and_error_propagation_by_hand():
    data = np.array([[8.0, 3.0]], np.float32)
    vp = np.array([[4.0, 1.0]], np.float32)
    vr = np.array([[1.0, 1.0]], np.float32)
    flat = np.array([[2.0, 0.5]], np.float32)
    ferr = np.array([[0.2, 0.05]], np.float32)
    r = apply_flat(data, np.zeros((1, 2), np.uint32), vp, vr, flat, ferr, None, **BITS)
    assert np.allclose(r.data, [[4.0, 6.0]])
    assert np.allclose(r.var_poisson, [[1.0, 4.0]]) and np.allclose(r.var_rnoise, [[0.25, 4.0]])
    assert np.allclose(r.var_flat, [[(4.0 * 0.1) ** 2, (6.0 * 0.1) ** 2]])
    assert np.allclose(r.err, np.sqrt(r.var_poisson + r.var_rnoise + r.var_flat))


def test_invalid_flat_values_are_flagged_not_divided():
    data, dq, vp, vr = arrays((1, 5))
    flat = np.array([[0.0, -1.0, np.nan, np.inf, 1.25]], np.float32)
    fdq = np.array([[0, 0, 0, 0, DQ.UNRELIABLE_FLAT]], np.uint32)
    r = apply_flat(data, dq, vp, vr, flat, np.full_like(flat, 0.01), fdq, **BITS)
    assert np.all(np.isfinite(r.data)) and np.all(np.isfinite(r.err))
    assert np.array_equal(r.data[0, :4], data[0, :4])  # not divided
    assert np.all(r.var_flat[0, :4] == 0)
    bad = DQ.NO_FLAT_FIELD | DQ.DO_NOT_USE
    assert np.all(r.dq[0, :4] & bad == bad) and r.n_bad_flat == 4
    assert r.dq[0, 4] == DQ.UNRELIABLE_FLAT and r.data[0, 4] == pytest.approx(data[0, 4] / 1.25)


def test_flat_no_flat_field_in_flat_dq_means_not_divided():
    data, dq, vp, vr = arrays((1, 2))
    fdq = np.array([[DQ.NO_FLAT_FIELD, 0]], np.uint32)
    dq[0, 1] = DQ.HOT
    r = apply_flat(data, dq, vp, vr, np.full((1, 2), 2.0, np.float32), None, fdq, **BITS)
    assert r.data[0, 0] == data[0, 0] and r.dq[0, 0] & DQ.DO_NOT_USE
    assert r.data[0, 1] == pytest.approx(data[0, 1] / 2) and r.dq[0, 1] == DQ.HOT


def test_photom_scales_values_and_variances():
    data, _, vp, vr = arrays()
    vf = np.full_like(vp, 0.02)
    err = np.sqrt(vp + vr + vf)
    r = apply_photom(data, err, vp, vr, vf, photmjsr=0.5)
    assert np.allclose(r.data, data * 0.5) and np.allclose(r.err, err * 0.5)
    for got, inp in ((r.var_poisson, vp), (r.var_rnoise, vr), (r.var_flat, vf)):
        assert np.allclose(got, inp * 0.25) and got.dtype == np.float32
    assert np.allclose(r.err ** 2, r.var_poisson + r.var_rnoise + r.var_flat, rtol=1e-5)
    with pytest.raises(ValueError, match="PHOTMJSR"):
        apply_photom(data, err, vp, vr, vf, photmjsr=0.0)


def test_photuja2_is_mjy_per_sr_in_ujy_per_arcsec2():
    # 1 MJy/sr = 1e12 uJy / 4.25452e10 arcsec2 = 23.5045 uJy/arcsec2
    assert MJYSR_TO_UJYA2 == pytest.approx(23.5045, rel=1e-5)
    assert photuja2(2.0) == pytest.approx(47.009, rel=1e-4)
