"""dq_init: pixel DQ from the mask reference, group DQ initialised, raw → float32.

Official behaviour (jwst ``dq_init``): ``PIXELDQ = PIXELDQ | MASK.DQ`` (the mask is
cut to the exposure's subarray by the caller), ``GROUPDQ`` created as zeros, and the
raw uint16 ``SCI`` cube becomes float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.datamodels.dqflags import DQ

from webbcal.errors import WebbcalError

__all__ = ["DqInitResult", "initialize_dq", "raw_to_float32", "check_ramp_arrays"]


@dataclass(frozen=True)
class DqInitResult:
    """Output of :func:`initialize_dq`.

    Attributes
    ----------
    pixeldq : ndarray, (ny, nx) uint32
        Pixel DQ: the previous pixel DQ (if any) OR the mask DQ.
    groupdq : ndarray, (nints, ngroups, ny, nx) uint8
        Group DQ, all zeros (or the given one, untouched).
    """

    pixeldq: np.ndarray
    groupdq: np.ndarray


def check_ramp_arrays(data, groupdq=None, pixeldq=None, *, dtype=np.float32):
    """Validate the ramp arrays every detector1 algorithm works on (in place).

    Raises
    ------
    WebbcalError
        If ``data`` is not a C-contiguous 4-D array of ``dtype``, or ``groupdq`` /
        ``pixeldq`` do not match it in shape, dtype (uint8 / uint32) or layout.
    """
    if not isinstance(data, np.ndarray) or data.ndim != 4:
        raise WebbcalError(f"ramp data: expected a 4-D array (nints, ngroups, ny, nx), "
                           f"found {getattr(data, 'shape', type(data))}")
    if data.dtype != dtype or not data.flags.c_contiguous:
        raise WebbcalError(f"ramp data: expected C-contiguous {np.dtype(dtype)}, found "
                           f"{data.dtype} (contiguous={data.flags.c_contiguous})")
    if groupdq is not None:
        if groupdq.shape != data.shape or groupdq.dtype != np.uint8 or not groupdq.flags.c_contiguous:
            raise WebbcalError(f"groupdq: expected C-contiguous uint8 {data.shape}, found "
                               f"{groupdq.dtype} {groupdq.shape}")
    if pixeldq is not None:
        if pixeldq.shape != data.shape[-2:] or pixeldq.dtype != np.uint32 or not pixeldq.flags.c_contiguous:
            raise WebbcalError(f"pixeldq: expected C-contiguous uint32 {data.shape[-2:]}, "
                               f"found {pixeldq.dtype} {pixeldq.shape}")


def check_plane(name, arr, shape):
    """Raise WebbcalError naming ``name`` when a reference plane's shape is not ``shape``."""
    if arr.shape != tuple(shape):
        raise WebbcalError(f"{name}: expected shape {tuple(shape)} (the exposure's), "
                           f"found {arr.shape}")


def raw_to_float32(raw: np.ndarray) -> np.ndarray:
    """Convert a raw ramp (nints, ngroups, ny, nx) uint16 to a new float32 cube.

    Parameters
    ----------
    raw : ndarray, (nints, ngroups, ny, nx) uint16 (any integer or float dtype works)
        Raw DN.

    Returns
    -------
    ndarray, (nints, ngroups, ny, nx) float32, C-contiguous
        The same values in DN; the one float copy detector1 makes.
    """
    raw = np.asarray(raw)
    if raw.ndim != 4:
        raise WebbcalError(f"raw ramp: expected a 4-D array, found shape {raw.shape}")
    if raw.dtype == np.float32 and raw.flags.c_contiguous:
        return raw
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    raw = np.ascontiguousarray(raw)
    out = np.empty(raw.shape, dtype=np.float32)
    nints, ngroups, ny, nx = raw.shape
    run_row_bands(k.raw_to_float32, nints * ngroups * ny, raw.reshape(nints * ngroups, ny, nx),
                  out.reshape(nints * ngroups, ny, nx))
    return out


def initialize_dq(
    mask_dq: np.ndarray,
    shape: tuple[int, int, int, int],
    *,
    pixeldq: np.ndarray | None = None,
    groupdq: np.ndarray | None = None,
) -> DqInitResult:
    """Initialise the pixel and group DQ of a ramp.

    Parameters
    ----------
    mask_dq : ndarray, (ny, nx) integer
        DQ plane of the MASK reference, already cut to the exposure's subarray.
    shape : tuple of 4 int
        Shape of the ramp (nints, ngroups, ny, nx).
    pixeldq : ndarray, (ny, nx) uint32, optional
        Existing pixel DQ, ORed with the mask (a new array is returned).
    groupdq : ndarray, (nints, ngroups, ny, nx) uint8, optional
        Existing group DQ, kept; created as zeros when absent. As the official step
        does, the mask's DO_NOT_USE is ORed into every group so that no ramp is fit
        on a bad pixel.

    Returns
    -------
    DqInitResult
    """
    shape = tuple(int(s) for s in shape)
    check_plane("MASK DQ", np.asarray(mask_dq), shape[-2:])
    pdq = np.ascontiguousarray(mask_dq, dtype=np.uint32).copy()
    if pixeldq is not None:
        check_plane("pixeldq", pixeldq, shape[-2:])
        pdq |= pixeldq.astype(np.uint32, copy=False)
    if groupdq is None:
        gdq = np.zeros(shape, dtype=np.uint8)
    else:
        check_plane("groupdq", groupdq, shape)
        gdq = np.ascontiguousarray(groupdq, dtype=np.uint8)
    gdq |= (pdq & np.uint32(DQ.DO_NOT_USE)).astype(np.uint8)  # broadcast over ints, groups
    return DqInitResult(pixeldq=pdq, groupdq=gdq)
