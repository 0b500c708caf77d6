"""detector1 against the simulator's truth on all four `tiny` exposures.

``z = (rate - true rate) / ERR`` over unflagged pixels (issue 4: |median| < 0.05, std
between 0.95 and 1.10). Each exposure carries its own common-mode error that ERR
leaves out: the reference pixels' read noise enters every pixel through the
per-group reference levels (about 0.03 of the rate sigma for the 256² corner window
with 4 reference columns), and Poisson skewness moves the median by about -0.015.
So the issue's bound is asserted on the four exposures together, and each exposure
is held to |median| < 0.1: uncorrected 1/f noise through the pooled single-output
reference level (the official scheme) gave up to 0.145, overlapping rows of random
numbers in the simulator up to 0.22.
"""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.pipelines.validation import load_true_rate, rate_zscores

pytest.importorskip("webbcal.pipelines.detector1", reason="detector1 steps not all available yet")


@pytest.fixture(scope="module")
def tiny_z(tiny_world, tmp_path_factory):
    """RateZ of every tiny exposure, by file name."""
    from webbcal.pipelines.detector1 import Detector1Pipeline

    out = tmp_path_factory.mktemp("tiny_truth")
    result = {}
    with tiny_world.crds_env():
        for uncal in tiny_world.uncal_files:
            rate = Detector1Pipeline(output_dir=out, save_results=False).run(uncal)
            truth = load_true_rate(tiny_world.world, uncal)
            assert truth is not None, uncal
            result[uncal.name] = rate_zscores(rate, truth)
    return result


def test_all_exposures_together_meet_the_issue_bounds(tiny_z):
    assert len(tiny_z) == 4
    z = np.concatenate([zs.z for zs in tiny_z.values()])
    assert abs(np.median(z)) < 0.05, np.median(z)
    assert 0.95 <= np.std(z) <= 1.10, np.std(z)


@pytest.mark.parametrize("index", range(4))
def test_each_exposure_has_no_large_common_offset(tiny_z, index):
    name = sorted(tiny_z)[index]
    zs = tiny_z[name]
    assert zs.z.size > 0.9 * 248 * 248, (name, zs.z.size)  # most light pixels unflagged
    assert abs(zs.median) < 0.1, (name, zs.median)
    assert 0.95 <= zs.std <= 1.10, (name, zs.std)
