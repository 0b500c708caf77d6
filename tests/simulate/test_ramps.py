"""Each detector effect of simulate_ramp, measured back from the raw groups."""

import numpy as np
import pytest

from webbcal.simulate import simulate_ramp
from webbcal.simulate.ramps import reference_pixel_mask

TF = 10.0  # s, frame time used in these tests


def ramp(rate=0.0, shape=(128, 128), **kw):
    args = dict(ngroups=6, nframes=1, groupgap=0, tframe=TF, readnoise_dn=10.0, cr_rate=0.0,
                snowball_rate=0.0, reference_border=False, rng=3)
    args.update(kw)
    return simulate_ramp(np.full(shape, rate, np.float32), **args)


def test_deterministic_and_seeded():
    a = ramp(rate=1.0, rng=7, cr_rate=5.0).data
    b = ramp(rate=1.0, rng=7, cr_rate=5.0).data
    c = ramp(rate=1.0, rng=8, cr_rate=5.0).data
    assert a.dtype == np.uint16 and a.shape == (1, 6, 128, 128)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # row bands on threads: the same numbers for any thread count and band split
    # (rate 10 DN/s: group means above POISSON_CF_MIN, the kernel's fast path too)
    for rate in (1.0, 10.0):
        one = ramp(rate=rate, rng=7, cr_rate=5.0, threads=1).data
        assert np.array_equal(one, ramp(rate=rate, rng=7, cr_rate=5.0, threads=3).data)


@pytest.mark.parametrize("nframes", [1, 4])
def test_read_noise_from_group_differences(nframes):
    # CDS noise of single frames = 10 DN -> group difference sigma = 10 / sqrt(nframes)
    r = ramp(superbias_dn=1000.0, nframes=nframes, groupgap=1, shape=(256, 256))
    d = np.diff(r.data[0].astype(np.float64), axis=0)
    est = d.std()
    assert est == pytest.approx(10.0 / np.sqrt(nframes), rel=0.05)


def test_photon_noise_gives_gain():
    # variance of group differences vs signal: slope 1/gain (DN), plus read noise
    gain = 2.0
    rates = [5.0, 20.0, 80.0]
    means, variances = [], []
    for rate in rates:
        d = np.diff(ramp(rate, gain=gain, readnoise_dn=4.0, superbias_dn=500.0).data[0]
                    .astype(np.float64), axis=0)
        means.append(d.mean())
        variances.append(d.var())
    slope = np.polyfit(means, variances, 1)[0]
    assert means[1] == pytest.approx(20.0 * TF, rel=0.01)
    assert 1.0 / slope == pytest.approx(gain, rel=0.05)


def test_frame_averaging_and_groupgap_signal():
    # mean group difference = rate * (nframes + groupgap) * tframe
    r = ramp(rate=3.0, nframes=4, groupgap=2, superbias_dn=100.0)
    d = np.diff(r.data[0].astype(np.float64), axis=0).mean()
    assert d == pytest.approx(3.0 * 6 * TF, rel=0.01)


def test_superbias_and_amplifier_offsets():
    shape = (64, 2048)
    bias = np.random.default_rng(1).normal(12000, 40, shape).astype(np.float32)
    r = ramp(superbias_dn=bias, shape=shape, amp_offset_dn=50.0, readnoise_dn=5.0, ngroups=2)
    resid = r.data[0, 0].astype(np.float64) - bias
    off = r.truth.offsets[0, 0].mean(axis=1)  # (namps,)
    assert np.ptp(off) > 10  # offsets really differ between amplifiers
    for a in range(4):
        got = np.median(resid[:, a * 512:(a + 1) * 512])
        assert got == pytest.approx(off[a], abs=0.5)


def test_reference_border_follows_bias_drift():
    r = ramp(rate=50.0, shape=(256, 256), reference_border=True, bias_drift_dn=20.0,
             readnoise_dn=4.0, superbias_dn=1000.0, ngroups=8)
    ref = reference_pixel_mask((256, 256))
    data = r.data[0].astype(np.float64)
    drift = r.truth.offsets[0, :, 0, :].mean(axis=1)  # amp 0 (only amp in 256 columns)
    refmean = data[:, :4, :].mean(axis=(1, 2))  # bottom reference rows
    assert np.std(drift) > 5
    np.testing.assert_allclose(refmean - 1000.0, drift, atol=1.0)
    # no light on reference pixels, light elsewhere
    assert np.ptp(data[:, ref].mean(axis=1) - drift) < 1.0
    assert data[-1, ~ref].mean() - data[0, ~ref].mean() > 50.0 * 7 * TF * 0.99


def test_one_over_f_correlated_along_rows():
    shape = (512, 2048)
    r = ramp(shape=shape, one_over_f_dn=6.0, one_over_f_amp_dn=2.0, readnoise_dn=6.0,
             ngroups=3)
    d = np.diff(r.data[0].astype(np.float64), axis=0)[0]
    rowmeans = np.stack([d[:, a * 512:(a + 1) * 512].mean(axis=1) for a in range(4)])
    # row means per amplifier far above white-noise level (6/sqrt(512) ~ 0.27 DN)
    assert rowmeans.std(axis=1).min() > 2.0
    # common mode: amplifiers correlated with each other
    c = np.corrcoef(rowmeans)
    assert c[np.triu_indices(4, 1)].min() > 0.7
    # 1/f: neighbouring rows correlated
    x = rowmeans[0] - rowmeans[0].mean()
    assert np.corrcoef(x[:-1], x[1:])[0, 1] > 0.3
    # within a row, pixels of one amplifier share it: columns not correlated with noise
    colmeans = d[:, :512].mean(axis=0)
    assert colmeans.std() < 1.0


def test_dark_current_slope():
    dark = np.full((128, 128), 0.05, np.float32)
    r = ramp(0.0, dark_dn_s=dark, readnoise_dn=3.0, ngroups=10, nframes=1, superbias_dn=100)
    d = r.data[0].astype(np.float64)
    slope = (d[-1] - d[0]).mean() / (9 * TF)
    assert slope == pytest.approx(0.05, rel=0.05)


def test_nonlinearity_is_inverse_of_linearity_polynomial():
    coeffs = np.array([0.0, 1.0, 2.0e-6, 1.0e-11])
    r = ramp(rate=60.0, readnoise_dn=0.0, linearity_coeffs=coeffs, ngroups=40,
             superbias_dn=0.0, shape=(16, 16), saturation_dn=60000)
    raw = r.data[0].astype(np.float64).mean(axis=(1, 2))
    lin = np.polyval(coeffs[::-1], raw)
    t = np.arange(1, 41) * TF
    # raw ramp clearly bends; corrected ramp is a straight line with slope = rate
    assert raw[-1] < 0.97 * 60 * t[-1]
    fit = np.polyfit(t, lin, 1)
    assert fit[0] == pytest.approx(60.0, rel=0.002)
    assert np.max(np.abs(lin - np.polyval(fit, t))) < 0.002 * lin[-1]


def test_saturation_level_and_16bit_cap():
    sat = np.full((16, 32), 30000.0, np.float32)
    sat[:, 16:] = 70000.0  # above the A/D range: capped at 65535
    r = ramp(rate=500.0, shape=(16, 32), saturation_dn=sat, superbias_dn=10000.0,
             readnoise_dn=4.0, ngroups=20, sat_margin_dn=100.0)
    last = r.data[0, -1].astype(np.float64)
    assert np.all(last[:, :16] >= 30000) and np.all(last[:, :16] < 30000 + 100 + 20)
    assert np.all(r.data[0, -1, :, 16:] == 65535)


def test_cosmic_ray_count_matches_rate():
    shape = (256, 256)
    r = simulate_ramp(np.zeros(shape, np.float32), ngroups=5, nframes=1, tframe=TF,
                      readnoise_dn=6.0, cr_rate=50.0, snowball_rate=0.0,
                      reference_border=False, rng=11)
    area = 256 * 256 * (18e-4) ** 2
    expected = 50.0 * area * 5 * TF
    # count the hits from the file: > 10 sigma group-difference jumps, one per event
    d = np.diff(r.data[0].astype(np.float64), axis=0)
    sig = 6.0
    hit = d > 10 * sig
    # charge spread: count local maxima along the (group, y, x) jump image
    from scipy import ndimage
    st = np.zeros((3, 3, 3))
    st[1] = 1
    lab, n_found = ndimage.label(hit, structure=st)
    # hits in frame interval 0 land before the first read: not visible in differences
    n_visible = expected * 4 / 5
    assert abs(n_found - n_visible) < 3 * np.sqrt(n_visible)
    assert abs(len(r.truth.cosmic_rays) - expected) < 3 * np.sqrt(expected)


def test_snowballs_have_saturated_cores_and_halos():
    shape = (256, 256)
    r = simulate_ramp(np.zeros(shape, np.float32), ngroups=4, nframes=1, tframe=TF,
                      readnoise_dn=6.0, cr_rate=0.0, snowball_rate=0.5, superbias_dn=10000,
                      saturation_dn=40000.0, reference_border=False, rng=5)
    sb = r.truth.snowballs
    assert len(sb) >= 3
    last = r.data[0, -1]
    for s in sb:
        cx, cy = int(s["x"]), int(s["y"])
        if not (0 <= cx < 256 and 0 <= cy < 256):
            continue
        assert last[cy, cx] >= 40000  # saturated core
        ring = int(s["core_radius"] + 1.5)
        yy, xx = cy, min(cx + ring, 255)
        if np.hypot(xx + 0.5 - s["x"], yy + 0.5 - s["y"]) < s["halo_radius"] - 1:
            assert 10000 + 100 < last[yy, xx] < 40000  # halo: raised, not saturated


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_rows_have_independent_noise(rate):
    # each row has its own random stream: no row may repeat another's numbers, shifted
    # by a few columns (unhashed SplitMix64 starts y * golden apart did exactly that)
    r = ramp(rate=rate, shape=(16, 256), superbias_dn=1000.0, ngroups=2, rng=1)
    d = r.data[0, 1].astype(np.float64)
    d -= d.mean()
    worst = max(abs(np.corrcoef(d[dy:, 8:-8].ravel(), d[:-dy, 8 + dx:248 + dx].ravel())[0, 1])
                for dy in (1, 2, 3, 4) for dx in range(-8, 9))
    assert worst < 0.1, worst
