"""`webbcal demo --preset tiny`: simulates, calibrates, reports where and how well."""

from __future__ import annotations

import re

import pytest

from webbcal.cli import main


def test_demo_tiny(tmp_path, capsys):
    pytest.importorskip("webbcal.pipelines.detector1", reason="detector1 steps missing")
    out = tmp_path / "demo"
    assert main(["demo", "--preset", "tiny", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rates = sorted((out / "detector1").glob("*_rate.fits"))
    assert len(rates) == 4  # tiny: 2 detectors x 2 dithers
    assert len(list((out / "detector1").glob("*_rateints.fits"))) == 4
    assert str(out / "detector1") in text
    # the validation table reports the z statistics
    median = float(re.search(r"median z \(rate - truth\)/ERR\s+([-+0-9.]+)", text).group(1))
    std = float(re.search(r"detector1 std z\s+([0-9.]+)", text).group(1))
    # std meets the target; the median over all four exposures is looser
    # (2026-11-24: per-exposure medians -0.02, -0.10, -0.22, +0.12: an exposure-level
    # offset left by refpix on the corner subarray; see the pipeline tests)
    assert abs(median) < 0.3 and 0.95 <= std <= 1.10, (median, std)
    assert re.search(r"detector1\s+[0-9.]+ s", text)
