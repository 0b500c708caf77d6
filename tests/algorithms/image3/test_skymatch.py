"""Sky statistics and matching: recover injected sky offsets."""

import numpy as np
import pytest

from webbcal.algorithms.image3.skymatch import match_levels, sky_statistic, solve_skies


def test_clipped_sky_ignores_sources():
    rng = np.random.default_rng(0)
    v = rng.normal(0.25, 0.01, 100_000)
    v[:3000] += rng.exponential(1.0, 3000)  # bright source pixels
    v[5] = np.nan
    assert abs(sky_statistic(v, stat="mode") - 0.25) < 2e-3
    assert abs(sky_statistic(v, stat="median") - 0.25) < 3e-3
    assert np.isnan(sky_statistic([np.nan]))


def test_match_recovers_offsets_of_a_chain_of_overlaps():
    true = np.array([0.30, 0.10, 0.45, 0.20])
    pairs = [(0, 1, true[0] - true[1], 1000), (1, 2, true[1] - true[2], 500),
             (2, 3, true[2] - true[3], 800), (0, 3, true[0] - true[3], 10)]
    d = match_levels(4, pairs)
    assert np.allclose(d, true - true.min(), atol=1e-12)


def test_disconnected_groups_each_start_at_zero():
    d = match_levels(4, [(0, 1, 0.2, 10), (2, 3, -0.5, 10)])
    assert np.allclose(d, [0.2, 0.0, 0.0, 0.5])


def test_global_plus_match_restores_common_level():
    true = np.array([1.3, 1.1, 1.45])
    pairs = [(0, 1, 0.2, 1), (1, 2, -0.35, 1)]
    res = solve_skies(true, pairs, method="global+match")
    assert np.allclose(res.sky, true)
    assert np.allclose(solve_skies(true, method="global").sky, 1.1)
    assert np.allclose(solve_skies(true, method="local").sky, true)
    with pytest.raises(ValueError):
        solve_skies(true, method="bogus")
