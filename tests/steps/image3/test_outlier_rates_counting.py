"""The counting logic of ``benchmarks/cr_survivors.py`` on hand-made cases."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import cr_survivors as crs  # noqa: E402


def test_window_max_rounds_and_ignores_nan():
    img = np.zeros((10, 12))
    img[4, 7] = 3.0
    img[5, 5] = np.nan
    x = np.array([6.6, 5.4, 8.49, 8.51, -0.6, 11.4, 11.6, 5.0])
    y = np.array([4.2, 4.6, 4.0, 4.0, 0.0, 9.4, 0.0, 5.0])
    m = crs.window_max(img, x, y)
    # (7,4) is within the 3x3 of (7,4), (5,5)->no, (8,4) yes, (9,4) no (rounded 9 -> 8..10)
    assert m[0] == 3.0
    assert m[1] == 0.0          # rounds to (5, 5): window 4..6 x 4..6 misses x = 7
    assert m[2] == 3.0 and m[3] == 0.0
    assert np.isnan(m[4])       # rounds to x = -1: off the image
    assert m[5] == 0.0          # corner (11, 9): window clipped at the edge
    assert np.isnan(m[6])       # x rounds to 12 = nx
    assert m[7] == 0.0          # the NaN centre is ignored, its neighbours count
    assert crs.window_max(img, np.array([7.0]), np.array([4.0]), radius=0)[0] == 3.0
    assert crs.window_min(img, np.array([7.0]), np.array([4.0]), radius=0)[0] == 3.0
    assert crs.window_min(img, np.array([7.0]), np.array([4.0]), radius=1)[0] == 0.0


def test_survivors_threshold_and_err():
    diff = np.zeros((20, 20), np.float32)
    err = np.full((20, 20), 2.0, np.float32)
    diff[5, 5] = 10.01   # 5.005 sigma: a feature
    diff[10, 10] = 9.99  # 4.995 sigma: not
    diff[15, 15] = 100.0
    err[15, 15] = 0.0    # no ERR: no feature (and no division warning)
    diff[2, 15] = -50.0  # negative: not a CR feature
    x = np.array([6.0, 10.0, 15.0, 15.0, 4.4, 30.0])
    y = np.array([6.0, 9.0, 15.0, 2.0, 4.4, 3.0])
    s = crs.survivors(diff, err, x, y)
    assert s.tolist() == [True, False, False, False, True, False]
    assert crs.survivors(diff, err, x, y, nsigma=4.9).tolist() == [True, True, False,
                                                                    False, True, False]
    # radius 0: only the rounded pixel itself
    assert crs.survivors(diff, err, x, y, radius=0).tolist() == [False] * 4 + [False, False]


def test_coverage_counts_context_bits():
    con = np.zeros((2, 2, 3), np.int32)
    con[0, 0, 0] = 0b101
    con[0, 1, 1] = -1            # all 32 bits of the first plane
    con[1, 1, 2] = 1 << 3        # exposure 35
    n = crs.coverage(con)
    assert n.tolist() == [[2, 0, 0], [0, 32, 1]]


def test_near_snowballs():
    sb = np.array([(10.5, 8.5, 3.0)], dtype=[("x", "f8"), ("y", "f8"), ("halo_radius", "f8")])
    m = crs.near_snowballs((20, 30), sb, pad=1.0)
    # centre at pixel (10, 8); radius 4 pixels
    assert m[8, 10] and m[8, 14] and m[4, 10] and not m[8, 15] and not m[3, 10]
    assert m.sum() == np.sum(np.hypot(*np.mgrid[-8:12, -10:20]) <= 4.0)
