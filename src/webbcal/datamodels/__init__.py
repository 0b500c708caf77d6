"""JWST file formats: uncal, ramp, rate, rateints, cal, i2d and associations.

``DQ``, ``GROUP_FLAGS``, ``FormatError`` and ``atomic_write`` are imported eagerly (no
astropy); everything else is loaded on first use, so ``from webbcal.datamodels import
DQ`` stays cheap::

    from webbcal.datamodels import read, ExposureInfo, ImageModel
    model = read("jw..._rate.fits")
    model.exposure.detector, model.data.shape
"""

from importlib import import_module

from webbcal.datamodels._errors import FormatError, atomic_write
from webbcal.datamodels.dqflags import DQ, GROUP_FLAGS

_LAZY = {
    "ExposureInfo": "exposure", "Pointing": "exposure", "POINTING_KEYWORDS": "exposure",
    "RampModel": "models", "ImageModel": "models", "CubeModel": "models",
    "MosaicModel": "models",
    "read": "readers", "read_uncal": "readers", "read_image": "readers",
    "read_cube": "readers", "read_mosaic": "readers", "product_type": "readers",
    "Association": "association", "read_association": "association",
    "GROUP_DTYPE": "tables", "INT_TIMES_DTYPE": "tables", "make_group_table": "tables",
    "make_int_times_table": "tables",
}

__all__ = ["DQ", "GROUP_FLAGS", "FormatError", "atomic_write", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f"webbcal.datamodels.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'webbcal.datamodels' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
