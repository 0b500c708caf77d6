"""`webbcal report DIR` rebuilds the HTML report from products on disk."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPORT_TESTS = Path(__file__).resolve().parents[1] / "report"
if str(REPORT_TESTS) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(REPORT_TESTS))

from _products import tiny_products  # noqa: E402

from webbcal.cli import main  # noqa: E402


def test_report_command_writes_index_with_images(tmp_path_factory, tmp_path, capsys):
    root, _ = tiny_products(tmp_path_factory)
    out_dir = tmp_path / "rep"
    assert main(["report", str(root), "--out", str(out_dir), "--max-exposures", "1"]) == 0
    assert f"report: {out_dir / 'index.html'}" in capsys.readouterr().out
    html = (out_dir / "index.html").read_text()
    srcs = re.findall(r"<img src='([^']+)'", html)
    assert len(srcs) == 3  # one exposure in full: rate, DQ, ramps
    assert all((out_dir / s).stat().st_size > 1000 for s in srcs)
    assert html.count("<tr><td><a href='#") == 4  # all four in the summary table


def test_report_command_without_products_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no rate, cal or i2d" in capsys.readouterr().err
