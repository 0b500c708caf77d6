"""Small in-memory inputs for the image2 tests: a rate image of a subarray with
flight-like pointing keywords and in-memory reference objects (no CRDS, no files)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from webbcal.datamodels import DQ, ExposureInfo, ImageModel, Pointing
from webbcal.references import AreaRef, DistortionRef, FlatRef, PhotomRef
from webbcal.references._models import PHOTOM_DTYPE

#: The pointing recorded in the flight NRCB5 gwcs of ``realdata/wcs/nrcb5-wcs.asdf``.
FLIGHT_POINTING = Pointing(ra_ref=34.46216220475726, dec_ref=-5.23699444075018,
                           roll_ref=69.98959542132465, v2_ref=-89.387412,
                           v3_ref=-491.352394, v3i_yang=0.02948617, vparity=-1,
                           va_scale=0.99990399)


def make_exposure(*, detector="NRCBLONG", filter="F444W", pupil="CLEAR", shape=(160, 160),
                  substrt=(905, 941), subarray="SUB160",
                  pointing=FLIGHT_POINTING) -> ExposureInfo:
    """A NIRCam imaging exposure, by default on the SUB160 subarray of NRCBLONG."""
    ny, nx = shape
    return ExposureInfo(
        instrument="NIRCAM", detector=detector, module=detector[3], channel="LONG"
        if detector.endswith(("5", "LONG")) else "SHORT", filter=filter, pupil=pupil,
        exp_type="NRC_IMAGE", readpatt="MEDIUM8", nframes=8, groupgap=2, ngroups=9, nints=1,
        tframe=10.73677, tgroup=107.3677, subarray=subarray, substrt1=substrt[0], substrt2=substrt[1], subsize1=nx, subsize2=ny,
        date_obs="2023-01-01", time_obs="00:00:00.000", expstart=59945.0, pointing=pointing)


def make_rate(exposure: ExposureInfo, *, seed=0, data=None, filename="x_rate.fits") -> ImageModel:
    """A rate ImageModel (DN/s) with noise-like variances and a few DQ flags."""
    rng = np.random.default_rng(seed)
    shape = exposure.shape
    if data is None:
        data = rng.normal(1.0, 0.1, shape).astype(np.float32)
    primary, sci = exposure.to_headers()
    primary["DATAMODL"] = "ImageModel"
    sci["BUNIT"] = "DN/s"
    vp = np.full(shape, 0.01, np.float32)
    vr = np.full(shape, 0.004, np.float32)
    dq = np.zeros(shape, np.uint32)
    dq[0, 0] = DQ.HOT
    return ImageModel(data=np.asarray(data, np.float32), err=np.sqrt(vp + vr), dq=dq,
                      var_poisson=vp, var_rnoise=vr, header=primary, sci_header=sci,
                      filename=filename)


def _window_header(exposure, **kw):
    h = fits.Header()
    h["DETECTOR"] = exposure.detector
    h["SUBSTRT1"], h["SUBSTRT2"] = exposure.substrt1, exposure.substrt2
    h["SUBSIZE1"], h["SUBSIZE2"] = exposure.subsize1, exposure.subsize2
    for k, v in kw.items():
        h[k] = v
    return h


def make_flat(exposure, *, seed=1, value=None, filename="user_flat.fits") -> FlatRef:
    """A flat covering the exposure's pixels (random ~1 unless ``value`` is given)."""
    rng = np.random.default_rng(seed)
    shape = exposure.shape
    data = (np.full(shape, value, np.float32) if value is not None
            else rng.normal(1.0, 0.05, shape).astype(np.float32))
    err = np.full(shape, 0.01, np.float32)
    return FlatRef(data=data, err=err, dq=np.zeros(shape, np.uint32),
                   header=_window_header(exposure, FILENAME=filename))


def make_photom(filters=(("F444W", "CLEAR", 0.45), ("F200W", "CLEAR", 2.1))) -> PhotomRef:
    table = np.zeros(len(filters), dtype=PHOTOM_DTYPE)
    for i, (f, p, c) in enumerate(filters):
        table[i]["filter"], table[i]["pupil"] = f, p
        table[i]["photmjsr"], table[i]["uncertainty"] = c, 0.01 * c
    h = fits.Header()
    h["FILENAME"] = "test_photom.fits"
    return PhotomRef(table=table, pixar_sr=9.31e-14, pixar_a2=3.96e-3, header=h)


def make_area(exposure) -> AreaRef:
    shape = exposure.shape
    data = np.linspace(0.98, 1.02, shape[0] * shape[1], dtype=np.float32).reshape(shape)
    return AreaRef(data=data, pixar_sr=9.31e-14, pixar_a2=3.96e-3,
                   header=_window_header(exposure, FILENAME="test_area.fits"))


def make_distortion(detector="NRCBLONG") -> DistortionRef:
    from webbcal.instrument import distortion_model

    return DistortionRef(model=distortion_model(detector),
                         meta={"instrument": {"detector": detector}, "filename": "dist.asdf"})


def make_references(exposure) -> dict:
    return {"distortion": make_distortion(exposure.detector), "flat": make_flat(exposure),
            "photom": make_photom(), "area": make_area(exposure)}
