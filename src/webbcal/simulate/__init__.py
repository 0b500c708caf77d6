"""Simulated NIRCam worlds: raw exposures, reference files, a CRDS cache, truth.

Pure building blocks (no files): :func:`simulate_ramp` (raw groups from a true rate).
The whole offline world: :func:`simulate_world`.
"""

from webbcal.simulate.ramps import RampTruth, SimulatedRamp, simulate_ramp

__all__ = ["RampTruth", "SimulatedRamp", "simulate_ramp", "simulate_world", "World",
           "PRESETS"]


def __getattr__(name):
    if name in ("simulate_world", "World", "PRESETS"):
        from webbcal.simulate import world
        return getattr(world, name)
    raise AttributeError(f"module 'webbcal.simulate' has no attribute {name!r}")
