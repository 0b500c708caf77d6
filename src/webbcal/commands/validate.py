"""Compare products with the simulator's truth and print a table of figures.

examples:
  webbcal validate webbcal-demo/           # finds */truth/ and every product below
  webbcal validate out/ --truth sim/truth --per-exposure

For rate files: z = (rate - true rate) / ERR over unflagged pixels (median ≈ 0 and
std ≈ 1 when rates and errors are right) and the completeness of jump detection on
the injected cosmic rays. For cal files: median offset between the true source
positions and the WCS. For mosaics with a catalog: the catalog is matched to the truth
within 0.2 arcsec after removing the common offset (measured on a 1 arcsec match and
printed); astrometry (median offset, RMS) and photometry (median ratio of the catalog's
aperture-corrected total flux to the true flux, reduced chi-square against the catalog
errors) are computed on isolated, unflagged point sources with S/N > 50, as issues 5
and 6 define them (galaxies lose light outside a point-source aperture correction).
The pipeline time per stage is summed from the products' HISTORY timings; the HTML
report shows the same two tables.

exit status: 0 (figures printed; the command does not judge them), 2 no truth or no
products found.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``validate`` options."""
    parser.add_argument("directory", type=Path, help="folder with products (searched "
                        "recursively) and the simulator's truth/ folder")
    parser.add_argument("--truth", type=Path, default=None,
                        help="truth folder (default: DIR/truth or the first */truth below DIR)")
    parser.add_argument("--per-exposure", action="store_true",
                        help="also print one line per exposure")


def main(args: argparse.Namespace) -> int:
    """Measure, print, return 0 (2 when nothing to compare)."""
    from webbcal.errors import WebbcalError
    from webbcal.report.collect import discover, exposure_metrics, mosaic_metrics
    from webbcal.report.summary import format_table, stage_timing_rows, validation_rows

    if not args.directory.is_dir():
        raise WebbcalError(f"{args.directory}: not a folder")
    products = discover(args.directory, truth_dir=args.truth)
    if products.truth_dir is None:
        raise WebbcalError(f"{args.directory}: no truth/ folder found (give --truth)")
    exps = [exposure_metrics(e, products.truth_dir) for e in products.exposures
            if e.rate is not None or e.cal is not None]
    mosaics = [mosaic_metrics(m, products.truth_dir,
                              reference_catalog=products.reference_catalog)
               for m in products.mosaics]
    rows = validation_rows(exps, mosaics)
    if not rows:
        raise WebbcalError(f"{args.directory}: no rate, cal or i2d products to compare")
    times = stage_timing_rows(exps, mosaics)
    if times:
        print(format_table(times, ("stage", "pipeline time", "")))
        print()
    print(format_table(rows, ("figure", "value", "expected")))
    if args.per_exposure:
        print()
        lines = [(m.stem, _f(m.z.median if m.z else None, "+.3f"),
                  _f(m.z.std if m.z else None, ".3f"),
                  _f(m.jumps.completeness if m.jumps else None, ".3f")) for m in exps]
        print(format_table(lines, ("exposure", "median z", "std z", "jump compl.")))
    return 0


def _f(v, fmt):
    return "-" if v is None else format(v, fmt)
