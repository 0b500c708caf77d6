"""The two summary tables shared by ``webbcal validate`` and the HTML report.

Both are built from the same :class:`~webbcal.report.collect.ExposureMetrics` and
:class:`~webbcal.report.collect.MosaicMetrics` by the functions here, so the numbers
printed by ``validate`` (and at the end of ``webbcal demo``) and those on the report's
first page are the same strings.

Rows are ``(figure, value, expected)`` string triples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from webbcal.report.catalog_metrics import SNR_MIN

__all__ = ["validation_rows", "stage_timing_rows", "STAGES", "format_table"]

#: ``(stage, pipeline class in the HISTORY timing line)``.
STAGES = (("detector1", "Detector1Pipeline"), ("image2", "Image2Pipeline"),
          ("image3", "Image3Pipeline"))


def validation_rows(exposures: Sequence, mosaics: Sequence) -> list[tuple[str, str, str]]:
    """The validation figures of the exposure and mosaic metrics (None entries skipped).

    Rates: pixel-weighted median and std of z, mean robust std and |z| > 5 fraction;
    jumps: pooled completeness; cal: median WCS offset. Per mosaic: catalog / true /
    matched counts, the offset removed before the final 0.2″ match, and for the
    isolated, unflagged S/N > 50 point sources the astrometry (median offset, RMS with
    and without it) and photometry (median total-flux ratio, its scatter, reduced χ²).
    """
    rows: list[tuple[str, str, str]] = []
    exposures = [m for m in exposures if m is not None]
    zs = [m.z for m in exposures if m.z is not None and m.z.n]
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
    js = [m.jumps for m in exposures if m.jumps is not None and m.jumps.n_injected]
    if js:
        inj, found = sum(j.n_injected for j in js), sum(j.n_found for j in js)
        rows += [("jumps: injected CRs (detectable)", str(inj), ""),
                 ("jumps: completeness", f"{found / inj:.3f}", "> 0.9"),
                 ("jumps: JUMP_DET pixels per injected CR",
                  f"{np.mean([j.flagged_per_hit for j in js]):.2f}", "")]
    wcs = [m.wcs_offset_mas for m in exposures if m.wcs_offset_mas is not None]
    if wcs:
        rows.append(("cal: WCS vs true positions, median (mas)", f"{np.median(wcs):.1f}",
                     "pointing error, no tweakreg"))
    for m in mosaics:
        if m is not None:
            rows += _mosaic_rows(m)
    return rows


def _mosaic_rows(m) -> list[tuple[str, str, str]]:
    tag = m.filter or m.stem
    ref = "true" if m.against == "truth" else "reference"
    rows = [(f"{tag}: catalog / {ref} sources in field / matched",
             f"{m.n_catalog} / {m.n_truth_in_field} / {m.match.n}", "")]
    if not m.match.n:
        return rows
    rows.append((f"{tag}: offset removed before matching ΔRA, ΔDec (mas)",
                 f"{m.offset_ra_mas:+.1f}, {m.offset_dec_mas:+.1f}", ""))
    what = (f"isolated S/N>{SNR_MIN:g} point sources" if m.against == "truth"
            else f"S/N>{SNR_MIN:g} sources")
    lw = "10" if _long_wave(m.filter) else "5"
    a, p = m.astrometry, m.photometry
    rows.append((f"{tag}: {what}", str(max(a.n, p.n)),
                 "" if a.n or p.n else "none: no astrometry/photometry figures"))
    if a.n:
        rows += [(f"{tag}: astrometry median ΔRA, ΔDec (mas)",
                  f"{a.median_dra:+.1f}, {a.median_ddec:+.1f}", "|.| < 10"),
                 (f"{tag}: astrometry rms (mas)", f"{a.rms:.1f}", f"< {lw}"),
                 (f"{tag}: astrometry rms about the median (mas)", f"{a.rms_relative:.1f}",
                  f"< {lw}")]
        w = getattr(m, "astrometry_win", None)  # the catalog's windowed centroids
        if w is not None and w.n:
            rows.append((f"{tag}: astrometry rms, windowed centroids (mas)",
                         f"{w.rms:.1f} ({w.rms_relative:.1f} about the median)", f"< {lw}"))
    if p.n:
        rows += [(f"{tag}: median flux ratio (total flux / true)", f"{p.median_ratio:.3f}",
                  "0.98 - 1.02"),
                 (f"{tag}: flux ratio scatter (1.48 MAD)", f"{p.scatter:.3f}", ""),
                 (f"{tag}: flux reduced chi2 (catalog errors)", f"{p.reduced_chi2:.3g}",
                  "0.8 - 1.3" + _chi2_note(p))]
    return rows


def _chi2_note(p) -> str:
    """The 95 % range of a reduced χ² of p.n stars with right errors, when known."""
    lo, hi = getattr(p, "chi2_interval", (float("nan"),) * 2)
    return f" (n={p.n}: 95 % {lo:.2f} - {hi:.2f})" if lo == lo and hi == hi else ""


def _long_wave(filt: str) -> bool:
    digits = "".join(c for c in str(filt) if c.isdigit())
    return bool(digits) and int(digits) >= 250


def stage_timing_rows(exposures: Sequence, mosaics: Sequence) -> list[tuple[str, str, str]]:
    """Per stage: ``(stage, total seconds, note)`` from the products' HISTORY timings.

    The note gives the number of products, the mean per product and the slowest step
    (summed over the products). Stages without timings are left out.
    """
    rows = []
    for stage, pipe in STAGES:
        source = mosaics if stage == "image3" else exposures
        runs = [m.timings[pipe] for m in source if m is not None and m.timings.get(pipe)]
        if not runs:
            continue
        total = sum(sum(t.values()) for t in runs)
        steps: dict[str, float] = {}
        for t in runs:
            for k, v in t.items():
                steps[k] = steps.get(k, 0.0) + v
        slow = max(steps, key=steps.get)
        rows.append((stage, f"{total:.2f} s",
                     f"{len(runs)} products, {total / len(runs):.2f} s each; "
                     f"slowest step {slow} {steps[slow]:.2f} s"))
    return rows


def format_table(rows, head) -> str:
    """Plain-text table with left-aligned columns."""
    rows = [tuple(map(str, r)) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([line.format(*head), line.format(*("-" * w for w in widths)),
                      *(line.format(*r) for r in rows)])

