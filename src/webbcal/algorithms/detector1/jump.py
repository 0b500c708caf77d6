"""Jump (cosmic-ray) detection: the official two-point-difference method + snowballs.

``detect_jumps`` flags JUMP_DET in a copy of the group DQ (or in place):

1. two-point differences per pixel, all integrations together (kernels in
   :mod:`._jump_kernels`), exactly as ``stcal`` 1.20 / jwst 3.0 (group DQ identical on
   the same input): absolute differences, thresholds 4σ / 5σ (3 usable differences) /
   6σ (2), iterative unless the exposure has ``min_diffs_single_pass`` usable
   differences (groups DO_NOT_USE on every pixel do not count), then one pass;
2. the 4 neighbours of jumps between ``min_jump_to_flag_neighbors`` and
   ``max_jump_to_flag_neighbors`` σ (ratios against the plain median), not on
   SATURATED or DO_NOT_USE groups;
3. optionally groups after large jumps (``after_jump_flag_*``; off by default);
4. JUMP_DET removed where DO_NOT_USE or SATURATED is also set;
5. optionally large events / snowballs (:func:`.snowballs.flag_large_events`).

Pixels with gain <= 0 or NaN are not searched and get NO_GAIN_VALUE | DO_NOT_USE in
the pixel DQ, as the official step. Ramps with fewer than ``minimum_groups`` usable
groups are returned unchanged. Not reproduced: the official sigma-clipping mode, used
only with at least ``minimum_sigclip_groups`` (100) integrations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.datamodels.dqflags import DQ
from webbcal.errors import WebbcalError

__all__ = ["JumpResult", "JumpInputError", "detect_jumps"]

#: Up to this many differences per ramp, a sorting network screens whole rows at once.
_MAX_NETWORK_DIFFS = 32


class JumpInputError(WebbcalError, ValueError):
    """Arrays handed to jump detection do not have the expected shapes."""


@dataclass(frozen=True)
class JumpResult:
    """Output of :func:`detect_jumps`.

    Attributes
    ----------
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
        Input group DQ with JUMP_DET (and grown snowball-core SATURATED) added.
    pixeldq : ndarray, uint32 (ny, nx)
        Input pixel DQ with NO_GAIN_VALUE | DO_NOT_USE where the gain is unusable.
    n_primary : int
        Jumps found by the two-point method (before neighbour flagging).
    n_snowballs : int
        Large events flagged (0 unless ``expand_large_events``).
    """

    groupdq: np.ndarray
    pixeldq: np.ndarray
    n_primary: int
    n_snowballs: int


#: Rows per band of the jump kernels (rows with sources cost more: small bands balance).
_BAND_ROWS = 32


def _two_point_pass(data, gdq, gain, readnoise, *, nframes, single, thr,
                    flag_4_neighbors, min_jump_to_flag_neighbors,
                    max_jump_to_flag_neighbors, after, bits) -> int:
    """Two-point search and neighbour flagging on ``gdq`` in place (see
    :func:`detect_jumps`); returns the official primary-jump count."""
    from webbcal.algorithms.detector1._jump_kernels import (
        flag_neighbors_rows, sorting_network, twopoint_rows)
    from webbcal._threads import run_row_bands

    nints, ngroups, ny, nx = data.shape
    dnu, sat, jump = (int(b) for b in bits)
    dn1, n1, dn2, n2 = after
    # neighbour triggers: one bit per pixel (nx / 64 words a row), not a cube
    trig_shape = ((nints, ngroups, ny, (nx + 63) // 64) if flag_4_neighbors
                  else (1, 1, 1, 1))
    trig = np.zeros(trig_shape, np.uint64)
    rowtrig = np.zeros((nints, ngroups, ny), np.uint8)
    n_primary = np.zeros(ny, np.int64)
    ndiffs = nints * (ngroups - 1)
    pairs = (sorting_network(ndiffs) if 3 <= ndiffs <= _MAX_NETWORK_DIFFS
             else np.zeros((0, 2), np.int64))
    median_gain = 1.0
    if n1 > 0 or n2 > 0:
        with np.errstate(all="ignore"):     # official: nanmedian of the whole gain
            median_gain = float(np.nanmedian(gain))
    run_row_bands(
        twopoint_rows, ny,
        data, gdq, gain, readnoise, int(nframes), thr, bool(single), bool(flag_4_neighbors),
        float(min_jump_to_flag_neighbors), float(max_jump_to_flag_neighbors),
        float(dn1) * median_gain, int(n1), float(dn2) * median_gain, int(n2),
        dnu, sat, jump, pairs, trig, rowtrig, n_primary, band=_BAND_ROWS,
    )
    if flag_4_neighbors:
        run_row_bands(flag_neighbors_rows, ny, trig, rowtrig, gdq, dnu, sat, jump,
                      band=_BAND_ROWS)
    return int(n_primary.sum())


def detect_jumps(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    gain: np.ndarray,
    readnoise: np.ndarray,
    *,
    nframes: int,
    rejection_threshold: float = 4.0,
    three_group_rejection_threshold: float = 6.0,
    four_group_rejection_threshold: float = 5.0,
    flag_4_neighbors: bool = True,
    max_jump_to_flag_neighbors: float = 1000.0,
    min_jump_to_flag_neighbors: float = 10.0,
    after_jump_flag_dn1: float = 0.0,
    after_jump_flag_n1: int = 0,
    after_jump_flag_dn2: float = 0.0,
    after_jump_flag_n2: int = 0,
    min_diffs_single_pass: int = 10,
    minimum_groups: int = 3,
    expand_large_events: bool = False,
    min_sat_area: float = 1.0,
    min_jump_area: float = 5.0,
    expand_factor: float = 2.0,
    sat_required_snowball: bool = True,
    min_sat_radius_extend: float = 2.5,
    sat_expand: int = 2,
    edge_size: int = 25,
    max_extended_radius: int = 200,
    n_groups_masked_next_int: int = 0,
    do_not_use: int = int(DQ.DO_NOT_USE),
    saturated: int = int(DQ.SATURATED),
    jump_det: int = int(DQ.JUMP_DET),
    no_gain_value: int = int(DQ.NO_GAIN_VALUE),
    inplace: bool = False,
) -> JumpResult:
    """Find jumps in up-the-ramp data.

    Parameters
    ----------
    data : ndarray, float32 (nints, ngroups, ny, nx)
        Group values in DN (after linearity and dark).
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
    pixeldq : ndarray, uint32 (ny, nx)
    gain : ndarray (ny, nx)
        e-/DN.
    readnoise : ndarray (ny, nx)
        CDS read noise in DN (CRDS convention).
    nframes : int
        Frames averaged per group.
    rejection_threshold, three_group_rejection_threshold, four_group_rejection_threshold
        σ thresholds for ramps with >= 4, 2 and 3 usable differences.
        (Differences are counted over all integrations of a pixel, as officially.)
    flag_4_neighbors, max_jump_to_flag_neighbors, min_jump_to_flag_neighbors
        Neighbour flagging and its σ window.
    after_jump_flag_dn1, after_jump_flag_n1, after_jump_flag_dn2, after_jump_flag_n2
        Flag ``n`` groups after jumps larger than ``dn`` DN (the official step converts
        ``after_jump_flag_time*`` to groups and ``dn`` to electrons with the median gain).
    min_diffs_single_pass : int
        With at least this many differences in the exposure (``ngroups - 1`` less the
        groups that are DO_NOT_USE on every pixel), one pass without iteration, for
        every pixel (the official rule).
    minimum_groups : int
        Fewer groups: nothing is done.
    expand_large_events … n_groups_masked_next_int
        Snowball flagging, see :func:`webbcal.algorithms.detector1.snowballs.flag_large_events`.
    do_not_use, saturated, jump_det, no_gain_value : int
        DQ bit values.
    inplace : bool
        Flag ``groupdq`` itself (it must then be C-contiguous uint8) instead of a copy;
        saves one group-DQ cube of memory.

    Returns
    -------
    JumpResult
    """
    if data.ndim != 4:
        raise JumpInputError(
            f"ramp data: expected 4-D (nints, ngroups, ny, nx), found shape {data.shape}")
    nints, ngroups, ny, nx = data.shape
    if groupdq.shape != data.shape:
        raise JumpInputError(f"groupdq: expected shape {data.shape}, found {groupdq.shape}")
    for name, arr in (("pixeldq", pixeldq), ("gain", gain), ("readnoise", readnoise)):
        if arr.shape != (ny, nx):
            raise JumpInputError(f"{name}: expected shape {(ny, nx)}, found {arr.shape}")
    data = np.ascontiguousarray(data, dtype=np.float32)
    if inplace:
        if groupdq.dtype != np.uint8 or not groupdq.flags.c_contiguous:
            raise JumpInputError(f"groupdq: inplace=True needs a C-contiguous uint8 array, "
                                 f"found {groupdq.dtype} (contiguous="
                                 f"{groupdq.flags.c_contiguous})")
        gdq = groupdq
    else:
        gdq = np.array(groupdq, dtype=np.uint8, order="C", copy=True)
    gain = np.ascontiguousarray(gain, dtype=np.float32)
    readnoise = np.ascontiguousarray(readnoise, dtype=np.float32)
    pdq = np.array(pixeldq, dtype=np.uint32, copy=True)
    bad_gain = ~(gain > 0)
    pdq[bad_gain] |= np.uint32(no_gain_value | do_not_use)
    if ngroups < max(minimum_groups, 2):
        return JumpResult(gdq, pdq, 0, 0)

    # (a plane whose first pixel lacks DO_NOT_USE is settled without a pass over it)
    dnu_planes = [bool(groupdq[i, g, 0, 0] & do_not_use)
                  and bool(np.all(groupdq[i, g] & np.uint8(do_not_use)))
                  for i in range(nints) for g in range(ngroups)]
    max_flagged = max(sum(dnu_planes[i * ngroups:(i + 1) * ngroups]) for i in range(nints))
    n_primary = 0
    if ngroups - max_flagged >= minimum_groups:     # official: else no search
        n_primary = _two_point_pass(
            data, gdq, gain, readnoise, nframes=nframes,
            # official: the single pass is chosen exposure-wide, from the groups that
            # are DO_NOT_USE on every pixel, not per pixel
            single=ngroups - max_flagged - 1 >= min_diffs_single_pass,
            thr=np.array([rejection_threshold, four_group_rejection_threshold,
                          three_group_rejection_threshold], np.float64),
            flag_4_neighbors=flag_4_neighbors,
            min_jump_to_flag_neighbors=min_jump_to_flag_neighbors,
            max_jump_to_flag_neighbors=max_jump_to_flag_neighbors,
            after=(after_jump_flag_dn1, after_jump_flag_n1, after_jump_flag_dn2,
                   after_jump_flag_n2),
            bits=(do_not_use, saturated, jump_det))
    n_snow = 0
    if expand_large_events:
        from webbcal.algorithms.detector1.snowballs import flag_large_events

        _, n_snow = flag_large_events(
            gdq, min_sat_area=min_sat_area, min_jump_area=min_jump_area,
            expand_factor=expand_factor, sat_required_snowball=sat_required_snowball,
            min_sat_radius_extend=min_sat_radius_extend, sat_expand=sat_expand,
            edge_size=edge_size, max_extended_radius=max_extended_radius,
            n_groups_masked_next_int=n_groups_masked_next_int, jump_det=jump_det,
            saturated=saturated, inplace=True)
    return JumpResult(gdq, pdq, int(n_primary), int(n_snow))
