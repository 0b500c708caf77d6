"""NIRCam filter pivot wavelengths, zero points and the DN/s → MJy/sr factor.

Source: ``data/NIRCam_zeropoints.list`` (Mirage 2.5 ``config/``, pre-flight model
throughputs and the June-2021 gains), one row per (filter, pupil, detector): VEGAMAG,
ABMAG, STMAG zero points (magnitude of a source giving 1 DN/s), PHOTFLAM
(erg s⁻¹ cm⁻² Å⁻¹ per DN/s), PHOTFNU (erg s⁻¹ cm⁻² Hz⁻¹ per DN/s) and the pivot
wavelength (µm).

Surface-brightness factor (what CRDS PHOTOM files call PHOTMJSR)::

    photmjsr [MJy/sr per DN/s] = PHOTFNU * 1e23 [Jy/cgs] * 1e-6 [MJy/Jy] / pixar_sr

with ``pixar_sr`` the nominal pixel solid angle at the detector reference point,
``XSciScale * YSciScale`` arcsec² from the SIAF (``Detector.pixel_scale_arcsec**2``)
converted to steradians. A point source of flux F (µJy) gives ``F / photujy`` DN/s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

from webbcal.errors import WebbcalError
from webbcal.instrument.detectors import DETECTORS, normalize_detector

__all__ = ["FilterInfo", "FILTERS", "filter_info", "ARCSEC2_TO_SR"]

ARCSEC2_TO_SR = (np.pi / 180.0 / 3600.0) ** 2
"""Steradians per square arcsecond."""


@dataclass(frozen=True)
class FilterInfo:
    """Photometric facts for one filter/pupil on one detector (or averaged).

    Attributes
    ----------
    pivot_um : float
        Pivot wavelength (µm).
    photmjsr : float
        MJy/sr per DN/s (uniform surface brightness giving 1 DN/s per pixel).
    abmag_zp : float
        AB magnitude of a source giving 1 DN/s in total.
    photfnu : float
        erg s⁻¹ cm⁻² Hz⁻¹ per DN/s.
    photflam : float
        erg s⁻¹ cm⁻² Å⁻¹ per DN/s.
    vegamag_zp, stmag_zp : float
        Vega and ST magnitudes of a source giving 1 DN/s.
    pixar_sr : float
        Nominal pixel solid angle (sr) used for `photmjsr`.
    filter, pupil : str
    detector : str or None
        DMS detector name, or None when averaged over the detectors of the channel.
    """

    pivot_um: float
    photmjsr: float
    abmag_zp: float
    photfnu: float
    photflam: float
    vegamag_zp: float
    stmag_zp: float
    pixar_sr: float
    filter: str
    pupil: str
    detector: str | None

    @property
    def photujy(self) -> float:
        """µJy per DN/s for a point source (PHOTFNU × 1e29)."""
        return self.photfnu * 1e29


def pixar_sr(detector: str) -> float:
    """Nominal pixel solid angle of a detector (sr)."""
    return DETECTORS[normalize_detector(detector)].pixel_scale_arcsec ** 2 * ARCSEC2_TO_SR


@functools.cache
def _rows() -> dict[tuple[str, str, str], tuple[float, ...]]:
    """(filter, pupil, detector) → (vega, ab, st, photflam, photfnu, pivot)."""
    path = resources.files("webbcal.instrument") / "data" / "NIRCam_zeropoints.list"
    rows = {}
    lines = path.read_text().splitlines()
    header = lines[0].split()
    if header[:4] != ["Filter", "Pupil", "Module", "Detector"]:
        raise WebbcalError(f"{path}: header expected 'Filter Pupil Module Detector …', "
                           f"found {lines[0]!r}")
    for line in lines[1:]:
        parts = line.split()
        if len(parts) != 10:
            continue
        det = normalize_detector(parts[3])
        rows[(parts[0].upper(), parts[1].upper(), det)] = tuple(map(float, parts[4:]))
    return rows


def _info(filt: str, pupil: str, detector: str | None) -> FilterInfo:
    rows = _rows()
    if detector is not None:
        dets = [normalize_detector(detector)]
    else:
        dets = [d for d in DETECTORS if (filt, pupil, d) in rows]
    found = [rows[(filt, pupil, d)] for d in dets if (filt, pupil, d) in rows]
    if not found:
        combos = sorted({f"{f}/{p}" for f, p, d in rows if detector is None or d == dets[0]})
        raise WebbcalError(
            f"NIRCam_zeropoints.list: filter/pupil expected one of {', '.join(combos)}"
            + (f" for {dets[0]}" if detector is not None else "")
            + f", found {filt}/{pupil}")
    vals = np.array(found)
    vega, ab, st, flam, fnu, pivot = vals.mean(axis=0)
    area = float(np.mean([pixar_sr(d) for d in dets if (filt, pupil, d) in rows]))
    if len(found) > 1:  # average the fluxes, then the magnitudes follow
        ab = -2.5 * np.log10(fnu) - 48.6
    return FilterInfo(pivot_um=float(pivot), photmjsr=float(fnu * 1e17 / area),
                      abmag_zp=float(ab), photfnu=float(fnu), photflam=float(flam),
                      vegamag_zp=float(vega), stmag_zp=float(st), pixar_sr=area,
                      filter=filt, pupil=pupil, detector=dets[0] if detector else None)


def filter_info(filter: str, pupil: str = "CLEAR", detector: str | None = None
                ) -> FilterInfo:
    """Pivot wavelength, zero points and PHOTMJSR of a filter/pupil combination.

    Parameters
    ----------
    filter : str
        FILTER keyword, e.g. 'F200W', 'F444W', 'F150W2'.
    pupil : str
        PUPIL keyword: 'CLEAR' (default), or a pupil-wheel filter ('F162M', 'F405N', …)
        or 'WLP8'.
    detector : str, optional
        Detector name; default: the mean over the detectors that have this combination.

    Returns
    -------
    FilterInfo

    Raises
    ------
    WebbcalError
        Combination not in the table (the message lists the ones that are).
    """
    return _info(str(filter).strip().upper(), str(pupil or "CLEAR").strip().upper(),
                 detector)


class _Filters(dict):
    """dict keyed by (filter, pupil); a bare filter name means pupil CLEAR."""

    @staticmethod
    def _key(key):
        return (key.upper(), "CLEAR") if isinstance(key, str) else key

    def __getitem__(self, key):
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key):
        return dict.__contains__(self, self._key(key))

    def get(self, key, default=None):
        return dict.get(self, self._key(key), default)


FILTERS: dict[tuple[str, str], FilterInfo] = _Filters(
    ((filt, pup), _info(filt, pup, None)) for filt, pup in sorted({(f, p) for f, p, _ in _rows()}))
"""All (filter, pupil) combinations of the shipped table → detector-averaged
`FilterInfo`; ``FILTERS['F200W']`` is shorthand for ``FILTERS['F200W', 'CLEAR']``."""
