"""Stage 2: count-rate images (``*_rate.fits``) to calibrated images (``*_cal.fits``).

NIRCam imaging steps in the official order: assign_wcs, flat_field, photom, resample.
The result is an ``ImageModel`` in MJy/sr with VAR_FLAT and AREA, a gwcs in its ASDF
extension and a TAN-SIP approximation in the SCI header. ``resample`` (skipped unless
asked for, unlike the official pipeline) also writes the per-exposure ``*_i2d.fits``
through the stage-3 resampler.

Examples
--------
>>> from webbcal import Image2Pipeline                           # doctest: +SKIP
>>> cal = Image2Pipeline(references={"flat": "my_flat.fits"}).run(
...     "jw01345001001_02201_00001_nrca1_rate.fits")
>>> Image2Pipeline(steps={"resample": {"skip": False}}).run(     # doctest: +SKIP
...     "jw01345001001_02201_00001_nrca1_rate.fits")             # cal + i2d
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from webbcal.datamodels import FormatError
from webbcal.pipelines.base import Pipeline
from webbcal.steps.image2 import AssignWcsStep, FlatFieldStep, Image2ResampleStep, PhotomStep
from webbcal.steps.image2.assign_wcs import require_pointing

__all__ = ["Image2Pipeline", "IMAGE2_STEPS"]

IMAGE2_STEPS = ("assign_wcs", "flat_field", "photom", "resample")


class Image2Pipeline(Pipeline):
    """Stage-2 calibration of one NIRCam image (see module docstring).

    Takes the parameters of :class:`webbcal.pipelines.base.Pipeline`.
    """

    name = "image2"
    step_list = (("assign_wcs", AssignWcsStep), ("flat_field", FlatFieldStep),
                 ("photom", PhotomStep), ("resample", Image2ResampleStep))
    output_suffix = "cal"

    def products(self, result: Any) -> list[tuple[str, Any]]:
        """The cal image, plus the per-exposure i2d when ``resample`` ran."""
        out = [("cal", result)]
        i2d = getattr(result, "i2d", None)
        if i2d is not None:
            out.append(("i2d", i2d))
        return out

    def load_input(self, path: Path) -> Any:
        """Read a rate image (``ImageModel``)."""
        from webbcal.datamodels import read_image

        return read_image(path)

    def validate_input(self, model: Any, path: Path | None) -> None:
        """A 2-D rate image in DN/s with the pointing keywords (unless assign_wcs is skipped)."""
        name = path or getattr(model, "filename", None)
        if np.ndim(model.data) != 2:
            raise FormatError(name, "SCI", "a 2-D rate image", f"shape {np.shape(model.data)}")
        if not self.steps["assign_wcs"].params.skip:
            require_pointing(model)
