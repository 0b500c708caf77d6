"""Simulated NIRCam worlds: raw exposures, reference files, a CRDS cache, truth.

Pure building blocks (arrays in, typed results out; no files):

- :func:`simulate_ramp` — raw uint16 groups from a true rate (photon noise, frame
  averaging, dropped frames, superbias, amplifier offsets, bias drift, 1/f noise,
  reference border, dark, nonlinearity, saturation, cosmic rays, snowballs) + truth.
- :func:`make_detector` — one detector's per-pixel truth; :func:`make_references` —
  the reference objects (official CRDS layouts) describing it.
- :func:`psf_model` — PSF of a 6.5 m segmented aperture; :func:`make_scene`,
  :func:`render_rate` — stars, Sérsic galaxies and sky through the real geometry.

The whole offline world: :func:`simulate_world` (presets in :data:`PRESETS`) → :class:`World`.
"""

from importlib import import_module

from webbcal.simulate.ramps import RampTruth, SimulatedRamp, simulate_ramp

_LAZY = {"simulate_world": "world", "World": "world", "PRESETS": "world", "Preset": "world",
         "make_detector": "detector", "make_references": "detector", "SimDetector": "detector",
         "psf_model": "psf", "PSF": "psf", "make_scene": "scene", "render_rate": "scene",
         "Scene": "scene"}

__all__ = ["RampTruth", "SimulatedRamp", "simulate_ramp", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"webbcal.simulate.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'webbcal.simulate' has no attribute {name!r}")
