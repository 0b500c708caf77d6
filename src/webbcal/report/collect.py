"""Find products on disk and measure them against the simulator's truth.

:func:`discover` groups a folder's products by exposure; :func:`exposure_metrics`
and :func:`mosaic_metrics` read the files and call the pure functions of
:mod:`webbcal.report.metrics`. ``webbcal validate`` and the HTML report share them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from webbcal.report import metrics as M

log = logging.getLogger("webbcal.report")

__all__ = ["Exposure", "Mosaic", "Products", "discover", "ExposureMetrics", "exposure_metrics",
           "MosaicMetrics", "mosaic_metrics", "read_timings", "truth_table"]


def truth_table(truth_dir: Path | None, name: str):
    """The truth table ``truth_dir/<name>.fits`` or ``.ecsv`` as an astropy Table, or None."""
    if truth_dir is None:
        return None
    from astropy.table import Table

    for ext, fmt in ((".fits", "fits"), (".ecsv", "ascii.ecsv")):
        path = Path(truth_dir) / f"{name}{ext}"
        if path.exists():
            return Table.read(path, format=fmt)
    return None


@dataclass
class Exposure:
    """Files of one exposure (``stem`` = ``jw…_nrca1``); any may be None."""

    stem: str
    uncal: Path | None = None
    rate: Path | None = None
    cal: Path | None = None


@dataclass
class Mosaic:
    """A level-3 product: the ``*_i2d.fits`` mosaic and its ``*_cat.ecsv`` catalog."""

    stem: str
    i2d: Path
    catalog: Path | None = None


@dataclass
class Products:
    """What :func:`discover` found under ``root``."""

    root: Path
    truth_dir: Path | None
    exposures: list[Exposure] = field(default_factory=list)
    mosaics: list[Mosaic] = field(default_factory=list)
    reference_catalog: Path | None = None


def discover(root: str | os.PathLike, *, truth_dir: str | os.PathLike | None = None,
             raw_dirs: Sequence[str | os.PathLike] = ()) -> Products:
    """Walk ``root`` (and ``raw_dirs``) for uncal/rate/cal/i2d files and the truth folder.

    The truth folder is ``truth_dir`` if given, else the one recorded by ``webbcal run
    all`` in ``root/webbcal-run.json``, else ``root/truth``, else the first ``truth``
    folder below ``root`` (the demo keeps the world in ``root/raw``). ``raw_dirs`` (and
    the ``raw_dirs`` of that manifest) are searched, not recursively, for the uncal
    files that lie outside ``root``. Temporary files (``.tmp-*``) are ignored;
    per-exposure i2d files (same stem as an exposure) are not mosaics.
    """
    import json

    from webbcal.pipelines.base import product_stem

    root = Path(root)
    manifest = root / "webbcal-run.json"
    raw = [Path(d) for d in raw_dirs]
    if manifest.exists():
        try:
            info = json.loads(manifest.read_text())
            raw += [Path(d) for d in info.get("raw_dirs", [])]
            if truth_dir is None and info.get("truth_dir") and Path(info["truth_dir"]).is_dir():
                truth_dir = Path(info["truth_dir"])
        except (ValueError, OSError, AttributeError) as exc:
            log.warning("%s: unreadable (%s)", manifest, exc)
    if truth_dir is None:
        cands = [root / "truth"] + sorted(p for p in root.rglob("truth") if p.is_dir())
        truth_dir = next((p for p in cands if p.is_dir()), None)
    exposures: dict[str, Exposure] = {}
    i2d: list[Path] = []
    extra = sorted(f for d in dict.fromkeys(raw) if d.is_dir() for f in d.glob("*_uncal.fits"))
    for path in sorted(root.rglob("*.fits")) + extra:
        if path.name.startswith(".") or (truth_dir and Path(truth_dir) in path.parents):
            continue
        name = path.name
        for suffix in ("uncal", "rate", "cal"):
            if name.endswith(f"_{suffix}.fits"):
                exp = exposures.setdefault(product_stem(name), Exposure(product_stem(name)))
                if getattr(exp, suffix) is None:
                    setattr(exp, suffix, path)
        if name.endswith("_i2d.fits"):
            i2d.append(path)
    mosaics = []
    for path in i2d:
        stem = product_stem(path)
        if stem in exposures:
            continue
        cat = path.with_name(f"{stem}_cat.ecsv")
        mosaics.append(Mosaic(stem, path, cat if cat.exists() else None))
    refs = [d / "reference_catalog.ecsv" for d in
            ([Path(truth_dir)] if truth_dir else []) + [root] + raw
            + ([Path(truth_dir).parent] if truth_dir else [])]
    return Products(root, Path(truth_dir) if truth_dir else None,
                    sorted(exposures.values(), key=lambda e: e.stem), mosaics,
                    next((r for r in refs if r.exists()), None))


def read_timings(*paths: Path | None) -> dict[str, dict[str, float]]:
    """``{pipeline: {step: seconds}}`` from the HISTORY cards of product files."""
    from astropy.io import fits

    out: dict[str, dict[str, float]] = {}
    for path in paths:
        if path is None:
            continue
        header = fits.getheader(path, 0)
        out.update(M.parse_step_timings(list(header.get("HISTORY", []))))
    return out


@dataclass(frozen=True)
class ExposureMetrics:
    """Per-exposure figures (None where the inputs were missing).

    ``z``: rate vs true rate; ``jumps``: injected CRs vs JUMP_DET; ``dq_counts``:
    pixels per DQ flag; ``n_pixels``; ``wcs_offset_mas``: median distance between the
    true source pixel positions and the cal WCS prediction (pointing error + WCS
    error); ``timings``: ``{pipeline: {step: s}}``.
    """

    stem: str
    z: M.ZStats | None
    jumps: M.JumpCompleteness | None
    dq_counts: dict[str, int]
    n_pixels: int
    wcs_offset_mas: float | None
    timings: dict[str, dict[str, float]]


def exposure_metrics(exp: Exposure, truth_dir: Path | None) -> ExposureMetrics:
    """Read the exposure's rate (and cal) product and compare with the truth files."""
    from astropy.io import fits

    from webbcal.datamodels import read_image
    from webbcal.datamodels.dqflags import interpret

    z = jumps = None
    dq_counts: dict[str, int] = {}
    n_pix = 0
    if exp.rate is not None:
        rate = read_image(exp.rate)
        dq_counts, n_pix = interpret(rate.dq), int(rate.dq.size)
        truth_rate = truth_dir / f"{exp.stem}_truth_rate.fits" if truth_dir else None
        if truth_rate is not None and truth_rate.exists():
            z = M.z_statistics(rate.data, rate.err, rate.dq, fits.getdata(truth_rate, "RATE_DN"))
        crs = truth_table(truth_dir, f"{exp.stem}_cosmic_rays")
        if crs is not None:
            jumps = _jumps(rate, crs)
    return ExposureMetrics(exp.stem, z, jumps, dq_counts, n_pix, _wcs_offset(exp, truth_dir),
                           read_timings(exp.rate, exp.cal))


def _jumps(rate, cr) -> M.JumpCompleteness:
    cr = cr[np.asarray(cr["integration"]) == 0] if "integration" in cr.colnames else cr
    ex = rate.exposure
    ok = M.detectable_cr_mask(np.asarray(cr["frame"]), np.asarray(cr["x"]), np.asarray(cr["y"]),
                              nframes=ex.nframes, groupgap=ex.groupgap, ngroups=ex.ngroups,
                              shape=rate.dq.shape)
    e = cr["center_electrons"] if "center_electrons" in cr.colnames else cr["electrons"]
    return M.jump_completeness(rate.dq, np.asarray(cr["x"])[ok], np.asarray(cr["y"])[ok],
                               np.asarray(e)[ok])


def _wcs_offset(exp: Exposure, truth_dir: Path | None) -> float | None:
    """Median |true pixel position - cal FITS-WCS prediction| of in-frame sources (mas)."""
    pos, src = truth_table(truth_dir, "positions"), truth_table(truth_dir, "sources")
    if exp.cal is None or pos is None or src is None:
        return None
    try:
        from astropy.io import fits
        from astropy.wcs import WCS

        header = fits.getheader(exp.cal, "SCI")
        if "CTYPE1" not in header:
            return None
        wcs = WCS(header)
        pos = pos[np.char.strip(np.asarray(pos["exposure"]).astype(str)) == exp.stem]
        lookup = {int(i): k for k, i in enumerate(src["id"])}
        k = np.array([lookup[int(i)] for i in pos["id"]])
        ny, nx = int(header["NAXIS2"]), int(header["NAXIS1"])
        inside = (pos["x"] > 5) & (pos["x"] < nx - 6) & (pos["y"] > 5) & (pos["y"] < ny - 6)
        if not inside.any():
            return None
        x, y = wcs.all_world2pix(src["ra"][k][inside], src["dec"][k][inside], 0)
        d = np.hypot(x - pos["x"][inside], y - pos["y"][inside])
        scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3.6e6
        return float(np.median(d) * scale)
    except Exception as exc:  # noqa: BLE001 - a figure, never a crash
        log.warning("%s: WCS check skipped (%s)", exp.cal, exc)
        return None


@dataclass(frozen=True)
class MosaicMetrics:
    """Catalog of a mosaic vs the true sources inside its footprint.

    ``n_catalog``, ``n_truth_in_field``, ``match`` (see :class:`CatalogMatch`);
    ``flux_ratio`` (m,) measured/true flux of matched sources and ``true_mag`` (m,)
    their true AB magnitudes; ``catalog_mag`` (n_catalog,) and ``truth_mag``
    (n_truth_in_field,) for number counts; ``x``, ``y`` catalog pixel positions;
    ``against``: ``"truth"`` or ``"reference catalog"`` (no truth: positions only,
    matched to the astrometric reference catalog; flux arrays empty).
    """

    stem: str
    filter: str
    n_catalog: int
    n_truth_in_field: int
    match: M.CatalogMatch
    flux_ratio: np.ndarray
    true_mag: np.ndarray
    catalog_mag: np.ndarray
    truth_mag: np.ndarray
    x: np.ndarray
    y: np.ndarray
    timings: dict[str, dict[str, float]]
    against: str = "truth"


def mosaic_metrics(mosaic: Mosaic, truth_dir: Path | None, *,
                   reference_catalog: Path | None = None) -> MosaicMetrics | None:
    """Match the mosaic's catalog to ``truth/sources.ecsv`` (or, without a truth, to
    ``reference_catalog``: RA/Dec columns, e.g. Gaia); None without a catalog."""
    from astropy.io import fits
    from astropy.table import Table

    if mosaic.catalog is None:
        return None
    primary = fits.getheader(mosaic.i2d, 0)
    sci = fits.getheader(mosaic.i2d, "SCI")
    filt = str(primary.get("FILTER", "")).upper()
    cat = Table.read(mosaic.catalog, format="ascii.ecsv")
    ra, dec = _radec(cat)
    flux_ujy = _column(cat, ("aper_total_flux", "isophotal_flux")) * 1e6
    x, y = np.asarray(cat["xcentroid"], float), np.asarray(cat["ycentroid"], float)
    empty = np.zeros(0)
    match = M.match_catalogs(empty, empty, empty, empty)
    ratio = tmag = tmag_all = empty
    n_field = 0
    src = truth_table(truth_dir, "sources")
    if src is not None and f"flux_{filt.lower()}" in src.colnames:
        tflux = np.asarray(src[f"flux_{filt.lower()}"], float)
        infield = _in_footprint(mosaic.i2d, sci, np.asarray(src["ra"]), np.asarray(src["dec"]))
        n_field = int(infield.sum())
        tmag_all = M.abmag_from_ujy(tflux[infield])
        match = M.match_catalogs(ra, dec, np.asarray(src["ra"]), np.asarray(src["dec"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = flux_ujy[match.index_measured] / tflux[match.index_truth]
        tmag = M.abmag_from_ujy(tflux[match.index_truth])
        against = "truth"
    elif reference_catalog is not None and Path(reference_catalog).exists():
        ref = Table.read(reference_catalog, format="ascii.ecsv")
        rra, rdec = _radec(ref)
        n_field = int(_in_footprint(mosaic.i2d, sci, rra, rdec).sum())
        match = M.match_catalogs(ra, dec, rra, rdec)
        against = "reference catalog"
    else:
        against = "none"
    return MosaicMetrics(mosaic.stem, filt, len(cat), n_field, match, ratio, tmag,
                         M.abmag_from_ujy(flux_ujy), tmag_all, x, y, read_timings(mosaic.i2d),
                         against)


def _column(cat, names) -> np.ndarray:
    for n in names:
        if n in cat.colnames:
            return np.asarray(getattr(cat[n], "value", cat[n]), float)
    return np.full(len(cat), np.nan)


def _radec(cat) -> tuple[np.ndarray, np.ndarray]:
    if "sky_centroid" in cat.colnames:
        sc = cat["sky_centroid"]
        return np.asarray(sc.ra.deg, float), np.asarray(sc.dec.deg, float)
    return np.asarray(cat["ra"], float), np.asarray(cat["dec"], float)


def _in_footprint(i2d: Path, sci_header, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """True where (ra, dec) falls on mosaic pixels with weight (FITS WCS of SCI, or gwcs)."""
    from astropy.io import fits

    with fits.open(i2d) as h:
        shape = h["SCI"].shape
        wht = h["WHT"].data if "WHT" in h else None
    try:
        if "CTYPE1" in sci_header:
            from astropy.wcs import WCS

            x, y = WCS(sci_header).all_world2pix(ra, dec, 0)
        else:
            from webbcal.datamodels import read_mosaic

            x, y = read_mosaic(i2d).wcs.world_to_pixel_values(ra, dec)
    except Exception as exc:  # noqa: BLE001
        log.warning("%s: no usable WCS for the footprint (%s)", i2d, exc)
        return np.zeros(ra.size, bool)
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    ok = (xi >= 0) & (yi >= 0) & (xi < shape[1]) & (yi < shape[0])
    if wht is not None:
        ok[ok] &= wht[yi[ok], xi[ok]] > 0
    return ok
