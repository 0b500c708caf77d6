"""Catalog vs truth figures, as astronomers quote them: pure functions, no I/O.

* :func:`match_with_offset`: cross-match that survives a pointing offset of up to
  ``coarse_radius_arcsec`` (the offset is measured on a coarse match, removed, and the
  final match is made within ``radius_arcsec``; the residuals keep the offset).
* :func:`isolation_mask`: true sources without a comparably bright neighbour.
* :func:`astrometry_stats`: median offset and RMS of the S/N > 50 point sources;
  :func:`pair_residuals_mas` gives the residuals of a second set of positions of the
  same matched pairs (the catalog's windowed centroids next to its official ones).
* :func:`photometry_stats`: median measured/true total flux of isolated S/N > 50 point
  sources and the reduced chi-square of their flux residuals against the catalog errors.

Point sources come from the truth (``kind == 'star'``): aperture-corrected "total"
fluxes assume a point-source profile, so only point sources are expected to give a
flux ratio of 1 (galaxies lose their light outside the aperture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.report.metrics import CatalogMatch, match_catalogs

__all__ = ["OffsetMatch", "match_with_offset", "isolation_mask", "AstrometryStats",
           "astrometry_stats", "pair_residuals_mas", "PhotometryStats", "photometry_stats",
           "chi2_interval", "SNR_MIN"]

#: S/N threshold of the astrometric and photometric samples (issues 5 and 6).
SNR_MIN = 50.0


@dataclass(frozen=True)
class OffsetMatch:
    """A cross-match and the offset it removed before matching.

    ``match``: pairs with ``dra_mas``/``ddec_mas`` = measured - truth *including* the
    offset; ``offset_ra_mas``, ``offset_dec_mas``: the median offset (RA scaled by
    cos Dec) found on the coarse match (0 when none was found).
    """

    match: CatalogMatch
    offset_ra_mas: float
    offset_dec_mas: float


def match_with_offset(ra: np.ndarray, dec: np.ndarray, ra_true: np.ndarray,
                      dec_true: np.ndarray, *, radius_arcsec: float = 0.2,
                      coarse_radius_arcsec: float = 1.0,
                      use: np.ndarray | None = None) -> OffsetMatch:
    """Match measured sources (deg) to true ones after removing their common offset.

    Parameters
    ----------
    ra, dec : ndarray (n,) float64, deg
        Measured positions.
    ra_true, dec_true : ndarray (k,) float64, deg
        True positions.
    radius_arcsec : float
        Final matching radius, applied after removing the offset.
    coarse_radius_arcsec : float
        Radius of the first match, which measures the offset (the largest offset that
        can be recovered); two passes refine it.
    use : ndarray (n,) bool, optional
        Measured sources used to measure the offset (e.g. the bright ones); all if None.
    """
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    ra_true, dec_true = np.asarray(ra_true, float), np.asarray(dec_true, float)
    use = np.ones(ra.size, bool) if use is None else np.asarray(use, bool)
    cosd = np.cos(np.deg2rad(np.mean(dec_true))) if dec_true.size else 1.0
    off_ra = off_dec = 0.0
    for radius in (coarse_radius_arcsec, max(2 * radius_arcsec, coarse_radius_arcsec / 3)):
        sub = np.nonzero(use)[0]
        m = match_catalogs(ra[sub] - off_ra / 3.6e6 / cosd, dec[sub] - off_dec / 3.6e6,
                           ra_true, dec_true, radius_arcsec=radius)
        if m.n < 3:
            break
        off_ra += float(np.median(m.dra_mas))
        off_dec += float(np.median(m.ddec_mas))
    m = match_catalogs(ra - off_ra / 3.6e6 / cosd, dec - off_dec / 3.6e6, ra_true, dec_true,
                       radius_arcsec=radius_arcsec)
    dra, ddec = m.dra_mas + off_ra, m.ddec_mas + off_dec
    restored = CatalogMatch(m.index_measured, m.index_truth, dra, ddec, np.hypot(dra, ddec))
    return OffsetMatch(restored, off_ra, off_dec)


def isolation_mask(ra: np.ndarray, dec: np.ndarray, flux: np.ndarray, *,
                   radius_arcsec: float = 1.5, max_ratio: float = 0.01) -> np.ndarray:
    """True for sources with no neighbour within ``radius_arcsec`` whose flux exceeds
    ``max_ratio`` times their own.

    ``ra``, ``dec`` (n,) deg and ``flux`` (n,) any unit (true fluxes in the filter).
    """
    from scipy.spatial import cKDTree

    ra, dec, flux = np.asarray(ra, float), np.asarray(dec, float), np.asarray(flux, float)
    if ra.size == 0:
        return np.zeros(0, bool)
    cosd = np.cos(np.deg2rad(np.mean(dec)))
    xy = np.column_stack([(ra - ra.mean()) * cosd * 3600.0, (dec - dec.mean()) * 3600.0])
    ok = np.ones(ra.size, bool)
    pairs = cKDTree(xy).query_pairs(radius_arcsec, output_type="ndarray")
    if pairs.size:
        i, j = pairs[:, 0], pairs[:, 1]
        ok[i[flux[j] > max_ratio * flux[i]]] = False
        ok[j[flux[i] > max_ratio * flux[j]]] = False
    return ok


@dataclass(frozen=True)
class AstrometryStats:
    """Residuals (measured - truth, mas) of a sample of matched sources.

    ``n``; ``median_dra``, ``median_ddec``: the absolute offset; ``rms``: RMS of the
    separations (offset included, what "positions within X mas RMS of truth" means);
    ``rms_relative``: RMS after removing the median offset.
    """

    n: int
    median_dra: float
    median_ddec: float
    rms: float
    rms_relative: float


def astrometry_stats(dra_mas: np.ndarray, ddec_mas: np.ndarray) -> AstrometryStats:
    """Statistics of residuals ``dra_mas``, ``ddec_mas`` (m,) in mas (NaN when empty)."""
    dra, ddec = np.asarray(dra_mas, float), np.asarray(ddec_mas, float)
    if dra.size == 0:
        nan = float("nan")
        return AstrometryStats(0, nan, nan, nan, nan)
    mra, mdec = float(np.median(dra)), float(np.median(ddec))
    return AstrometryStats(int(dra.size), mra, mdec,
                           float(np.sqrt(np.mean(dra ** 2 + ddec ** 2))),
                           float(np.sqrt(np.mean((dra - mra) ** 2 + (ddec - mdec) ** 2))))


def pair_residuals_mas(ra: np.ndarray, dec: np.ndarray, ra_true: np.ndarray,
                       dec_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Measured − true (ΔRA·cos Dec, ΔDec) in mas of paired positions (m,) in deg, in
    :func:`~webbcal.report.metrics.match_catalogs`' flat-sky convention (cos of the
    mean true Dec), so they compare with a match's ``dra_mas``/``ddec_mas``."""
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    ra_true, dec_true = np.asarray(ra_true, float), np.asarray(dec_true, float)
    if ra_true.size == 0:
        return np.zeros(0), np.zeros(0)
    cosd = np.cos(np.deg2rad(np.mean(dec_true)))
    return (((ra - ra_true + 180.0) % 360.0 - 180.0) * cosd * 3.6e6,
            (dec - dec_true) * 3.6e6)


@dataclass(frozen=True)
class PhotometryStats:
    """Measured vs true flux of a sample of sources.

    ``n``; ``median_ratio`` median of measured/true; ``scatter`` 1.4826 × MAD of the
    ratio; ``reduced_chi2`` mean of ((measured - true) / error)² (≈ 1 when the catalog
    errors describe the scatter); ``chi2_interval`` the central 95 % interval of the
    reduced χ² of ``n`` sources whose errors are right (Gaussian): with few stars it is
    wide (n = 20: 0.48 - 1.71), so a value outside a 0.8 - 1.3 target need not mean
    wrong errors.
    """

    n: int
    median_ratio: float
    scatter: float
    reduced_chi2: float
    chi2_interval: tuple[float, float] = (float("nan"), float("nan"))


def photometry_stats(flux: np.ndarray, flux_err: np.ndarray,
                     true_flux: np.ndarray) -> PhotometryStats:
    """Statistics over the finite entries of ``flux``, ``flux_err`` (> 0) and
    ``true_flux`` (> 0), all (m,) in the same unit."""
    f, e, t = (np.asarray(a, float) for a in (flux, flux_err, true_flux))
    ok = np.isfinite(f) & np.isfinite(e) & (e > 0) & np.isfinite(t) & (t > 0)
    if not ok.any():
        nan = float("nan")
        return PhotometryStats(0, nan, nan, nan)
    r = f[ok] / t[ok]
    med = float(np.median(r))
    return PhotometryStats(int(ok.sum()), med, float(1.4826 * np.median(np.abs(r - med))),
                           float(np.mean(((f[ok] - t[ok]) / e[ok]) ** 2)),
                           chi2_interval(int(ok.sum())))


def chi2_interval(n: int, level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` interval of χ²_n / n: where the reduced χ² of ``n`` residuals
    with correct Gaussian errors falls (NaN for n = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    from scipy.stats import chi2

    lo, hi = chi2.ppf([(1 - level) / 2, (1 + level) / 2], n) / n
    return float(lo), float(hi)
