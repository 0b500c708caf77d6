"""The JWST data-quality bits: one definition for the whole package.

Values are the official ones (jwst ``dqflags`` / stdatamodels ``dqflags``), so DQ
arrays written by webbcal and by the official pipeline mean the same thing.
Algorithms receive the bits they need as plain integers (``int(DQ.SATURATED)``),
which numba kernels accept.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["DQ", "GROUP_FLAGS", "dq_names", "interpret"]


class DQ(enum.IntFlag):
    """Pixel (and group) data-quality bits with their official JWST values."""

    GOOD = 0
    DO_NOT_USE = 2**0
    SATURATED = 2**1
    JUMP_DET = 2**2
    DROPOUT = 2**3
    OUTLIER = 2**4
    PERSISTENCE = 2**5
    AD_FLOOR = 2**6
    CHARGELOSS = 2**7
    UNRELIABLE_ERROR = 2**8
    NON_SCIENCE = 2**9
    DEAD = 2**10
    HOT = 2**11
    WARM = 2**12
    LOW_QE = 2**13
    RC = 2**14
    TELEGRAPH = 2**15
    NONLINEAR = 2**16
    BAD_REF_PIXEL = 2**17
    NO_FLAT_FIELD = 2**18
    NO_GAIN_VALUE = 2**19
    NO_LIN_CORR = 2**20
    NO_SAT_CHECK = 2**21
    UNRELIABLE_BIAS = 2**22
    UNRELIABLE_DARK = 2**23
    UNRELIABLE_SLOPE = 2**24
    UNRELIABLE_FLAT = 2**25
    OPEN = 2**26
    ADJ_OPEN = 2**27
    FLUX_ESTIMATED = 2**28
    MSA_FAILED_OPEN = 2**29
    OTHER_BAD_PIXEL = 2**30
    REFERENCE_PIXEL = 2**31


#: The flags that are meaningful in a GROUPDQ array (official ``group`` mnemonics).
GROUP_FLAGS = (
    DQ.DO_NOT_USE | DQ.SATURATED | DQ.JUMP_DET | DQ.DROPOUT | DQ.AD_FLOOR | DQ.CHARGELOSS
)


def dq_names(value: int) -> list[str]:
    """Names of the bits set in one DQ value, e.g. ``dq_names(6) == ['SATURATED', 'JUMP_DET']``."""
    return [flag.name for flag in DQ if flag and int(value) & int(flag)]


def interpret(dq: np.ndarray) -> dict[str, int]:
    """Count the pixels carrying each bit in a DQ array (flags with no pixels left out)."""
    arr = np.asarray(dq).astype(np.uint32, copy=False)
    counts = {}
    for flag in DQ:
        if flag:
            n = int(np.count_nonzero(arr & np.uint32(flag)))
            if n:
                counts[flag.name] = n
    return counts
