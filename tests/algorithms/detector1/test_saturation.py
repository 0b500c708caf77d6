"""saturation: exact flags on tiny cubes, and agreement with a plain numpy
re-statement of the official algorithm on random cubes."""

import numpy as np
import pytest
from scipy import ndimage

from webbcal.algorithms.detector1.saturation import flag_saturation, read_pattern_frames
from webbcal.datamodels.dqflags import DQ

SAT, DNU, ADF, NSC = int(DQ.SATURATED), int(DQ.DO_NOT_USE), int(DQ.AD_FLOOR), int(DQ.NO_SAT_CHECK)
BITS = dict(saturated=SAT, do_not_use=DNU, ad_floor=ADF, no_sat_check=NSC)


def _run(data, thr, sat_dq=None, **kw):
    gdq = np.zeros(data.shape, np.uint8)
    pdq = np.zeros(data.shape[-2:], np.uint32)
    sat_dq = np.zeros(data.shape[-2:], np.uint32) if sat_dq is None else sat_dq
    res = flag_saturation(data, gdq, pdq, thr, sat_dq, **BITS, **kw)
    return gdq, pdq, res


def test_flags_group_all_later_groups_and_grows_to_neighbours():
    data = np.full((1, 5, 7, 7), 100.0, np.float32)
    data[0, 2:, 3, 3] = 5000.0            # saturates at group 2
    thr = np.full((7, 7), 4000.0, np.float32)
    gdq, pdq, res = _run(data, thr)
    expect = np.zeros((5, 7, 7), np.uint8)
    expect[2:, 2:5, 2:5] = SAT            # 3x3 box from group 2 on
    np.testing.assert_array_equal(gdq[0], expect)
    assert res.n_saturated == 9 and res.n_ad_floor == 0 and not pdq.any()


@pytest.mark.parametrize("n_grow", [0, 2])
def test_grow_distance(n_grow):
    data = np.full((1, 3, 9, 9), 100.0, np.float32)
    data[0, 1:, 4, 4] = 5000.0
    gdq, _, res = _run(data, np.full((9, 9), 4000.0, np.float32), n_pix_grow_sat=n_grow)
    box = np.zeros((9, 9), bool)
    box[4 - n_grow:5 + n_grow, 4 - n_grow:5 + n_grow] = True
    assert res.n_saturated == (2 * n_grow + 1) ** 2
    np.testing.assert_array_equal(gdq[0, 1:] == SAT, np.broadcast_to(box, (2, 9, 9)))
    assert not gdq[0, 0].any()


def test_neighbour_keeps_its_own_earlier_saturation():
    data = np.full((1, 4, 3, 3), 100.0, np.float32)
    data[0, 3:, 1, 1] = 5000.0   # centre saturates at group 3
    data[0, 1:, 1, 2] = 5000.0   # neighbour already at group 1
    gdq, _, _ = _run(data, np.full((3, 3), 4000.0, np.float32))
    first = np.argmax((gdq[0] & SAT) != 0, axis=0)
    # columns 1-2 touch (1, 2)'s box → from group 1; column 0 only the centre's → group 3
    np.testing.assert_array_equal(first, [[3, 1, 1]] * 3)


def test_ad_floor_only_in_that_group():
    data = np.full((1, 4, 2, 2), 100.0, np.float32)
    data[0, 1, 0, 0] = 0.0
    data[0, 2, 1, 1] = -5.0
    gdq, _, res = _run(data, np.full((2, 2), 4000.0, np.float32))
    assert gdq[0, 1, 0, 0] == ADF | DNU and gdq[0, 2, 1, 1] == ADF | DNU
    assert np.count_nonzero(gdq) == 2 and res.n_ad_floor == 2


def test_no_sat_check_and_nan_thresholds():
    data = np.full((1, 3, 2, 2), 65535.0, np.float32)   # at the A/D limit
    thr = np.array([[1000.0, np.nan], [1000.0, 1000.0]], np.float32)
    sat_dq = np.array([[NSC, 0], [0, int(DQ.DEAD)]], np.uint32)
    gdq, pdq, res = _run(data, thr, sat_dq, n_pix_grow_sat=0)
    # NO_SAT_CHECK / NaN pixels: threshold 65536 → never flagged; the others flagged from group 0
    assert not gdq[0, :, 0, 0].any() and not gdq[0, :, 0, 1].any()
    assert (gdq[0, :, 1, 0] == SAT).all() and (gdq[0, :, 1, 1] == SAT).all()
    np.testing.assert_array_equal(pdq, [[NSC, NSC], [0, DQ.DEAD]])
    assert res.n_no_sat_check == 2


def test_mid_group_saturation_with_read_pattern():
    # nframes=4, groupgap=1: group 1 holds frames 6..9 → dilution mean/last = 7.5/9
    rp = read_pattern_frames(4, 4, 1)
    assert rp[1] == [6, 7, 8, 9]
    thr = np.full((5, 5), 9000.0, np.float32)
    data = np.full((1, 4, 5, 5), 100.0, np.float32)
    data[0, 1, 2, 2] = 8000.0     # >= 9000 * 7.5/9 = 7500 but < 9000
    data[0, 2:, 2, 2] = 9500.0    # saturated from group 2
    gdq, _, _ = _run(data, thr.copy(), read_pattern=rp)
    assert gdq[0, 1, 2, 2] == DNU                       # flagged, not SATURATED
    np.testing.assert_array_equal(gdq[0, 1, 1:4, 1:4], np.full((3, 3), DNU))  # grown
    assert not gdq[0, 0].any()
    gdq_nr, _, _ = _run(data, thr.copy())               # without the read pattern: nothing
    assert not gdq_nr[0, 1].any()


def _reference(data, thr, sat_dq, n_grow, rp):
    """Straightforward numpy statement of the official (stcal) algorithm."""
    nints, ng, ny, nx = data.shape
    gdq = np.zeros(data.shape, np.uint8)
    thr = thr.astype(np.float64).copy()
    nsc = ((sat_dq & NSC) != 0) | np.isnan(thr)
    thr[nsc] = 65536.0
    box = np.ones((2 * n_grow + 1,) * 2, bool)
    for i in range(nints):
        for g in range(ng):
            sat = data[i, g] >= thr
            gdq[i, g:] |= (sat * SAT).astype(np.uint8)
            gdq[i, g] |= ((data[i, g] <= 0) * (ADF | DNU)).astype(np.uint8)
            grown = ndimage.binary_dilation((gdq[i, g] & SAT) != 0, box)
            gdq[i, g] |= (grown * SAT).astype(np.uint8)
        for g in range(ng - 2, -1, -1):
            dil = np.mean(rp[g]) / rp[g][-1]
            if dil == 1:
                continue
            dil = np.where(nsc, 1.0, dil)
            part = ((data[i, g] >= thr * dil) & ((gdq[i, g] & (SAT | DNU)) == 0)
                    & ((gdq[i, g + 1] & SAT) != 0))
            part = ndimage.binary_dilation(part, box) if part.any() else part
            gdq[i, g] |= (part * DNU).astype(np.uint8)
        if ng > 2:
            m = (data[i, 0] / np.mean(rp[0]) * rp[2][-1] < thr) & (data[i, 1] > thr / len(rp[1]))
            m &= ((gdq[i, 2] & SAT) != 0) & ((gdq[i, 1] & SAT) == 0)
            gdq[i, 1] |= (m * DNU).astype(np.uint8)
    return gdq


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_plain_statement_of_official_algorithm(seed):
    rng = np.random.default_rng(seed)
    nints, ng, ny, nx = 2, 6, 24, 20
    rate = rng.choice([10.0, 300.0, 1500.0, 4000.0], size=(nints, 1, ny, nx), p=[.6, .2, .1, .1])
    t = np.arange(1, ng + 1)[None, :, None, None]
    data = (rate * t + rng.normal(0, 200, (nints, ng, ny, nx))).astype(np.float32)
    data[0, 3, 5, 5] = -1.0
    thr = rng.uniform(8000, 12000, (ny, nx)).astype(np.float32)
    thr[2, 3] = np.nan
    sat_dq = np.zeros((ny, nx), np.uint32)
    sat_dq[7, 7] = NSC
    rp = read_pattern_frames(ng, 4, 1)
    for n_grow in (0, 1, 2):
        gdq, _, _ = _run(data, thr.copy(), sat_dq.copy(), n_pix_grow_sat=n_grow, read_pattern=rp)
        expect = _reference(data, thr, sat_dq, n_grow, rp)
        assert (expect & SAT).any() and (expect & DNU).any()
        np.testing.assert_array_equal(gdq, expect)


def test_zeroframe_zeroed_where_saturated():
    data = np.full((1, 2, 3, 3), 100.0, np.float32)
    zf = np.full((1, 3, 3), 50.0, np.float32)
    zf[0, 0, 0] = 5000.0
    _run(data, np.full((3, 3), 4000.0, np.float32), zeroframe=zf)
    expect = np.full((3, 3), 50.0)
    expect[0:2, 0:2] = 0.0
    np.testing.assert_array_equal(zf[0], expect)
