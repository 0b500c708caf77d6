"""NIRCam readout patterns, frame times and the official subarray table."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources

from webbcal.errors import WebbcalError
from webbcal.instrument.detectors import siaf_name

__all__ = ["ReadoutPattern", "READOUT_PATTERNS", "frame_time", "Subarray", "subarray",
           "subarray_names"]


@dataclass(frozen=True)
class ReadoutPattern:
    """A NIRCam MULTIACCUM readout pattern.

    Attributes
    ----------
    name : str
        READPATT value ('RAPID' … 'DEEP8').
    nframes : int
        Frames averaged on board into one group (NFRAMES).
    groupgap : int
        Frames dropped between groups (GROUPGAP).
    max_groups : int
        Largest NGROUPS allowed for full-frame imaging.
    """

    name: str
    nframes: int
    groupgap: int
    max_groups: int

    def group_time(self, tframe: float) -> float:
        """Time between the starts of consecutive groups, TGROUP (s)."""
        return (self.nframes + self.groupgap) * tframe


# From data/nircam_read_pattern_definitions.list (Mirage 2.5, matching the JWST User
# Documentation "NIRCam Detector Readout Patterns"); a test checks they agree.
READOUT_PATTERNS: dict[str, ReadoutPattern] = {
    p.name: p for p in (
        ReadoutPattern("RAPID", 1, 0, 108),
        ReadoutPattern("BRIGHT1", 1, 1, 10),
        ReadoutPattern("BRIGHT2", 2, 0, 10),
        ReadoutPattern("SHALLOW2", 2, 3, 10),
        ReadoutPattern("SHALLOW4", 4, 1, 10),
        ReadoutPattern("MEDIUM2", 2, 8, 10),
        ReadoutPattern("MEDIUM8", 8, 2, 10),
        ReadoutPattern("DEEP2", 2, 18, 20),
        ReadoutPattern("DEEP8", 8, 12, 20),
    )
}
"""The nine NIRCam readout patterns keyed by READPATT."""

_PIXEL_TIME_S = 10e-6  # 10 µs per pixel per output
_ROW_OVERHEAD = 12     # extra pixel clocks at the end of every row


def frame_time(nrows: int, ncols: int, namps: int = 4) -> float:
    """Frame time of a NIRCam full frame or subarray (TFRAME).

    Each output reads ``ncols / namps`` pixels per row plus 12 overhead clocks at 10 µs
    per pixel; a frame has ``nrows`` rows plus 1 extra row (4 outputs) or 2 extra rows
    (1 output; 3 for subarrays at most 10 columns wide), and 4-output frames one extra
    pixel clock. This reproduces every FrameReadTime of the official subarray table
    (full frame, 4 outputs: 10.73677 s).

    Parameters
    ----------
    nrows, ncols : int
        Subarray size in pixels (rows = SUBSIZE2, columns = SUBSIZE1).
    namps : {1, 4}
        Number of outputs (NOUTPUTS).

    Returns
    -------
    float
        Frame time in seconds, rounded to 10 ns as in the official table.
    """
    if namps not in (1, 4):
        raise WebbcalError(f"frame_time: namps expected 1 or 4, found {namps!r}")
    if nrows <= 0 or ncols <= 0 or ncols % namps:
        raise WebbcalError(
            f"frame_time: expected positive nrows, ncols with ncols divisible by namps, "
            f"found nrows={nrows}, ncols={ncols}, namps={namps}")
    if namps == 4:
        extra_rows, extra_pixels = 1, 1
    else:
        extra_rows, extra_pixels = (3 if ncols <= 10 else 2), 0
    clocks = (ncols // namps + _ROW_OVERHEAD) * (nrows + extra_rows) + extra_pixels
    return round(clocks * _PIXEL_TIME_S, 8)


@dataclass(frozen=True)
class Subarray:
    """One detector's placement of a named subarray (official NIRCam table).

    Attributes
    ----------
    name : str
        SUBARRAY value ('FULL', 'SUB160', …).
    xstart, ystart : int
        1-based full-frame science-frame corner (SUBSTRT1, SUBSTRT2).
    xsize, ysize : int
        Size in pixels (SUBSIZE1 = columns, SUBSIZE2 = rows).
    namps : int
        Number of outputs (NOUTPUTS); 4 where the table offers it.
    """

    name: str
    xstart: int
    ystart: int
    xsize: int
    ysize: int
    namps: int

    @property
    def frame_time(self) -> float:
        """TFRAME of this subarray (s)."""
        return frame_time(self.ysize, self.xsize, self.namps)

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices that cut this subarray from a full-frame array."""
        return (slice(self.ystart - 1, self.ystart - 1 + self.ysize),
                slice(self.xstart - 1, self.xstart - 1 + self.xsize))


@functools.cache
def _subarray_table() -> dict[str, dict]:
    """Parse the shipped ``NIRCam_Subarrays.xml`` into plain dictionaries."""
    path = resources.files("webbcal.instrument") / "data" / "NIRCam_Subarrays.xml"
    root = ET.fromstring(path.read_bytes())
    table = {}
    for entry in root.iter("Subarray"):
        name = entry.findtext("SubarrayName").strip().upper()
        outputs = sorted({int(f.findtext("NumOutputs")) for f in entry.iter("FrameTime")})
        corners = [(c.findtext("NRCMode"), "NRC" + c.findtext("NRCDetector").strip(),
                    int(c.findtext("NRCSciColumnCorner")), int(c.findtext("NRCSciRowCorner")))
                   for c in entry.iter("NIRCamCorners")]
        table[name] = {
            "xsize": int(entry.findtext("SciColumns") or entry.findtext("Columns")),
            "ysize": int(entry.findtext("SciRows") or entry.findtext("Rows")),
            "outputs": outputs,
            "corners": corners,
            "frame_times": {int(f.findtext("NumOutputs")): float(f.findtext("FrameReadTime"))
                            for f in entry.iter("FrameTime")},
        }
    return table


def subarray_names() -> tuple[str, ...]:
    """Names of all subarrays in the official table."""
    return tuple(_subarray_table())


def subarray(name: str, detector: str, *, mode: str | None = None,
             namps: int | None = None) -> Subarray:
    """Look up a subarray for a detector in the official NIRCam subarray table.

    Parameters
    ----------
    name : str
        SUBARRAY keyword value, e.g. 'FULL', 'SUB160', 'SUBGRISM256'.
    detector : str
        Detector name ('NRCA1', 'NRCBLONG', 'NRCB5', …).
    mode : str, optional
        NRCMode of the table ('ExtdSrc', 'PointSrc', 'TimeSeries', …) when a detector
        has several placements; default the first listed.
    namps : {1, 4}, optional
        Number of outputs; default 4 where the table lists it, else 1.

    Returns
    -------
    Subarray

    Raises
    ------
    WebbcalError
        Unknown subarray, detector not covered by it, or unavailable `namps`/`mode`.
    """
    table = _subarray_table()
    key = str(name).strip().upper()
    if key not in table:
        raise WebbcalError(f"NIRCam_Subarrays.xml: SubarrayName expected one of "
                           f"{', '.join(table)}, found {name!r}")
    entry = table[key]
    det = siaf_name(detector)
    rows = [c for c in entry["corners"] if c[1] == det and (mode is None or c[0] == mode)]
    if not rows:
        raise WebbcalError(
            f"NIRCam_Subarrays.xml: subarray {key} has no corner for detector {det}"
            + (f" in mode {mode}" if mode else "")
            + f"; it covers {sorted({c[1] for c in entry['corners']})}")
    outputs = entry["outputs"] or [1]
    if namps is None:
        namps = 4 if 4 in outputs else outputs[0]
    elif namps not in outputs:
        raise WebbcalError(f"NIRCam_Subarrays.xml: subarray {key} NumOutputs expected one "
                           f"of {outputs}, found {namps}")
    _, _, xstart, ystart = rows[0]
    return Subarray(key, xstart, ystart, entry["xsize"], entry["ysize"], namps)
