"""saturation: flag saturated groups (and the A/D floor) in the group DQ.

Official behaviour (stcal ``flag_saturated_pixels``, jwst ``saturation``):

1. Thresholds: pixels whose saturation level is NaN get NO_SAT_CHECK; NO_SAT_CHECK
   pixels get a threshold of ``atod_limit + 1`` = 65536 DN, so they are never flagged.
   The reference DQ is ORed into the pixel DQ.
2. A group at or above the threshold is SATURATED, and so is every later group of the
   integration; groups ``<= 0`` DN get AD_FLOOR | DO_NOT_USE (that group only).
3. SATURATED grows to the ``(2 n_pix_grow_sat + 1)²`` box around each saturated pixel,
   from the group in which the centre saturated onwards.
4. With a read pattern (``use_readpatt``, frame-averaged groups), a group just before
   the first saturated one that exceeds ``threshold * mean(frames)/last frame`` probably
   saturated part-way through: DO_NOT_USE, grown like saturation; and group 2 (index 1)
   gets DO_NOT_USE when a bright event saturated it mid-group (official third pass).
5. A ZEROFRAME, when given, is set to 0 where saturated (grown) or at the A/D floor.

All of it runs in place in a few row-parallel passes per integration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.detector1.dq_init import check_plane, check_ramp_arrays

__all__ = ["SaturationResult", "flag_saturation", "read_pattern_frames", "ATOD_LIMIT"]

#: Hard DN limit of the 16-bit A-to-D converter.
ATOD_LIMIT = 65535.0


@dataclass(frozen=True)
class SaturationResult:
    """Summary of :func:`flag_saturation` (the arrays themselves are updated in place).

    Attributes
    ----------
    n_saturated : int
        Pixels with SATURATED in at least one group of one integration.
    n_ad_floor : int
        Pixels with AD_FLOOR in at least one group.
    n_no_sat_check : int
        Pixels carrying NO_SAT_CHECK after the step.
    """

    n_saturated: int
    n_ad_floor: int
    n_no_sat_check: int


def read_pattern_frames(ngroups: int, nframes: int, groupgap: int) -> list[list[int]]:
    """The 1-based frame numbers averaged into each group (the official read pattern).

    Group ``g`` (0-based) holds frames ``g*(nframes+groupgap) + 1 … + nframes``.
    """
    step = nframes + groupgap
    return [[g * step + f + 1 for f in range(nframes)] for g in range(ngroups)]


def flag_saturation(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    sat_thresh: np.ndarray,
    sat_dq: np.ndarray,
    *,
    saturated: int,
    do_not_use: int,
    ad_floor: int,
    no_sat_check: int,
    n_pix_grow_sat: int = 1,
    read_pattern: list[list[int]] | None = None,
    zeroframe: np.ndarray | None = None,
    atod_limit: float = ATOD_LIMIT,
) -> SaturationResult:
    """Flag saturation and the A/D floor in ``groupdq`` (in place).

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx) float32
        Ramp in DN (not modified).
    groupdq : ndarray, (nints, ngroups, ny, nx) uint8
        Group DQ, updated in place.
    pixeldq : ndarray, (ny, nx) uint32
        Pixel DQ, updated in place (``|= sat_dq``, plus NO_SAT_CHECK for NaN levels).
    sat_thresh : ndarray, (ny, nx) float
        Saturation level in DN (SATURATION reference ``SCI``), subarray already cut.
    sat_dq : ndarray, (ny, nx) integer
        SATURATION reference ``DQ``.
    saturated, do_not_use, ad_floor, no_sat_check : int
        DQ bit values (``int(DQ.SATURATED)`` …).
    n_pix_grow_sat : int, optional
        Box half-size for growing saturation to neighbours (official default 1).
    read_pattern : list of list of int, optional
        Frame numbers per group (:func:`read_pattern_frames`); enables the mid-group
        saturation passes (official ``use_readpatt=True``). ``None`` disables them.
    zeroframe : ndarray, (nints, ny, nx) float32, optional
        ZEROFRAME, zeroed in place where saturated or at the A/D floor.
    atod_limit : float, optional
        A/D converter limit, 65535 DN.

    Returns
    -------
    SaturationResult
    """
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    check_ramp_arrays(data, groupdq, pixeldq)
    nints, ngroups, ny, nx = data.shape
    check_plane("SATURATION SCI", sat_thresh, (ny, nx))
    check_plane("SATURATION DQ", sat_dq, (ny, nx))
    if n_pix_grow_sat < 0:
        raise ValueError(f"n_pix_grow_sat must be >= 0, found {n_pix_grow_sat}")
    thr = np.empty((ny, nx), dtype=np.float32)
    nosat = np.empty((ny, nx), dtype=np.uint8)
    run_row_bands(k.sat_thresholds, ny, np.ascontiguousarray(sat_thresh, dtype=np.float32),
                  np.ascontiguousarray(sat_dq, dtype=np.uint32), pixeldq, thr, nosat,
                  int(no_sat_check), float(atod_limit))

    first = np.empty((ny, nx), dtype=np.int32)
    gfirst = np.empty((ny, nx), dtype=np.int32)
    cand = np.empty((ny, nx), dtype=np.int32)
    rowany = np.empty(ny, dtype=np.bool_)
    adfloor = np.zeros((ny, nx), dtype=np.uint8)
    satany = np.zeros((ny, nx), dtype=np.uint8)
    if read_pattern is not None:
        if len(read_pattern) < ngroups:
            raise ValueError(f"read_pattern has {len(read_pattern)} groups, data has {ngroups}")
        dilution = np.array([np.mean(r) / r[-1] for r in read_pattern[:ngroups]])
        do_second = ngroups > 2
        scale0 = read_pattern[2][-1] / np.mean(read_pattern[0]) if do_second else 1.0
        inv_n1 = 1.0 / len(read_pattern[1]) if ngroups > 1 else 1.0
    for i in range(nints):
        gdq_i = groupdq[i]
        run_row_bands(k.sat_first_group, ny, data[i], gdq_i, thr, first, adfloor,
                      int(ad_floor | do_not_use))
        run_row_bands(k.sat_grow_flag, ny, first, gfirst, gdq_i, satany, int(n_pix_grow_sat),
                      int(saturated))
        if read_pattern is None or ngroups < 2:
            continue
        run_row_bands(k.sat_read_pattern_passes, ny, data[i], gdq_i, thr, gfirst, dilution,
                      nosat, cand, rowany, float(scale0), float(inv_n1), bool(do_second),
                      int(saturated), int(do_not_use))
        # called even without candidates (it then only reads ``rowany``), so that the
        # small warm-up exposure compiles it too
        run_row_bands(k.sat_grow_candidates, ny, cand, rowany, gdq_i, int(n_pix_grow_sat),
                      int(do_not_use))
    if zeroframe is not None:
        check_plane("ZEROFRAME", zeroframe, (nints, ny, nx))
        for i in range(nints):
            bad = np.empty((ny, nx), dtype=np.uint8)
            run_row_bands(k.sat_zeroframe_bad, ny, zeroframe[i], thr, bad)
            run_row_bands(k.sat_zeroframe_zero, ny, zeroframe[i], bad, int(n_pix_grow_sat))

    return SaturationResult(
        n_saturated=int(np.count_nonzero(satany)),
        n_ad_floor=int(np.count_nonzero(adfloor)),
        n_no_sat_check=int(np.count_nonzero(nosat)),
    )
