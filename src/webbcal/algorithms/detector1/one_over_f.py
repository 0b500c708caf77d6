"""one_over_f: optional row-stripe (1/f noise) removal from group differences.

Stronger than the reference-pixel side correction and off by default in the pipeline.
Following what survey teams do on NIRCam imaging, per integration:

1. mask sources: pixels whose mean group difference is above ``median + nsigma *
   sigma`` of their amplifier (robust statistics), plus flagged pixels, grown by 1;
2. for every group difference ``data[g] - data[g-1]`` take the median of the unmasked
   pixels of each row of each amplifier, and remove from it the median over rows of
   the same amplifier and group (so the sky level and the amplifier offsets stay);
3. subtract the cumulative sum of those row offsets from the groups (group 0 is the
   zero point and is left alone), which removes the stripes from every difference.

Rows with fewer than ``min_pixels`` unmasked pixels get no correction. Works in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.detector1.dq_init import check_ramp_arrays

__all__ = ["OneOverFResult", "remove_row_stripes"]


@dataclass(frozen=True)
class OneOverFResult:
    """Outcome of :func:`remove_row_stripes`.

    Attributes
    ----------
    offsets : ndarray, (nints, ngroups, ny, namps) float32
        Row offsets removed from each group difference (0 for group 0).
    masked_fraction : float
        Fraction of pixels masked as sources or bad, averaged over integrations.
    """

    offsets: np.ndarray
    masked_fraction: float


def remove_row_stripes(
    data: np.ndarray,
    pixeldq: np.ndarray,
    amp_edges: tuple[int, ...],
    *,
    bad_bits: int,
    nsigma: float = 3.0,
    min_pixels: int = 20,
) -> OneOverFResult:
    """Remove per-amplifier row stripes from every group difference, in place.

    Parameters
    ----------
    data : ndarray, (nints, ngroups, ny, nx) float32
        Ramp in DN after refpix/linearity, corrected in place.
    pixeldq : ndarray, (ny, nx) uint32
        Pixels with any of ``bad_bits`` (e.g. DO_NOT_USE | REFERENCE_PIXEL) are not used.
    amp_edges : tuple of int
        Column boundaries of the amplifiers, ``(0, …, nx)``
        (``RefpixLayout.amp_edges``).
    bad_bits : int
        DQ bits that exclude a pixel from the statistics.
    nsigma : float, optional
        Source-mask threshold in robust sigma of the mean group difference.
    min_pixels : int, optional
        Fewest unmasked pixels in a row segment for it to be corrected.

    Returns
    -------
    OneOverFResult
    """
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _one_over_f_kernels as k

    check_ramp_arrays(data, None, pixeldq)
    nints, ngroups, ny, nx = data.shape
    edges = np.asarray(amp_edges, dtype=np.int64)
    if edges[0] != 0 or edges[-1] != nx or np.any(np.diff(edges) <= 0):
        raise ValueError(f"amp_edges must increase from 0 to nx={nx}, found {amp_edges}")
    namps = len(edges) - 1
    offsets = np.zeros((nints, ngroups, ny, namps), dtype=np.float32)
    mask = np.empty((ny, nx), dtype=np.uint8)
    raw = np.empty((ny, nx), dtype=np.uint8)
    masked = 0.0
    if ngroups < 2:
        return OneOverFResult(offsets, 0.0)
    bad = np.uint32(bad_bits)
    for i in range(nints):
        # 1. source mask: per-amplifier statistics, threshold, grown by one pixel
        amp_level, amp_sig = np.empty(namps), np.empty(namps)
        run_row_bands(k.amp_statistics, namps, data[i], pixeldq, edges, bad, amp_level,
                      amp_sig, band=1)
        run_row_bands(k.mask_rows, ny, data[i], pixeldq, edges, float(nsigma), bad,
                      amp_level, amp_sig, raw)
        run_row_bands(k.grow_rows, ny, raw, mask)
        masked += float(mask.mean())
        # 2. row offsets of every group difference, minus their median over rows
        off = offsets[i]
        run_row_bands(k.stripe_offset_rows, ngroups * ny, data[i], mask, edges,
                      int(min_pixels), off)
        with np.errstate(all="ignore"):
            level = np.nanmedian(off[1:], axis=1, keepdims=True)     # (ngroups-1, 1, namps)
        off[1:] -= np.nan_to_num(level, nan=0.0)
        np.nan_to_num(off, copy=False, nan=0.0)
        # 3. the cumulative stripe pattern out of every group
        run_row_bands(k.subtract_stripe_rows, ny, data[i], off, edges)
    return OneOverFResult(offsets, masked / nints)
