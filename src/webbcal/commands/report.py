"""Rebuild the static HTML report from the products on disk.

examples:
  webbcal report webbcal-demo/             # writes webbcal-demo/report/index.html
  webbcal report out/ --out /tmp/rep --truth sim/truth

The report holds, per exposure, quick-look images (rate with a zscale stretch, cal
with asinh), the DQ/jump map, example ramps (a bright pixel, a cosmic-ray hit, a
saturating star) with their fitted rates, step timings and DQ statistics; per mosaic,
the image with the catalog overlaid, astrometric residuals and flux ratios against the
truth and number counts. It is plain HTML with relative PNG links: open it from disk.

exit status: 0 written, 2 folder missing or nothing to report.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``report`` options."""
    parser.add_argument("directory", type=Path, help="folder with products (searched "
                        "recursively)")
    parser.add_argument("--out", type=Path, default=None,
                        help="report folder (default DIR/report)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="the simulator's truth folder (default: found under DIR)")
    parser.add_argument("--max-exposures", type=int, default=50,
                        help="exposures given a full section (default 50)")


def main(args: argparse.Namespace) -> int:
    """Build the report and print its path."""
    from webbcal.errors import WebbcalError
    from webbcal.report.build import build_report
    from webbcal.report.collect import discover

    if not args.directory.is_dir():
        raise WebbcalError(f"{args.directory}: not a folder")
    found = discover(args.directory, truth_dir=args.truth)
    if not any(e.rate or e.cal for e in found.exposures) and not found.mosaics:
        raise WebbcalError(f"{args.directory}: no rate, cal or i2d products found")
    index = build_report(args.directory, out_dir=args.out, truth_dir=args.truth,
                         max_exposures=args.max_exposures)
    print(f"report: {index}")
    return 0
