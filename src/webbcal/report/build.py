"""Build the static HTML report of a folder of products (``webbcal report DIR``).

The report is ``<out>/index.html`` plus PNG files in ``<out>/img/`` referenced by
relative links, so the folder opens from disk (no server) and can be copied whole.
"""

from __future__ import annotations

import html
import logging
import os
import time
from pathlib import Path

import numpy as np

from webbcal.report import metrics as M
from webbcal.report import plots
from webbcal.report.collect import (Exposure, Mosaic, Products, discover, exposure_metrics,
                                    mosaic_metrics, truth_table)

log = logging.getLogger("webbcal.report")

__all__ = ["build_report", "ramp_examples", "saturating_pixel"]

CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;
font-size:90%;text-align:right}th{background:#eee}td:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:4px}section{border-top:2px solid #888;
margin-top:1.5em}.figs{display:flex;flex-wrap:wrap;align-items:flex-start}"""


def build_report(root: str | os.PathLike, *, out_dir: str | os.PathLike | None = None,
                 truth_dir: str | os.PathLike | None = None, max_exposures: int = 50,
                 raw_dirs=(), progress=None) -> Path:
    """Write the HTML report of the products under ``root``; return ``index.html``.

    Parameters
    ----------
    root : path
        Folder searched recursively for ``*_uncal``, ``*_rate``, ``*_cal``,
        ``*_i2d.fits`` and ``*_cat.ecsv`` files.
    out_dir : path, optional
        Report folder (default ``root/report``).
    truth_dir : path, optional
        The simulator's truth folder (default: found under ``root``).
    raw_dirs : sequence of path
        Folders holding the uncal files when they are not under ``root`` (for the
        example ramps); ``webbcal run all`` also records them in ``webbcal-run.json``.
    max_exposures : int
        Exposures given a full section (the rest are listed in the summary table).
    progress : callable(message, done, total), optional
    """
    t0 = time.perf_counter()
    products = discover(root, truth_dir=truth_dir, raw_dirs=raw_dirs)
    out = Path(out_dir) if out_dir is not None else Path(root) / "report"
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    body = [f"<h1>webbcal report</h1><p>Products under <code>{_e(products.root)}</code>; "
            f"truth: <code>{_e(products.truth_dir or 'none')}</code>. "
            f"{len(products.exposures)} exposures, {len(products.mosaics)} mosaics.</p>"]
    sections = []
    summary_rows = []
    total = len(products.exposures) + len(products.mosaics)
    for k, exp in enumerate(products.exposures):
        if progress is not None:
            progress(f"exposure {exp.stem}", k, total)
        m = exposure_metrics(exp, products.truth_dir)
        summary_rows.append(_summary_row(exp, m))
        if k < max_exposures:
            sections.append(_exposure_section(exp, m, products, img))
    body.append(_table(["exposure", "products", "median z", "std z", "jump completeness",
                        "JUMP_DET %", "cal WCS offset (mas)", "detector1 (s)", "image2 (s)"],
                       summary_rows))
    for k, mos in enumerate(products.mosaics):
        if progress is not None:
            progress(f"mosaic {mos.stem}", len(products.exposures) + k, total)
        sections.append(_mosaic_section(mos, products, img))
    body += sections
    body.append(f"<p><small>built by webbcal in {time.perf_counter() - t0:.1f} s on "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')}</small></p>")
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>webbcal report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    from webbcal.datamodels import atomic_write

    index = out / "index.html"
    with atomic_write(index) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return index


# -- per exposure ----------------------------------------------------------------
def _summary_row(exp: Exposure, m) -> list[str]:
    have = "+".join(s for s in ("uncal", "rate", "cal") if getattr(exp, s) is not None)
    jump_pct = m.dq_counts.get("JUMP_DET", 0) / m.n_pixels * 100 if m.n_pixels else None
    d1 = sum(m.timings.get("Detector1Pipeline", {}).values()) or None
    i2 = sum(m.timings.get("Image2Pipeline", {}).values()) or None
    return [f"<a href='#{exp.stem}'>{_e(exp.stem)}</a>", have,
            _f(m.z.median if m.z else None, "+.3f"), _f(m.z.std if m.z else None, ".3f"),
            _f(m.jumps.completeness if m.jumps else None, ".3f"), _f(jump_pct, ".2f"),
            _f(m.wcs_offset_mas, ".1f"), _f(d1, ".2f"), _f(i2, ".2f")]


def _exposure_section(exp: Exposure, m, products: Products, img: Path) -> str:
    from webbcal.datamodels import read_image

    parts = [f"<section id='{exp.stem}' class='exposure'><h2>{_e(exp.stem)}</h2>"]
    figs = []
    notes: list[str] = []
    rate = read_image(exp.rate) if exp.rate is not None else None
    if rate is not None:
        ex = rate.exposure
        parts.append(f"<p>{ex.detector} {ex.filter} {ex.readpatt} {ex.ngroups} groups × "
                     f"{ex.nints} int, {rate.data.shape[1]}×{rate.data.shape[0]} pixels</p>")
        figs.append(plots.image_png(rate.data, img / f"{exp.stem}_rate.png", stretch="zscale",
                                    title=f"{exp.stem} rate", unit="DN/s"))
        figs.append(plots.dq_png(rate.dq, img / f"{exp.stem}_dq.png",
                                 title=f"{exp.stem} DQ / jumps"))
    if exp.cal is not None:
        cal = read_image(exp.cal)
        figs.append(plots.image_png(cal.data, img / f"{exp.stem}_cal.png", stretch="asinh",
                                    title=f"{exp.stem} cal", unit="MJy/sr"))
    if rate is not None and exp.uncal is not None:
        try:
            examples = ramp_examples(exp, rate, products.truth_dir)
            if examples:
                figs.append(plots.ramps_png(examples, img / f"{exp.stem}_ramps.png",
                                            title="example ramps and fitted rates"))
            shown = {e["label"].split(" (")[0] for e in examples}
            missing = [k for k in ("bright pixel", "cosmic-ray hit", "saturating star")
                       if k not in shown]
            if missing:
                notes.append(f"No {' / '.join(missing)} in this exposure: ramp example "
                             f"left out.")
        except Exception as exc:  # noqa: BLE001 - one figure must not stop the report
            log.warning("%s: ramp examples skipped (%s)", exp.stem, exc)
    parts.append("<div class='figs'>" + "".join(_img(p, img) for p in figs) + "</div>")
    parts += [f"<p class='note'>{_e(n)}</p>" for n in notes]
    for pipe, steps in m.timings.items():
        rows = [[_e(s), f"{v:.3f}"] for s, v in steps.items()]
        rows.append(["<b>total</b>", f"{sum(steps.values()):.3f}"])
        parts.append(f"<h3>{_e(pipe)} step timings (s)</h3>" + _table(["step", "s"], rows))
    if m.dq_counts:
        rows = [[_e(k), str(v), f"{v / m.n_pixels * 100:.3f}"] for k, v in m.dq_counts.items()]
        parts.append("<h3>DQ statistics</h3>" + _table(["flag", "pixels", "%"], rows))
    rows = []
    if m.z is not None:
        rows += [["z = (rate - truth)/ERR: median", _f(m.z.median, "+.4f")],
                 ["z: std / robust std", f"{m.z.std:.3f} / {m.z.robust_std:.3f}"],
                 ["z: fraction |z| > 5", _f(m.z.frac_outside_5, ".2e")],
                 ["pixels compared", str(m.z.n)]]
    if m.jumps is not None:
        j = m.jumps
        rows += [["injected CRs (detectable) / found", f"{j.n_injected} / {j.n_found}"],
                 ["jump completeness (all / ≥1000 e⁻)",
                  f"{_f(j.completeness, '.3f')} / {_f(j.completeness_bright, '.3f')}"],
                 ["JUMP_DET pixels per injected CR", _f(j.flagged_per_hit, ".2f")]]
    if m.wcs_offset_mas is not None:
        rows.append(["cal WCS vs true positions, median (mas)", f"{m.wcs_offset_mas:.1f}"])
    if rows:
        parts.append("<h3>vs truth</h3>" + _table(["figure", "value"], rows))
    parts.append("</section>")
    return "\n".join(parts)


def ramp_examples(exp: Exposure, rate, truth_dir: Path | None) -> list[dict]:
    """The example ramps of one exposure: raw groups of the chosen pixels + fitted line.

    Pixels come from :func:`webbcal.report.metrics.pick_example_pixels` (truth rate and
    injected CRs when available, else DQ). The line's slope is the rate product's
    value; its intercept puts it through the first group.
    """
    from astropy.io import fits

    truth = cr_xy = cr_e = None
    if truth_dir is not None:
        tpath = truth_dir / f"{exp.stem}_truth_rate.fits"
        if tpath.exists():
            truth = fits.getdata(tpath, "RATE_DN")
        cr = truth_table(truth_dir, f"{exp.stem}_cosmic_rays")
        if cr is not None:
            cr = cr[np.asarray(cr["integration"]) == 0]
            cr_xy = (np.asarray(cr["x"]), np.asarray(cr["y"]))
            cr_e = np.asarray(cr["center_electrons"] if "center_electrons" in cr.colnames
                              else cr["electrons"])
    picks = M.pick_example_pixels(rate.data, rate.dq, truth=truth, cr_xy=cr_xy,
                                  cr_electrons=cr_e)
    from webbcal.datamodels import read_uncal

    sci = read_uncal(exp.uncal).data
    if picks.saturated is None:  # saturated only in later groups: DQ of the rate is clean
        sat = saturating_pixel(sci[0])
        if sat is not None:
            picks = type(picks)(picks.bright, picks.cosmic_ray, sat)
    ex = rate.exposure
    t = M.group_times(ngroups=ex.ngroups, nframes=ex.nframes, groupgap=ex.groupgap,
                      tframe=ex.tframe)
    out = []
    for label, (y, x) in picks.items():
        counts = np.asarray(sci[0, :, y, x], float)
        slope = float(rate.data[y, x])
        flagged = np.zeros(counts.size, bool)
        cuts = [0, counts.size]
        if label == "saturating star":  # groups on the plateau
            flagged = counts >= 0.97 * counts.max()
            flagged[: max(1, int(np.argmax(flagged)))] = False
        elif label == "cosmic-ray hit" and counts.size > 2:  # the jump splits the ramp
            k = int(np.argmax(np.diff(counts))) + 1
            cuts = [0, k, counts.size]
            flagged[k] = True
        segments = []
        for i0, i1 in zip(cuts[:-1], cuts[1:]):
            good = ~flagged[i0:i1] if label == "saturating star" else np.ones(i1 - i0, bool)
            if not good.any():
                continue
            seg_t, seg_c = t[i0:i1][good], counts[i0:i1][good]
            segments.append((float(seg_t[0]), float(seg_t[-1]),
                             float(np.mean(seg_c - slope * seg_t))))
        out.append({"label": f"{label} (x={x}, y={y})", "t": t, "counts": counts,
                    "slope": slope, "intercept": segments[0][2] if segments else counts[0],
                    "segments": segments, "flagged": flagged})
    return out


def saturating_pixel(groups: np.ndarray, *, border: int = 4) -> tuple[int, int] | None:
    """``(y, x)`` of the brightest pixel whose ramp rises over at least two group
    differences and then levels off (a star reaching saturation), or None.

    ``groups`` (ngroups, ny, nx) raw DN of one integration. A cosmic ray makes one step,
    not a steady rise, so it is not taken.
    """
    g = np.asarray(groups, np.float32)
    if g.shape[0] < 4:
        return None
    d = np.diff(g, axis=0)
    rising = (d[0] > 200) & (d[1] > 0.5 * d[0])
    flat = d[-1] < 0.1 * d[0]
    cand = rising & flat
    if border:
        cand[:border] = cand[-border:] = False
        cand[:, :border] = cand[:, -border:] = False
    if not cand.any():
        return None
    y, x = np.unravel_index(int(np.argmax(np.where(cand, g[-1], -np.inf))), cand.shape)
    return int(y), int(x)


# -- per mosaic ------------------------------------------------------------------
def _mosaic_section(mos: Mosaic, products: Products, img: Path) -> str:
    """Per mosaic: the image with the catalog overlaid, astrometric residuals against the
    truth (or the reference catalog), flux ratio against magnitude, number counts, and
    the image3 step timings."""
    from astropy.io import fits

    parts = [f"<section id='{mos.stem}' class='mosaic'><h2>mosaic {_e(mos.stem)}</h2>"]
    m = mosaic_metrics(mos, products.truth_dir, reference_catalog=products.reference_catalog)
    data = fits.getdata(mos.i2d, "SCI")
    figs = [plots.mosaic_png(data, img / f"{mos.stem}_i2d.png",
                             x=None if m is None else m.x, y=None if m is None else m.y,
                             title=f"{mos.stem} with catalog")]
    rows = [["mosaic size", f"{data.shape[1]}×{data.shape[0]}"]]
    timing_rows: list[list[str]] = []
    if m is None:
        rows.append(["catalog", "none (no *_cat.ecsv beside the mosaic)"])
    else:
        truth = m.against == "truth"
        ref = "true" if truth else "reference-catalog"
        rows += [["filter", m.filter], ["catalog sources", str(m.n_catalog)],
                 ["compared with", m.against],
                 [f"{ref} sources in footprint", str(m.n_truth_in_field)],
                 ["matched (≤0.2″)", str(m.match.n)]]
        if m.match.n:
            d = m.match
            rows += [["astrometry median ΔRA, ΔDec (mas)",
                      f"{np.median(d.dra_mas):+.1f}, {np.median(d.ddec_mas):+.1f}"],
                     ["astrometry rms separation (mas)",
                      f"{np.sqrt(np.mean(d.separation_mas ** 2)):.1f}"]]
            figs.append(plots.scatter_png(d.dra_mas, d.ddec_mas, img / f"{mos.stem}_astrom.png",
                                          xlabel="ΔRA cos δ [mas]", ylabel="ΔDec [mas]",
                                          title=f"measured − {ref} positions", hline=0,
                                          equal=True))
        if m.flux_ratio.size:
            bright = np.isfinite(m.true_mag) & (m.true_mag < np.nanpercentile(m.true_mag, 30))
            if bright.any():
                rows.append(["median flux ratio, brightest 30 %",
                             f"{np.nanmedian(m.flux_ratio[bright]):.3f}"])
            figs.append(plots.scatter_png(m.true_mag, m.flux_ratio, img / f"{mos.stem}_flux.png",
                                          xlabel="true AB mag", ylabel="measured / true flux",
                                          title="photometry", hline=1.0, logy=True))
        samples = {"catalog": m.catalog_mag}
        if truth:
            samples["truth in footprint"] = m.truth_mag
        mags = np.concatenate([np.asarray(v, float) for v in samples.values()])
        mags = mags[np.isfinite(mags)]
        if mags.size:
            bins = np.arange(np.floor(mags.min()), np.ceil(mags.max()) + 0.5, 0.5)
            figs.append(plots.histogram_png(samples, img / f"{mos.stem}_counts.png", bins=bins,
                                            xlabel="AB mag", title="number counts"))
        for pipe, steps in m.timings.items():
            timing_rows += [[_e(s), f"{v:.3f}"] for s, v in steps.items()]
            timing_rows.append([f"<b>{_e(pipe)} total</b>", f"{sum(steps.values()):.3f}"])
    parts.append("<div class='figs'>" + "".join(_img(p, img) for p in figs) + "</div>")
    parts.append(_table(["figure", "value"], rows))
    if timing_rows:
        parts.append("<h3>image3 step timings (s)</h3>" + _table(["step", "s"], timing_rows))
    parts.append("</section>")
    return "\n".join(parts)


# -- html helpers ----------------------------------------------------------------
def _e(x) -> str:
    return html.escape(str(x))


def _f(v, fmt: str) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)


def _img(path: Path, img: Path) -> str:
    rel = f"{img.name}/{Path(path).name}"
    return f"<a href='{_e(rel)}'><img src='{_e(rel)}' alt='{_e(Path(path).stem)}'></a>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{trs}</table>"
