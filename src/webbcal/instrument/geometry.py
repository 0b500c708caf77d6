"""Array pixels of one exposure ↔ sky, through the SIAF distortion and the pointing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from webbcal.instrument.detectors import normalize_detector
from webbcal.instrument.siaf import SiafAperture, siaf_aperture
from webbcal.instrument.sky import sky_to_v2v3, v2v3_to_sky

__all__ = ["DetectorGeometry"]


@dataclass(frozen=True)
class DetectorGeometry:
    """Pixel ↔ sky mapping of one NIRCam detector (full frame or subarray).

    Parameters
    ----------
    detector : str
        'NRCA1' … 'NRCBLONG' (aliases accepted).
    pointing
        Object with ``ra_ref, dec_ref, roll_ref, v2_ref, v3_ref`` and optionally
        ``va_scale`` (e.g. `webbcal.datamodels.Pointing`); see `webbcal.instrument.sky`.
    substrt : (int, int)
        SUBSTRT1, SUBSTRT2: 1-based full-frame position of the array's first pixel.
    shape : (int, int)
        Array shape (ny, nx) = (SUBSIZE2, SUBSIZE1).

    Notes
    -----
    Array pixel ``(x, y)`` (0-based, ``arr[y, x]``) is full-frame science pixel
    ``(x + SUBSTRT1 - 1, y + SUBSTRT2 - 1)``. The distortion is the SIAF ``<det>_FULL``
    aperture; V2/V3 → sky uses the pointing's own V2_REF/V3_REF (which need not be the
    detector's reference point).
    """

    detector: str
    pointing: object
    substrt: tuple[int, int] = (1, 1)
    shape: tuple[int, int] = (2048, 2048)
    aperture: SiafAperture = field(init=False, repr=False)

    def __post_init__(self):
        det = normalize_detector(self.detector)
        object.__setattr__(self, "detector", det)
        object.__setattr__(self, "substrt", (int(self.substrt[0]), int(self.substrt[1])))
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        object.__setattr__(self, "aperture", siaf_aperture(det))

    def _full_frame(self, x, y):
        return (np.asarray(x, float) + (self.substrt[0] - 1),
                np.asarray(y, float) + (self.substrt[1] - 1))

    def pixel_to_v2v3(self, x, y):
        """Array pixels → V2/V3 (arcsec)."""
        return self.aperture.sci_to_v2v3(*self._full_frame(x, y))

    def v2v3_to_pixel(self, v2, v3):
        """V2/V3 (arcsec) → array pixels."""
        xf, yf = self.aperture.v2v3_to_sci(v2, v3)
        return xf - (self.substrt[0] - 1), yf - (self.substrt[1] - 1)

    def pixel_to_sky(self, x, y):
        """Array pixels (0-based, float) → (ra, dec) in degrees.

        Parameters
        ----------
        x, y : array_like
            Column and row of the array (broadcastable).

        Returns
        -------
        ra, dec : ndarray
            float64 degrees, the broadcast shape of `x` and `y`.
        """
        return v2v3_to_sky(*self.pixel_to_v2v3(x, y), self.pointing)

    def sky_to_pixel(self, ra, dec):
        """(ra, dec) in degrees → array pixels (0-based, float64), inverse of
        `pixel_to_sky` to better than 1e-4 pixel."""
        return self.v2v3_to_pixel(*sky_to_v2v3(ra, dec, self.pointing))

    def sky_grid(self):
        """(ra, dec) of every pixel centre, each of shape `shape` (float64 degrees)."""
        ny, nx = self.shape
        y, x = np.mgrid[0:ny, 0:nx].astype(float)
        return self.pixel_to_sky(x, y)

    def footprint(self):
        """(ra, dec) of the four array corners (pixel-edge), shape (4,) each, in the
        order (0,0), (nx,0), (nx,ny), (0,ny) minus half a pixel."""
        ny, nx = self.shape
        x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5])
        y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5])
        return self.pixel_to_sky(x, y)
