"""Stage-2 (image2) algorithms: WCS construction and fast evaluation, SIP fitting,
flat-field division and photometric conversion. Pure functions, no I/O."""

from webbcal.algorithms.image2.flat import FlatFieldResult, apply_flat
from webbcal.algorithms.image2.photom import MJYSR_TO_UJYA2, PhotomResult, apply_photom, photuja2
from webbcal.algorithms.image2.sip import SipSolution, fit_sip
from webbcal.algorithms.image2.skymap import (SkyMap, pixel_to_sky_map, tangent_deproject,
                                              tangent_project)
from webbcal.algorithms.image2.wcs import (detector_to_v2v3_model, imaging_wcs,
                                           v2v3_to_world_model, velocity_aberration_model)

__all__ = [
    "FlatFieldResult", "apply_flat", "MJYSR_TO_UJYA2", "PhotomResult", "apply_photom",
    "photuja2", "SipSolution", "fit_sip", "SkyMap", "pixel_to_sky_map", "tangent_project",
    "tangent_deproject", "detector_to_v2v3_model", "imaging_wcs", "v2v3_to_world_model",
    "velocity_aberration_model",
]
