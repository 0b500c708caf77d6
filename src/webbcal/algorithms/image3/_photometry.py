"""Vectorized measurement helpers of :mod:`webbcal.algorithms.image3.catalog`.

Everything here works on stacks of small cutouts (n_sources, k, k) gathered with one
fancy-indexing operation, so thousands of sources cost milliseconds, not a Python loop
through photutils per source.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cutouts", "windowed_centroids", "ApertureTable", "drizzle_noise_correlation",
           "aperture_variance_factor", "circle_box_overlap", "circle_weights", "source_mask",
           "empty_aperture_factors", "median_in_circles", "coverage_changes",
           "segment_centroid", "lost_weight"]


def _g(u, r):
    """G(u) = ∫₀ᵘ √(r² − t²) dt for |u| ≤ r."""
    rr = r * r
    return 0.5 * (u * np.sqrt(np.maximum(rr - u * u, 0.0))
                  + rr * np.arcsin(np.clip(u / np.where(r > 0, r, 1.0), -1.0, 1.0)))


def _quadrant_area(x, y, r):
    """Area of the disc of radius ``r`` about the origin with ξ ≤ ``x`` and η ≤ ``y``.

    Closed form with G(u) = ∫₀ᵘ √(r² − t²) dt: below the chord η = y the disc's column
    at ξ has height min(y, s) + s, s = √(r² − ξ²). Terms that depend on ``x`` or ``y``
    alone are evaluated on their own (broadcast) shapes.
    """
    xc = np.clip(x, -r, r)
    yc = np.clip(y, -r, r)
    a = np.sqrt(np.maximum(r * r - yc * yc, 0.0))  # half-width of the chord at η = y
    u = np.clip(x, -a, a)
    inner = _g(u, r) + _g(a, r)  # ∫ s over [−a, u]
    chord = yc * (u + a)
    full = 2.0 * (_g(xc, r) + 0.25 * np.pi * r * r)  # ∫ 2s over [−r, x]
    return np.where(yc >= 0, full - inner + chord, inner + chord)


def circle_box_overlap(x0, x1, y0, y1, r):
    """Exact area of the disc of radius ``r`` about the origin inside the box
    [x0, x1] × [y0, y1] (arrays broadcast; same units as ``r``; float64)."""
    x0, x1, y0, y1 = (np.asarray(v, np.float64) for v in (x0, x1, y0, y1))
    r = np.asarray(r, np.float64)
    return (_quadrant_area(x1, y1, r) - _quadrant_area(x0, y1, r)
            - _quadrant_area(x1, y0, r) + _quadrant_area(x0, y0, r))


def circle_weights(px, py, r, half: int):
    """Exact pixel overlap weights (n, 2·half+1, 2·half+1) of circles of radius ``r``
    (n,) centred ``(px, py)`` (n,) pixels from the central pixel's centre.

    Pixel (j, i) of the window covers [i − half − ½, i − half + ½] (and likewise in
    y). The quadrant area is evaluated once per pixel corner and differenced.
    """
    edges = np.arange(-half, half + 2, dtype=np.float64) - 0.5
    px = np.asarray(px, np.float64).reshape(-1, 1, 1)
    py = np.asarray(py, np.float64).reshape(-1, 1, 1)
    r = np.broadcast_to(np.asarray(r, np.float64), (px.shape[0],)).reshape(-1, 1, 1)
    q = _quadrant_area(edges[None, None, :] - px, edges[None, :, None] - py, r)
    w = q[:, 1:, 1:] - q[:, :-1, 1:] - q[:, 1:, :-1] + q[:, :-1, :-1]
    return np.clip(w, 0.0, 1.0)


def cutouts(image, xc, yc, half: int, fill=0.0):
    """Stack (n, 2·half+1, 2·half+1) of ``image`` around integer centres ``xc``, ``yc``.

    Pixels outside the image get ``fill``.
    """
    ny, nx = image.shape
    k = np.arange(-half, half + 1)
    yy = np.asarray(yc, int)[:, None, None] + k[None, :, None]
    xx = np.asarray(xc, int)[:, None, None] + k[None, None, :]
    inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
    out = image[np.clip(yy, 0, ny - 1), np.clip(xx, 0, nx - 1)]
    return np.where(inside, out, fill)


def windowed_centroids(data, x0, y0, sigma_win: float, *, n_iter: int = 8):
    """SExtractor-style windowed centroids (XWIN/YWIN), vectorized.

    Iterates ``x ← x + 2 Σ w I (x_i − x) / Σ w I`` with a Gaussian window of
    ``sigma_win`` pixels about the current position. Returns (x, y) float64 (n,);
    starting positions are kept where the window holds no positive flux.
    """
    half = int(np.ceil(4 * sigma_win)) + 1
    xi, yi = np.rint(x0).astype(int), np.rint(y0).astype(int)
    cut = cutouts(data, xi, yi, half)
    k = np.arange(-half, half + 1, dtype=np.float64)
    x = np.asarray(x0, np.float64) - xi
    y = np.asarray(y0, np.float64) - yi
    inv = 1.0 / (2.0 * sigma_win**2)
    for _ in range(n_iter):
        dx = k[None, None, :] - x[:, None, None]
        dy = k[None, :, None] - y[:, None, None]
        wi = np.exp(-(dx**2 + dy**2) * inv) * cut
        s = wi.sum(axis=(1, 2))
        ok = s > 0
        sx = np.where(ok, (wi * dx).sum(axis=(1, 2)) / np.where(ok, s, 1), 0.0)
        sy = np.where(ok, (wi * dy).sum(axis=(1, 2)) / np.where(ok, s, 1), 0.0)
        x = np.clip(x + 2 * sx, -half + 1, half - 1)
        y = np.clip(y + 2 * sy, -half + 1, half - 1)
    return x + xi, y + yi


class ApertureTable:
    """Exact-overlap circular aperture weights tabulated on a sub-pixel phase grid.

    Weights for a circle of radius ``r`` centred at sub-pixel phase (``py``, ``px``)
    are computed once per phase node (``n_phase``² nodes, photutils' exact
    circle/pixel overlap); a source uses the node nearest its phase, so its aperture
    centre is off by at most 1/(2·``n_phase``) pixel: a second-order change of the
    enclosed flux.
    """

    def __init__(self, radius: float, n_phase: int = 32):
        self.radius = float(radius)
        self.n_phase = n_phase
        self.half = int(np.ceil(radius)) + 1
        size = 2 * self.half + 1
        phases = (np.arange(n_phase) + 0.5) / n_phase - 0.5
        py, px = np.meshgrid(phases, phases, indexing="ij")
        w = circle_weights(px.ravel(), py.ravel(), self.radius, self.half)
        self.weights = w.reshape(n_phase, n_phase, size, size)

    def sums(self, image, variance, x, y):
        """Aperture sums of ``image`` and of ``variance`` (Σ w·var) at (x, y) (n,).

        Also returns the summed weight of pixels where ``image`` is NaN (a masked
        fraction) — those pixels count as zero.
        """
        xi, yi = np.rint(x).astype(int), np.rint(y).astype(int)
        n = self.n_phase
        px = np.clip(((x - xi + 0.5) * n).astype(int), 0, n - 1)
        py = np.clip(((y - yi + 0.5) * n).astype(int), 0, n - 1)
        w = self.weights[py, px]
        cut = cutouts(image, xi, yi, self.half, fill=np.nan)
        var = cutouts(variance, xi, yi, self.half, fill=0.0)
        bad = ~np.isfinite(cut)
        flux = (w * np.where(bad, 0.0, cut)).sum(axis=(1, 2))
        vsum = (w * np.where(bad, 0.0, var)).sum(axis=(1, 2))
        lost = (w * bad).sum(axis=(1, 2)) / w.sum(axis=(1, 2))
        return flux, vsum, lost


def drizzle_noise_correlation(drop: float, input_step: float, *, n_lags: int = 4,
                              n_phases: int = 64) -> np.ndarray:
    """1-D correlation of drizzled noise between output pixels ``k`` apart (k = 0..n_lags).

    Model (one axis of the ``square`` kernel): input pixels ``input_step`` output
    pixels apart drop intervals ``drop`` output pixels wide; an output pixel is the
    overlap-weighted mean of the drops it meets. Averaged over the input grid's phase.
    The 2-D correlation is the outer product (separable kernel).
    """
    cov = np.zeros(n_lags + 1)
    if drop <= 0 or input_step <= 0:  # point kernel: every output pixel gets one input
        cov[0] = 1.0
        return cov
    centres = np.arange(-n_lags - 4, n_lags + 5)
    for a in (np.arange(n_phases) + 0.5) / n_phases:
        lo_in = (np.arange(-int(8 / input_step) - n_lags, int(8 / input_step) + n_lags + 1)
                 * input_step + a * input_step)
        lo, hi = lo_in - drop / 2, lo_in + drop / 2
        ov = np.clip(np.minimum(hi[:, None], centres[None, :] + 0.5)
                     - np.maximum(lo[:, None], centres[None, :] - 0.5), 0, None)
        c = ov / np.where(ov.sum(axis=0) > 0, ov.sum(axis=0), 1)[None, :]
        mid = np.searchsorted(centres, 0)
        for k in range(n_lags + 1):
            cov[k] += float((c[:, mid] * c[:, mid + k]).sum())
    return cov / cov[0]


def aperture_variance_factor(table: ApertureTable, rho: np.ndarray) -> float:
    """Var(aperture sum) / Σ w·σ² for correlated pixels of equal σ (phase-averaged).

    ``rho`` is the 1-D correlation from :func:`drizzle_noise_correlation`.
    """
    kern = np.concatenate([rho[:0:-1], rho])  # symmetric, 2·lags + 1 taps
    step = max(table.n_phase // 8, 1)  # 8 × 8 phases suffice for the average
    w = table.weights[::step, ::step].reshape(-1, *table.weights.shape[2:])
    # zero-padded 1-D convolution as a banded matrix T: T[i, j] = kern[lags + j − i]
    # (no scipy.ndimage: its import alone cost the step ~0.2 s of CPU)
    m, lags = w.shape[-1], rho.size - 1
    d = np.arange(m)[None, :] - np.arange(m)[:, None] + lags
    t = np.where((d >= 0) & (d <= 2 * lags), kern[np.clip(d, 0, 2 * lags)], 0.0)
    cw = t @ w @ t.T  # each (m, m) weight map convolved along both axes
    return float(np.mean((cw * w).sum(axis=(1, 2)) / w.sum(axis=(1, 2))))


def source_mask(segmentation, grow: int) -> np.ndarray:
    """Pixels of detected sources grown by ``grow`` pixels (square dilation), (ny, nx) bool:
    what the background and the empty-aperture noise must not see."""
    seg = np.asarray(segmentation) > 0
    g = int(grow)
    if g <= 0:
        return seg
    out = seg.copy()  # separable square dilation by shifted ORs (no scipy.ndimage import)
    for k in range(1, g + 1):
        out[k:] |= seg[:-k]
        out[:-k] |= seg[k:]
    rows = out.copy()
    for k in range(1, g + 1):
        out[:, k:] |= rows[:, :-k]
        out[:, :-k] |= rows[:, k:]
    return out


def empty_aperture_factors(data, var, blocked, radii, *, n_try: int = 6000,
                           min_n: int = 200, seed: int = 0):
    """Empirical variance factors of aperture sums on source-free sky, one per radius.

    Circles of each radius are dropped at ``n_try`` pseudo-random (fixed ``seed``)
    positions; those whose bounding box holds a ``blocked`` pixel (sources, NaNs,
    image edge) are dropped. The factor is NMAD² of Σw·data / √(Σw·var): 1 for
    independent pixels with the stated variance, the drizzle correlation factor of
    :func:`aperture_variance_factor` for drizzled white noise, more when the noise has
    structure the per-pixel errors do not describe (row-correlated 1/f noise of the
    detector, sub-threshold sources). The normalized median absolute deviation (×1.4826)
    keeps stray faint sources out of the estimate.

    Parameters
    ----------
    data, var : ndarray (ny, nx) float32
        Background-subtracted image (NaN where unusable) and per-pixel variance.
    blocked : ndarray (ny, nx) bool
    radii : sequence of float
        Aperture radii [pixels].

    Returns
    -------
    factors : ndarray (n_radii,) float64, NaN where fewer than ``min_n`` apertures fit.
    n : int
        Apertures used.
    """
    from webbcal.algorithms.image3._photometry_kernels import circle_sums

    radii = np.asarray(radii, np.float64)
    ny, nx = data.shape
    half = int(np.ceil(radii.max())) + 1
    out = np.full(radii.size, np.nan)
    if ny <= 2 * half + 2 or nx <= 2 * half + 2:
        return out, 0
    rng = np.random.default_rng(seed)
    x = rng.uniform(half + 1, nx - half - 2, n_try)
    y = rng.uniform(half + 1, ny - half - 2, n_try)
    xi, yi = np.rint(x).astype(int), np.rint(y).astype(int)
    # the (2·half+1)² box about each aperture holds no blocked pixel (a gather of
    # n_try boxes is ~4× cheaper than an integral image of a full-frame mosaic)
    free = ~cutouts(np.asarray(blocked, bool), xi, yi, half, fill=True).any(axis=(1, 2))
    x, y = x[free], y[free]
    if x.size < min_n:
        return out, int(x.size)
    for k, r in enumerate(radii):
        flux, vsum, _, _ = circle_sums(data, var, x, y, np.full(x.size, r))
        z = flux / np.sqrt(np.where(vsum > 0, vsum, np.nan))
        z = z[np.isfinite(z)]
        out[k] = (1.4826 * np.median(np.abs(z - np.median(z)))) ** 2
    return out, int(x.size)


def median_in_circles(image, x, y, radius: float) -> np.ndarray:
    """Median (n,) of ``image`` over the pixels whose centres lie within ``radius`` of
    each (``x``, ``y``) (n,); pixels off the image are ignored."""
    half = int(np.ceil(radius))
    xi, yi = np.rint(x).astype(int), np.rint(y).astype(int)
    cut = cutouts(np.asarray(image), xi, yi, half, fill=np.nan).astype(np.float64)
    k = np.arange(-half, half + 1)
    dx = k[None, None, :] - (np.asarray(x) - xi)[:, None, None]
    dy = k[None, :, None] - (np.asarray(y) - yi)[:, None, None]
    cut = np.where(dx**2 + dy**2 <= radius**2, cut, np.nan)
    with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(cut.reshape(cut.shape[0], -1), axis=1)


def coverage_changes(coverage, x, y, radius: float) -> np.ndarray:
    """True (n,) where the exposure count ``coverage`` (ny, nx) is not constant over
    the pixels within ``radius`` + 1 of (``x``, ``y``): an exposure's edge crosses the
    source, whose mosaic image is then a patchwork of different exposure subsets (each
    with its own sub-pixel phase and registration), not their mean. On the ceers-mini
    F444W mosaic such stars had reduced χ² 7.8 against 1.1 for the others."""
    half = int(np.ceil(radius)) + 1
    xi, yi = np.rint(x).astype(int), np.rint(y).astype(int)
    cov = cutouts(np.asarray(coverage), xi, yi, half, fill=np.nan).astype(np.float64)
    k = np.arange(-half, half + 1)
    inside = (k[None, :, None] ** 2 + k[None, None, :] ** 2) <= (radius + 1.0) ** 2
    cov = np.where(inside, cov, np.nan)
    with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        flat = cov.reshape(cov.shape[0], -1)
        return np.nanmax(flat, axis=1) > np.nanmin(flat, axis=1)


def segment_centroid(smooth, segm, label, box, x, y):
    """First moment (x, y) of the positive part of ``smooth`` (ny, nx) over the pixels
    of segment ``label`` of ``segm`` (ny, nx) within its bounding ``box`` (y0, y1, x0,
    x1; half-open): photutils' ``SourceCatalog.centroid`` on a convolved image.
    Returns (``x``, ``y``) unchanged when the segment holds no positive flux."""
    y0, y1, x0, x1 = (int(v) for v in box)
    w = np.where(segm[y0:y1, x0:x1] == label, np.maximum(smooth[y0:y1, x0:x1], 0.0), 0.0)
    s = float(w.sum())
    if not s > 0:
        return x, y
    return (float((w.sum(axis=0) * np.arange(x0, x1)).sum() / s),
            float((w.sum(axis=1) * np.arange(y0, y1)).sum() / s))


def lost_weight(weight, x, y, half: int, *, margin: int = 4, min_lost: float = 0.02):
    """Fraction (n, 2·half+1, 2·half+1) of the full drizzle weight missing in the
    mosaic pixels about each source's nearest pixel (``x``, ``y`` (n,), 0-based).

    The full weight is the largest of ``weight`` (ny, nx) within ``half`` +
    ``margin`` pixels: with pixfrac 1 each exposure's drops tile the mosaic, so the
    weight is flat (to the ~1 % of the pixel-area variation) except where some
    exposure's pixels were flagged. Losses below ``min_lost`` count as 0; pixels off
    the image or without weight as 0 too (they are masked, and flagged, elsewhere).
    """
    h = int(half) + int(margin)
    xi, yi = np.rint(x).astype(int), np.rint(y).astype(int)
    c = cutouts(np.asarray(weight, np.float32), xi, yi, h, fill=0.0).astype(np.float64)
    c = np.where(np.isfinite(c), c, 0.0)
    full = c.reshape(c.shape[0], -1).max(axis=1)
    m = int(margin)
    inner = c[:, m:c.shape[1] - m, m:c.shape[2] - m]
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = np.where((inner > 0) & (full[:, None, None] > 0),
                        1.0 - inner / full[:, None, None], 0.0)
    return np.where(lost >= min_lost, lost, 0.0)
