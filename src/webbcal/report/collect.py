"""Find products on disk and measure them against the simulator's truth.

:func:`discover` (from :mod:`webbcal.report.products`) groups a folder's products by
exposure; :func:`exposure_metrics` and :func:`mosaic_metrics` read the files and call
the pure functions of :mod:`webbcal.report.metrics` and
:mod:`webbcal.report.catalog_metrics`. ``webbcal validate`` and the HTML report share
them, through a per-process cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webbcal.report import catalog_metrics as C
from webbcal.report import metrics as M
from webbcal.report._io import (cached_table, exposure_info, file_key, read_headers,
                                read_planes)
from webbcal.report.products import Exposure, Mosaic, Products, discover

log = logging.getLogger("webbcal.report")

#: Per-process cache of measured figures (see :func:`exposure_metrics`).
_METRICS: dict[tuple, object] = {}

__all__ = ["Exposure", "Mosaic", "Products", "discover", "ExposureMetrics", "exposure_metrics",
           "MosaicMetrics", "mosaic_metrics", "read_timings", "truth_table", "prefetch_truth",
           "dq_counts_of"]


def truth_table(truth_dir: Path | None, name: str):
    """The truth table ``truth_dir/<name>.fits`` or ``.ecsv`` as an astropy Table, or None
    (cached per process: do not modify it)."""
    if truth_dir is None:
        return None
    for ext in (".fits", ".ecsv"):
        path = Path(truth_dir) / f"{name}{ext}"
        if path.exists():
            return cached_table(path)
    return None


def read_timings(*paths: Path | None) -> dict[str, dict[str, float]]:
    """``{pipeline: {step: seconds}}`` from the HISTORY cards of product files."""
    out: dict[str, dict[str, float]] = {}
    for path in paths:
        if path is not None:
            out.update(_timings(read_headers(path, "PRIMARY")[0]))
    return out


def _timings(primary) -> dict[str, dict[str, float]]:
    return M.parse_step_timings(list(primary.get("HISTORY", [])))


@dataclass(frozen=True)
class ExposureMetrics:
    """Per-exposure figures (None where the inputs were missing).

    ``z``: rate vs true rate; ``jumps``: injected CRs vs JUMP_DET; ``dq_counts``:
    pixels per DQ flag; ``n_pixels``; ``wcs_offset_mas``: median distance between the
    true source pixel positions and the cal WCS prediction (pointing error + WCS
    error); ``timings``: ``{pipeline: {step: s}}``; ``info``: the rate's
    :class:`~webbcal.datamodels.exposure.ExposureInfo`; ``shape`` (ny, nx) of the rate;
    """

    stem: str
    z: M.ZStats | None
    jumps: M.JumpCompleteness | None
    dq_counts: dict[str, int]
    n_pixels: int
    wcs_offset_mas: float | None
    timings: dict[str, dict[str, float]]
    info: object | None = None
    shape: tuple[int, int] | None = None


def exposure_metrics(exp: Exposure, truth_dir: Path | None, *,
                     planes: dict[str, np.ndarray] | None = None) -> ExposureMetrics:
    """Read the exposure's rate (and cal) product and compare with the truth files.

    ``planes``: the rate's SCI, ERR and DQ arrays when the caller has read them
    already (see :func:`webbcal.report._io.read_planes`).

    Results are cached per process by file path, modification time and size, so
    ``webbcal validate`` after the report (as the demo does) measures nothing twice.
    """
    key = ("exposure", exp.stem, file_key(exp.rate), file_key(exp.cal), str(truth_dir))
    if key not in _METRICS:
        _remember(key, _exposure_metrics(exp, truth_dir, planes))
    return _METRICS[key]


def _exposure_metrics(exp: Exposure, truth_dir: Path | None, planes) -> ExposureMetrics:
    z = jumps = info = shape = None
    dq_counts: dict[str, int] = {}
    n_pix = 0
    timings: dict[str, dict[str, float]] = {}
    if exp.rate is not None:
        primary, sci_header = read_headers(exp.rate)
        timings.update(_timings(primary))
        info = exposure_info(primary, sci_header, path=exp.rate)
        rate = planes if planes is not None else read_planes(exp.rate, ("SCI", "ERR", "DQ"))
        data, err, dq = rate["SCI"], rate["ERR"], rate["DQ"]
        shape = data.shape
        dq_counts, n_pix = dq_counts_of(dq), int(dq.size)
        truth_rate = truth_dir / f"{exp.stem}_truth_rate.fits" if truth_dir else None
        truth = None
        if truth_rate is not None and truth_rate.exists():
            truth = read_planes(truth_rate, ("RATE_DN",))["RATE_DN"]
            z = M.z_statistics(data, err, dq, truth)
        crs = truth_table(truth_dir, f"{exp.stem}_cosmic_rays")
        if crs is not None:
            jumps = _jumps(info, dq, crs)
    wcs_offset = None
    if exp.cal is not None:
        cal_primary, cal_sci = read_headers(exp.cal)
        timings.update(_timings(cal_primary))
        wcs_offset = _wcs_offset(exp, cal_sci, truth_dir)
    return ExposureMetrics(exp.stem, z, jumps, dq_counts, n_pix, wcs_offset, timings, info,
                           shape)


def dq_counts_of(dq: np.ndarray) -> dict[str, int]:
    """Pixels per DQ flag, as :func:`webbcal.datamodels.dqflags.interpret` counts them,
    from the distinct non-zero values only (most pixels are 0: ~10× faster)."""
    from webbcal.datamodels.dqflags import DQ

    dq = np.asarray(dq).astype(np.uint32, copy=False)
    values, counts = np.unique(dq[dq != 0], return_counts=True)
    out = {}
    for flag in DQ:
        if flag:
            n = int(counts[(values & np.uint32(flag)) != 0].sum())
            if n:
                out[flag.name] = n
    return out


def _jumps(ex, dq, cr) -> M.JumpCompleteness:
    cr = cr[np.asarray(cr["integration"]) == 0] if "integration" in cr.colnames else cr
    ok = M.detectable_cr_mask(np.asarray(cr["frame"]), np.asarray(cr["x"]), np.asarray(cr["y"]),
                              nframes=ex.nframes, groupgap=ex.groupgap, ngroups=ex.ngroups,
                              shape=dq.shape)
    e = cr["center_electrons"] if "center_electrons" in cr.colnames else cr["electrons"]
    return M.jump_completeness(dq, np.asarray(cr["x"])[ok], np.asarray(cr["y"])[ok],
                               np.asarray(e)[ok])


def prefetch_truth(truth_dir: Path | None) -> None:
    """Read the truth tables that several exposures and mosaics share (sources,
    positions, isolation of the sources) into the per-process cache."""
    if truth_dir is None:
        return
    _true_positions(truth_dir)
    src = truth_table(truth_dir, "sources")
    if src is not None:
        for name in src.colnames:
            if name.startswith("flux_"):
                _isolated(truth_dir, np.asarray(src["ra"], float),
                          np.asarray(src["dec"], float), np.asarray(src[name], float))


def _true_positions(truth_dir: Path | None):
    """``{exposure: (ra, dec, x, y)}`` of the truth's per-exposure source positions."""
    key = ("positions", str(truth_dir))
    if key not in _METRICS:
        pos, src = truth_table(truth_dir, "positions"), truth_table(truth_dir, "sources")
        out = {}
        if pos is not None and src is not None:
            ids = np.asarray(src["id"], int)
            order = np.argsort(ids)
            k = order[np.searchsorted(ids, np.asarray(pos["id"], int), sorter=order)]
            ra, dec = np.asarray(src["ra"], float)[k], np.asarray(src["dec"], float)[k]
            px, py = np.asarray(pos["x"], float), np.asarray(pos["y"], float)
            names = np.char.strip(np.asarray(pos["exposure"]).astype(str))
            for name in np.unique(names):
                sel = names == name
                out[str(name)] = (ra[sel], dec[sel], px[sel], py[sel])
        _remember(key, out)
    return _METRICS[key]


def _wcs_offset(exp: Exposure, header, truth_dir: Path | None) -> float | None:
    """Median |true pixel position - cal FITS-WCS prediction| of in-frame sources (mas);
    ``header``: the cal file's SCI header."""
    if header is None or "CTYPE1" not in header or truth_dir is None:
        return None
    pos = _true_positions(truth_dir).get(exp.stem)
    if pos is None:
        return None
    try:
        from astropy.wcs import WCS

        wcs = WCS(header)
        ra, dec, px, py = pos
        ny, nx = int(header["NAXIS2"]), int(header["NAXIS1"])
        inside = (px > 5) & (px < nx - 6) & (py > 5) & (py < ny - 6)
        if not inside.any():
            return None
        x, y = wcs.all_world2pix(ra[inside], dec[inside], 0)
        d = np.hypot(x - px[inside], y - py[inside])
        scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3.6e6
        return float(np.median(d) * scale)
    except Exception as exc:  # noqa: BLE001 - a figure, never a crash
        log.warning("%s: WCS check skipped (%s)", exp.cal, exc)
        return None


@dataclass(frozen=True)
class MosaicMetrics:
    """Catalog of a mosaic vs the true sources inside its footprint.

    ``n_catalog``, ``n_truth_in_field``; ``match`` (m pairs, see
    :class:`~webbcal.report.metrics.CatalogMatch`; residuals measured - truth with the
    common offset kept) made within 0.2″ after removing ``offset_ra_mas``,
    ``offset_dec_mas`` (median offset of a coarse 1″ match); per pair (m,):
    ``flux_ratio`` catalog total flux / true flux, ``true_mag`` true AB magnitude,
    ``snr`` catalog S/N of the total flux, ``is_point`` the truth says star,
    ``sample`` the validation sample: isolated, unflagged point sources with
    S/N > 50; ``astrometry`` and ``photometry`` the statistics of that sample.
    Positions are the catalog's ``sky_centroid`` (the official centroid definition);
    ``astrometry_win`` the same pairs' statistics with its windowed centroids
    (``sky_centroid_win``; None when the catalog has none).
    ``catalog_mag`` (n_catalog,) and ``truth_mag`` (n_truth_in_field,) for number
    counts; ``x``, ``y`` catalog pixel positions; ``against``: ``"truth"``,
    ``"reference catalog"`` (positions only; ``sample`` = S/N > 50) or ``"none"``.
    """

    stem: str
    filter: str
    n_catalog: int
    n_truth_in_field: int
    match: M.CatalogMatch
    offset_ra_mas: float
    offset_dec_mas: float
    flux_ratio: np.ndarray
    true_mag: np.ndarray
    snr: np.ndarray
    is_point: np.ndarray
    sample: np.ndarray
    astrometry: C.AstrometryStats
    photometry: C.PhotometryStats
    catalog_mag: np.ndarray
    truth_mag: np.ndarray
    x: np.ndarray
    y: np.ndarray
    timings: dict[str, dict[str, float]]
    against: str = "truth"
    astrometry_win: C.AstrometryStats | None = None


def mosaic_metrics(mosaic: Mosaic, truth_dir: Path | None, *,
                   reference_catalog: Path | None = None) -> MosaicMetrics | None:
    """Match the mosaic's catalog to ``truth/sources.ecsv`` (or, without a truth, to
    ``reference_catalog``: RA/Dec columns, e.g. Gaia); None without a catalog.
    Cached like :func:`exposure_metrics`."""
    if mosaic.catalog is None:
        return None
    key = ("mosaic", file_key(mosaic.i2d), file_key(mosaic.catalog), str(truth_dir),
           file_key(reference_catalog) if reference_catalog else None)
    if key not in _METRICS:
        _remember(key, _mosaic_metrics(mosaic, truth_dir, reference_catalog))
    return _METRICS[key]


def _mosaic_metrics(mosaic: Mosaic, truth_dir: Path | None,
                    reference_catalog: Path | None) -> MosaicMetrics:
    primary, sci = read_headers(mosaic.i2d)
    filt = str(primary.get("FILTER", "")).upper()
    cat = cached_table(mosaic.catalog)
    ra, dec = _radec(cat)
    # catalog fluxes in Jy (the image3 contract) unless the column says otherwise
    flux = _column(cat, ("aper_total_flux", "isophotal_flux"), "uJy")
    err = _column(cat, ("aper_total_flux_err", "isophotal_flux_err"), "uJy")
    name = _first(cat, ("aper_total_flux", "isophotal_flux"))
    if name in cat.colnames and getattr(cat[name], "unit", None) is None:
        flux, err = flux * 1e6, err * 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(err > 0, flux / err, np.nan)
    flags = np.asarray(cat["flags"], int) if "flags" in cat.colnames else np.zeros(len(cat), int)
    bright = snr > 20 if np.count_nonzero(snr > 20) >= 10 else None
    x, y = np.asarray(cat["xcentroid"], float), np.asarray(cat["ycentroid"], float)
    empty = np.zeros(0)
    none = np.zeros(0, bool)
    om = C.match_with_offset(empty, empty, empty, empty)
    ratio = tmag = tmag_all = empty
    is_point = sample = none
    phot = C.photometry_stats(empty, empty, empty)
    n_field = 0
    ref_ra = ref_dec = empty  # the matched catalog's positions (truth or reference)
    src = truth_table(truth_dir, "sources")
    against = "none"
    if src is not None and f"flux_{filt.lower()}" in src.colnames:
        against = "truth"
        sra, sdec = np.asarray(src["ra"], float), np.asarray(src["dec"], float)
        ref_ra, ref_dec = sra, sdec
        tflux = _column(src, (f"flux_{filt.lower()}",), "uJy")  # µJy when unitless
        infield = _in_footprint(mosaic.i2d, sci, sra, sdec)
        n_field = int(infield.sum())
        tmag_all = M.abmag_from_ujy(tflux[infield])
        om = C.match_with_offset(ra, dec, sra, sdec, use=bright)
        im, it = om.match.index_measured, om.match.index_truth
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = flux[im] / tflux[it]
        tmag = M.abmag_from_ujy(tflux[it])
        if "kind" in src.colnames:
            star = np.char.strip(np.asarray(src["kind"]).astype(str)) == "star"
            is_point = star[it]
        else:  # no truth about morphology: trust the catalog's classification
            is_point = ~_column(cat, ("is_extended",)).astype(bool)[im]
        iso = _isolated(truth_dir, sra, sdec, tflux)
        sample = is_point & iso[it] & (snr[im] > C.SNR_MIN) & (flags[im] == 0)
        phot = C.photometry_stats(flux[im][sample], err[im][sample], tflux[it][sample])
    elif reference_catalog is not None and Path(reference_catalog).exists():
        ref = cached_table(Path(reference_catalog))
        rra, rdec = _radec(ref)
        ref_ra, ref_dec = rra, rdec
        n_field = int(_in_footprint(mosaic.i2d, sci, rra, rdec).sum())
        om = C.match_with_offset(ra, dec, rra, rdec, use=bright)
        against = "reference catalog"
        im = om.match.index_measured
        is_point = np.zeros(im.size, bool)
        sample = (snr[im] > C.SNR_MIN) & (flags[im] == 0)
    m = om.match
    astro = C.astrometry_stats(m.dra_mas[sample], m.ddec_mas[sample]) if sample.size \
        else C.astrometry_stats(empty, empty)
    astro_win = None
    win = _radec(cat, "sky_centroid_win")
    if win is not None:  # the windowed centroids of the same pairs
        im, it = m.index_measured[sample], m.index_truth[sample]
        dra, ddec = C.pair_residuals_mas(win[0][im], win[1][im], ref_ra[it], ref_dec[it])
        astro_win = C.astrometry_stats(dra, ddec)
    return MosaicMetrics(mosaic.stem, filt, len(cat), n_field, m, om.offset_ra_mas,
                         om.offset_dec_mas, ratio, tmag, snr[m.index_measured], is_point,
                         sample, astro, phot, M.abmag_from_ujy(flux), tmag_all, x, y,
                         _timings(primary), against, astro_win)


def _isolated(truth_dir, ra, dec, flux) -> np.ndarray:
    key = ("isolated", str(truth_dir), ra.size, float(np.sum(flux)))
    if key not in _METRICS:
        _remember(key, C.isolation_mask(ra, dec, flux))
    return _METRICS[key]


def _remember(key, value) -> None:
    if len(_METRICS) > 256:
        _METRICS.clear()
    _METRICS[key] = value


def _column(cat, names, unit: str | None = None) -> np.ndarray:
    """The first of ``names`` present in ``cat`` as float64 (NaN if none); converted to
    ``unit`` when given and the column has a unit (a unitless column is taken as is)."""
    for n in names:
        if n in cat.colnames:
            col = cat[n]
            values = np.asarray(getattr(col, "value", col), float)
            have = getattr(col, "unit", None)
            if unit is not None and have is not None:
                import astropy.units as u

                values = values * u.Unit(have).to(unit)
            return values
    return np.full(len(cat), np.nan)


def _first(cat, names) -> str:
    return next((n for n in names if n in cat.colnames), names[0])


def _radec(cat, name: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(RA, Dec) deg of the SkyCoord column ``name`` (None when missing); by default
    ``sky_centroid``, else plain ``ra``/``dec`` columns."""
    col = name or "sky_centroid"
    if col in cat.colnames:
        sc = cat[col]
        return np.asarray(sc.ra.deg, float), np.asarray(sc.dec.deg, float)
    if f"{col}.ra" in cat.colnames:  # the ECSV serialization of the SkyCoord
        return _column(cat, (f"{col}.ra",), "deg"), _column(cat, (f"{col}.dec",), "deg")
    if name is not None:
        return None
    return np.asarray(cat["ra"], float), np.asarray(cat["dec"], float)


def _in_footprint(i2d: Path, sci_header, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """True where (ra, dec) falls on mosaic pixels with weight (FITS WCS of SCI, or gwcs)."""
    from astropy.io import fits

    try:
        if sci_header is not None and "CTYPE1" in sci_header:
            from astropy.wcs import WCS

            x, y = WCS(sci_header).all_world2pix(ra, dec, 0)
        else:
            from webbcal.datamodels import read_mosaic

            x, y = read_mosaic(i2d).wcs.world_to_pixel_values(ra, dec)
    except Exception as exc:  # noqa: BLE001
        log.warning("%s: no usable WCS for the footprint (%s)", i2d, exc)
        return np.zeros(ra.size, bool)
    with fits.open(i2d, memmap=True) as h:
        shape = h["SCI"].shape
        xi, yi = np.round(x).astype(int), np.round(y).astype(int)
        ok = (xi >= 0) & (yi >= 0) & (xi < shape[1]) & (yi < shape[0])
        if "WHT" in h:
            ok[ok] &= np.asarray(h["WHT"].data[yi[ok], xi[ok]]) > 0
    return ok
