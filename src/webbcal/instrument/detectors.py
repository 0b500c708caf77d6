"""The ten NIRCam detectors (sensor chip assemblies) and their nominal properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from webbcal.errors import WebbcalError

__all__ = ["Detector", "DETECTORS", "normalize_detector", "siaf_name"]


@dataclass(frozen=True)
class Detector:
    """Nominal facts about one NIRCam detector.

    Attributes
    ----------
    name : str
        DMS name as in the DETECTOR keyword ('NRCA1' … 'NRCALONG').
    module : {'A', 'B'}
    channel : {'SHORT', 'LONG'}
        Short-wavelength (0.6–2.3 µm) or long-wavelength (2.4–5 µm) channel.
    pixel_scale_arcsec : float
        Area-equivalent pixel scale at the aperture reference point,
        ``sqrt(XSciScale * YSciScale)`` of the SIAF ``<SIAF>_FULL`` aperture (arcsec).
    gain_e_per_dn : float
        Nominal conversion gain (e⁻/DN).
    readnoise_dn : float
        Nominal correlated-double-sampling (CDS) read noise (DN), the quantity CRDS
        READNOISE references hold.
    dark_e_per_s : float
        Nominal dark current (e⁻/s).
    sca_id : int
        Sensor chip assembly number (SCA_ID keyword), 481–490.
    """

    name: str
    module: Literal["A", "B"]
    channel: Literal["SHORT", "LONG"]
    pixel_scale_arcsec: float
    gain_e_per_dn: float
    readnoise_dn: float
    dark_e_per_s: float
    sca_id: int

    @property
    def siaf_name(self) -> str:
        """SIAF detector prefix ('NRCA1' … 'NRCA5', 'NRCB5' for the long-wave ones)."""
        return siaf_name(self.name)


# Sources of the nominal values (simulator-grade, not per-pixel calibration):
# - pixel scales: SIAF PRDOPSSOC-075 as shipped by pysiaf 0.29 (NRCx_FULL XSciScale,
#   YSciScale); tests/instrument check them against the XML.
# - gains: mean NIRCam gains used by Mirage 2.5 (mirage/utils/constants.py,
#   MEAN_GAIN_VALUES: 2.05 e⁻/DN short-wave, 1.82 e⁻/DN long-wave), the values its
#   June-2021 zero points (data/NIRCam_zeropoints.list) were computed with.
# - read noise and dark current: approximate nominal values of the order the JWST User
#   Documentation ("NIRCam Detector Performance") quotes (CDS noise ~13 e⁻ short-wave,
#   ~11 e⁻ long-wave; dark current ~0.002 e⁻/s short-wave, ~0.03 e⁻/s long-wave),
#   converted to DN with the gains above. The per-detector flight table could not be
#   consulted offline, so treat these as simulator defaults; real per-pixel values come
#   from the CRDS READNOISE/DARK references.
_SW_GAIN, _LW_GAIN = 2.05, 1.82
_TABLE = (
    # name, module, channel, scale ("), gain, CDS noise (DN), dark (e-/s), SCA
    ("NRCA1", "A", "SHORT", 0.0312257, _SW_GAIN, 6.6, 0.0019, 481),
    ("NRCA2", "A", "SHORT", 0.0307777, _SW_GAIN, 6.4, 0.0019, 482),
    ("NRCA3", "A", "SHORT", 0.0313647, _SW_GAIN, 6.7, 0.0019, 483),
    ("NRCA4", "A", "SHORT", 0.0309105, _SW_GAIN, 6.5, 0.0019, 484),
    ("NRCALONG", "A", "LONG", 0.0629069, _LW_GAIN, 6.3, 0.034, 485),
    ("NRCB1", "B", "SHORT", 0.0307461, _SW_GAIN, 6.5, 0.0019, 486),
    ("NRCB2", "B", "SHORT", 0.0311963, _SW_GAIN, 6.6, 0.0019, 487),
    ("NRCB3", "B", "SHORT", 0.0308732, _SW_GAIN, 6.5, 0.0019, 488),
    ("NRCB4", "B", "SHORT", 0.0313272, _SW_GAIN, 6.6, 0.0019, 489),
    ("NRCBLONG", "B", "LONG", 0.0630014, _LW_GAIN, 6.4, 0.027, 490),
)

DETECTORS: dict[str, Detector] = {row[0]: Detector(*row) for row in _TABLE}
"""The ten NIRCam detectors keyed by DMS name ('NRCA1' … 'NRCBLONG')."""

_ALIASES = {"NRCA5": "NRCALONG", "NRCB5": "NRCBLONG", "ALONG": "NRCALONG",
            "BLONG": "NRCBLONG", "A5": "NRCALONG", "B5": "NRCBLONG"}


def normalize_detector(name: str) -> str:
    """Return the DMS detector name for any common spelling.

    Parameters
    ----------
    name : str
        'NRCA1', 'nrca1', 'A1', 'NRCA5', 'NRCALONG', 'along', …

    Returns
    -------
    str
        One of the keys of `DETECTORS`.

    Raises
    ------
    WebbcalError
        If the name is not a NIRCam detector.
    """
    key = str(name).strip().upper()
    key = _ALIASES.get(key, key)
    if key not in DETECTORS and "NRC" + key in DETECTORS:
        key = "NRC" + key
    if key not in DETECTORS:
        raise WebbcalError(
            f"detector: expected one of {', '.join(DETECTORS)} (or NRCA5/NRCB5), "
            f"found {name!r}")
    return key


def siaf_name(name: str) -> str:
    """SIAF detector prefix for a detector name ('NRCALONG' → 'NRCA5')."""
    key = normalize_detector(name)
    return {"NRCALONG": "NRCA5", "NRCBLONG": "NRCB5"}.get(key, key)
