"""Drizzle accumulation onto an output grid (or one tile of it), streaming exposures.

The resampling itself is the ``drizzle`` package's C kernel (Fruchter & Hook 2002):
we add the bookkeeping the JWST products need — inverse-variance (``ivm``) or
exposure-time weights, bad-pixel exclusion by DQ, resampled variances (drizzled with
squared weights, as the official pipeline does) and the context plane — without ever
holding more than one input exposure and one output tile.

Geometry stays outside: callers pass a pixel map (:func:`grid.pixmap_from_sky`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from webbcal.datamodels.dqflags import DQ

__all__ = ["DrizzleParams", "Mosaic", "MosaicAccumulator", "drizzle_weights"]

#: Input pixels carrying any of these bits get zero weight (official ``good_bits``
#: default ``~DO_NOT_USE+NON_SCIENCE``: everything else is usable).
BAD_BITS = int(DQ.DO_NOT_USE | DQ.NON_SCIENCE)


@dataclass(frozen=True)
class DrizzleParams:
    """How inputs are drizzled (official ``resample`` parameter names)."""

    kernel: Literal["square", "point", "turbo", "gaussian", "lanczos2", "lanczos3"] = "square"
    pixfrac: float = 1.0
    weight_type: Literal["ivm", "exptime"] = "ivm"
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


def drizzle_weights(dq, var_rnoise, *, weight_type: str, exptime: float) -> np.ndarray:
    """Per-pixel drizzle weights (float32): 1/VAR_RNOISE (``ivm``) or EXPTIME, 0 for bad pixels."""
    good = (np.asarray(dq) & BAD_BITS) == 0
    if weight_type == "ivm":
        var = np.asarray(var_rnoise, dtype=np.float32)
        good &= np.isfinite(var) & (var > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(good, 1.0 / var, 0.0)
    elif weight_type == "exptime":
        w = np.where(good, float(exptime), 0.0)
    else:
        raise ValueError(f"weight_type must be 'ivm' or 'exptime', found {weight_type!r}")
    return w.astype(np.float32)


class MosaicAccumulator:
    """Accumulates exposures onto one output grid/tile; :meth:`finalize` gives a :class:`Mosaic`.

    Memory: the output arrays (six float32 planes + context) and whatever one
    :meth:`add` call is given.

    The drizzle C kernel treats input pixels that straddle the output's edge
    differently from interior ones, so the output is drizzled with a ``margin`` of
    extra pixels on each side and cropped: tiles then reproduce the untiled mosaic.
    """

    def __init__(self, shape: tuple[int, int], params: DrizzleParams = DrizzleParams(),
                 *, margin: int = 4, variances: bool = True):
        from drizzle.resample import Drizzle

        self.shape = tuple(int(n) for n in shape)
        self.params = params
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
        self.n_inputs = 0

    def add(self, sci, pixmap, *, dq, var_rnoise, var_poisson, var_flat=None,
            exptime: float = 1.0) -> bool:
        """Drizzle one exposure (surface-brightness units) onto the output.

        Parameters
        ----------
        sci, var_rnoise, var_poisson, var_flat : ndarray (ny_in, nx_in)
            Input image and its variances; ``var_flat`` may be None (zeros).
        pixmap : ndarray (ny_in, nx_in, 2)
            Output-grid pixel of every input pixel (see :func:`grid.pixmap_from_sky`).
        dq : ndarray (ny_in, nx_in) uint32
        exptime : float
            Exposure time [s] (used for ``exptime`` weighting and bookkeeping).

        Returns
        -------
        bool
            False if no input pixel lands on this output (nothing was added).
        """
        bbox = _input_bbox(pixmap, self.shape)
        if bbox is None:
            return False
        pixmap = np.asarray(pixmap, dtype=np.float64) + self.margin
        xmin, xmax, ymin, ymax = bbox
        weights = drizzle_weights(dq, var_rnoise, weight_type=self.params.weight_type,
                                  exptime=exptime)
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

    def finalize(self) -> Mosaic:
        """The weighted-mean image, its variances/ERR, weights and context."""
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
