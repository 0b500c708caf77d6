"""`webbcal run all` on the simulator's `tiny` world: uncal → rate → cal → mosaics + report.

One run (module fixture) serves every end-to-end check: the associations it made by
filter, the products, the re-run that skips them all, and the report's mosaic half,
which is also opened in a real headless browser when chromium is installed.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

PIPE_TESTS = Path(__file__).resolve().parents[1] / "pipelines"
if str(PIPE_TESTS) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(PIPE_TESTS))

from _world import tiny_world_or_skip  # noqa: E402

from webbcal.cli import main  # noqa: E402
from webbcal.datamodels import read_association  # noqa: E402
from webbcal.parallel import fits_is_complete  # noqa: E402


@pytest.fixture(scope="module")
def run_all(tmp_path_factory):
    """``(world, out, rc, stdout, stderr)`` of ``webbcal run all WORLD_DIR -o OUT``."""
    world = tiny_world_or_skip(tmp_path_factory)
    out = tmp_path_factory.mktemp("run_all") / "out"
    so, se = io.StringIO(), io.StringIO()
    with world.crds_env(), contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        rc = main(["run", "all", str(world.root), "-o", str(out)])
    return world, out, rc, so.getvalue(), se.getvalue()


def test_run_all_makes_one_mosaic_per_filter(run_all):
    world, out, rc, stdout, stderr = run_all
    assert rc == 0, stdout + stderr
    stems = sorted(p.name[: -len("_uncal.fits")] for p in world.uncal_files)
    for stem in stems:
        for product in (f"detector1/{stem}_rate.fits", f"detector1/{stem}_rateints.fits",
                        f"image2/{stem}_cal.fits"):
            assert fits_is_complete(out / product), product
    asns = sorted((out / "image3").glob("*_asn.json"))
    assert [a.name for a in asns] == ["jw01345-o001_t001_nircam_clear-f200w_asn.json",
                                     "jw01345-o001_t001_nircam_clear-f444w_asn.json"]
    for asn_path in asns:
        asn = read_association(asn_path)
        assert asn.asn_type == "image3" and asn.asn_id == "o001"
        members = asn.science_members()
        filt = asn.product_name().rsplit("-", 1)[1].upper()
        assert len(members) == 2
        for m in members:  # members point at our cal files, all of this filter
            assert m.resolve().parent == (out / "image2").resolve()
            assert fits.getheader(m)["FILTER"] == filt
        i2d = out / "image3" / f"{asn.product_name()}_i2d.fits"
        assert fits_is_complete(i2d)
        assert fits.getheader(i2d)["FILTER"] == filt
        sci = fits.getdata(i2d, "SCI")
        assert np.isfinite(sci).mean() > 0.5
        assert (out / "image3" / f"{asn.product_name()}_cat.ecsv").exists()
        assert f"mosaic     {i2d}" in stdout  # says what it wrote where
        # the world's reference_catalog.ecsv beside the inputs was used: absolute alignment
        assert fits.getheader(i2d)["TWKABS"] is True
    assert f"report     {out / 'report' / 'index.html'}" in stdout
    assert "detector1: 4 done, 0 skipped, 0 failed" in stdout
    assert "image3: 2 done" in stdout
    # progress per exposure and per step went to stderr, not stdout
    assert "[4/4]" in stderr and "jump=" in stderr and "[4/4]" not in stdout
    log = (out / "webbcal.log").read_text()
    assert re.search(r"detector1: jump\s+COMPLETE\s+[0-9.]+ s", log)  # step timings logged
    refcat = world.root / "reference_catalog.ecsv"
    assert f"absolute astrometry: aligning the mosaics to {refcat}" in stderr
    assert f"absolute astrometry: {refcat} (found" in log


def test_rerun_skips_complete_products(run_all, capsys):
    world, out, rc, _, _ = run_all
    i2d = sorted((out / "image3").glob("*_i2d.fits"))
    before = [p.stat().st_mtime_ns for p in i2d]
    with world.crds_env():
        assert main(["-q", "run", "all", str(world.root), "-o", str(out), "--no-report"]) == 0
    captured = capsys.readouterr()
    assert "detector1: 0 done, 4 skipped" in captured.out
    assert "image2: 0 done, 4 skipped" in captured.out
    assert "image3: 0 done, 2 skipped" in captured.out
    assert [p.stat().st_mtime_ns for p in i2d] == before
    assert captured.err == ""  # -q: no progress


def test_run_image3_skips_the_association_product(run_all, capsys):
    """`run image3 ASN` finds the i2d named by the association's product, not by the
    association's file name (the bug of the old skip check)."""
    world, out, _, _, _ = run_all
    asn = sorted((out / "image3").glob("*_asn.json"))[0]
    assert main(["-q", "run", "image3", str(asn)]) == 0
    assert "image3: 0 done, 1 skipped" in capsys.readouterr().out


def _report_images(html: str) -> list[str]:
    return re.findall(r"<img src=['\"]([^'\"]+)['\"]", html)


def test_report_has_the_mosaic_half(run_all):
    _, out, _, _, _ = run_all
    index = out / "report" / "index.html"
    html = index.read_text()
    srcs = _report_images(html)
    for product in ("jw01345-o001_t001_nircam_clear-f200w", "jw01345-o001_t001_nircam_clear-f444w"):
        assert f"id='{product}'" in html
        for kind in ("i2d", "astrom", "flux", "counts"):
            assert f"img/{product}_{kind}.png" in srcs, (product, kind)
    section = html[html.index("id='jw01345-o001_t001_nircam_clear-f200w'"):]
    assert "compared with</td><td>truth" in section
    assert "(mas)" in section  # astrometric figures (the report's wording may vary)
    assert "image3 step timings" in section and "source_catalog" in section
    # per exposure: step timings of both stages, DQ statistics, example ramps
    assert html.count("Detector1Pipeline step timings") == 4
    assert html.count("Image2Pipeline step timings") == 4
    assert html.count("<h3>DQ statistics") == 4
    assert sum(s.endswith("_ramps.png") for s in srcs) == 4
    for src in srcs:
        assert (index.parent / src).stat().st_size > 1000


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_loads_in_headless_chromium(run_all, tmp_path):
    """A real browser loads the page from disk and decodes every image (naturalWidth>0)."""
    _, out, _, _, _ = run_all
    index = out / "report" / "index.html"
    # a copy of the report with a script that lists every image and its decoded width
    probe = index.with_name("probe.html")
    script = ("<script>window.addEventListener('load',()=>{const r=[...document.images]"
              ".map(i=>i.getAttribute('src')+'='+i.naturalWidth);"
              "const p=document.createElement('pre');p.id='probe';p.textContent=r.join('\\n');"
              "document.body.appendChild(p);});</script>")
    probe.write_text(index.read_text().replace("</body>", script + "</body>"))
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage",
           "--allow-file-access-from-files", "--virtual-time-budget=10000",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    assert "<title>webbcal report</title>" in dom
    listing = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert listing, dom[-2000:]
    widths = dict(line.rsplit("=", 1) for line in listing.group(1).strip().splitlines())
    assert len(widths) == len(_report_images(index.read_text()))
    mosaic_imgs = [s for s in widths if "nircam_clear-f200w" in s]
    assert len(mosaic_imgs) == 4
    assert all(int(w) > 100 for w in widths.values()), widths  # every PNG decoded
