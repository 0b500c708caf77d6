"""OLS ramp fit: the official (stcal 1.20, ``slope_fitter.c``) conventions for ramps
split into segments, pinned on tiny noiseless ramps whose expected values are computed
here by formula.

Noiseless linear segments have an exact least-squares slope whatever the Fixsen
weights, so the only thing under test is how segments / integrations are formed and
combined, and their variances:

* segment read-noise variance ``12 (rn_e / t_g)^2 / ((n^3 - n) g^2)`` with
  ``rn_e = readnoise * g / sqrt(2 nframes)`` (``n = 2`` for 1- and 2-group segments);
* segment Poisson variance ``(median_rate + dark) / (t_g g (n - 1))`` (``n - 1 -> 1``
  for 1- and 2-group segments), median over first differences with the jump's
  difference left out;
* segment slopes, and integration slopes, combined with *read-noise* inverse-variance
  weights (stcal JP-4318), the variances as inverse sums of inverses.
"""

import numpy as np
import pytest

from webbcal.algorithms.detector1.ramp_fit import fit_ramps
from webbcal.datamodels.dqflags import DQ

TFRAME = 10.73677
NFRAMES, GROUPGAP = 8, 2
TG = (NFRAMES + GROUPGAP) * TFRAME
GAIN, RN = 2.0, 10.0
DNU, SAT, JUMP = int(DQ.DO_NOT_USE), int(DQ.SATURATED), int(DQ.JUMP_DET)
RN_E = RN * GAIN / np.sqrt(2 * NFRAMES)


def var_r(n):
    """Read-noise variance (DN/s)^2 of an n-group segment (stcal segment_rnoise_*)."""
    n = max(n, 2)
    return 12 * (RN_E / TG) ** 2 / ((n**3 - n) * GAIN**2)


def var_p(n, median_rate):
    """Poisson variance (DN/s)^2 of an n-group segment (no dark current)."""
    return median_rate / (TG * GAIN * max(n - 1, 1))


def ramp(segments, ngroups):
    """One pixel's ramp (ngroups,) float64 DN: list of (first_group, rate DN/s, offset DN);
    each entry's line holds from its first group to the next entry's."""
    y = np.zeros(ngroups)
    for j, (g0, rate, off) in enumerate(segments):
        g1 = segments[j + 1][0] if j + 1 < len(segments) else ngroups
        k = np.arange(g0, g1)
        y[g0:g1] = off + rate * TG * k
    return y


def fit1(ys, flags, **kw):
    """Fit pixels given as lists of (nints, ngroups) ramps and group DQ."""
    data = np.stack(ys, axis=-1)[:, :, None, :].astype(np.float32)
    gdq = np.stack(flags, axis=-1)[:, :, None, :].astype(np.uint8)
    ny, nx = data.shape[2:]
    return fit_ramps(data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), GAIN),
                     np.full((ny, nx), RN), frame_time=TFRAME, group_time=TG,
                     nframes=NFRAMES, groupgap=GROUPGAP, **kw)


def test_two_segments_combined_by_read_noise_weights():
    # 9 groups, jump flagged at group 4: stcal starts the second segment AT the jump
    # group, giving segments of 4 (0-3) and 5 (4-8) groups; slopes 2 and 6 DN/s.
    y = ramp([(0, 2.0, 100.0), (4, 6.0, 5000.0)], 9)
    q = np.zeros(9, np.uint8)
    q[4] = JUMP
    res = fit1([y[None]], [q[None]])
    w4, w5 = 1 / var_r(4), 1 / var_r(5)
    expected = (2.0 * w4 + 6.0 * w5) / (w4 + w5)
    np.testing.assert_allclose(res.rate[0, 0], expected, rtol=1e-5)
    # not the inverse-total-variance mean of stcal < 1.15 (which our fit used to give)
    median_rate = 6.0  # diffs: 3 x 2 DN/s, 4 x 6 DN/s (the jump's difference dropped)
    vt4, vt5 = var_r(4) + var_p(4, median_rate), var_r(5) + var_p(5, median_rate)
    old = (2.0 / vt4 + 6.0 / vt5) / (1 / vt4 + 1 / vt5)
    assert abs(res.rate[0, 0] - old) > 1e-3
    np.testing.assert_allclose(res.var_rnoise[0, 0], 1 / (w4 + w5), rtol=1e-5)
    np.testing.assert_allclose(
        res.var_poisson[0, 0], 1 / (1 / var_p(4, median_rate) + 1 / var_p(5, median_rate)),
        rtol=1e-5)
    np.testing.assert_allclose(res.err[0, 0],
                               np.sqrt(res.var_rnoise[0, 0] + res.var_poisson[0, 0]),
                               rtol=1e-6)
    # the per-integration ERR is the inverse-sum of the segments' total variances
    np.testing.assert_allclose(res.err_ints[0, 0, 0], np.sqrt(1 / (1 / vt4 + 1 / vt5)),
                               rtol=1e-5)
    assert res.dq[0, 0] == JUMP


def test_two_group_segment_after_a_jump():
    # jump at group 7 of 9: segments 0-6 (7 groups) and 7-8 (2 groups, the special
    # case: slope = difference / t_g, read-noise variance with n = 2)
    y = ramp([(0, 3.0, 0.0), (7, 9.0, 800.0)], 9)
    q = np.zeros(9, np.uint8)
    q[7] = JUMP
    res = fit1([y[None]], [q[None]])
    w7, w2 = 1 / var_r(7), 1 / var_r(2)
    np.testing.assert_allclose(res.rate[0, 0], (3.0 * w7 + 9.0 * w2) / (w7 + w2), rtol=1e-5)
    median_rate = 3.0  # diffs: 6 x 3 DN/s, 1 x 9 DN/s
    np.testing.assert_allclose(
        res.var_poisson[0, 0], 1 / (1 / var_p(7, median_rate) + 1 / var_p(2, median_rate)),
        rtol=1e-5)


def test_one_group_segment_is_dropped_when_a_longer_one_exists():
    # groups 0-4 good, 5 DO_NOT_USE, 6 good alone, 7-8 DO_NOT_USE: the lone group 6 is
    # a 1-group segment, which stcal discards (prune_segment_list)
    y = ramp([(0, 4.0, 0.0), (6, 50.0, 0.0)], 9)
    q = np.zeros(9, np.uint8)
    q[[5, 7, 8]] = DNU
    res = fit1([y[None]], [q[None]])
    np.testing.assert_allclose(res.rate[0, 0], 4.0, rtol=1e-5)
    np.testing.assert_allclose(res.var_rnoise[0, 0], var_r(5), rtol=1e-5)


def test_jump_group_with_other_flags_does_not_start_a_segment():
    # stcal includes the previous group only if its DQ is exactly JUMP_DET: with
    # JUMP_DET | DO_NOT_USE at group 4 the second segment is 5-8 (4 groups)
    y = ramp([(0, 2.0, 0.0), (4, 6.0, 3000.0)], 9)
    q = np.zeros(9, np.uint8)
    q[4] = JUMP | DNU
    res = fit1([y[None]], [q[None]])
    w4a, w4b = 1 / var_r(4), 1 / var_r(4)
    np.testing.assert_allclose(res.rate[0, 0], (2.0 * w4a + 6.0 * w4b) / (w4a + w4b),
                               rtol=1e-5)
    np.testing.assert_allclose(res.var_rnoise[0, 0], var_r(4) / 2, rtol=1e-5)


def test_partial_saturation_flags_the_rate_but_keeps_it():
    # groups 6-8 saturated: the rate comes from groups 0-5 and its DQ (rate and
    # rateints) carries SATURATED, without DO_NOT_USE (stcal set_rate_sat_flag)
    y = ramp([(0, 5.0, 10.0)], 9)
    q = np.zeros(9, np.uint8)
    q[6:] = SAT
    res = fit1([y[None]], [q[None]])
    np.testing.assert_allclose(res.rate[0, 0], 5.0, rtol=1e-5)
    assert res.dq[0, 0] == SAT and res.dq_ints[0, 0, 0] == SAT
    np.testing.assert_allclose(res.var_rnoise[0, 0], var_r(6), rtol=1e-5)


@pytest.mark.parametrize("suppress", [True, False])
def test_integrations_combined_by_read_noise_weights(suppress):
    # integration 0: clean 9-group ramp at 2 DN/s; integration 1: a jump at group 3
    # splits it into 3 + 6 groups at 4 DN/s. Both the per-integration and the exposure
    # slope use read-noise weights.
    y0 = ramp([(0, 2.0, 0.0)], 9)
    y1 = ramp([(0, 4.0, 0.0), (3, 4.0, 900.0)], 9)
    q0 = np.zeros(9, np.uint8)
    q1 = np.zeros(9, np.uint8)
    q1[3] = JUMP
    res = fit1([np.stack([y0, y1])], [np.stack([q0, q1])], suppress_one_group=suppress)
    np.testing.assert_allclose(res.rateints[:, 0, 0], [2.0, 4.0], rtol=1e-5)
    wi0 = 1 / var_r(9)
    wi1 = 1 / var_r(3) + 1 / var_r(6)
    np.testing.assert_allclose(res.var_rnoise_ints[:, 0, 0], [1 / wi0, 1 / wi1], rtol=1e-5)
    np.testing.assert_allclose(res.rate[0, 0], (2.0 * wi0 + 4.0 * wi1) / (wi0 + wi1),
                               rtol=1e-5)
    np.testing.assert_allclose(res.var_rnoise[0, 0], 1 / (wi0 + wi1), rtol=1e-5)
    assert res.dq_ints[0, 0, 0] == 0 and res.dq_ints[1, 0, 0] == JUMP
    assert res.dq[0, 0] == JUMP
