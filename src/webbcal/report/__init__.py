"""Quick-look pictures, figures of merit against truth, and the static HTML report.

* :func:`build_report` (``webbcal report DIR``): ``DIR/report/index.html`` + PNGs.
* :mod:`webbcal.report.plots`: the PNG makers (matplotlib Agg, imported lazily).
* :mod:`webbcal.report.metrics`: pure figures of merit (z statistics, jump
  completeness, catalog matching, step timings from HISTORY).
* :mod:`webbcal.report.collect`: find products on disk and measure them
  (shared with ``webbcal validate``).
"""

from __future__ import annotations

__all__ = ["build_report", "discover"]


def __getattr__(name):
    if name == "build_report":
        from webbcal.report.build import build_report

        return build_report
    if name == "discover":
        from webbcal.report.collect import discover

        return discover
    raise AttributeError(f"module 'webbcal.report' has no attribute {name!r}")
