"""skymatch's per-cell medians equal a brute-force median per cell."""

import numpy as np

from webbcal.steps.image3.skymatch import cell_medians


def _brute(values, ids, min_count):
    out = [(c, np.median(values[ids == c]), int((ids == c).sum())) for c in np.unique(ids)]
    out = [o for o in out if o[2] >= min_count]
    return (np.array([o[0] for o in out], np.int64), np.array([o[1] for o in out]),
            np.array([o[2] for o in out]))


def test_cell_medians_equal_brute_force():
    rng = np.random.default_rng(12)
    for n, ncell, ties in ((5000, 40, False), (3000, 7, True), (50, 1, False)):
        values = rng.normal(0.3, 0.05, n)
        if ties:
            values = np.round(values, 2)  # many equal values
        ids = rng.integers(-3, ncell, n).astype(np.int64) * 97  # sparse, negative ids
        for min_count in (1, 16, 120):
            got = cell_medians(values, ids, min_count=min_count)
            want = _brute(values, ids, min_count)
            for g, w in zip(got, want):
                assert np.array_equal(g, w)
    got = cell_medians(np.array([3.0, 1.0, 2.0, 10.0]), np.array([5, 5, 5, 9]), min_count=1)
    assert got[0].tolist() == [5, 9] and got[1].tolist() == [2.0, 10.0]
    assert got[2].tolist() == [3, 1]
