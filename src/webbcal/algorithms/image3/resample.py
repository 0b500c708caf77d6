"""Drizzle accumulation onto an output grid (or one tile of it), streaming exposures.

The resampling itself is the ``drizzle`` package's C kernel (Fruchter & Hook 2002):
we add the bookkeeping the JWST products need — inverse-variance (``ivm``) or
exposure-time weights, bad-pixel exclusion by DQ, resampled variances (drizzled with
squared weights, as the official pipeline does) and the context plane — without ever
holding more than one input exposure and one output tile.

Geometry stays outside: callers pass a pixel map (:func:`grid.pixmap_from_sky`).

Weights (:func:`drizzle_weights`)
---------------------------------
The default ``ivm-med`` differs from the official default ``ivm`` (per-pixel
1/VAR_RNOISE). Where a ramp lost groups to saturation or a jump — bright star cores,
in some exposures only — VAR_RNOISE is larger, so per-pixel weights take a star's
core mostly from other exposures than its wings; as each exposure samples the PSF at
a different pixel phase, the sum is not flux-conserving (official JP-2256; jwst PR
#7563 proposes median-filtered weights). ``ivm-med`` weights every good pixel of an
exposure by that exposure's median 1/VAR_RNOISE: inverse-variance weighting between
exposures, none within one. Measured on the demo products (3 dithers; isolated
S/N > 50 stars, ``webbcal validate``'s metric; median catalog/true flux, reduced χ²;
last column: brightest 30 % of all matched F200W stars)::

    weight_type   F200W ratio  χ²     F444W ratio  χ²     bright F200W
    ivm           1.0052       8.65   0.9963       420    0.911
    ivm-med       1.0016       1.04   0.9993       2.45   1.003
    ivm-smed      1.0009       1.59   0.9994       2.35   1.002
    exptime       1.0016       1.04   0.9993       2.45   1.003

(F444W's χ² with ``ivm-med`` is dominated by one star at +6.7σ and a ~2 % deficit of
the S/N 50–130 stars: catalog-side, not weights.) Official behaviour:
``weight_type="ivm"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from webbcal.datamodels.dqflags import DQ

__all__ = ["DrizzleParams", "Mosaic", "MosaicAccumulator", "context_coverage",
           "drizzle_weights",
           "corners_from_centers", "centers_from_corners", "variance_planes",
           "drop_geometry", "drizzle_square_add", "Contributions", "contributions",
           "median_ivm", "block_median", "WEIGHT_TYPES"]

#: Input pixels carrying any of these bits get zero weight (official ``good_bits``
#: default ``~DO_NOT_USE+NON_SCIENCE``: everything else is usable).
BAD_BITS = int(DQ.DO_NOT_USE | DQ.NON_SCIENCE)


@dataclass(frozen=True)
class DrizzleParams:
    """How inputs are drizzled (official ``resample`` parameter names)."""

    kernel: Literal["square", "point", "turbo", "gaussian", "lanczos2", "lanczos3"] = "square"
    pixfrac: float = 1.0
    weight_type: Literal["ivm", "ivm-med", "ivm-smed", "exptime"] = "ivm-med"
    fillval: float = np.nan
    context: bool = True


@dataclass(frozen=True)
class Mosaic:
    """A finished (tile of a) mosaic; all arrays (ny, nx) float32 except ``con``.

    ``sci`` and ``err`` in the input units (MJy/sr); ``wht`` the summed drizzle weight;
    ``con`` (nplanes, ny, nx) int32 bit-packed context (input ``i`` → bit ``i % 32`` of
    plane ``i // 32``) or None; ``n_inputs`` how many exposures contributed.
    """

    sci: np.ndarray
    err: np.ndarray
    wht: np.ndarray
    var_rnoise: np.ndarray
    var_poisson: np.ndarray
    var_flat: np.ndarray
    con: np.ndarray | None
    n_inputs: int


#: Weight types (``DrizzleParams.weight_type``); see :func:`drizzle_weights`.
WEIGHT_TYPES = ("ivm", "ivm-med", "ivm-smed", "exptime")

#: Block size [input pixels] of the ``ivm-smed`` block median.
SMED_BLOCK = 16


def context_coverage(con) -> np.ndarray:
    """Number of exposures per mosaic pixel: the bits set in the context planes.

    Parameters
    ----------
    con : ndarray (nplanes, ny, nx) int32
        CON planes (bit ``k % 32`` of plane ``k // 32`` set where member ``k`` landed).

    Returns
    -------
    ndarray (ny, nx) int16
    """
    planes = np.ascontiguousarray(con).view(np.uint32)
    n = np.zeros(planes.shape[1:], np.int16)
    count = getattr(np, "bitwise_count", None)  # numpy >= 2.0
    for plane in planes:
        if count is not None:
            n += count(plane).astype(np.int16)
        else:
            for b in range(32):
                n += ((plane >> np.uint32(b)) & np.uint32(1)).astype(np.int16)
    return n


def median_ivm(var_rnoise, dq) -> float:
    """Median of 1/VAR_RNOISE over good pixels (0.0 when there are none).

    ``var_rnoise`` (ny, nx) float [(MJy/sr)²], ``dq`` (ny, nx) uint32; a subsample
    (e.g. every 7th row and column) gives the per-exposure ``ivm-med`` weight.
    """
    var = np.asarray(var_rnoise, dtype=np.float32)
    good = ((np.asarray(dq) & BAD_BITS) == 0) & np.isfinite(var) & (var > 0)
    return float(np.median(1.0 / var[good])) if good.any() else 0.0


def drizzle_weights(dq, var_rnoise, *, weight_type: str, exptime: float,
                    median_weight: float | None = None) -> np.ndarray:
    """Per-pixel drizzle weights (float32), 0 for bad pixels (DQ ``BAD_BITS``).

    Parameters
    ----------
    dq : ndarray (ny, nx) uint32
    var_rnoise : ndarray (ny, nx) float32
        Read-noise variance [(MJy/sr)²].
    weight_type : {"ivm", "ivm-med", "ivm-smed", "exptime"}
        ``ivm``: 1/VAR_RNOISE per pixel (official jwst default). ``ivm-med``: one
        inverse variance per exposure (``median_weight``), so a star's core and wings
        get the same weight. ``ivm-smed``: 1/VAR_RNOISE block-median smoothed
        (:data:`SMED_BLOCK` pixel blocks), so a few-pixel core cannot differ from its
        surroundings (blocks start at the given arrays' corner, so a tiled mosaic
        reads windows with other blocks and differs slightly from an untiled one).
        ``exptime``: EXPTIME.
    exptime : float
        Exposure time [s].
    median_weight : float, optional
        ``ivm-med`` weight of the whole exposure (:func:`median_ivm`, as
        ``ExposureLibrary.median_weight`` gives it); without it the median of the
        given pixels is used (a window of the exposure then gets its own median).

    Why not per-pixel ``ivm`` by default (the resample step's default is
    ``ivm-med``): VAR_RNOISE is larger where ramps lost groups to saturation or jumps,
    which happens in bright star cores, so per-pixel weights are anti-correlated with
    the signal and the drizzled star is not flux-conserving (official JP-2256).
    """
    good = (np.asarray(dq) & BAD_BITS) == 0
    if weight_type == "exptime":
        return np.where(good, np.float32(exptime), np.float32(0))
    var = np.asarray(var_rnoise, dtype=np.float32)
    good &= np.isfinite(var) & (var > 0)
    if weight_type == "ivm-med":
        if median_weight is None:
            median_weight = median_ivm(var, dq)
        return np.where(good, np.float32(median_weight), np.float32(0))
    if weight_type not in ("ivm", "ivm-smed"):
        raise ValueError(f"weight_type must be one of {WEIGHT_TYPES}, found {weight_type!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(good, np.float32(1) / var, np.float32(0)).astype(np.float32)
    if weight_type == "ivm-smed":
        w = block_median(w, good, SMED_BLOCK)
        w[~good] = 0
    return w.astype(np.float32, copy=False)


def block_median(values, good, block: int) -> np.ndarray:
    """Each pixel replaced by the median of the good ``values`` of its
    ``block`` × ``block`` block (blocks from the array's corner; partial blocks at the
    far edges). Blocks without good pixels get the median of all sampled good pixels.

    ``values`` (ny, nx) float32, ``good`` (ny, nx) bool; returns (ny, nx) float32.
    Medians over every other pixel of each block in each axis (¼ of the pixels; cheap:
    about 0.03 s CPU for a 2048 × 2048 frame).
    """
    values = np.asarray(values, np.float32)
    ny, nx = values.shape
    by, bx = -(-ny // block), -(-nx // block)
    step = 2 if block >= 8 and block % 2 == 0 else 1
    k = block // step
    sub = np.full((by * k, bx * k), np.nan, np.float32)
    sv = values[::step, ::step]
    sub[:sv.shape[0], :sv.shape[1]] = np.where(good[::step, ::step], sv, np.nan)
    sub = np.sort(sub.reshape(by, k, bx, k).transpose(0, 2, 1, 3).reshape(by, bx, -1),
                  axis=-1)  # NaNs last
    n = np.sum(np.isfinite(sub), axis=-1)
    lo = np.take_along_axis(sub, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(sub, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    med = 0.5 * (lo + hi)
    if not n.all():
        fill = np.nanmedian(sub) if n.any() else 0.0
        med = np.where(n > 0, med, fill)
    med = med.astype(np.float32)
    full = np.broadcast_to(med[:, None, :, None], (by, block, bx, block))
    return np.ascontiguousarray(full.reshape(by * block, bx * block)[:ny, :nx])


class MosaicAccumulator:
    """Accumulates exposures onto one output grid/tile; :meth:`finalize` gives a :class:`Mosaic`.

    Memory: the output arrays (six float32 planes + context) and whatever one
    :meth:`add` call is given.

    The ``square`` kernel (the default) is our numba kernel
    (:func:`~webbcal.algorithms.image3._kernels.drizzle_square`): exact pixel overlaps
    like the drizzle C kernel, but multi-threaded, all planes in one pass, and with
    no edge effects, so tiles reproduce the untiled mosaic exactly. Other kernels use
    the ``drizzle`` package's C kernel; it treats input pixels straddling the output's
    edge differently from interior ones, so there the output is drizzled with a
    ``margin`` of extra pixels on each side and cropped.
    """

    def __init__(self, shape: tuple[int, int], params: DrizzleParams = DrizzleParams(),
                 *, margin: int = 4, variances: bool = True):
        self.shape = tuple(int(n) for n in shape)
        self.params = params
        self.n_inputs = 0
        self.own = params.kernel == "square"
        if self.own:
            self.margin = 0
            self._num = np.zeros(self.shape, np.float32)
            self._wht = np.zeros(self.shape, np.float32)
            self._var = np.zeros((3 if variances else 0, *self.shape), np.float32)
            self._con = np.zeros((1 if params.context else 0, *self.shape), np.int32)
            return
        from drizzle.resample import Drizzle

        self.margin = int(margin)
        padded = tuple(n + 2 * self.margin for n in self.shape)
        # variances=False (e.g. outlier singles): only SCI and WHT, about half the work
        self._var = [np.zeros(padded, np.float32) for _ in range(3)] if variances else None
        self._driz = Drizzle(
            kernel=params.kernel,
            fillval=params.fillval,
            fillval2=params.fillval,
            out_shape=padded,
            out_img2=self._var,
            disable_ctx=not params.context,
        )

    def add(self, sci, pixmap=None, *, dq, var_rnoise, var_poisson, var_flat=None,
            exptime: float = 1.0, corners=None, row0: int = 0,
            median_weight: float | None = None) -> bool:
        """Drizzle one exposure (surface-brightness units) onto the output.

        Parameters
        ----------
        sci, var_rnoise, var_poisson, var_flat : ndarray (ny_in, nx_in)
            Input image and its variances; ``var_flat`` may be None (zeros).
        pixmap : ndarray (ny_in, nx_in, 2), optional
            Output-grid pixel of every input pixel centre (:func:`grid.pixmap_from_sky`,
            :func:`pixmap.grid_pixmap`).
        corners : ndarray (ny_in + 1, nx_in + 1, 2), optional
            Output-grid pixel of every input pixel corner (:func:`pixmap.grid_corners`);
            faster and exact for the square kernel. Give this or ``pixmap``.
        dq : ndarray (ny_in, nx_in) uint32
        exptime : float
            Exposure time [s] (used for ``exptime`` weighting and bookkeeping).
        row0 : int
            Row of the full exposure where these arrays start (a window of it): keeps
            the summation order, hence the result, independent of the windowing.
        median_weight : float, optional
            The exposure's ``ivm-med`` weight (see :func:`drizzle_weights`).

        Returns
        -------
        bool
            False if no input pixel lands on this output (nothing was added).
        """
        weights = drizzle_weights(dq, var_rnoise, weight_type=self.params.weight_type,
                                  exptime=exptime, median_weight=median_weight)
        if self.own:
            if corners is None:
                corners = corners_from_centers(pixmap)
            return self._add_own(sci, corners, weights, var_rnoise, var_poisson, var_flat,
                                 row0)
        if pixmap is None:
            pixmap = centers_from_corners(np.stack(_planes(corners), axis=-1))
        bbox = _input_bbox(pixmap, self.shape)
        if bbox is None:
            return False
        pixmap = np.asarray(pixmap, dtype=np.float64) + self.margin
        xmin, xmax, ymin, ymax = bbox
        sci = np.asarray(sci, dtype=np.float32)
        variances = None
        if self._var is not None:
            variances = [
                _clean(var_rnoise), _clean(var_poisson),
                _clean(var_flat) if var_flat is not None else np.zeros_like(sci),
            ]
        self._driz.add_image(
            np.where(weights > 0, sci, 0).astype(np.float32),
            exptime=float(exptime),
            pixmap=pixmap,
            data2=variances,
            weight_map=weights,
            pixfrac=self.params.pixfrac,
            in_units="cps",
            xmin=xmin, xmax=xmax, ymin=ymin, ymax=ymax,
        )
        self.n_inputs += 1
        return True

    def _add_own(self, sci, corners, weights, var_rnoise, var_poisson, var_flat, row0):
        var = variance_planes(var_rnoise, var_poisson, var_flat, np.shape(sci)) \
            if self._var.shape[0] else None
        k = self.n_inputs
        if self._con.shape[0] and k // 32 >= self._con.shape[0]:
            self._con = np.concatenate([self._con, np.zeros((1, *self.shape), np.int32)])
        if not drizzle_square_add(self._num, self._wht, self._var, self._con, sci, corners,
                                  weights, var, pixfrac=self.params.pixfrac, row0=row0,
                                  con_index=k):
            return False
        self.n_inputs += 1
        return True

    def finalize(self) -> Mosaic:
        """The weighted-mean image, its variances/ERR, weights and context."""
        if self.own:
            return self._finalize_own()
        d = self._driz
        m, (ny, nx) = self.margin, self.shape
        crop = (slice(m, m + ny), slice(m, m + nx))
        if self._var is None:
            var_rnoise = var_poisson = var_flat = np.zeros(self.shape, np.float32)
        else:
            var_rnoise, var_poisson, var_flat = (np.asarray(v[crop], np.float32)
                                                 for v in d.out_img2)
        err = np.sqrt(var_rnoise + var_poisson + var_flat).astype(np.float32)
        con = None
        if self.params.context and d.out_ctx is not None:
            con = np.asarray(d.out_ctx, dtype=np.int32)
            if con.ndim == 2:
                con = con[np.newaxis]
            con = con[(slice(None), *crop)]
        return Mosaic(
            sci=np.asarray(d.out_img[crop], np.float32), err=err,
            wht=np.asarray(d.out_wht[crop], np.float32),
            var_rnoise=var_rnoise, var_poisson=var_poisson, var_flat=var_flat,
            con=con, n_inputs=self.n_inputs,
        )

    def _finalize_own(self) -> Mosaic:
        wht = self._wht
        covered = wht > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            sci = np.where(covered, self._num / wht, np.float32(self.params.fillval))
            if self._var.shape[0]:
                inv2 = np.where(covered, 1.0 / (wht.astype(np.float64) ** 2), 0.0)
                var_rnoise, var_poisson, var_flat = (
                    np.where(covered, v * inv2, np.float32(self.params.fillval))
                    .astype(np.float32) for v in self._var)
                err = np.sqrt(var_rnoise + var_poisson + var_flat).astype(np.float32)
            else:
                var_rnoise = var_poisson = var_flat = err = np.zeros(self.shape, np.float32)
        con = self._con if self._con.shape[0] else None
        return Mosaic(sci=sci.astype(np.float32, copy=False), err=err, wht=wht,
                      var_rnoise=var_rnoise, var_poisson=var_poisson, var_flat=var_flat,
                      con=con, n_inputs=self.n_inputs)


def corners_from_centers(pixmap) -> np.ndarray:
    """Corner map (ny+1, nx+1, 2) from a centre map (ny, nx, 2), bilinearly.

    Interior corners are the mean of the four surrounding centres, border corners
    are extrapolated linearly (as drizzle's ``interpolate_point`` does).
    """
    pm = np.asarray(pixmap, np.float64)
    ny, nx = pm.shape[:2]
    if ny < 2 or nx < 2:
        raise ValueError(f"pixel map must be at least 2x2, found {pm.shape[:2]}")
    pad = np.empty((ny + 2, nx + 2, 2))
    pad[1:-1, 1:-1] = pm
    pad[0, 1:-1] = 2 * pm[0] - pm[1]
    pad[-1, 1:-1] = 2 * pm[-1] - pm[-2]
    pad[:, 0] = 2 * pad[:, 1] - pad[:, 2]
    pad[:, -1] = 2 * pad[:, -2] - pad[:, -3]
    return 0.25 * (pad[:-1, :-1] + pad[1:, :-1] + pad[:-1, 1:] + pad[1:, 1:])


def centers_from_corners(corners) -> np.ndarray:
    """Centre map (ny, nx, 2) as the mean of each pixel's four corners."""
    c = np.asarray(corners, np.float64)
    return 0.25 * (c[:-1, :-1] + c[1:, :-1] + c[:-1, 1:] + c[1:, 1:])


def _drop_scale(cx, cy):
    """(output pixels per input pixel, largest drop extent in output pixels), sampled."""
    s = (slice(None, -1, 16), slice(None, -1, 16))
    t = (slice(1, None, 16), slice(None, -1, 16))
    u = (slice(None, -1, 16), slice(1, None, 16))
    dxx, dxy = np.abs(cx[u] - cx[s]), np.abs(cy[u] - cy[s])  # along a row
    dyx, dyy = np.abs(cx[t] - cx[s]), np.abs(cy[t] - cy[s])  # along a column
    with np.errstate(invalid="ignore"):
        step = np.hypot(dxx, dxy)
        scale = float(np.nanmedian(step)) if np.isfinite(step).any() else 1.0
        extent = float(np.nanmax([np.nanmax(dxx + dyx), np.nanmax(dxy + dyy)]))
    scale = round(scale, 2)
    return scale, (extent if np.isfinite(extent) else 2.0) * 1.2 + 1.0


def _clean(var) -> np.ndarray:
    var = np.asarray(var, dtype=np.float32)
    return np.where(np.isfinite(var), var, 0).astype(np.float32)


def _input_bbox(pixmap, out_shape):
    """Inclusive bounding box (xmin, xmax, ymin, ymax) of input pixels landing on the output.

    A one-pixel margin keeps pixels whose footprint overlaps the edge; None if none land.
    """
    x, y = pixmap[..., 0], pixmap[..., 1]
    ny, nx = out_shape
    with np.errstate(invalid="ignore"):
        inside = (x > -1.5) & (x < nx + 0.5) & (y > -1.5) & (y < ny + 0.5)
    rows = np.flatnonzero(inside.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(inside.any(axis=0))
    return int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])


def variance_planes(var_rnoise, var_poisson, var_flat, shape):
    """(VAR_RNOISE, VAR_POISSON, VAR_FLAT) as C-contiguous float32 planes for the
    kernels (no copy when they already are; ``var_flat`` None → zeros). NaN is
    treated as 0 by the kernels."""
    flat = np.zeros(shape, np.float32) if var_flat is None else var_flat
    return tuple(np.ascontiguousarray(v, dtype=np.float32)
                 for v in (var_rnoise, var_poisson, flat))


def _planes(corners):
    if isinstance(corners, tuple):
        cx, cy = corners
    else:
        cx, cy = corners[..., 0], corners[..., 1]
    return np.ascontiguousarray(cx, np.float64), np.ascontiguousarray(cy, np.float64)


def drop_geometry(corners, pixfrac: float = 1.0):
    """(chunk, kmax, reach) for the kernels: rows per parallel chunk, largest drop
    extent (output pixels) + 3, and how many input pixels one output pixel spans + 1.

    Depends only on the map's scale (rounded), so windows of one exposure agree.
    """
    cx, cy = _planes(corners)
    scale, extent = _drop_scale(cx, cy)
    chunk = 8 if scale >= 0.75 else 8 * int(np.ceil(6.0 / max(scale, 1e-3) / 8.0))
    kmax = int(np.ceil(extent * max(pixfrac, 1.0))) + 3
    reach = int(np.ceil(1.0 / max(scale * min(pixfrac, 1.0), 1e-3))) + 1
    return chunk, kmax, reach


def drizzle_square_add(num, wht, var_out, con, sci, corners, weights, variances=None, *,
                       pixfrac: float = 1.0, row0: int = 0, con_index: int = 0) -> bool:
    """Add one image to square-kernel drizzle sums (in place); False if it misses them.

    Parameters
    ----------
    num, wht : ndarray (ny, nx) float32
        Σ value·w·f and Σ w·f (f: fraction of a drop on the output pixel).
    var_out : ndarray (3, ny, nx) or (0, ny, nx) float32
        Σ var·(w·f)² of the three variances (or nothing).
    con : ndarray (nplanes, ny, nx) int32
        Context; bit ``con_index % 32`` of plane ``con_index // 32`` (nplanes may be 0).
    sci, weights : ndarray (nr, nc)
        Input values (surface brightness) and weights (0: not used).
    corners : ndarray (nr + 1, nc + 1, 2) float64, or its two (x, y) planes
        Output (x, y) of the input pixel corners (:func:`pixmap.grid_corners`,
        :func:`pixmap.grid_corner_planes`).
    variances : tuple of 3 ndarray (nr, nc), optional
        From :func:`variance_planes`; needed when ``var_out`` has planes.
    row0 : int
        Absolute row of ``sci[0]`` in its exposure (keeps results window-independent).
    """
    from webbcal._threads import default_threads, run_row_bands
    from webbcal.algorithms.image3._kernels import drizzle_square, n_parity_chunks

    cx, cy = _planes(corners)
    ny, nx = num.shape
    with np.errstate(invalid="ignore"):
        if not ((np.nanmax(cx) > -0.5) and (np.nanmin(cx) < nx - 0.5)
                and (np.nanmax(cy) > -0.5) and (np.nanmin(cy) < ny - 0.5)):
            return False
    chunk, kmax, _ = drop_geometry((cx, cy), pixfrac)
    bit = np.uint32(1 << (con_index % 32)).view(np.int32)
    if var_out.shape[0]:
        v0, v1, v2 = variances
    else:
        v0 = v1 = v2 = np.zeros((1, 1), np.float32)
    sci = np.ascontiguousarray(sci, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float32)
    args = (cx, cy, sci, weights, v0, v1, v2, float(pixfrac), int(row0), int(chunk),
            int(kmax), int(con_index // 32), bit, num, wht, var_out, con)
    threads = default_threads()
    for parity in (0, 1):  # chunks of one parity never touch the same output pixel
        n = n_parity_chunks(sci.shape[0], int(row0), int(chunk), parity)
        # a few bands per thread, taken dynamically: a thread slowed by the read-ahead
        # thread (or other load) does fewer (the result does not depend on the split)
        run_row_bands(lambda lo, hi, parity=parity: drizzle_square(*args, parity, lo, hi), n,
                      band=max(-(-n // (4 * threads)), 4), threads=threads)
    return True


@dataclass(frozen=True)
class Contributions:
    """What some input pixels added to drizzle sums (sparse, see :func:`contributions`).

    ``jj``, ``ii`` (m,) int64 output pixels; ``num``, ``wht`` (m,) float64;
    ``var`` (nv, m) float64; ``keep`` (m,) bool: the image still contributes there.
    """

    jj: np.ndarray
    ii: np.ndarray
    num: np.ndarray
    wht: np.ndarray
    var: np.ndarray
    keep: np.ndarray


def contributions(sci, corners, weights, variances, flagged, *, out_shape,
                  pixfrac: float = 1.0) -> Contributions:
    """Square-kernel contributions of the ``flagged`` pixels of one image.

    ``sci``, ``weights``, ``flagged`` (nr, nc); ``corners`` (nr+1, nc+1, 2) (or its
    two planes) the whole image's corner map; ``variances`` from
    :func:`variance_planes`. Subtracting the result from the sums made by
    :func:`drizzle_square_add` gives the sums without those pixels.
    """
    from webbcal.algorithms.image3._kernels import undrizzle_square

    rows, cols = np.nonzero(flagged)
    cx, cy = _planes(corners)
    _, kmax, reach = drop_geometry((cx, cy), pixfrac)
    dr, dc = np.mgrid[-reach:reach + 1, -reach:reach + 1].reshape(2, -1)
    order = np.argsort(np.abs(dr) + np.abs(dc), kind="stable")[1:]  # nearest first, not (0, 0)
    out = undrizzle_square(cx, cy, np.ascontiguousarray(sci, np.float32),
                           np.ascontiguousarray(weights, np.float32), *variances,
                           np.ascontiguousarray(flagged, np.bool_), rows.astype(np.int64),
                           cols.astype(np.int64), float(pixfrac), int(kmax),
                           dr[order].astype(np.int64), dc[order].astype(np.int64),
                           int(out_shape[0]), int(out_shape[1]))
    return Contributions(*out)
