"""context_coverage: exposures per mosaic pixel from the CON bit planes."""

import numpy as np
import pytest

from webbcal.algorithms.image3.resample import context_coverage


def _con(members, shape):
    """CON planes with member k's bit set where ``members[k]`` is True."""
    con = np.zeros(((len(members) + 31) // 32, *shape), np.uint32)
    for k, where in enumerate(members):
        con[k // 32][where] |= np.uint32(1) << np.uint32(k % 32)
    return con.view(np.int32)


@pytest.mark.parametrize("with_bitwise_count", [True, False])
def test_counts_members_over_all_planes(monkeypatch, with_bitwise_count):
    rng = np.random.default_rng(4)
    members = [rng.random((5, 7)) < 0.5 for _ in range(40)]  # two planes, bit 31 used
    if not with_bitwise_count:  # numpy < 2.0 has no np.bitwise_count
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    n = context_coverage(_con(members, (5, 7)))
    assert n.dtype == np.int16
    np.testing.assert_array_equal(n, np.sum(members, axis=0))
