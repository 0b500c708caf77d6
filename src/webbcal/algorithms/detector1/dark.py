"""dark_current: subtract the dark reference averaged into the exposure's groups.

Official behaviour (jwst/stcal ``dark_sub``): the DARK reference holds one frame per
read (NFRAMES=1, GROUPGAP=0). For an exposure with ``nframes`` frames per group and
``groupgap`` dropped frames between groups, group ``g`` of the dark is the mean of
frames ``g*(nframes+groupgap) … + nframes - 1``; it is subtracted from group ``g`` of
every integration. A dark that already has the exposure's NFRAMES/GROUPGAP is used
group for group. The reference DQ is ORed into the pixel DQ. NaN dark values count as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.detector1.dq_init import check_plane, check_ramp_arrays
from webbcal.errors import WebbcalError

__all__ = ["DarkResult", "dark_frame_starts", "subtract_dark"]


@dataclass(frozen=True)
class DarkResult:
    """Summary of :func:`subtract_dark`.

    Attributes
    ----------
    frames_per_group : int
        Dark frames averaged into each group.
    frames_used : int
        Dark frames (planes of the reference) needed for this exposure.
    """

    frames_per_group: int
    frames_used: int


def dark_frame_starts(ngroups: int, nframes: int, groupgap: int) -> np.ndarray:
    """Index (0-based) of the first dark frame of each group, (ngroups,) int64."""
    return np.arange(ngroups, dtype=np.int64) * (nframes + groupgap)


def subtract_dark(
    data: np.ndarray,
    pixeldq: np.ndarray,
    dark: np.ndarray,
    dark_dq: np.ndarray | None = None,
    *,
    nframes: int,
    groupgap: int,
    dark_nframes: int = 1,
    dark_groupgap: int = 0,
    dark_name: str = "DARK reference",
) -> DarkResult:
    """Subtract the group-averaged dark in place.

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx) float32
        Ramp in DN, corrected in place.
    pixeldq : ndarray, (ny, nx) uint32
        Pixel DQ, ``|= dark_dq`` (a 3-D dark DQ is ORed over its planes).
    dark : ndarray, (nframes_dark, ny, nx) float
        Dark reference SCI in DN, one plane per read (or per group, see below).
    dark_dq : ndarray, (ny, nx) or (nplanes, ny, nx) integer, optional
        Dark reference DQ.
    nframes, groupgap : int
        The exposure's NFRAMES and GROUPGAP.
    dark_nframes, dark_groupgap : int, optional
        The dark's NFRAMES/GROUPGAP: (1, 0) for frame darks (averaged here); equal to
        the exposure's for darks already in its groups (used as is).
    dark_name : str, optional
        Name for error messages (file name).

    Returns
    -------
    DarkResult

    Raises
    ------
    WebbcalError
        When the dark has too few frames for the exposure or an incompatible readout.
    """
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    check_ramp_arrays(data, None, pixeldq)
    nints, ngroups, ny, nx = data.shape
    if dark.ndim != 3:
        raise WebbcalError(f"{dark_name}: SCI: expected a 3-D (nframes, ny, nx) array, "
                           f"found shape {dark.shape}")
    check_plane(f"{dark_name} SCI plane", dark[0], (ny, nx))
    if (dark_nframes, dark_groupgap) == (nframes, groupgap):
        per_group, gap = 1, 0  # already in the exposure's groups
    elif (dark_nframes, dark_groupgap) == (1, 0):
        per_group, gap = int(nframes), int(groupgap)
    else:
        raise WebbcalError(
            f"{dark_name}: readout: expected NFRAMES=1/GROUPGAP=0 or the exposure's "
            f"NFRAMES={nframes}/GROUPGAP={groupgap}, found NFRAMES={dark_nframes}/"
            f"GROUPGAP={dark_groupgap}")
    starts = dark_frame_starts(ngroups, per_group, gap)
    needed = int(starts[-1] + per_group) if ngroups else 0
    if needed > dark.shape[0]:
        raise WebbcalError(
            f"{dark_name}: SCI: expected at least {needed} frames for {ngroups} groups "
            f"of NFRAMES={nframes}, GROUPGAP={groupgap}, found {dark.shape[0]}")
    if dark_dq is not None:
        dq = np.asarray(dark_dq)
        if dq.ndim == 3:
            dq = np.bitwise_or.reduce(dq, axis=0)
        check_plane(f"{dark_name} DQ", dq, (ny, nx))
        pixeldq |= dq.astype(np.uint32, copy=False)
    dark = np.ascontiguousarray(dark, dtype=np.float32)
    run_row_bands(k.subtract_averaged_dark, nints * ny, data, dark, starts, int(per_group))
    return DarkResult(frames_per_group=per_group, frames_used=needed)
