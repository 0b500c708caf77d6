"""resample (image2): drizzle one calibrated exposure onto its own sky grid (``*_i2d.fits``).

The official Image2Pipeline ends with ``resample`` and writes a per-exposure i2d by
default for 2-D imaging exposures; in webbcal it runs on request
(``--steps.resample.skip false`` or ``steps={"resample": {"skip": False}}``), because
most users only need the cal files for stage 3. The drizzling is the stage-3
resampler's (:class:`webbcal.steps.image3.resample.ResampleStep` on a one-member
library), so the per-exposure i2d is exactly what image3 would make of that exposure
alone (grid at the native scale and orientation unless set otherwise).

The cal model passes through unchanged; the i2d ``MosaicModel`` is attached as
``model.i2d`` and written by the pipeline next to the cal file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from webbcal.steps.base import Step, StepParams, param

__all__ = ["Image2ResampleParams", "Image2ResampleStep", "resample_exposure"]

log = logging.getLogger("webbcal.step.resample")

#: Primary-header keys of the i2d that describe the combination, not the exposure.
_MOSAIC_KEYS = ("NDRIZIM", "TEXPTIME", "RESAMPKN", "PIXFRAC", "RESWHT")


@dataclass(frozen=True)
class Image2ResampleParams(StepParams):
    """Parameters of :class:`Image2ResampleStep` (official ``resample`` names)."""

    skip: bool = param(True, "skip the per-exposure i2d (set false to write *_i2d.fits)")
    pixfrac: float = param(1.0, "drizzle pixfrac")
    kernel: Literal["square", "point", "turbo", "gaussian", "lanczos2", "lanczos3"] = param(
        "square", "drizzle kernel")
    weight_type: Literal["ivm-med", "ivm", "ivm-smed", "exptime"] = param(
        "ivm-med", "drizzle weights, as image3's resample (ivm-med: the exposure's median "
        "1/VAR_RNOISE; ivm: official per-pixel 1/VAR_RNOISE)")
    pixel_scale: float | None = param(None, "output pixel scale [arcsec] (default native)")
    pixel_scale_ratio: float = param(1.0, "output / native pixel scale (if no pixel_scale)")
    rotation: float | None = param(None, "y axis east of north [deg] (default: native)")
    context_plane: bool = param(True, "write the context (CON) plane")


def resample_exposure(model, params: Image2ResampleParams | None = None):
    """Drizzle one cal ``ImageModel`` (with its gwcs) onto a grid covering it.

    Parameters
    ----------
    model : webbcal.datamodels.ImageModel
        Calibrated image (MJy/sr) with ``wcs`` set (or pointing keywords).
    params : Image2ResampleParams, optional

    Returns
    -------
    webbcal.datamodels.MosaicModel
        The i2d product: SCI/ERR/WHT/VAR_*/CON on a TAN grid (SCI header WCS), the
        exposure's primary header plus the drizzle keywords, S_RESAMP = COMPLETE.
    """
    from webbcal.steps.image3._library import ExposureLibrary
    from webbcal.steps.image3.resample import ResampleStep

    p = params or Image2ResampleParams(skip=False)
    step = ResampleStep(pixfrac=p.pixfrac, kernel=p.kernel, weight_type=p.weight_type,
                        pixel_scale=p.pixel_scale, pixel_scale_ratio=p.pixel_scale_ratio,
                        rotation=p.rotation, context_plane=p.context_plane)
    # the library member shares the cal arrays: resample only reads them
    library = ExposureLibrary.from_models([_SharedModel(model)],
                                          product_name=str(model.filename or "webbcal"))
    mosaic = step.run(library).mosaic
    header = model.header.copy()
    for key in _MOSAIC_KEYS:
        if key in mosaic.header:
            header[key] = (mosaic.header[key], mosaic.header.comments[key])
    header["S_RESAMP"] = ("COMPLETE", "webbcal resample step")
    mosaic.header = header
    for key in ("PHOTMJSR", "PHOTUJA2", "RA_REF", "DEC_REF", "ROLL_REF", "V2_REF", "V3_REF",
                "VA_SCALE"):
        if key in model.sci_header and key not in mosaic.sci_header:
            mosaic.sci_header[key] = (model.sci_header[key], model.sci_header.comments[key])
    return mosaic


class _SharedModel:
    """A read-only view of a model whose ``copy()`` returns itself (no array copies)."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def copy(self):
        return self._model


class Image2ResampleStep(Step):
    """Per-exposure i2d (see module docstring); attaches ``model.i2d``."""

    name = "resample"
    status_keyword = None  # the cal file is not resampled; S_RESAMP goes into the i2d
    Params = Image2ResampleParams

    def process(self, model, refs):
        model.i2d = resample_exposure(model, self.params)
        ny, nx = model.i2d.data.shape
        log.info("resample: i2d %d x %d", nx, ny)
        return model
