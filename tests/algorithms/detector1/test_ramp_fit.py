"""Ramp fitting (OLS with Fixsen weighting, and the likelihood fit): hand-checkable
cases, the official special cases, and noise statistics on simulated ramps."""

import numpy as np
import pytest

from webbcal.algorithms.detector1.ramp_fit import RampFitInputError, fit_ramps
from webbcal.datamodels.dqflags import DQ

TFRAME = 10.73677
NFRAMES, GROUPGAP = 8, 2  # MEDIUM8
TGROUP = (NFRAMES + GROUPGAP) * TFRAME
DNU, SAT, JUMP = int(DQ.DO_NOT_USE), int(DQ.SATURATED), int(DQ.JUMP_DET)


def simulate(rate, *, ngroups=9, nframes=NFRAMES, groupgap=GROUPGAP, tframe=TFRAME, gain=2.0,
             rn=10.0, nints=1, seed=0, noiseless=False):
    """Frame-by-frame ramps (nints, ngroups, ny, nx) float32 DN for a true rate (DN/s):
    Poisson electrons each frame, CDS read noise ``rn`` (per-read sigma rn/sqrt(2)),
    ``nframes`` reads averaged per group, ``groupgap`` frames dropped."""
    rng = np.random.default_rng(seed)
    rate = np.asarray(rate, float)
    stride = nframes + groupgap
    out = np.zeros((nints, ngroups) + rate.shape)
    lam = rate * gain * tframe
    for i in range(nints):
        acc = np.zeros(rate.shape)
        for f in range((ngroups - 1) * stride + nframes):
            acc += lam if noiseless else rng.poisson(lam)
            g, k = divmod(f, stride)
            if k < nframes:
                noise = 0.0 if noiseless else rng.normal(0.0, rn / np.sqrt(2), rate.shape)
                out[i, g] += acc / gain + noise
    return (out / nframes).astype(np.float32)


def fit(data, gdq=None, *, gain=2.0, rn=10.0, **kw):
    ny, nx = data.shape[2:]
    if gdq is None:
        gdq = np.zeros(data.shape, np.uint8)
    return fit_ramps(data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), gain),
                     np.full((ny, nx), rn), frame_time=TFRAME, group_time=TGROUP,
                     nframes=NFRAMES, groupgap=GROUPGAP, **kw)


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
def test_noiseless_constant_rate_returns_its_slope(algorithm):
    rates = np.array([[0.0, 0.01, 1.0, 37.5, 400.0]])
    res = fit(simulate(rates, noiseless=True), algorithm=algorithm)
    np.testing.assert_allclose(res.rate, rates, rtol=1e-5, atol=1e-6)
    assert res.rate.dtype == np.float32 and res.dq.dtype == np.uint32
    assert np.all(res.dq == 0)
    assert res.rateints.shape == (1, 1, 5)


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
def test_jump_does_not_change_the_slope(algorithm):
    data = simulate(np.full((1, 2), 5.0), noiseless=True)
    gdq = np.zeros(data.shape, np.uint8)
    data[0, 4:, 0, 1] += 1234.0
    gdq[0, 4, 0, 1] = JUMP
    res = fit(data, gdq, algorithm=algorithm)
    np.testing.assert_allclose(res.rate[0], [5.0, 5.0], rtol=1e-5)
    assert res.dq[0, 1] & JUMP and not res.dq[0, 0] & JUMP
    # two segments of 4 and 5 groups: read-noise variance grows accordingly
    assert res.var_rnoise[0, 1] > res.var_rnoise[0, 0]


def test_hand_checked_variances():
    rate, gain, rn, n = 3.0, 2.0, 10.0, 9
    res = fit(simulate(np.full((1, 1), rate), noiseless=True), gain=gain, rn=rn)
    sigma_g2 = rn**2 / (2 * NFRAMES)  # per-group read variance from the CDS noise
    var_r = 12 * sigma_g2 / ((n**3 - n) * TGROUP**2)
    var_p = rate / (gain * TGROUP * (n - 1))
    np.testing.assert_allclose(res.var_rnoise[0, 0], var_r, rtol=1e-5)
    np.testing.assert_allclose(res.var_poisson[0, 0], var_p, rtol=1e-5)
    np.testing.assert_allclose(res.err[0, 0], np.sqrt(var_r + var_p), rtol=1e-5)
    np.testing.assert_allclose(res.err_ints[0, 0, 0], res.err[0, 0], rtol=1e-5)


def test_special_cases_zero_one_two_groups_and_zeroframe():
    data = simulate(np.full((1, 6), 4.0), noiseless=True, ngroups=5)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, :, 0, 0] = DNU                 # no usable group
    gdq[0, :, 0, 1] = SAT                 # saturated from the first group
    gdq[0, 1:, 0, 2] = SAT                # one good group (the 0th)
    gdq[0, 2:, 0, 3] = SAT                # two good groups
    gdq[0, :, 0, 4] = SAT                 # saturated, ZEROFRAME available
    zeroframe = np.zeros((1, 1, 6), np.float32)
    zeroframe[0, 0, 4] = 4.0 * TFRAME
    res = fit(data, gdq)
    assert np.isnan(res.rate[0, 0]) and res.dq[0, 0] & DNU
    assert np.isnan(res.rate[0, 1]) and res.dq[0, 1] & DNU and res.dq[0, 1] & SAT
    assert np.isnan(res.rate[0, 2]) and res.dq[0, 2] & DNU  # one-group ramps suppressed
    np.testing.assert_allclose(res.rate[0, 3], 4.0, rtol=1e-5)
    np.testing.assert_allclose(res.var_rnoise[0, 3], 10.0**2 / (NFRAMES * TGROUP**2), rtol=1e-5)
    assert res.var_poisson[0, 0] == 0 and res.err[0, 1] == 0
    res2 = fit(data, gdq, suppress_one_group=False, zeroframe=zeroframe)
    # 0th group alone: rate = value / ((nframes + 1) tframe / 2)
    np.testing.assert_allclose(res2.rate[0, 2], 4.0, rtol=1e-5)
    assert not res2.dq[0, 2] & DNU
    np.testing.assert_allclose(res2.rate[0, 4], 4.0, rtol=1e-5)   # from the ZEROFRAME
    assert np.isnan(res2.rate[0, 1])                           # ZEROFRAME 0: unusable


def test_bad_gain_and_pixel_dnu():
    data = simulate(np.full((1, 3), 1.0), noiseless=True)
    gain = np.array([[2.0, 0.0, np.nan]])
    pdq = np.array([[DNU, 0, 0]], np.uint32)
    res = fit_ramps(data, np.zeros(data.shape, np.uint8), pdq, gain, np.full((1, 3), 10.0),
                    frame_time=TFRAME, group_time=TGROUP, nframes=NFRAMES, groupgap=GROUPGAP)
    assert np.all(np.isnan(res.rate))
    assert res.dq[0, 1] & int(DQ.NO_GAIN_VALUE) and res.dq[0, 2] & DNU
    assert np.all(res.err == 0)


def test_integrations_combined_by_inverse_variance():
    data = np.concatenate([simulate(np.full((1, 1), 2.0), noiseless=True),
                           simulate(np.full((1, 1), 4.0), noiseless=True)])
    res = fit(data)
    np.testing.assert_allclose(res.rateints[:, 0, 0], [2.0, 4.0], rtol=1e-5)
    # stcal >= 1.15 (JP-4318): read-noise inverse-variance weights
    w = 1 / res.var_rnoise_ints[:, 0, 0]
    np.testing.assert_allclose(res.rate[0, 0], np.sum(w * [2.0, 4.0]) / w.sum(), rtol=1e-5)
    # official convention: the Poisson variance of every integration uses the pixel's
    # mean median rate, so equal-length integrations get equal weights
    np.testing.assert_allclose(res.rate[0, 0], 3.0, rtol=1e-5)


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
@pytest.mark.parametrize("true_rate", [0.05, 1.0, 30.0])
def test_noisy_ramps_have_honest_errors(algorithm, true_rate):
    data = simulate(np.full((60, 100), true_rate), seed=int(true_rate * 100))
    res = fit(data, algorithm=algorithm)
    z = (res.rate - true_rate) / res.err
    assert abs(np.median(z)) < 0.05
    assert 0.95 <= np.std(z) <= 1.10


def test_saturating_pixels_stay_photometric():
    true_rate = 300.0
    data = simulate(np.full((20, 50), true_rate), seed=5)
    gdq = np.zeros(data.shape, np.uint8)
    for k, first_sat in enumerate((3, 4, 6)):
        gdq[0, first_sat:, :, k::3] = SAT
    res = fit(data, gdq)
    assert np.all(np.abs(res.rate / true_rate - 1) < 0.02)


def test_bad_shapes_raise_clear_errors():
    data = np.zeros((1, 5, 4, 4), np.float32)
    with pytest.raises(RampFitInputError, match="groupdq"):
        fit_ramps(data, np.zeros((1, 4, 4, 4), np.uint8), np.zeros((4, 4), np.uint32),
                  np.ones((4, 4)), np.ones((4, 4)), frame_time=1, group_time=1, nframes=1)
    with pytest.raises(RampFitInputError, match="gain"):
        fit_ramps(data, np.zeros(data.shape, np.uint8), np.zeros((4, 4), np.uint32),
                  np.ones((3, 4)), np.ones((4, 4)), frame_time=1, group_time=1, nframes=1)
    with pytest.raises(RampFitInputError, match="algorithm"):
        fit_ramps(data, np.zeros(data.shape, np.uint8), np.zeros((4, 4), np.uint32),
                  np.ones((4, 4)), np.ones((4, 4)), frame_time=1, group_time=1, nframes=1,
                  algorithm="GLS")


@pytest.mark.parametrize(("nints", "ngroups"), [(1, 9), (2, 3), (1, 5), (3, 12)])
def test_fast_path_equals_general_fit(monkeypatch, nints, ngroups):
    """Clean pixels take a vectorised fast path; it must agree with the general code."""
    import webbcal.algorithms.detector1.ramp_fit as rf

    rate = np.random.default_rng(1).uniform(0.0, 300.0, (24, 24))
    rate[0, :4] = [0.0, 1e-3, 2000.0, 5000.0]
    data = simulate(rate, ngroups=ngroups, nints=nints, seed=ngroups)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, ngroups // 2, 3, 3] = JUMP
    gdq[:, -1, 4, 4] = SAT
    gain = np.full(rate.shape, 2.0)
    rn = np.full(rate.shape, 10.0)
    rn[5, 5] = 0.0
    pdq = np.zeros(rate.shape, np.uint32)
    pdq[6, 6] = DNU
    dark = np.full(rate.shape, 0.01)
    kw = dict(frame_time=TFRAME, group_time=TGROUP, nframes=NFRAMES, groupgap=GROUPGAP,
              average_dark_current=dark)
    fast = fit_ramps(data, gdq, pdq, gain, rn, **kw)
    monkeypatch.setattr(rf, "_MAX_NETWORK_GROUPS", 0)
    slow = fit_ramps(data, gdq, pdq, gain, rn, **kw)
    for name in ("rate", "var_poisson", "var_rnoise", "err", "rateints", "var_poisson_ints",
                 "var_rnoise_ints", "err_ints"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=2e-6,
                                   atol=1e-12, equal_nan=True, err_msg=name)
    assert np.array_equal(fast.dq, slow.dq) and np.array_equal(fast.dq_ints, slow.dq_ints)
    assert np.isfinite(fast.rate[1:, 1:]).mean() > 0.9


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
def test_row_bands_on_threads_equal_one_band(monkeypatch, algorithm):
    """The kernels run in bands of rows on threads; the split must not change a bit."""
    import webbcal._threads as th
    import webbcal.algorithms.detector1.ramp_fit as rf

    rate = np.random.default_rng(2).uniform(0.0, 200.0, (13, 8))
    data = simulate(rate, ngroups=6, seed=3)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 3, ::3, 1] = JUMP
    gdq[0, 4:, 2, ::2] = SAT
    monkeypatch.setattr(th, "default_threads", lambda: 1)
    one = fit(data, gdq, algorithm=algorithm)
    monkeypatch.setattr(th, "default_threads", lambda: 3)
    monkeypatch.setattr(rf, "_BAND_ROWS", 2)
    many = fit(data, gdq, algorithm=algorithm)
    for name in ("rate", "var_poisson", "var_rnoise", "err", "dq", "rateints", "dq_ints"):
        a, b = getattr(one, name), getattr(many, name)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
