"""`webbcal demo --preset tiny`: simulates, calibrates, reports where and how well."""

from __future__ import annotations

import re

import pytest

from webbcal.cli import main


def test_demo_tiny(tmp_path, capsys):
    pytest.importorskip("webbcal.pipelines.detector1", reason="detector1 steps missing")
    out = tmp_path / "demo"
    assert main(["demo", "--preset", "tiny", "--out", str(out), "--no-report"]) == 0
    text = capsys.readouterr().out
    rates = sorted((out / "detector1").glob("*_rate.fits"))
    assert len(rates) == 4  # tiny: 2 detectors x 2 dithers
    assert len(list((out / "detector1").glob("*_rateints.fits"))) == 4
    assert str(out / "detector1") in text
    # the validation table (webbcal validate's figures) reports the z statistics
    median = float(re.search(r"median z = \(rate - truth\)/ERR\s+([-+0-9.]+)", text).group(1))
    std = float(re.search(r"rate: std z\s+([0-9.]+)", text).group(1))
    assert abs(median) < 0.3 and 0.95 <= std <= 1.10, (median, std)
    # the stage table: one row per stage run, with its time, and the total
    for stage in ("simulate", "detector1", "total"):
        assert re.search(rf"^{stage}\s+[0-9.]+ s", text, re.M), stage
    # where the mosaics and catalogs are, when image3 exists in this version
    if (out / "image3").is_dir():
        for mosaic in (out / "image3").glob("*_i2d.fits"):
            assert re.search(rf"mosaic\s+{re.escape(str(mosaic))}", text)
    assert not (out / ".warmup").exists()


def test_warmup_markers_and_compile_timer(tmp_path):
    """The warm-up writes one marker per stage and times numba compilations."""
    from webbcal import _warmup

    res = _warmup.warm_up(tmp_path / "w", markers=tmp_path / "m", stages=("simulate",))
    assert (tmp_path / "m" / "simulate.done").is_file()
    assert res["simulate"]["seconds"] > 0
    assert isinstance(res["simulate"]["compile_s"], dict)
    # wait_for returns at once for a finished stage
    assert _warmup.wait_for("simulate", tmp_path / "m", None, timeout=5) < 1.0


def test_compile_timer_charges_outermost_kernel(tmp_path):
    import numba

    from webbcal._warmup import CompileTimer

    @numba.njit
    def inner(x):
        return x + 1

    @numba.njit
    def outer(x):
        return inner(x) * 2

    with CompileTimer() as timer:
        assert outer(1) == 4
    names = list(timer.seconds)
    assert len(names) == 1 and names[0].endswith("outer"), names
    assert timer.seconds[names[0]] > 0
