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
    for stage in ("simulate", "detector1", "compile", "total"):
        assert re.search(rf"^{stage}\s+[0-9.]+ s", text, re.M), stage
    # where the mosaics and catalogs are, when image3 exists in this version
    if (out / "image3").is_dir():
        for mosaic in (out / "image3").glob("*_i2d.fits"):
            assert re.search(rf"mosaic\s+{re.escape(str(mosaic))}", text)
    assert not (out / ".warmup").exists()
    # absolute alignment: image3 used the simulator's Gaia-like catalog, so the mosaic
    # catalogs sit on the true positions (without it: offsets of the pointing error,
    # ~70-210 mas on tiny seed 0)
    mosaics = sorted((out / "image3").glob("*_cat.ecsv")) if (out / "image3").is_dir() else []
    for cat in mosaics:
        dra, ddec, n = _median_offsets_mas(cat, out / "raw" / "truth" / "sources.ecsv")
        assert n >= 10 and abs(dra) < 10 and abs(ddec) < 10, (cat.name, dra, ddec, n)


def _median_offsets_mas(catalog, truth, radius_arcsec=0.15):
    """Median (ΔRA cos δ, ΔDec) in mas of catalog sources matched to the true sources."""
    import numpy as np
    from astropy.table import Table

    cat = Table.read(catalog)
    sky = cat["sky_centroid"]
    true = Table.read(truth)
    cosd = np.cos(np.deg2rad(float(np.median(true["dec"]))))
    dx = (sky.ra.deg[:, None] - np.asarray(true["ra"])[None, :]) * cosd * 3.6e6
    dy = (sky.dec.deg[:, None] - np.asarray(true["dec"])[None, :]) * 3.6e6
    j = np.argmin(dx**2 + dy**2, axis=1)
    i = np.arange(len(j))
    ok = np.hypot(dx[i, j], dy[i, j]) < radius_arcsec * 1000
    return float(np.median(dx[i, j][ok])), float(np.median(dy[i, j][ok])), int(ok.sum())


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
