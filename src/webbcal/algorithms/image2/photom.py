"""Photometric calibration: count rate (DN/s) to surface brightness (MJy/sr)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PhotomResult", "apply_photom", "photuja2", "MJYSR_TO_UJYA2"]

#: 1 MJy/sr in µJy/arcsec² (1e12 µJy / (180·3600/π)² arcsec² per sr).
MJYSR_TO_UJYA2 = 1e12 / (180.0 * 3600.0 / np.pi) ** 2


def photuja2(photmjsr: float) -> float:
    """PHOTUJA2: the conversion factor in µJy/arcsec² per DN/s."""
    return float(photmjsr) * MJYSR_TO_UJYA2


@dataclass(frozen=True)
class PhotomResult:
    """Image in MJy/sr.

    Attributes
    ----------
    data, err : ndarray (ny, nx) float32
        MJy/sr.
    var_poisson, var_rnoise, var_flat : ndarray (ny, nx) float32
        (MJy/sr)².
    """

    data: np.ndarray
    err: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    var_flat: np.ndarray


def apply_photom(data: np.ndarray, err: np.ndarray, var_poisson: np.ndarray,
                 var_rnoise: np.ndarray, var_flat: np.ndarray | None, *,
                 photmjsr: float) -> PhotomResult:
    """Scale an image and its errors by PHOTMJSR (MJy/sr per DN/s).

    Parameters
    ----------
    data, err : ndarray (ny, nx) float32
        DN/s.
    var_poisson, var_rnoise, var_flat : ndarray (ny, nx) float32 or None
        (DN/s)²; a missing ``var_flat`` is returned as zeros.
    photmjsr : float
        Conversion factor, finite and > 0.

    Returns
    -------
    PhotomResult
    """
    if not np.isfinite(photmjsr) or photmjsr <= 0:
        raise ValueError(f"PHOTMJSR must be finite and positive, found {photmjsr!r}")
    c = np.float32(photmjsr)
    c2 = np.float32(float(photmjsr) ** 2)
    vf = np.zeros(data.shape, np.float32) if var_flat is None else var_flat * c2
    return PhotomResult(data=data * c, err=err * c, var_poisson=var_poisson * c2,
                        var_rnoise=var_rnoise * c2, var_flat=vf)
