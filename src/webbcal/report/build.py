"""Build the static HTML report of a folder of products (``webbcal report DIR``).

The report is ``<out>/index.html`` plus PNG files in ``<out>/img/`` referenced by
relative links, so the folder opens from disk (no server) and can be copied whole.
"""

from __future__ import annotations

import html
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from webbcal.report import plots
from webbcal.report._io import read_planes
from webbcal.report.collect import (Exposure, Mosaic, Products, discover, exposure_metrics,
                                    mosaic_metrics, prefetch_truth)
from webbcal.report.ramps import ramp_examples, saturating_pixel
from webbcal.report.summary import stage_timing_rows, validation_rows

log = logging.getLogger("webbcal.report")

__all__ = ["build_report", "ramp_examples", "saturating_pixel"]

CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;
font-size:90%;text-align:right}th{background:#eee}td:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:4px}section{border-top:2px solid #888;
margin-top:1.5em}.figs{display:flex;flex-wrap:wrap;align-items:flex-start}
figure{margin:4px;max-width:520px}figcaption{font-size:80%;color:#444}"""


def build_report(root: str | os.PathLike, *, out_dir: str | os.PathLike | None = None,
                 truth_dir: str | os.PathLike | None = None, max_exposures: int = 50,
                 raw_dirs=(), progress=None, workers: int | None = None) -> Path:
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
        Called after each exposure and mosaic section is done.
    workers : int, optional
        Threads that build the sections (default: 2, or 1 on a 1-core machine); the
        work is numpy, FITS reading and PNG encoding, which release the GIL.
    """
    t0 = time.perf_counter()
    products = discover(root, truth_dir=truth_dir, raw_dirs=raw_dirs)
    out = Path(out_dir) if out_dir is not None else Path(root) / "report"
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    body = [f"<h1>webbcal report</h1><p>Products under <code>{_e(products.root)}</code>; "
            f"truth: <code>{_e(products.truth_dir or 'none')}</code>. "
            f"{len(products.exposures)} exposures, {len(products.mosaics)} mosaics.</p>"]
    truth = products.truth_dir
    prefetch_truth(truth)  # shared tables, read once before the threads start

    def exposure_job(k: int, exp: Exposure):
        planes = read_planes(exp.rate, ("SCI", "ERR", "DQ")) if exp.rate is not None else None
        m = exposure_metrics(exp, truth, planes=planes)
        if k >= max_exposures:
            return m, None
        return m, _exposure_section(exp, m, products, img, planes)

    def mosaic_job(mos: Mosaic):
        m = mosaic_metrics(mos, truth, reference_catalog=products.reference_catalog)
        return m, _mosaic_section(mos, m, img)

    jobs = [(f"exposure {e.stem}", exposure_job, (k, e)) for k, e in enumerate(products.exposures)]
    jobs += [(f"mosaic {m.stem}", mosaic_job, (m,)) for m in products.mosaics]
    n_workers = _workers(workers)
    results = []
    with ThreadPoolExecutor(n_workers) if n_workers > 1 else _Inline() as pool:
        # threads: the work is numpy, FITS reading and PNG encoding (GIL released)
        futures = [pool.submit(fn, *args) for _, fn, args in jobs]
        for k, ((name, _, _), fut) in enumerate(zip(jobs, futures)):
            results.append(fut.result())
            if progress is not None:
                progress(name, k + 1, len(jobs))
    n_exp = len(products.exposures)
    exp_metrics = [m for m, _ in results[:n_exp]]
    mos_metrics = [m for m, _ in results[n_exp:]]
    sections = [sec for _, sec in results if sec is not None]
    summary_rows = [_summary_row(e, m) for e, m in zip(products.exposures, exp_metrics)]
    times = stage_timing_rows(exp_metrics, mos_metrics)
    if times:
        body.append("<h2>pipeline time per stage</h2>"
                    + _table(["stage", "pipeline time", ""], [list(map(_e, r)) for r in times]))
    checks = validation_rows(exp_metrics, mos_metrics) if products.truth_dir else []
    if checks:
        body.append("<h2 id='validation'>validation against the truth</h2>"
                    + _table(["figure", "value", "expected"], [list(map(_e, r)) for r in checks]))
    body.append("<h2>exposures</h2>" + _table(
        ["exposure", "products", "median z", "std z", "jump completeness", "JUMP_DET %",
         "cal WCS offset (mas)", "detector1 (s)", "image2 (s)"], summary_rows))
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


class _Inline:
    """A stand-in for an executor that runs each job when its result is asked for."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        return _Deferred(fn, args)


class _Deferred:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def result(self):
        return self.fn(*self.args)


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, int(workers))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


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


def _exposure_section(exp: Exposure, m, products: Products, img: Path,
                      rate: dict[str, np.ndarray] | None = None) -> str:
    parts = [f"<section id='{exp.stem}' class='exposure'><h2>{_e(exp.stem)}</h2>"]
    figs = []
    notes: list[str] = []
    if exp.rate is not None:
        ex = m.info
        ny, nx = m.shape
        parts.append(f"<p>{ex.detector} {ex.filter} {ex.readpatt} {ex.ngroups} groups × "
                     f"{ex.nints} int, {nx}×{ny} pixels</p>")
        rate = rate if rate is not None else read_planes(exp.rate, ("SCI", "DQ"))
        figs.append(plots.image_png(rate["SCI"], img / f"{exp.stem}_rate.png", stretch="zscale",
                                    title=f"{exp.stem} rate", unit="DN/s"))
        figs.append(plots.dq_png(rate["DQ"], img / f"{exp.stem}_dq.png",
                                 title=f"{exp.stem} DQ / jumps"))
    if exp.cal is not None:
        cal = read_planes(exp.cal, ("SCI",))["SCI"]
        figs.append(plots.image_png(cal, img / f"{exp.stem}_cal.png", stretch="asinh",
                                    title=f"{exp.stem} cal", unit="MJy/sr"))
    if exp.rate is not None and exp.uncal is not None:
        try:
            examples = ramp_examples(exp, rate["SCI"], rate["DQ"], m, products.truth_dir)
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
    parts.append("<div class='figs'>" + "".join(_img(p) for p in figs) + "</div>")
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


# -- per mosaic ------------------------------------------------------------------
def _mosaic_section(mos: Mosaic, m, img: Path) -> str:
    """Per mosaic: the image with the catalog overlaid, astrometric residuals against the
    truth (or the reference catalog), flux ratio against magnitude, number counts, and
    the image3 step timings. ``m``: its :class:`~webbcal.report.collect.MosaicMetrics`
    (None without a catalog)."""
    parts = [f"<section id='{mos.stem}' class='mosaic'><h2>mosaic {_e(mos.stem)}</h2>"]
    data = read_planes(mos.i2d, ("SCI",))["SCI"]
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
                 ["matched (≤0.2″ after removing the offset)", str(m.match.n)]]
        classes = [("point sources", m.is_point, "#1f77b4"),
                   ("isolated S/N>50 point sources" if truth else "S/N>50 unflagged sources",
                    m.sample, "#d62728")]
        if m.match.n:
            d = m.match
            rows.append(["offset removed before matching ΔRA, ΔDec (mas)",
                         f"{m.offset_ra_mas:+.1f}, {m.offset_dec_mas:+.1f}"])
            a, p = m.astrometry, m.photometry
            sample = classes[1][0]
            rows.append([sample, str(max(a.n, p.n))])
            if a.n:
                rows += [[f"{sample}: median ΔRA, ΔDec (mas)",
                          f"{a.median_dra:+.1f}, {a.median_ddec:+.1f}"],
                         [f"{sample}: rms / rms about the median (mas)",
                          f"{a.rms:.1f} / {a.rms_relative:.1f}"]]
            if p.n:
                rows.append([f"{sample}: median total-flux ratio, scatter, reduced χ²",
                             f"{p.median_ratio:.3f}, {p.scatter:.3f}, {p.reduced_chi2:.3g}"])
            figs.append(plots.scatter_png(d.dra_mas, d.ddec_mas, img / f"{mos.stem}_astrom.png",
                                          xlabel="dRA cos(Dec) [mas]", ylabel="dDec [mas]",
                                          title=f"measured - {ref} positions", hline=0,
                                          equal=True, classes=classes))
        if m.flux_ratio.size:
            figs.append(plots.scatter_png(
                m.true_mag, m.flux_ratio, img / f"{mos.stem}_flux.png", xlabel="true AB mag",
                ylabel="catalog total flux / true flux", hline=1.0, logy=True, classes=classes,
                title="photometry (point-source aperture correction: galaxies < 1)"))
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
    parts.append("<div class='figs'>" + "".join(_img(p) for p in figs) + "</div>")
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


def _img(pic: plots.Picture) -> str:
    rel = f"{pic.path.parent.name}/{pic.path.name}"
    return (f"<figure><a href='{_e(rel)}'><img src='{_e(rel)}' alt='{_e(pic.path.stem)}'>"
            f"</a><figcaption>{_e(pic.caption)}</figcaption></figure>")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{trs}</table>"
