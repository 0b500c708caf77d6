"""Stage-1 (detector1) algorithms on ramp cubes.

The per-pixel corrections, in pipeline order (each importable on its own; names are
resolved lazily so that ``import webbcal.algorithms.detector1`` does not load numba):

- :func:`~.dq_init.initialize_dq`, :func:`~.dq_init.raw_to_float32`
- :func:`~.saturation.flag_saturation`
- :func:`~.superbias.subtract_superbias`
- :func:`~.refpix.correct_reference_pixels`, :func:`~.refpix.nircam_refpix_layout`
- :func:`~.linearity.correct_linearity`
- :func:`~.dark.subtract_dark`, :func:`~.dark.dark_frame_starts`
- :func:`~.gain_scale.apply_gain_scale`
- :func:`~.one_over_f.remove_row_stripes` (optional 1/f stripe removal, off by default)

Conventions: ramp data float32 (nints, ngroups, ny, nx) modified **in place**;
groupdq uint8 of the same shape; pixeldq uint32 (ny, nx), modified in place; DQ bits
from :class:`webbcal.datamodels.dqflags.DQ`.
"""

from importlib import import_module

_LAZY = {
    "initialize_dq": "dq_init",
    "raw_to_float32": "dq_init",
    "DqInitResult": "dq_init",
    "flag_saturation": "saturation",
    "SaturationResult": "saturation",
    "read_pattern_frames": "saturation",
    "subtract_superbias": "superbias",
    "SuperbiasResult": "superbias",
    "correct_reference_pixels": "refpix",
    "nircam_refpix_layout": "refpix",
    "RefpixLayout": "refpix",
    "RefpixResult": "refpix",
    "correct_linearity": "linearity",
    "LinearityResult": "linearity",
    "subtract_dark": "dark",
    "dark_frame_starts": "dark",
    "DarkResult": "dark",
    "apply_gain_scale": "gain_scale",
    "GainScaleResult": "gain_scale",
    "remove_row_stripes": "one_over_f",
    "OneOverFResult": "one_over_f",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
