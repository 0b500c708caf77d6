"""The 1/f kernels (serial ``nogil`` row kernels on row bands): the same bits as the
former ``parallel=True`` kernels, whatever the split, and a numpy reference mask."""

import hashlib

import numpy as np
import pytest

from webbcal._threads import run_row_bands
from webbcal.algorithms.detector1 import _one_over_f_kernels as k
from webbcal.algorithms.detector1.one_over_f import remove_row_stripes

EDGES = np.array([0, 64, 128, 192, 256])


def _ramp():
    """One integration, 5 groups of 256²: drifting rows, a bright block, a NaN, bad
    pixels (bit 1)."""
    rng = np.random.default_rng(1)
    ng, ny, nx = 5, 256, 256
    stripes = rng.normal(0, 3, (ng, ny, 1)).astype(np.float32)
    data = np.cumsum(rng.normal(10, 2, (1, ng, ny, nx)), axis=1).astype(np.float32) + stripes
    data[0, :, 100:104, 50:54] += np.arange(ng, dtype=np.float32)[:, None, None] * 500
    data[0, 2, 7, 9] = np.nan
    dq = np.zeros((ny, nx), np.uint32)
    dq[:, :4] = 1
    dq[30, 40] = 1
    return data, dq


def test_same_bits_as_the_parfor_kernels():
    """SHA-256 of the outputs of the former ``parallel=True`` kernels on this input
    (recorded before the conversion; only float arithmetic and selection, no libm)."""
    data, dq = _ramp()
    res = remove_row_stripes(data, dq, tuple(EDGES), bad_bits=1)
    assert hashlib.sha256(data.tobytes()).hexdigest() == \
        "f71a99300dd003f851bcb8aa7f8b47a6bd08e6c4030a1ff249e9111ec3ae9bf5"
    assert hashlib.sha256(res.offsets.tobytes()).hexdigest() == \
        "9a33391c770200c1694030e25b133283fccc6afd07b687f0cb14eaf5829f4824"


def _stats(data, dq):
    level, sig = np.empty(4), np.empty(4)
    k.amp_statistics(0, 4, data, dq, EDGES, np.uint32(1), level, sig)
    return level, sig


def test_mask_matches_numpy():
    data, dq = _ramp()
    d = data[0]
    level, sig = _stats(d, dq)
    mean = (d[-1] - d[0]).astype(np.float64) / 4.0
    for a in range(4):   # statistics: median and 1.4826 MAD of every 7th row's good pixels
        s = mean[::7, EDGES[a]:EDGES[a + 1]][(dq[::7, EDGES[a]:EDGES[a + 1]] & 1) == 0]
        s = s[np.isfinite(s)]
        assert level[a] == np.median(s)
        assert sig[a] == pytest.approx(1.4826 * np.median(np.abs(s - np.median(s))), rel=1e-12)
    raw, mask = np.empty((256, 256), np.uint8), np.empty((256, 256), np.uint8)
    run_row_bands(k.mask_rows, 256, d, dq, EDGES, 3.0, np.uint32(1), level, sig, raw,
                  band=7, threads=3)
    run_row_bands(k.grow_rows, 256, raw, mask, band=5, threads=2)
    cut = np.repeat(level + 3.0 * sig, 64)[None, :]
    want = ((dq & 1) != 0) | ~(mean <= cut)
    assert np.array_equal(raw.astype(bool), want)
    padded = np.pad(want, 1)
    grown = np.zeros_like(want)
    for dy in range(3):
        for dx in range(3):
            grown |= padded[dy:dy + 256, dx:dx + 256]
    assert np.array_equal(mask.astype(bool), grown)
    assert mask[100:104, 50:54].all() and mask[:, :4].all() and not mask.all()


def test_row_kernels_independent_of_the_split():
    data, dq = _ramp()
    d = data[0]
    level, sig = _stats(d, dq)
    mask = np.zeros((256, 256), np.uint8)
    mask[100:104, 50:54] = 1
    outs = []
    for threads, band in ((1, None), (3, 1), (2, 37)):
        off = np.full((5, 256, 4), -1.0, np.float32)
        run_row_bands(k.stripe_offset_rows, 5 * 256, d, mask, EDGES, 20, off,
                      band=band, threads=threads)
        sub = d.copy()
        run_row_bands(k.subtract_stripe_rows, 256, sub, np.nan_to_num(off), EDGES,
                      band=band, threads=threads)
        outs.append((off, sub))
    for off, sub in outs[1:]:
        assert off.tobytes() == outs[0][0].tobytes()
        assert sub.tobytes() == outs[0][1].tobytes()
    off = outs[0][0]
    assert not off[0].any()
    # row 7 of group 2 minus 1 has a NaN pixel in amplifier 0: the median of the 63
    # others (odd: one element, exact) skips it
    diff = d[2, 7, 0:64] - d[1, 7, 0:64]
    assert np.isnan(diff).sum() == 1
    assert off[2, 7, 0] == np.median(diff[np.isfinite(diff)])
