"""Exposure metadata (readout, subarray, timing, pointing) from and to MAST headers.

Keyword names and placement follow the MAST level-1b products: readout, subarray and
timing keywords in the primary header, the pointing keywords (RA_REF, DEC_REF,
ROLL_REF, V2_REF, V3_REF, V3I_YANG, VPARITY, VA_SCALE) in the SCI header. Reading is
tolerant about where the pointing keywords are (SCI first, then primary).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from webbcal.datamodels._errors import FormatError

__all__ = ["ExposureInfo", "Pointing", "POINTING_KEYWORDS"]

#: Pointing keywords (SCI header in MAST products) -> Pointing field.
POINTING_KEYWORDS = {
    "RA_REF": "ra_ref", "DEC_REF": "dec_ref", "ROLL_REF": "roll_ref",
    "V2_REF": "v2_ref", "V3_REF": "v3_ref", "V3I_YANG": "v3i_yang",
    "VPARITY": "vparity", "VA_SCALE": "va_scale",
}

_COMMENTS = {
    "TELESCOP": "Telescope used to acquire the data",
    "INSTRUME": "Instrument used to acquire the data",
    "DETECTOR": "Name of detector used to acquire the data",
    "MODULE": "NIRCam module: A, B, or MULTIPLE",
    "CHANNEL": "Instrument channel",
    "FILTER": "Name of the filter element used",
    "PUPIL": "Name of the pupil element used",
    "EXP_TYPE": "Type of data in the exposure",
    "EXPSTART": "[d] exposure start time in MJD",
    "EXPMID": "[d] exposure mid time in MJD",
    "EXPEND": "[d] exposure end time in MJD",
    "READPATT": "Readout pattern",
    "NOUTPUTS": "Number of detector outputs used",
    "NINTS": "Number of integrations in exposure",
    "NGROUPS": "Number of groups in integration",
    "NFRAMES": "Number of frames per group",
    "FRMDIVSR": "Divisor applied to frame-averaged groups",
    "GROUPGAP": "Number of frames dropped between groups",
    "DRPFRMS1": "Frames dropped prior to first integration",
    "DRPFRMS3": "Frames dropped between integrations",
    "NSAMPLES": "Number of A/D samples per pixel",
    "TSAMPLE": "[us] Time between samples",
    "TFRAME": "[s] Time between frames",
    "TGROUP": "[s] Time between groups",
    "EFFINTTM": "[s] Effective integration time",
    "EFFEXPTM": "[s] Effective exposure time",
    "DURATION": "[s] Total duration of exposure",
    "NRSTSTRT": "Number of resets at start of exposure",
    "NRESETS": "Number of resets between integrations",
    "ZEROFRAM": "Zero frame was downlinked separately",
    "SUBARRAY": "Subarray used",
    "SUBSTRT1": "Starting pixel in axis 1 direction",
    "SUBSTRT2": "Starting pixel in axis 2 direction",
    "SUBSIZE1": "Number of pixels in axis 1 direction",
    "SUBSIZE2": "Number of pixels in axis 2 direction",
    "FASTAXIS": "Fast readout axis direction",
    "SLOWAXIS": "Slow readout axis direction",
    "DATE-OBS": "[yyyy-mm-dd] UTC date at start of exposure",
    "TIME-OBS": "[hh:mm:ss.sss] UTC time at start of exposure",
    "APERNAME": "PRD science aperture used",
    "RA_REF": "[deg] Right ascension of the reference point",
    "DEC_REF": "[deg] Declination of the reference point",
    "ROLL_REF": "[deg] V3 roll angle at the ref point (N over E)",
    "V2_REF": "[arcsec] Telescope V2 coord of reference point",
    "V3_REF": "[arcsec] Telescope V3 coord of reference point",
    "V3I_YANG": "[deg] Angle from V3 axis to Ideal y axis",
    "VPARITY": "Relative sense of rotation Ideal xy vs V2V3",
    "VA_SCALE": "Velocity aberration scale factor",
}


@dataclass(frozen=True)
class Pointing:
    """Where the telescope points: the official pointing keywords.

    Attributes
    ----------
    ra_ref, dec_ref : float
        Sky position (deg, ICRS) of the aperture reference point.
    roll_ref : float
        V3 position angle at the reference point (deg, N over E).
    v2_ref, v3_ref : float
        Telescope V2/V3 of the reference point (arcsec).
    v3i_yang : float
        Angle from V3 to the ideal y axis (deg).
    vparity : int
        Relative sense of rotation between ideal xy and V2/V3 (+1 or -1).
    va_scale : float
        Velocity-aberration scale factor (1.0 = none).
    """

    ra_ref: float
    dec_ref: float
    roll_ref: float
    v2_ref: float
    v3_ref: float
    v3i_yang: float
    vparity: int
    va_scale: float = 1.0


def _get(headers, key, kind, path, *, default=dataclasses.MISSING, where="PRIMARY"):
    """One keyword, converted to ``kind``; FormatError if missing (no default) or bad."""
    for header in headers:
        if header is not None and key in header:
            value = header[key]
            if value is None or type(value).__name__ == "Undefined":
                continue  # a keyword with no value counts as missing
            break
    else:
        if default is dataclasses.MISSING:
            raise FormatError(path, f"{where} header keyword {key}",
                              f"a {kind.__name__} value", "no such keyword")
        return default
    try:
        if kind is bool:
            if isinstance(value, str):
                return value.strip().upper() in ("T", "TRUE", "1", "Y", "YES")
            return bool(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value).strip()
    except (TypeError, ValueError):
        raise FormatError(path, f"{where} header keyword {key}", f"a {kind.__name__} value",
                          repr(value)) from None


@dataclass(frozen=True)
class ExposureInfo:
    """What was observed and how it was read out (official MAST keywords).

    Strings are upper case as in the headers. Times: ``tframe``/``tgroup`` in s,
    ``expstart`` MJD (UTC, start of the first reset). Subarray starts are 1-based
    full-frame science pixels (SUBSTRT1/2); sizes are SUBSIZE1 (x) and SUBSIZE2 (y).
    """

    instrument: str
    detector: str
    module: str
    channel: str
    filter: str
    pupil: str
    exp_type: str
    readpatt: str
    nframes: int
    groupgap: int
    ngroups: int
    nints: int
    tframe: float
    tgroup: float
    subarray: str
    substrt1: int
    substrt2: int
    subsize1: int
    subsize2: int
    fastaxis: int = 1
    slowaxis: int = 2
    noutputs: int = 4
    date_obs: str = ""
    time_obs: str = ""
    expstart: float = math.nan
    zeroframe: bool = False
    pointing: Pointing | None = None
    drpfrms1: int = 0
    drpfrms3: int = 0
    apername: str = ""

    # ------------------------------------------------------------------ derived
    @property
    def shape(self) -> tuple[int, int]:
        """Image shape ``(ny, nx) = (SUBSIZE2, SUBSIZE1)``."""
        return (self.subsize2, self.subsize1)

    @property
    def raw_shape(self) -> tuple[int, int, int, int]:
        """Shape of the uncal SCI cube ``(nints, ngroups, ny, nx)``."""
        return (self.nints, self.ngroups, self.subsize2, self.subsize1)

    @property
    def frames_per_integration(self) -> int:
        """Frames read or dropped from the first to the last frame of an integration."""
        return self.ngroups * self.nframes + (self.ngroups - 1) * self.groupgap

    @property
    def effinttm(self) -> float:
        """Effective integration time (s): reset to the last frame (EFFINTTM)."""
        return self.tframe * self.frames_per_integration

    @property
    def effexptm(self) -> float:
        """Effective exposure time (s), ``nints * effinttm`` (EFFEXPTM)."""
        return self.effinttm * self.nints

    @property
    def duration(self) -> float:
        """Total exposure duration (s) without the initial reset (DURATION)."""
        between = (self.nints - 1) * (1 + self.drpfrms3)  # one reset between integrations
        return self.tframe * (self.drpfrms1 + self.nints * self.frames_per_integration + between)

    def replace(self, **changes: Any) -> "ExposureInfo":
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    # -------------------------------------------------------------- from headers
    @classmethod
    def from_headers(cls, primary: Mapping, sci: Mapping | None = None, *,
                     path=None) -> "ExposureInfo":
        """Parse the exposure keywords of a JWST product.

        Parameters
        ----------
        primary : astropy.io.fits.Header or mapping
            Primary header (readout, subarray, timing keywords).
        sci : astropy.io.fits.Header or mapping, optional
            SCI header (pointing keywords). Keywords are looked up there first and
            then in ``primary``, so either placement works.
        path : str or Path, optional
            File name used in error messages.

        Raises
        ------
        FormatError
            A required keyword (INSTRUME, DETECTOR, NFRAMES, GROUPGAP, NGROUPS, NINTS,
            TFRAME, TGROUP, SUBSIZE1/2) is missing or has the wrong type.
        """
        hp = (primary, sci)
        g = lambda key, kind, **kw: _get(hp, key, kind, path, **kw)  # noqa: E731
        detector = g("DETECTOR", str).upper()
        module = g("MODULE", str, default="")
        if not module and detector.startswith("NRC") and len(detector) > 3:
            module = detector[3]
        channel = g("CHANNEL", str, default="")
        if not channel and detector.startswith("NRC"):
            channel = "LONG" if detector.endswith(("LONG", "5")) else "SHORT"
        return cls(
            instrument=g("INSTRUME", str).upper(),
            detector=detector,
            module=module.upper(),
            channel=channel.upper(),
            filter=g("FILTER", str, default="").upper(),
            pupil=g("PUPIL", str, default="").upper(),
            exp_type=g("EXP_TYPE", str, default="").upper(),
            readpatt=g("READPATT", str, default="").upper(),
            nframes=g("NFRAMES", int),
            groupgap=g("GROUPGAP", int),
            ngroups=g("NGROUPS", int),
            nints=g("NINTS", int),
            tframe=g("TFRAME", float),
            tgroup=g("TGROUP", float),
            subarray=g("SUBARRAY", str, default="FULL").upper(),
            substrt1=g("SUBSTRT1", int, default=1),
            substrt2=g("SUBSTRT2", int, default=1),
            subsize1=g("SUBSIZE1", int),
            subsize2=g("SUBSIZE2", int),
            fastaxis=g("FASTAXIS", int, default=1),
            slowaxis=g("SLOWAXIS", int, default=2),
            noutputs=g("NOUTPUTS", int, default=4),
            date_obs=g("DATE-OBS", str, default=""),
            time_obs=g("TIME-OBS", str, default=""),
            expstart=g("EXPSTART", float, default=math.nan),
            zeroframe=g("ZEROFRAM", bool, default=False),
            pointing=_pointing_from_headers((sci, primary), path),
            drpfrms1=g("DRPFRMS1", int, default=0),
            drpfrms3=g("DRPFRMS3", int, default=0),
            apername=g("APERNAME", str, default=""),
        )

    # ---------------------------------------------------------------- to headers
    def to_headers(self):
        """The keywords of a MAST uncal for these fields.

        Returns
        -------
        primary, sci : astropy.io.fits.Header
            Primary keywords (TELESCOP, INSTRUME, …, timing, subarray) and SCI
            keywords (pointing, only when ``pointing`` is set).
        """
        from astropy.io import fits

        p: dict[str, Any] = {
            "TELESCOP": "JWST", "INSTRUME": self.instrument, "DETECTOR": self.detector,
        }
        if self.module:
            p["MODULE"] = self.module
        if self.channel:
            p["CHANNEL"] = self.channel
        if self.filter:
            p["FILTER"] = self.filter
        if self.pupil:
            p["PUPIL"] = self.pupil
        if self.date_obs:
            p["DATE-OBS"] = self.date_obs
        if self.time_obs:
            p["TIME-OBS"] = self.time_obs
        if self.exp_type:
            p["EXP_TYPE"] = self.exp_type
        if math.isfinite(self.expstart):
            end = self.expstart + (self.duration + self.tframe) / 86400.0
            p.update(EXPSTART=self.expstart, EXPMID=0.5 * (self.expstart + end), EXPEND=end)
        if self.readpatt:
            p["READPATT"] = self.readpatt
        p.update(
            NOUTPUTS=self.noutputs, NINTS=self.nints, NGROUPS=self.ngroups,
            NFRAMES=self.nframes, FRMDIVSR=self.nframes, GROUPGAP=self.groupgap,
            DRPFRMS1=self.drpfrms1, DRPFRMS3=self.drpfrms3, NSAMPLES=1, TSAMPLE=10.0,
            TFRAME=self.tframe, TGROUP=self.tgroup, EFFINTTM=round(self.effinttm, 6),
            EFFEXPTM=round(self.effexptm, 6), DURATION=round(self.duration, 6),
            NRSTSTRT=1, NRESETS=1, ZEROFRAM=bool(self.zeroframe),
            SUBARRAY=self.subarray, SUBSTRT1=self.substrt1, SUBSTRT2=self.substrt2,
            SUBSIZE1=self.subsize1, SUBSIZE2=self.subsize2,
            FASTAXIS=self.fastaxis, SLOWAXIS=self.slowaxis,
        )
        if self.apername:
            p["APERNAME"] = self.apername
        s: dict[str, Any] = {}
        if self.pointing is not None:
            for key, field in POINTING_KEYWORDS.items():
                s[key] = getattr(self.pointing, field)
        primary = fits.Header([(k, v, _COMMENTS.get(k, "")) for k, v in p.items()])
        sci = fits.Header([(k, v, _COMMENTS.get(k, "")) for k, v in s.items()])
        return primary, sci


def _pointing_from_headers(headers, path) -> Pointing | None:
    """Pointing from the first header that has RA_REF (SCI, then primary), or None."""
    if not any(h is not None and "RA_REF" in h for h in headers):
        return None
    values = {}
    for key, field in POINTING_KEYWORDS.items():
        kind = int if key == "VPARITY" else float
        default = 1.0 if key == "VA_SCALE" else dataclasses.MISSING
        values[field] = _get(headers, key, kind, path, default=default, where="SCI")
    return Pointing(**values)
