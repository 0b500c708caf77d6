"""The HTML report of a `tiny` world: links to decodable PNGs; a headless-browser check."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def _decode_png(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(path, format="png")


@pytest.fixture(scope="module")
def report(tiny_products, tmp_path_factory):
    from webbcal.report import build_report

    root, _ = tiny_products
    return build_report(root, out_dir=tmp_path_factory.mktemp("report"))


def test_report_links_existing_pngs(report, tiny_products):
    html = report.read_text()
    srcs = re.findall(r"<img src='([^']+)'", html)
    stems = sorted(p.name[: -len("_rate.fits")]
                   for p in (tiny_products[0] / "detector1").glob("*_rate.fits"))
    assert len(stems) == 4
    for stem in stems:  # per exposure: rate image, DQ map, ramps
        for kind in ("rate", "dq", "ramps"):
            assert f"img/{stem}_{kind}.png" in srcs
        assert f"id='{stem}'" in html
    for src in srcs:
        assert not Path(src).is_absolute()
        png = report.parent / src
        img = _decode_png(png)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert np.ptp(img[..., :3]) > 0  # not a blank picture
    assert "Detector1Pipeline step timings" in html
    assert "DQ statistics" in html and "JUMP_DET" in html
    assert "jump completeness" in html


def test_report_figures_match_validation(report, tiny_products):
    """The summary z statistics in the page agree with a direct computation."""
    from astropy.io import fits

    from webbcal.datamodels import read_image
    from webbcal.report.metrics import z_statistics

    root, _ = tiny_products
    rate_path = sorted((root / "detector1").glob("*_rate.fits"))[0]
    stem = rate_path.name[: -len("_rate.fits")]
    rate = read_image(rate_path)
    truth = fits.getdata(root / "truth" / f"{stem}_truth_rate.fits", "RATE_DN")
    z = z_statistics(rate.data, rate.err, rate.dq, truth)
    row = re.search(rf"<td><a href='#{stem}'>.*?</tr>", report.read_text()).group(0)
    assert f"{z.median:+.3f}" in row and f"{z.std:.3f}" in row


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_in_headless_chromium(report, tmp_path):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert "<title>webbcal report</title>" in dom
    srcs = re.findall(r'<img src="([^"]+)"', dom)
    assert len(srcs) >= 12
    for src in srcs:
        assert _decode_png(report.parent / src).size > 0
