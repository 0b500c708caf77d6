"""Catalog and alignment of an image3 run against the simulator's truth, for
``compare_official_image3.py``: both catalogs' positions (:func:`compare_to_truth`)
and each exposure's aligned WCS (:func:`per_exposure_wcs`, evaluated in the official
venv, whose gwcs reads both pipelines' ``*_crf.fits``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from _official import official_env, worker_result

__all__ = ["compare_to_truth", "per_exposure_wcs"]


def _sky_mas(ra, dec, cosd):
    import numpy as np

    return np.column_stack([np.asarray(ra) * cosd, np.asarray(dec)]) * 3.6e6


def _rms(v) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(np.sum(np.asarray(v) ** 2, axis=1)))) if len(v) else float("nan")


def _positions(t, column: str, cosd: float):
    import numpy as np

    sky = t[column]
    return _sky_mas(np.asarray(sky.ra.deg), np.asarray(sky.dec.deg), cosd)


def compare_to_truth(ours: Path, official: Path, truth_dir: Path) -> dict:
    """Both catalogs' positions against the simulator's true positions.

    Each catalog's frame offset is the median (measured − true) of its S/N > 50 stars
    (without an absolute reference catalog a mosaic keeps the reference exposure's
    pointing error, printed from ``pointing_errors.ecsv`` as −error); RMS values are
    about that offset: stars S/N > 50, galaxies S/N > 20 (the truth's Sérsic centre),
    and, on the sample of :func:`compare_catalogs` (matched, official is_extended
    False, S/N > 20 in both), ours−official split into true stars and galaxies and each
    catalog against truth. ``sky_centroid`` has the official definition in both
    catalogs; our windowed centroids (``sky_centroid_win``, when present) are measured
    against the truth too (keys ``ours_win_*``, ``point_sample_*_ours_win_*``).
    """
    import numpy as np
    from astropy.table import Table
    from scipy.spatial import cKDTree

    tr = Table.read(truth_dir / "sources.ecsv")
    star = np.char.strip(np.asarray(tr["kind"]).astype(str)) == "star"
    cosd = np.cos(np.radians(np.median(tr["dec"])))
    true_xy = _sky_mas(tr["ra"], tr["dec"], cosd)
    tree = cKDTree(true_xy)
    out: dict = {}
    perr = truth_dir / "pointing_errors.ecsv"
    if perr.exists():
        pe = Table.read(perr)
        out["pointing_errors_neg_mas"] = [[round(-1e3 * float(r["dra_arcsec"]), 1),
                                           round(-1e3 * float(r["ddec_arcsec"]), 1)] for r in pe]
    tables = {"ours": Table.read(ours), "official": Table.read(official)}
    runs = [("ours", "sky_centroid"), ("official", "sky_centroid")]
    if "sky_centroid_win" in tables["ours"].colnames:
        runs.insert(1, ("ours_win", "sky_centroid_win"))
    cats = {}
    for name, column in runs:
        t = tables[name.split("_")[0]]
        xy = _positions(t, column, cosd)
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = (np.asarray(t["aper_total_flux"], float)
                   / np.asarray(t["aper_total_flux_err"], float))
        d, i = tree.query(xy)
        coarse = (d < 1500) & (snr > 50) & star[i]
        frame = np.median(xy[coarse] - true_xy[i[coarse]], axis=0) if coarse.any() else np.zeros(2)
        d, i = tree.query(xy - frame)
        ok = d < 100
        stars = ok & (snr > 50) & star[i]
        gals = ok & (snr > 20) & ~star[i]
        out[f"{name}_frame_offset_mas"] = [round(float(v), 2) for v in frame]
        out[f"{name}_stars_snr50_rms_mas"] = _rms(xy[stars] - true_xy[i[stars]] - frame)
        out[f"{name}_stars_snr50_n"] = int(stars.sum())
        out[f"{name}_galaxies_snr20_rms_mas"] = _rms(xy[gals] - true_xy[i[gals]] - frame)
        out[f"{name}_galaxies_snr20_n"] = int(gals.sum())
        cats[name] = (t, xy, snr, frame, d, i)
    (a, xa, sa, fa, da, ia), (b, xb, sb, fb, db, ib) = cats["ours"], cats["official"]
    d12, i12 = cKDTree(xb).query(xa)
    pt = (d12 < 100.0) & (sa > 20) & (sb[i12] > 20) & ~np.asarray(b["is_extended"], bool)[i12]
    same = pt & (da < 100) & (db[i12] < 100) & (ia == ib[i12])  # both matched to one true source
    is_star = star[ia]
    for label, sel in (("stars", same & is_star), ("galaxies", same & ~is_star)):
        j = i12[sel]
        out[f"point_sample_{label}_n"] = int(sel.sum())
        out[f"point_sample_{label}_ours_minus_official_rms_mas"] = _rms(xa[sel] - xb[j])
        out[f"point_sample_{label}_ours_vs_truth_rms_mas"] = _rms(xa[sel] - true_xy[ia[sel]] - fa)
        out[f"point_sample_{label}_official_vs_truth_rms_mas"] = _rms(xb[j] - true_xy[ia[sel]] - fb)
        if "ours_win" in cats:
            xw, fw = cats["ours_win"][1], cats["ours_win"][3]
            out[f"point_sample_{label}_ours_win_vs_truth_rms_mas"] = _rms(
                xw[sel] - true_xy[ia[sel]] - fw)
    out["point_sample_without_common_true_match_n"] = int((pt & ~same).sum())
    # total fluxes of the true stars (ours: the 90 % aperture × its correction, official:
    # the 70 % one; equal for point sources, not for galaxies, which have light beyond)
    sel = same & is_star
    fa_, fb_ = (np.asarray(t["aper_total_flux"], float) * 1e6 for t in (a, b))
    tflux = np.asarray(tr[f"flux_{str(a.meta.get('filter', 'F200W')).lower()}"], float)
    out["stars_total_flux_ratio_ours_over_official"] = float(np.median(fa_[sel] / fb_[i12[sel]]))
    out["stars_total_flux_over_true_ours"] = float(np.median(fa_[sel] / tflux[ia[sel]]))
    out["stars_total_flux_over_true_official"] = float(np.median(fb_[i12[sel]] / tflux[ia[sel]]))
    return out


_PER_EXPOSURE = r"""
import json, sys
import numpy as np
from astropy.table import Table
from stdatamodels.jwst import datamodels as dm
truth, pairs = sys.argv[1], json.loads(sys.argv[2])
pos = Table.read(truth + "/positions.fits")
tr = Table.read(truth + "/sources.ecsv")
row = {int(i): k for k, i in enumerate(tr["id"])}
cosd = np.cos(np.radians(np.median(tr["dec"])))
expname = np.char.strip(np.asarray(pos["exposure"]).astype(str))
out = {}
for exp, paths in pairs.items():
    p = pos[expname == exp]
    x, y = np.asarray(p["x"], float), np.asarray(p["y"], float)
    k = np.array([row[int(i)] for i in p["id"]], int)
    ok = (x > 5) & (x < 2043) & (y > 5) & (y < 2043)
    for name, path in paths.items():
        with dm.open(path) as m:
            ra, dec = m.meta.wcs(x[ok], y[ok])
        d = np.column_stack([(ra - np.asarray(tr["ra"])[k[ok]]) * cosd,
                             dec - np.asarray(tr["dec"])[k[ok]]]) * 3.6e6
        med = np.median(d, axis=0)
        out.setdefault(exp, {})[name] = [round(float(med[0]), 2), round(float(med[1]), 2),
                                         round(float(np.sqrt(np.mean(np.sum((d - med) ** 2, 1)))), 2)]
print("RESULT " + json.dumps(out))
"""


def per_exposure_wcs(out: Path, truth_dir: Path, python: Path) -> dict:
    """Each exposure's aligned WCS (our and the official ``*_crf.fits``, evaluated by the
    official gwcs) at the true pixel positions of every source (``positions.fits``):
    ``{exposure: {"ours"|"official": [median ΔRA·cos Dec, median ΔDec, RMS about it]}}``
    in mas. Exposures whose offsets differ from each other were aligned differently
    (the mosaic frame is that of the reference exposure; its pointing error is in
    ``pointing_errors.ecsv``)."""
    if not (truth_dir / "positions.fits").exists():
        return {}
    pairs = {}
    for ours in sorted((out / "webbcal").glob("*_crf.fits")):
        exp = ours.name[:-len("_crf.fits")]
        theirs = sorted((out / "official").glob(f"{exp}*_crf.fits"))
        if theirs:
            pairs[exp] = {"ours": str(ours), "official": str(theirs[0])}
    if not pairs:
        return {}
    return worker_result(subprocess.run([str(python), "-c", _PER_EXPOSURE, str(truth_dir),
                                         json.dumps(pairs)], capture_output=True, text=True,
                                        env=official_env(None)))
