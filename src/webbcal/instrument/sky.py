"""V2/V3 ↔ RA/Dec from the pointing keywords (JWST attitude-matrix convention).

The attitude matrix is the one the official pipeline builds (``v23tosky``): the rotation
sequence about axes z, y, x, y, z by angles ``(V2_REF, -V3_REF, ROLL_REF, DEC_REF,
-RA_REF)`` (frame rotations, applied in that order) takes the unit vector of a (V2, V3)
direction to the unit vector of its (RA, Dec). So the reference point (V2_REF, V3_REF)
lands on (RA_REF, DEC_REF) and ROLL_REF is the position angle of the V3 axis there.

Velocity aberration: as the official ``DVA_Correction`` transform, V2/V3 are scaled by
VA_SCALE about the reference point before the rotation:
``v2' = V2_REF + VA_SCALE * (v2 - V2_REF)`` (same for v3).

``pointing`` is any object with attributes ``ra_ref, dec_ref, roll_ref`` (deg),
``v2_ref, v3_ref`` (arcsec) and optionally ``va_scale`` (default 1), such as
`webbcal.datamodels.Pointing`.
"""

from __future__ import annotations

import numpy as np

from webbcal.instrument._poly import LARGE

__all__ = ["attitude_matrix", "v2v3_to_sky", "sky_to_v2v3"]

_ARCSEC = np.pi / 180.0 / 3600.0


def _frame_rotation(angle_deg: float, axis: str) -> np.ndarray:
    """Matrix that rotates the coordinate frame by `angle_deg` about `axis`."""
    c, s = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    if axis == "x":
        return np.array([[1.0, 0, 0], [0, c, s], [0, -s, c]])
    if axis == "y":
        return np.array([[c, 0, -s], [0, 1.0, 0], [s, 0, c]])
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])


def attitude_matrix(pointing) -> np.ndarray:
    """3×3 matrix taking V-frame unit vectors to ICRS unit vectors.

    Parameters
    ----------
    pointing
        Object with ``ra_ref, dec_ref, roll_ref`` (deg) and ``v2_ref, v3_ref`` (arcsec).

    Returns
    -------
    ndarray, shape (3, 3), float64
    """
    angles = (pointing.v2_ref / 3600.0, -pointing.v3_ref / 3600.0, pointing.roll_ref,
              pointing.dec_ref, -pointing.ra_ref)
    mat = np.eye(3)
    for angle, axis in zip(angles, "zyxyz"):
        mat = _frame_rotation(angle, axis) @ mat
    return mat


def _va_scale(pointing) -> float:
    scale = getattr(pointing, "va_scale", None)
    return 1.0 if scale is None else float(scale)


def _unit(lon_rad, lat_rad):
    clat = np.cos(lat_rad)
    return np.cos(lon_rad) * clat, np.sin(lon_rad) * clat, np.sin(lat_rad)


def v2v3_to_sky(v2, v3, pointing):
    """V2/V3 (arcsec) → RA/Dec (deg), vectorized.

    Parameters
    ----------
    v2, v3 : array_like
        Telescope coordinates in arcsec (broadcastable).
    pointing
        RA_REF, DEC_REF, ROLL_REF, V2_REF, V3_REF (and VA_SCALE) holder; see module doc.

    Returns
    -------
    ra, dec : ndarray
        float64 degrees, RA in [0, 360).
    """
    v2, v3 = np.broadcast_arrays(np.asarray(v2, float), np.asarray(v3, float))
    mat = attitude_matrix(pointing)
    scale = _va_scale(pointing)
    v2r, v3r = float(pointing.v2_ref), float(pointing.v3_ref)
    if v2.size >= LARGE:
        from webbcal._threads import run_row_bands
        from webbcal.instrument import _kernels

        ra, dec = np.empty(v2.size), np.empty(v2.size)
        run_row_bands(_kernels.v2v3_to_sky_kernel, v2.size, np.ascontiguousarray(v2).ravel(),
                      np.ascontiguousarray(v3).ravel(), mat, v2r, v3r, scale, ra, dec)
        return ra.reshape(v2.shape), dec.reshape(v2.shape)
    a = (v2r + scale * (v2 - v2r)) * _ARCSEC
    b = (v3r + scale * (v3 - v3r)) * _ARCSEC
    u = _unit(a, b)
    sx, sy, sz = (mat[k, 0] * u[0] + mat[k, 1] * u[1] + mat[k, 2] * u[2] for k in range(3))
    ra = np.degrees(np.arctan2(sy, sx)) % 360.0
    dec = np.degrees(np.arctan2(sz, np.hypot(sx, sy)))
    return ra, dec


def sky_to_v2v3(ra, dec, pointing):
    """RA/Dec (deg) → V2/V3 (arcsec), the inverse of `v2v3_to_sky`.

    Parameters
    ----------
    ra, dec : array_like
        Degrees (broadcastable).
    pointing
        As for `v2v3_to_sky`.

    Returns
    -------
    v2, v3 : ndarray
        float64 arcsec.
    """
    ra, dec = np.broadcast_arrays(np.asarray(ra, float), np.asarray(dec, float))
    mat = attitude_matrix(pointing).T
    scale = _va_scale(pointing)
    v2r, v3r = float(pointing.v2_ref), float(pointing.v3_ref)
    if ra.size >= LARGE:
        from webbcal._threads import run_row_bands
        from webbcal.instrument import _kernels

        v2, v3 = np.empty(ra.size), np.empty(ra.size)
        run_row_bands(_kernels.sky_to_v2v3_kernel, ra.size, np.ascontiguousarray(ra).ravel(),
                      np.ascontiguousarray(dec).ravel(), mat, v2r, v3r, scale,
                      float(pointing.ra_ref), float(pointing.dec_ref), v2, v3)
        return v2.reshape(ra.shape), v3.reshape(ra.shape)
    u = _unit(np.radians(ra), np.radians(dec))
    vx, vy, vz = (mat[k, 0] * u[0] + mat[k, 1] * u[1] + mat[k, 2] * u[2] for k in range(3))
    v2 = np.arctan2(vy, vx) / _ARCSEC
    v3 = np.arctan2(vz, np.hypot(vx, vy)) / _ARCSEC
    return v2r + (v2 - v2r) / scale, v3r + (v3 - v3r) / scale
