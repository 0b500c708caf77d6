"""`webbcal validate DIR` on a `tiny` world with rate products."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPORT_TESTS = Path(__file__).resolve().parents[1] / "report"
if str(REPORT_TESTS) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(REPORT_TESTS))

from _products import tiny_products  # noqa: E402

from webbcal.cli import main  # noqa: E402


def test_validate_prints_metrics_table(tmp_path_factory, capsys):
    root, made_by = tiny_products(tmp_path_factory)
    assert main(["validate", str(root), "--per-exposure"]) == 0
    out = capsys.readouterr().out
    assert "rate files compared" in out and "jumps: completeness" in out

    def value(label):
        return float(re.search(re.escape(label) + r"\s+([+-]?[0-9.]+)\s", out).group(1))

    median = value("rate: median z = (rate - truth)/ERR")
    std, compl = value("rate: std z"), value("jumps: completeness")
    assert abs(median) < 0.1 and 0.8 < std < 1.3, out  # rates agree with the truth
    assert 0.5 < compl <= 1.0, out
    assert out.count("jw01345001001_02201_0000") == 4  # one line per exposure


def test_validate_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 2
    assert "truth" in capsys.readouterr().err


def test_validate_tables_are_the_reports(tmp_path_factory, tmp_path, capsys):
    """Every row `validate` prints (stage times and figures) is in the report, verbatim."""
    import html

    from webbcal.report import build_report

    root, _ = tiny_products(tmp_path_factory)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    page = build_report(root, out_dir=tmp_path / "rep").read_text()
    rows = []
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        widths = [len(w) for w in lines[1].split("  ")]
        for line in lines[2:]:
            cells, pos = [], 0
            for w in widths:
                cells.append(line[pos:pos + w].strip())
                pos += w + 2
            rows.append(cells)
    assert any(r[0] == "detector1" for r in rows)  # the stage-time table
    assert any(r[0] == "rate: std z" for r in rows)  # the validation table
    for cells in rows:
        assert "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" in page, \
            cells
