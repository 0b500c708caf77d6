"""The output grid of a mosaic: a gnomonic (TAN) tangent plane, and tiles of it.

The grid is plain arithmetic on numpy arrays (no astropy.wcs) because stage 3 maps
every input pixel of every exposure onto it: a 2048² detector maps in ~0.1 s. It is
equivalent to a FITS TAN WCS with ``CRVAL = crval``, ``CRPIX = crpix + 1`` (FITS is
1-based) and ``CD = pixel_scale * R(rotation) * diag(-1, 1)`` (north up, east left at
``rotation = 0``); :meth:`OutputGrid.to_header` writes exactly that.

Pixels are 0-based ``(x, y)`` with ``x`` the column (array ``[..., y, x]``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["OutputGrid", "tan_project", "tan_deproject", "pixmap_from_sky"]

_D2R = np.pi / 180.0


def tan_project(ra, dec, crval):
    """Gnomonic projection of (RA, Dec) [deg] about ``crval`` → standard coords (ξ, η) [deg].

    ξ points east and η north at the tangent point. Points more than 90° away
    from the tangent point come back as NaN.
    """
    ra0, dec0 = (np.radians(v) for v in crval)
    ra = np.radians(np.asarray(ra, dtype=np.float64))
    dec = np.radians(np.asarray(dec, dtype=np.float64))
    dra = ra - ra0
    cos_dec, sin_dec = np.cos(dec), np.sin(dec)
    cos_c = np.sin(dec0) * sin_dec + np.cos(dec0) * cos_dec * np.cos(dra)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_c = np.where(cos_c > 0, cos_c, np.nan)
        xi = cos_dec * np.sin(dra) / cos_c
        eta = (np.cos(dec0) * sin_dec - np.sin(dec0) * cos_dec * np.cos(dra)) / cos_c
    return np.degrees(xi), np.degrees(eta)


def tan_deproject(xi, eta, crval):
    """Inverse of :func:`tan_project`: standard coords (ξ, η) [deg] → (RA, Dec) [deg]."""
    ra0, dec0 = (np.radians(v) for v in crval)
    x = np.radians(np.asarray(xi, dtype=np.float64))
    y = np.radians(np.asarray(eta, dtype=np.float64))
    denom = np.cos(dec0) - y * np.sin(dec0)
    ra = ra0 + np.arctan2(x, denom)
    dec = np.arctan2(np.sin(dec0) + y * np.cos(dec0), np.hypot(x, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


@dataclass(frozen=True)
class OutputGrid:
    """A TAN grid: tangent point, pixel scale, rotation and shape.

    Attributes
    ----------
    crval : (float, float)
        RA, Dec of the tangent point [deg].
    crpix : (float, float)
        0-based pixel (x, y) of the tangent point.
    pixel_scale : float
        Pixel size [arcsec].
    rotation : float
        Angle of the grid's +y axis east of north [deg] (0 = north up).
    shape : (int, int)
        (ny, nx).
    """

    crval: tuple[float, float]
    crpix: tuple[float, float]
    pixel_scale: float
    rotation: float
    shape: tuple[int, int]

    @property
    def cd(self) -> np.ndarray:
        """The 2×2 CD matrix [deg/pixel] mapping pixel offsets to (ξ, η)."""
        s = self.pixel_scale / 3600.0
        c, n = np.cos(np.radians(self.rotation)), np.sin(np.radians(self.rotation))
        return s * np.array([[-c, n], [n, c]])

    @classmethod
    def covering(cls, ra, dec, *, pixel_scale, rotation=0.0, crval=None, shape=None,
                 margin=2):
        """The smallest grid containing all (ra, dec) points (e.g. detector footprints).

        ``crval`` defaults to the centre of the points; ``shape`` may be forced.
        """
        ra = np.asarray(ra, dtype=np.float64).ravel()
        dec = np.asarray(dec, dtype=np.float64).ravel()
        if crval is None:
            # mean unit vector: safe across RA = 0/360
            v = np.array([np.cos(np.radians(dec)) * np.cos(np.radians(ra)),
                          np.cos(np.radians(dec)) * np.sin(np.radians(ra)),
                          np.sin(np.radians(dec))]).mean(axis=1)
            crval = (float(np.degrees(np.arctan2(v[1], v[0])) % 360.0),
                     float(np.degrees(np.arcsin(v[2] / np.linalg.norm(v)))))
        probe = cls(tuple(crval), (0.0, 0.0), pixel_scale, rotation, (1, 1))
        x, y = probe.world_to_pixel(ra, dec)
        if shape is None:
            x0, y0 = np.floor(np.nanmin(x)) - margin, np.floor(np.nanmin(y)) - margin
            nx = int(np.ceil(np.nanmax(x)) + margin - x0) + 1
            ny = int(np.ceil(np.nanmax(y)) + margin - y0) + 1
        else:
            ny, nx = shape
            x0 = np.round(0.5 * (np.nanmin(x) + np.nanmax(x)) - (nx - 1) / 2.0)
            y0 = np.round(0.5 * (np.nanmin(y) + np.nanmax(y)) - (ny - 1) / 2.0)
        return cls(tuple(crval), (-float(x0), -float(y0)), pixel_scale, rotation, (ny, nx))

    def world_to_pixel(self, ra, dec):
        """(RA, Dec) [deg] → 0-based pixel (x, y), float64 arrays."""
        xi, eta = tan_project(ra, dec, self.crval)
        inv = np.linalg.inv(self.cd)
        x = inv[0, 0] * xi + inv[0, 1] * eta + self.crpix[0]
        y = inv[1, 0] * xi + inv[1, 1] * eta + self.crpix[1]
        return x, y

    def pixel_to_world(self, x, y):
        """0-based pixel (x, y) → (RA, Dec) [deg]."""
        dx = np.asarray(x, dtype=np.float64) - self.crpix[0]
        dy = np.asarray(y, dtype=np.float64) - self.crpix[1]
        cd = self.cd
        return tan_deproject(cd[0, 0] * dx + cd[0, 1] * dy, cd[1, 0] * dx + cd[1, 1] * dy,
                             self.crval)

    def tile(self, x0: int, y0: int, nx: int, ny: int) -> OutputGrid:
        """The sub-grid whose pixel (0, 0) is this grid's pixel (x0, y0)."""
        return replace(self, crpix=(self.crpix[0] - x0, self.crpix[1] - y0), shape=(ny, nx))

    def tiles(self, tile_size: int | None):
        """Split into tiles of at most ``tile_size``²: yields ``(x0, y0, sub_grid)``."""
        ny, nx = self.shape
        size = max(ny, nx) if not tile_size else int(tile_size)
        for y0 in range(0, ny, size):
            for x0 in range(0, nx, size):
                yield x0, y0, self.tile(x0, y0, min(size, nx - x0), min(size, ny - y0))

    def to_header(self):
        """FITS TAN WCS keywords (an ``astropy.io.fits.Header``) for this grid."""
        from astropy.io import fits

        h = fits.Header()
        h["WCSAXES"] = 2
        h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
        h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
        h["CRVAL1"], h["CRVAL2"] = self.crval
        h["CRPIX1"], h["CRPIX2"] = self.crpix[0] + 1.0, self.crpix[1] + 1.0
        cd = self.cd
        h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = cd[0, 0], cd[0, 1], cd[1, 0], cd[1, 1]
        h["RADESYS"] = "ICRS"
        return h


def pixmap_from_sky(ra, dec, grid: OutputGrid) -> np.ndarray:
    """Pixel map for drizzle: input pixels' sky positions → output grid pixels.

    Parameters
    ----------
    ra, dec : ndarray (ny, nx), float64
        Sky position [deg] of every input pixel centre (from the exposure's WCS).
    grid : OutputGrid

    Returns
    -------
    ndarray (ny, nx, 2), float64
        ``[..., 0]`` = output x, ``[..., 1]`` = output y (NaN where undefined).
    """
    x, y = grid.world_to_pixel(ra, dec)
    return np.stack([x, y], axis=-1)
