"""NIRCam facts and geometry.

- `DETECTORS`, `Detector`: the ten detectors (module, channel, pixel scale, nominal gain,
  read noise, dark current, SCA id).
- `READOUT_PATTERNS`, `ReadoutPattern`, `frame_time`, `subarray`: readout timing and the
  official subarray table.
- `FILTERS`, `filter_info`: pivot wavelengths, zero points, PHOTMJSR.
- `siaf_aperture`: SIAF science ↔ ideal ↔ V2/V3 polynomials (pysiaf's shipped SIAF).
- `v2v3_to_sky`, `sky_to_v2v3`, `DetectorGeometry`: V2/V3 ↔ RA/Dec and pixels ↔ sky.
- `distortion_model`: the same distortion as an astropy model (CRDS DISTORTION layout).

Importing this package imports numpy only; astropy is imported by `distortion_model`
and numba by the large-array geometry paths, when first used.
"""

from webbcal.instrument.detectors import DETECTORS, Detector, normalize_detector
from webbcal.instrument.distortion import distortion_model
from webbcal.instrument.filters import FILTERS, FilterInfo, filter_info, pixar_sr
from webbcal.instrument.geometry import DetectorGeometry
from webbcal.instrument.readout import (READOUT_PATTERNS, ReadoutPattern, Subarray,
                                        frame_time, subarray, subarray_names)
from webbcal.instrument.siaf import SiafAperture, siaf_aperture
from webbcal.instrument.sky import attitude_matrix, sky_to_v2v3, v2v3_to_sky

__all__ = [
    "DETECTORS", "Detector", "normalize_detector",
    "READOUT_PATTERNS", "ReadoutPattern", "frame_time", "Subarray", "subarray",
    "subarray_names",
    "FILTERS", "FilterInfo", "filter_info", "pixar_sr",
    "SiafAperture", "siaf_aperture",
    "attitude_matrix", "v2v3_to_sky", "sky_to_v2v3", "DetectorGeometry",
    "distortion_model",
]
