"""Point-spread functions of a 6.5 m segmented aperture (Fraunhofer, computed here).

Approximation (no ``poppy``/``webbpsf`` data needed): the pupil is 18 flat hexagonal
segments (1.32 m flat-to-flat, 7 mm gaps, the central one missing), a 0.74 m secondary
obstruction and three 0.1 m struts; no wavefront error.  The PSF is the squared modulus
of its Fourier transform, computed with a matrix Fourier transform directly on a grid
oversampled ``OVERSAMPLE``× relative to the detector pixels, averaged over 5 wavelengths
spread ±10 % about the filter's pivot, then integrated over the pixel (box sum).  The
stamp is normalised to unit sum: truth fluxes are the flux inside the stamp.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["PSF", "psf_model", "pupil", "OVERSAMPLE"]

OVERSAMPLE = 8
_D_PUPIL = 6.6      # m, grid span
_NPUP = 256


@functools.cache
def pupil(n=_NPUP) -> np.ndarray:
    """Binary JWST-like pupil on an n×n grid spanning 6.6 m, (n, n) float64."""
    c = (np.arange(n) - (n - 1) / 2) * (_D_PUPIL / n)
    x, y = np.meshgrid(c, c)
    flat = 1.32
    pitch = flat + 0.007
    amp = np.zeros((n, n))
    # hexagonal lattice of segment centres (pointy-top segments, flat sides at ±x)
    centres = []
    for q in range(-2, 3):
        for r in range(-2, 3):
            if abs(q + r) > 2 or (q, r) == (0, 0):
                continue
            cx = pitch * (q + r / 2.0)
            cy = pitch * r * np.sqrt(3) / 2
            centres.append((cx, cy))
    for cx, cy in centres:
        dx, dy = np.abs(x - cx), np.abs(y - cy)
        inside = (dx <= flat / 2) & (dx / 2 + dy * np.sqrt(3) / 2 <= flat / 2)
        amp[inside] = 1.0
    amp[np.hypot(x, y) < 0.37] = 0.0
    for ang in (90.0, 210.0, 330.0):
        a = np.deg2rad(ang)
        along = x * np.cos(a) + y * np.sin(a)
        across = np.abs(-x * np.sin(a) + y * np.cos(a))
        amp[(along > 0) & (across < 0.05)] = 0.0
    return amp


def _mft(amp, wavelength_m, sample_rad, npix):
    """|FT|² of the pupil sampled at ``npix`` points of spacing ``sample_rad`` (radians)."""
    n = amp.shape[0]
    dx = _D_PUPIL / n
    xp = (np.arange(n) - (n - 1) / 2) * dx
    u = (np.arange(npix) - (npix - 1) / 2) * sample_rad / wavelength_m
    e = np.exp(-2j * np.pi * np.outer(u, xp))
    field = e @ amp @ e.T
    return np.abs(field) ** 2


@dataclass(frozen=True)
class PSF:
    """Pixel-integrated PSF on an oversampled grid.

    Attributes
    ----------
    data : (n, n) float64
        Pixel-integrated PSF sampled every 1/``oversample`` pixel, centre at index
        ``(n - 1) / 2``; sampling it every ``oversample`` samples gives a pixel stamp of
        unit sum.
    oversample : int
    pixel_scale : float
        arcsec per detector pixel.
    filter : str
    """

    data: np.ndarray
    oversample: int
    pixel_scale: float
    filter: str

    @property
    def radius(self) -> int:
        """Half-size of the pixel stamp (pixels)."""
        return int(((self.data.shape[0] - 1) / 2) // self.oversample) - 1

    def stamp(self, dx, dy) -> np.ndarray:
        """Pixel stamp, (2r+1, 2r+1), for a source at offset (dx, dy) (pixels, |d| ≤ 0.5)
        from the stamp's centre pixel; bilinear in the oversampled grid."""
        from scipy.ndimage import map_coordinates

        r = self.radius
        c = (self.data.shape[0] - 1) / 2
        k = np.arange(-r, r + 1)
        yy = (k[:, None] - dy) * self.oversample + c
        xx = (k[None, :] - dx) * self.oversample + c
        yy, xx = np.broadcast_arrays(yy, xx)
        return map_coordinates(self.data, [yy.ravel(), xx.ravel()], order=1,
                               mode="constant").reshape(yy.shape)


@functools.lru_cache(maxsize=16)
def psf_model(filter: str, pixel_scale: float, pivot_um: float, *, radius_pix=20,
              oversample=OVERSAMPLE) -> PSF:
    """The PSF of a filter at a pixel scale (cached).

    Parameters
    ----------
    filter : str
    pixel_scale : float
        arcsec per pixel.
    pivot_um : float
        Pivot wavelength (µm).
    radius_pix : int
        Stamp half-size in pixels.
    """
    amp = pupil()
    npix = (2 * radius_pix + 3) * oversample + 1
    sample = pixel_scale / oversample / 206264.806
    img = np.zeros((npix, npix))
    for w in np.linspace(0.9, 1.1, 5) * pivot_um * 1e-6:
        p = _mft(amp, w, sample, npix)
        img += p / p.sum()
    # pixel integration: box of `oversample` samples (centred; odd box via half weights)
    k = np.ones(oversample + 1)
    k[0] = k[-1] = 0.5
    k /= oversample
    from scipy.ndimage import convolve1d

    img = convolve1d(convolve1d(img, k, axis=0, mode="constant"), k, axis=1, mode="constant")
    c = (npix - 1) // 2
    grid = img[c % oversample::oversample, c % oversample::oversample]
    img /= grid[1:-1, 1:-1].sum()
    return PSF(data=img, oversample=oversample, pixel_scale=pixel_scale, filter=filter)
