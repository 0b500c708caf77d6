"""Relative and absolute alignment of exposures: star finding, matching, ``rshift`` fits.

Why not ``tweakwcs``: our exposures' pointing errors are small (≲ 1″) and every
exposure group is fitted on a common tangent plane, so a matcher is a few lines
(offset voting with a k-d tree, then nearest-neighbour pairs) and the ``rshift`` fit
is a closed-form 2-D Procrustes solution with sigma clipping. Doing it here keeps
stage 3 free of three compiled dependencies (tweakwcs, spherical-geometry,
stsci.stimage) and makes the correction a small typed object we apply to our own
pixel maps and pointing keywords.

Coordinates: star positions are tangent-plane standard coordinates (ξ, η) in arcsec
about one tangent point shared by the whole association (:func:`to_plane`).
A correction maps ``p → R(θ) p + s`` on that plane (:class:`PlaneCorrection`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.image3.grid import tan_deproject, tan_project

__all__ = ["StarList", "find_stars", "PlaneCorrection", "match_catalogs", "fit_rshift",
           "FitResult", "align_groups", "to_plane", "from_plane"]


@dataclass(frozen=True)
class StarList:
    """Point-like sources of one image: 0-based pixel ``x``, ``y``, ``flux`` (image
    units summed over the window) and ``snr``; all (n,) float64."""

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray
    snr: np.ndarray


def find_stars(sci, err, *, mask=None, snr: float = 10.0, fwhm: float = 2.0,
               max_stars: int = 2000, max_peak_fraction: float = 0.6) -> StarList:
    """Find compact sources and measure Gaussian-windowed centroids.

    Parameters
    ----------
    sci, err : ndarray (ny, nx)
        Image and 1σ error (any consistent units).
    mask : ndarray (ny, nx) bool, optional
        Pixels to ignore (bad DQ).
    snr : float
        Minimum peak signal-to-noise of the smoothed image.
    fwhm : float
        PSF FWHM in pixels (smoothing and centroid window).
    max_stars : int
        Keep the brightest this many.
    max_peak_fraction : float
        Reject sources whose brightest pixel holds more than this fraction of the
        3×3 sum (cosmic rays, hot pixels).
    """
    from webbcal.algorithms.image3._catalog_kernels import smooth_masked, star_peaks

    sci = np.asarray(sci, np.float32)
    bad = np.isfinite(sci)
    bad &= np.isfinite(err)
    np.logical_not(bad, out=bad)
    if mask is not None:
        bad |= np.asarray(mask, bool)
    good = sci[::3, ::3][~bad[::3, ::3]]  # a subsample gives the statistics
    if good.size < 16:
        return StarList(*(np.zeros(0),) * 4)
    med = np.float32(np.median(good))
    mad = float(1.4826 * np.median(np.abs(good - med)))
    data = sci - med  # a new array (sci is the caller's)
    data[bad] = np.float32(0.0)
    sigma = fwhm / 2.3548
    radius = int(4.0 * sigma + 0.5)  # scipy.ndimage.gaussian_filter's truncation
    kern = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kern = (kern / kern.sum()).astype(np.float32)
    smooth = smooth_masked(data, np.zeros((0, 0), np.float32), kern, np.float32(0.0))
    noise = mad / (2.0 * np.sqrt(np.pi) * sigma)  # white noise through a unit Gaussian
    half = int(np.ceil(2 * fwhm)) + 1
    edge = max(half, 2)
    ys, xs = star_peaks(smooth, data, bad, np.float32(snr * noise), edge,
                        float(max_peak_fraction))
    if xs.size == 0:
        return StarList(*(np.zeros(0),) * 4)
    peak = smooth[ys, xs]
    order = np.argsort(-peak, kind="stable")[:max_stars]  # brightest first
    xs, ys, peak = xs[order], ys[order], peak[order]
    off = np.arange(-half, half + 1)
    yy, xx = ys[:, None, None] + off[None, :, None], xs[:, None, None] + off[None, None, :]
    cut = data[yy, xx]  # (n, k, k)
    cx, cy, flux = _windowed_centroids(cut, xs, ys, half=half, sigma=sigma)
    ok = np.isfinite(cx) & np.isfinite(cy) & (np.hypot(cx - xs, cy - ys) < 1.5)
    s = peak / noise
    return StarList(cx[ok], cy[ok], flux[ok], s[ok])


def _windowed_centroids(cut, xs, ys, *, half, sigma, n_iter=8):
    """Iterative Gaussian-weighted centroids (SExtractor ``XWIN``) of cutouts ``cut``
    (n, 2·half+1, 2·half+1) centred on the integer pixels (``xs``, ``ys``)."""
    off = np.arange(-half, half + 1)
    dy, dx = np.meshgrid(off, off, indexing="ij")
    cut = np.asarray(cut, np.float64)
    cx = np.zeros(xs.size)
    cy = np.zeros(xs.size)
    for _ in range(n_iter):
        r2 = (dx - cx[:, None, None]) ** 2 + (dy - cy[:, None, None]) ** 2
        w = np.exp(-0.5 * r2 / sigma**2) * cut
        sw = w.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            nx_ = (w * (dx - cx[:, None, None])).sum(axis=(1, 2)) / sw
            ny_ = (w * (dy - cy[:, None, None])).sum(axis=(1, 2)) / sw
        cx = np.clip(cx + 2.0 * nx_, -half, half)
        cy = np.clip(cy + 2.0 * ny_, -half, half)
    return xs + cx, ys + cy, cut.sum(axis=(1, 2))


def to_plane(ra, dec, tangent_point):
    """(RA, Dec) [deg] → tangent-plane (ξ, η) [arcsec] about ``tangent_point``."""
    xi, eta = tan_project(ra, dec, tangent_point)
    return np.column_stack([xi * 3600.0, eta * 3600.0])


def from_plane(xy, tangent_point):
    """Inverse of :func:`to_plane`: (n, 2) arcsec → (RA, Dec) [deg]."""
    xy = np.asarray(xy, np.float64)
    return tan_deproject(xy[:, 0] / 3600.0, xy[:, 1] / 3600.0, tangent_point)


@dataclass(frozen=True)
class PlaneCorrection:
    """``p → R(rotation) p + shift`` on the tangent plane about ``tangent_point``.

    Attributes
    ----------
    tangent_point : (float, float)
        RA, Dec [deg].
    rotation : float
        Counter-clockwise rotation in the (ξ, η) plane [deg] (ξ east, η north).
    shift : (float, float)
        (Δξ, Δη) [arcsec].
    """

    tangent_point: tuple[float, float]
    rotation: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)

    @property
    def matrix(self) -> np.ndarray:
        c, s = np.cos(np.radians(self.rotation)), np.sin(np.radians(self.rotation))
        return np.array([[c, -s], [s, c]])

    def apply_plane(self, xy) -> np.ndarray:
        """Apply to (n, 2) plane coordinates [arcsec]."""
        return np.asarray(xy, np.float64) @ self.matrix.T + np.asarray(self.shift)

    def apply(self, ra, dec):
        """Apply to sky positions (any shape) → corrected (RA, Dec) [deg]."""
        ra = np.asarray(ra, np.float64)
        shape = ra.shape
        xy = to_plane(ra.ravel(), np.asarray(dec, np.float64).ravel(), self.tangent_point)
        ra2, dec2 = from_plane(self.apply_plane(xy), self.tangent_point)
        return ra2.reshape(shape), dec2.reshape(shape)

    def then(self, other: PlaneCorrection) -> PlaneCorrection:
        """This correction followed by ``other`` (same tangent point)."""
        if not np.allclose(self.tangent_point, other.tangent_point, atol=1e-12):
            raise ValueError("corrections on different tangent planes cannot be composed")
        shift = other.matrix @ np.asarray(self.shift) + np.asarray(other.shift)
        return PlaneCorrection(self.tangent_point, self.rotation + other.rotation,
                               (float(shift[0]), float(shift[1])))


def match_catalogs(src, ref, *, searchrad: float = 2.0, tolerance: float = 0.1):
    """Pair sources with reference positions allowing an unknown common offset.

    Parameters
    ----------
    src, ref : ndarray (n, 2), (m, 2)
        Plane positions [arcsec].
    searchrad : float
        Largest offset searched [arcsec].
    tolerance : float
        Matching radius after removing the offset [arcsec].

    Returns
    -------
    (ndarray, ndarray)
        Integer indices ``i_src``, ``i_ref`` of unique pairs (may be empty).
    """
    src, ref = np.asarray(src, np.float64), np.asarray(ref, np.float64)
    empty = (np.zeros(0, int), np.zeros(0, int))
    if len(src) == 0 or len(ref) == 0:
        return empty
    i, j = _pairs_within(src, ref, searchrad)
    if i.size == 0:
        return empty
    d = ref[j] - src[i]
    nb = max(int(np.ceil(2 * searchrad / tolerance)), 1)
    hist, ex, ey = np.histogram2d(d[:, 0], d[:, 1], bins=nb,
                                  range=[[-searchrad, searchrad], [-searchrad, searchrad]])
    padded = np.pad(hist, 1, mode="symmetric")  # 3×3 box sum: offsets split across bins
    hist = sum(padded[a:a + nb, b:b + nb] for a in range(3) for b in range(3))
    ix, iy = np.unravel_index(np.argmax(hist), hist.shape)
    ox, oy = 0.5 * (ex[ix] + ex[ix + 1]), 0.5 * (ey[iy] + ey[iy + 1])
    near = np.hypot(d[:, 0] - ox, d[:, 1] - oy) < 2 * tolerance
    if near.any():
        ox, oy = np.median(d[near], axis=0)
    i, j = _pairs_within(src + [ox, oy], ref, tolerance)
    if i.size == 0:
        return empty
    dist = np.hypot(*(ref[j] - src[i] - [ox, oy]).T)
    order = np.lexsort((dist, i))  # each source's nearest reference
    first = np.ones(order.size, bool)
    first[1:] = i[order][1:] != i[order][:-1]
    i, j, dist = i[order][first], j[order][first], dist[order][first]
    order = np.argsort(dist, kind="stable")  # unique: each reference takes its closest source
    _, first = np.unique(j[order], return_index=True)
    keep = order[first]
    return i[keep], j[keep]


def _pairs_within(src, ref, radius):
    """All index pairs (i, j) with |ref[j] − src[i]| < ``radius`` (sorted-x windows)."""
    order = np.argsort(ref[:, 0], kind="stable")
    rx = ref[order, 0]
    lo = np.searchsorted(rx, src[:, 0] - radius, "left")
    hi = np.searchsorted(rx, src[:, 0] + radius, "right")
    counts = hi - lo
    i = np.repeat(np.arange(len(src)), counts)
    start = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    j = order[start + np.arange(i.size)]
    close = np.hypot(*(ref[j] - src[i]).T) < radius
    return i[close], j[close]


@dataclass(frozen=True)
class FitResult:
    """An ``rshift`` fit: the correction, pairs used, and residual RMS [arcsec]."""

    correction: PlaneCorrection
    n_matched: int
    rms: float


def fit_rshift(src, ref, tangent_point, *, clip: float = 3.0, n_iter: int = 3) -> FitResult:
    """Least-squares rotation + shift taking ``src`` onto ``ref`` (both (n, 2) arcsec).

    Closed form (2-D Procrustes without scale), iterated with ``clip``-σ rejection.
    """
    src, ref = np.asarray(src, np.float64), np.asarray(ref, np.float64)
    use = np.ones(len(src), bool)
    corr = PlaneCorrection(tuple(tangent_point))
    rms = np.nan
    for _ in range(n_iter + 1):
        if use.sum() < 2:
            break
        a, b = src[use], ref[use]
        ca, cb = a.mean(axis=0), b.mean(axis=0)
        a0, b0 = a - ca, b - cb
        num = np.sum(a0[:, 0] * b0[:, 1] - a0[:, 1] * b0[:, 0])
        den = np.sum(a0[:, 0] * b0[:, 0] + a0[:, 1] * b0[:, 1])
        theta = np.degrees(np.arctan2(num, den)) if len(a) >= 3 else 0.0
        corr = PlaneCorrection(tuple(tangent_point), float(theta), (0.0, 0.0))
        shift = cb - corr.apply_plane(ca[None])[0]
        corr = PlaneCorrection(tuple(tangent_point), float(theta),
                               (float(shift[0]), float(shift[1])))
        resid = np.hypot(*(corr.apply_plane(src) - ref).T)
        rms = float(np.sqrt(np.mean(resid[use] ** 2)))
        new = resid <= max(clip * rms, 1e-6)
        if np.array_equal(new, use):
            break
        use = new
    return FitResult(corr, int(use.sum()), rms)


def align_groups(catalogs, tangent_point, *, ref_catalog=None, searchrad: float = 2.0,
                 tolerance: float = 0.1, abs_searchrad: float = 3.0,
                 abs_tolerance: float = 0.15, min_matches: int = 3):
    """Align exposure groups to each other, then (optionally) to an absolute catalog.

    Parameters
    ----------
    catalogs : list of ndarray (n_k, 2)
        Star plane positions [arcsec] of each group (all detectors of an exposure).
    tangent_point : (float, float)
        Tangent point of the plane [deg].
    ref_catalog : ndarray (m, 2), optional
        Absolute reference positions (e.g. Gaia) on the same plane.

    Returns
    -------
    corrections : list of PlaneCorrection
        One per group (identity for a group that could not be matched).
    fits : list of FitResult or None
        The relative fit of each group (None for the reference group / failures).
    absolute : FitResult or None
        The fit of the combined catalog to ``ref_catalog``.
    """
    n = len(catalogs)
    identity = PlaneCorrection(tuple(tangent_point))
    corrections = [identity] * n
    fits: list[FitResult | None] = [None] * n
    order = sorted(range(n), key=lambda k: -len(catalogs[k]))
    if n == 0:
        return corrections, fits, None
    refcat = np.asarray(catalogs[order[0]], np.float64).reshape(-1, 2)
    for k in order[1:]:
        cat = np.asarray(catalogs[k], np.float64).reshape(-1, 2)
        i, j = match_catalogs(cat, refcat, searchrad=searchrad, tolerance=tolerance)
        if len(i) < min_matches:
            continue
        fit = fit_rshift(cat[i], refcat[j], tangent_point)
        corrections[k], fits[k] = fit.correction, fit
        moved = fit.correction.apply_plane(cat)
        unmatched = np.setdiff1d(np.arange(len(cat)), i)
        refcat = np.concatenate([refcat, moved[unmatched]])
    absolute = None
    if ref_catalog is not None and len(ref_catalog):
        allstars = [c.apply_plane(np.asarray(cat).reshape(-1, 2))
                    for c, cat in zip(corrections, catalogs)]
        allstars = np.concatenate(allstars) if allstars else np.zeros((0, 2))
        i, j = match_catalogs(allstars, ref_catalog, searchrad=abs_searchrad,
                              tolerance=abs_tolerance)
        if len(i) >= min_matches:
            absolute = fit_rshift(allstars[i], np.asarray(ref_catalog)[j], tangent_point)
            corrections = [c.then(absolute.correction) for c in corrections]
    return corrections, fits, absolute
