"""The NIRCam imaging WCS: detector pixels → V2/V3 → velocity-aberration-corrected
V2/V3 → ICRS RA/Dec, as a gwcs object with the official frame names.

Conventions (those of the official ``jwst.assign_wcs`` for NIRCam imaging):

- ``detector`` frame: 0-based pixels of the (sub)array in science orientation.
  A subarray is shifted by ``SUBSTRT - 1`` to full-frame pixels, then the per-filter
  offset (column, row) is added, then the distortion reference model maps full-frame
  0-based science pixels to (V2, V3) in arcsec.
- ``v2v3`` → ``v2v3vacorr``: differential velocity aberration, a scale by ``VA_SCALE``
  about the reference point (V2_REF, V3_REF): ``v' = s·v + (1 - s)·v_ref``.
- ``v2v3vacorr`` → ``world``: the attitude rotation: Euler sequence ``zyxyz`` with
  angles ``(V2_REF, -V3_REF, ROLL_REF, DEC_REF, -RA_REF)`` applied to unit vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "velocity_aberration_model",
    "v2v3_to_world_model",
    "detector_to_v2v3_model",
    "imaging_wcs",
]


def velocity_aberration_model(va_scale: float, v2_ref: float, v3_ref: float):
    """(V2, V3) → velocity-aberration-corrected (V2, V3), arcsec → arcsec.

    Parameters
    ----------
    va_scale : float
        VA_SCALE (dimensionless, > 0); 1 gives the identity.
    v2_ref, v3_ref : float
        Reference point (arcsec), the fixed point of the scale.

    Returns
    -------
    astropy.modeling.Model
        Two inputs, two outputs, with an analytic inverse.
    """
    from astropy.modeling.models import Identity, Scale, Shift

    if not np.isfinite(va_scale) or va_scale <= 0:
        raise ValueError(f"VA_SCALE must be a positive number, found {va_scale!r}")
    if va_scale == 1.0:
        return Identity(2, name="va_corr")
    model = (Scale(va_scale, name="va_scale_v2") & Scale(va_scale, name="va_scale_v3")) | (
        Shift((1.0 - va_scale) * v2_ref, name="va_v2_shift")
        & Shift((1.0 - va_scale) * v3_ref, name="va_v3_shift")
    )
    model.name = "va_corr"
    return model


def v2v3_to_world_model(ra_ref: float, dec_ref: float, roll_ref: float,
                        v2_ref: float, v3_ref: float):
    """(V2, V3) arcsec → (RA, Dec) deg: the official attitude rotation.

    Parameters
    ----------
    ra_ref, dec_ref : float
        Sky position of the reference point (deg).
    roll_ref : float
        V3 position angle at the reference point (deg).
    v2_ref, v3_ref : float
        Telescope coordinates of the reference point (arcsec).

    Returns
    -------
    astropy.modeling.Model
        Inputs (v2, v3) arcsec, outputs (lon, lat) deg; invertible.
    """
    from astropy.modeling.models import RotationSequence3D, Scale
    from gwcs.geometry import CartesianToSpherical, SphericalToCartesian

    angles = [v2_ref / 3600.0, -v3_ref / 3600.0, roll_ref, dec_ref, -ra_ref]
    model = ((Scale(1 / 3600.0) & Scale(1 / 3600.0))
             | SphericalToCartesian(wrap_lon_at=180)
             | RotationSequence3D(angles, axes_order="zyxyz")
             | CartesianToSpherical(wrap_lon_at=360))
    model.name = "v23tosky"
    return model


def detector_to_v2v3_model(distortion, *, substrt: tuple[int, int] = (1, 1),
                           filter_offset: tuple[float, float] = (0.0, 0.0)):
    """Subarray pixels → (V2, V3): subarray shift, filter offset, then distortion.

    Parameters
    ----------
    distortion : astropy.modeling.Model
        0-based full-frame science pixels → (V2, V3) arcsec (the distortion reference).
    substrt : (int, int)
        SUBSTRT1, SUBSTRT2 (1-based start of the subarray).
    filter_offset : (float, float)
        Column and row offset (pixels) of the filter, added before the distortion.

    Returns
    -------
    astropy.modeling.Model
    """
    from astropy.modeling.models import Shift

    dx = (substrt[0] - 1) + filter_offset[0]
    dy = (substrt[1] - 1) + filter_offset[1]
    if dx == 0 and dy == 0:
        return distortion
    return (Shift(dx, name="subarray_x") & Shift(dy, name="subarray_y")) | distortion


def imaging_wcs(distortion, pointing: Any, *, shape: tuple[int, int],
                substrt: tuple[int, int] = (1, 1),
                filter_offset: tuple[float, float] = (0.0, 0.0)):
    """The gwcs of a NIRCam image: frames detector → v2v3 → v2v3vacorr → world.

    Parameters
    ----------
    distortion : astropy.modeling.Model
        Distortion reference model (full-frame 0-based pixels → V2/V3 arcsec).
    pointing : webbcal.datamodels.Pointing
        ``ra_ref, dec_ref, roll_ref, v2_ref, v3_ref, va_scale``.
    shape : (ny, nx)
        Image shape; sets the bounding box ``(-0.5, n - 0.5)`` on each axis.
    substrt : (int, int)
        SUBSTRT1, SUBSTRT2.
    filter_offset : (float, float)
        Filter offset (column, row) in pixels.

    Returns
    -------
    gwcs.WCS
    """
    from astropy import coordinates as coord
    from astropy import units as u
    from gwcs import coordinate_frames as cf
    from gwcs import wcs as gwcs_wcs

    det2v23 = detector_to_v2v3_model(distortion, substrt=substrt, filter_offset=filter_offset)
    vacorr = velocity_aberration_model(pointing.va_scale, pointing.v2_ref, pointing.v3_ref)
    sky = v2v3_to_world_model(pointing.ra_ref, pointing.dec_ref, pointing.roll_ref,
                              pointing.v2_ref, pointing.v3_ref)
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    v2v3 = cf.Frame2D(name="v2v3", axes_order=(0, 1), axes_names=("v2", "v3"),
                      unit=(u.arcsec, u.arcsec))
    v2v3vacorr = cf.Frame2D(name="v2v3vacorr", axes_order=(0, 1), axes_names=("v2", "v3"),
                            unit=(u.arcsec, u.arcsec))
    world = cf.CelestialFrame(reference_frame=coord.ICRS(), name="world")
    wcs = gwcs_wcs.WCS([(detector, det2v23), (v2v3, vacorr), (v2v3vacorr, sky), (world, None)])
    ny, nx = shape
    wcs.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    return wcs
