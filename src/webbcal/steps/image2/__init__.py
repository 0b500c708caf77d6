"""Stage-2 (image2) steps: assign_wcs, flat_field, photom, resample (per-exposure i2d)."""

from webbcal.steps.image2.assign_wcs import AssignWcsStep
from webbcal.steps.image2.flat_field import FlatFieldStep
from webbcal.steps.image2.photom import PhotomStep
from webbcal.steps.image2.resample import Image2ResampleStep

__all__ = ["AssignWcsStep", "FlatFieldStep", "PhotomStep", "Image2ResampleStep"]
