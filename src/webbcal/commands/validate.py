"""Compare products with the simulator's truth and print a table of figures.

examples:
  webbcal validate webbcal-demo/           # finds */truth/ and every product below
  webbcal validate out/ --truth sim/truth --per-exposure

For rate files: z = (rate - true rate) / ERR over unflagged pixels (median ≈ 0 and
std ≈ 1 when rates and errors are right) and the completeness of jump detection on
the injected cosmic rays. For cal files: median offset between the true source
positions and the WCS. For mosaics with a catalog: astrometric residuals and flux
ratios of the sources matched to the truth within 0.2 arcsec.

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
    import numpy as np

    from webbcal.errors import WebbcalError
    from webbcal.report.collect import discover, exposure_metrics, mosaic_metrics

    if not args.directory.is_dir():
        raise WebbcalError(f"{args.directory}: not a folder")
    products = discover(args.directory, truth_dir=args.truth)
    if products.truth_dir is None:
        raise WebbcalError(f"{args.directory}: no truth/ folder found (give --truth)")
    rows: list[tuple[str, str, str]] = []
    exps = [exposure_metrics(e, products.truth_dir) for e in products.exposures
            if e.rate is not None or e.cal is not None]
    zs = [m.z for m in exps if m.z is not None and m.z.n]
    if zs:
        n = sum(z.n for z in zs)
        med = sum(z.median * z.n for z in zs) / n
        std = sum(z.std * z.n for z in zs) / n
        rows += [("rate files compared", str(len(zs)), ""),
                 ("rate: median z = (rate - truth)/ERR", f"{med:+.4f}", "|.| < 0.05"),
                 ("rate: std z", f"{std:.3f}", "0.95 - 1.10"),
                 ("rate: robust std z", f"{np.mean([z.robust_std for z in zs]):.3f}", "≈ 1"),
                 ("rate: fraction |z| > 5", f"{np.mean([z.frac_outside_5 for z in zs]):.2e}",
                  "< 1e-3"),
                 ("rate: pixels compared", str(n), "")]
    js = [m.jumps for m in exps if m.jumps is not None and m.jumps.n_injected]
    if js:
        inj, found = sum(j.n_injected for j in js), sum(j.n_found for j in js)
        rows += [("jumps: injected CRs (detectable)", str(inj), ""),
                 ("jumps: completeness", f"{found / inj:.3f}", "> 0.9"),
                 ("jumps: JUMP_DET pixels per injected CR",
                  f"{np.mean([j.flagged_per_hit for j in js]):.2f}", "")]
    wcs = [m.wcs_offset_mas for m in exps if m.wcs_offset_mas is not None]
    if wcs:
        rows.append(("cal: WCS vs true positions, median (mas)", f"{np.median(wcs):.1f}",
                     "pointing error, no tweakreg"))
    for mos in products.mosaics:
        m = mosaic_metrics(mos, products.truth_dir,
                           reference_catalog=products.reference_catalog)
        if m is None:
            continue
        tag = f"{m.filter or mos.stem}"
        rows += [(f"{tag}: catalog / true sources in field / matched",
                  f"{m.n_catalog} / {m.n_truth_in_field} / {m.match.n}", "")]
        if m.match.n:
            rows += [(f"{tag}: astrometry median ΔRA, ΔDec (mas)",
                      f"{np.median(m.match.dra_mas):+.1f}, {np.median(m.match.ddec_mas):+.1f}",
                      "|.| < 10"),
                     (f"{tag}: astrometry rms (mas)",
                      f"{np.sqrt(np.mean(m.match.separation_mas ** 2)):.1f}", "")]
            ok = np.isfinite(m.true_mag) & np.isfinite(m.flux_ratio)
            if ok.any():
                bright = ok & (m.true_mag <= np.percentile(m.true_mag[ok], 30))
                rows.append((f"{tag}: median flux ratio (brightest 30 %)",
                             f"{np.median(m.flux_ratio[bright]):.3f}", "0.9 - 1.0"))
    if not rows:
        raise WebbcalError(f"{args.directory}: no rate, cal or i2d products to compare")
    print(_table(rows, ("figure", "value", "expected")))
    if args.per_exposure:
        print()
        lines = [(m.stem, _f(m.z.median if m.z else None, "+.3f"),
                  _f(m.z.std if m.z else None, ".3f"),
                  _f(m.jumps.completeness if m.jumps else None, ".3f")) for m in exps]
        print(_table(lines, ("exposure", "median z", "std z", "jump compl.")))
    return 0


def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


def _table(rows, head) -> str:
    rows = [tuple(map(str, r)) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([line.format(*head), line.format(*("-" * w for w in widths)),
                      *(line.format(*r) for r in rows)])
