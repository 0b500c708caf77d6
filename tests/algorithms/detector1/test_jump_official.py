"""Conventions of stcal 1.20's two-point difference search (jwst 3.0 JumpStep), one
hand-checkable ramp each.

Every case uses read noise 1 DN, nframes 1 and a gain of 2**20 e-/DN, so that one
difference has sigma = sqrt(|median| / gain + 1) = 1 (to 1e-5) and the ratios can be
read off the differences; the search works in electrons (float32, as officially), and
this gain keeps the values exact, so equal differences stay equal. Each case is chosen
so that the former (signed, per-integration, per-pixel-mode) search gives a different
answer.
"""

import numpy as np
import pytest

from webbcal.algorithms.detector1.jump import detect_jumps
from webbcal.datamodels.dqflags import DQ

DNU, SAT, JUMP = int(DQ.DO_NOT_USE), int(DQ.SATURATED), int(DQ.JUMP_DET)


def ramps(*diff_lists):
    """(nints, ngroups, 1, n) float32 ramps: pixel j of integration i has the group
    differences ``diff_lists[i][j]``."""
    out = [[np.concatenate([[0.0], np.cumsum(d)]) for d in per_int] for per_int in diff_lists]
    return np.array(out, np.float64).transpose(0, 2, 1)[:, :, None, :].astype(np.float32)


def run(data, gdq=None, **kw):
    ny, nx = data.shape[2:]
    gdq = np.zeros(data.shape, np.uint8) if gdq is None else gdq
    return detect_jumps(data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), 2.0 ** 20),
                        np.ones((ny, nx)), nframes=1, **kw)


def jump_groups(res, i=0, x=0):
    return np.nonzero(res.groupdq[i, :, 0, x] & JUMP)[0].tolist()


def test_search_uses_absolute_differences():
    # |d| = 2 2 2 2 2 2 5.5: clipped median of |d| is 2, ratio of 5.5 is 3.5 < 4.
    # (Signed: clipped median 0, ratio 5.5 - it would be flagged.)
    res = run(ramps([[2, -2, 2, -2, 2, -2, 5.5]]), flag_4_neighbors=False)
    assert jump_groups(res) == []
    # the same jump on a ramp without sign changes is found
    res = run(ramps([[2, 2, 2, 2, 2, 2, 6.5]]), flag_4_neighbors=False)
    assert jump_groups(res) == [7]


def test_all_values_tied_for_the_largest_are_clipped():
    # 4 usable: both 5s are dropped, median 0, both ratios 5 > 4: flagged together.
    # (Dropping one 5 would flag one, then 3 usable need > 5 sigma: the other stays.)
    res = run(ramps([[5, 5, 0, 0]]), flag_4_neighbors=False)
    assert jump_groups(res) == [1, 2]


def test_neighbours_use_the_plain_median_of_all_differences():
    d = [0, 0, 0, 0, 10.5, 0.6, 0.6, 0.6]
    data = np.zeros((1, 9, 3, 3), np.float32)
    data[0, :, 1, 1] = np.concatenate([[0.0], np.cumsum(d)])
    res = run(data)
    # found: clipped median of |d| is 0.3, ratio 10.2 > 4; neighbours: plain median
    # 0.3 too here, so ratio 10.2 > 10 and the 4 neighbours are flagged
    assert (res.groupdq[0, 5] & JUMP).astype(bool).sum() == 5
    # one more 0.6: plain median 0.6, ratio 9.9 < 10: no neighbours, although the
    # clipped median (0.3) would give 10.2
    d2 = d + [0.6]
    data2 = np.zeros((1, 10, 3, 3), np.float32)
    data2[0, :, 1, 1] = np.concatenate([[0.0], np.cumsum(d2)])
    res2 = run(data2, min_diffs_single_pass=20)
    assert (res2.groupdq[0, 5] & JUMP).astype(bool).sum() == 1
    assert res2.groupdq[0, 5, 1, 1] & JUMP


def test_single_pass_is_chosen_for_the_whole_exposure():
    # 12 groups (11 differences >= 10): single pass against the plain median for every
    # pixel, even one with only 5 usable differences (saturated from group 6)
    d = [0, 0, 4.5, 4.5, 4.5] + [100.0] * 6
    data = ramps([d])
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 6:, 0, 0] = SAT
    res = run(data, gdq, flag_4_neighbors=False)
    assert jump_groups(res) == [1, 2]            # |0 - 4.5| > 4 from median 4.5
    # two groups DO_NOT_USE on every pixel: 9 usable differences < 10: iterative
    gdq2 = gdq.copy()
    gdq2[0, 10:] |= DNU
    res2 = run(data, gdq2, flag_4_neighbors=False)
    assert jump_groups(res2) == [3, 4, 5]        # clipped |d| median 0, ratios 4.5


def test_integrations_are_searched_together():
    # 2 integrations x 3 differences = 6 usable: 4 sigma (one integration alone: 5)
    data = ramps([[0, 0, 4.5]], [[0, 0, 0]])
    res = run(data, flag_4_neighbors=False)
    assert jump_groups(res, 0) == [3] and jump_groups(res, 1) == []
    assert jump_groups(run(data[:1], flag_4_neighbors=False)) == []


def test_jump_is_removed_where_do_not_use_or_saturated_is_set():
    data = ramps([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 2, 0, 0] = JUMP | DNU
    gdq[0, 3, 0, 1] = JUMP | SAT
    gdq[0, 4, 0, 1] = JUMP
    res = run(data, gdq, flag_4_neighbors=False)
    assert res.groupdq[0, 2, 0, 0] == DNU
    assert res.groupdq[0, 3, 0, 1] == SAT
    assert res.groupdq[0, 4, 0, 1] == JUMP       # a given jump alone is kept
    assert res.n_primary == 1                    # official count: groups with JUMP_DET


@pytest.mark.parametrize("network", [True, False])
def test_screen_and_exact_search_agree_on_these_cases(monkeypatch, network):
    import webbcal.algorithms.detector1.jump as jump_mod

    if not network:
        monkeypatch.setattr(jump_mod, "_MAX_NETWORK_DIFFS", 0)
    assert jump_groups(run(ramps([[5, 5, 0, 0]]), flag_4_neighbors=False)) == [1, 2]
    assert jump_groups(run(ramps([[2, -2, 2, -2, 2, -2, 5.5]]))) == []
