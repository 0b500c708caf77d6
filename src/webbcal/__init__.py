"""webbcal: fast, offline-capable JWST imaging calibration.

The three stages are exposed lazily so that ``import webbcal`` stays cheap::

    from webbcal import Detector1Pipeline
    rate = Detector1Pipeline().run("jw..._uncal.fits")
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "Detector1Pipeline": "webbcal.pipelines.detector1",
    "Image2Pipeline": "webbcal.pipelines.image2",
    "Image3Pipeline": "webbcal.pipelines.image3",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'webbcal' has no attribute {name!r}")
