"""refpix: injected offsets removed exactly, row noise reduced, and agreement with a
plain numpy/scipy statement of the official algorithm."""

import numpy as np
import pytest
from scipy import stats

from webbcal.algorithms.detector1.refpix import (
    RefpixLayout, correct_reference_pixels, nircam_refpix_layout)
from webbcal.datamodels.dqflags import DQ

DNU = int(DQ.DO_NOT_USE)
NY, NX, AMP = 40, 32, 8          # toy detector: 4 amplifiers of 8 columns, 4-px border
LAYOUT = RefpixLayout(4, 4, 4, 4, (0, 8, 16, 24, 32))


def _toy(nints=2, ngroups=3, seed=0):
    rng = np.random.default_rng(seed)
    sky = rng.uniform(0, 500, (NY, NX))
    sky[:4], sky[-4:], sky[:, :4], sky[:, -4:] = 0, 0, 0, 0    # reference pixels see no light
    t = np.arange(ngroups)[None, :, None, None]
    data = sky * t * np.ones((nints, 1, 1, 1))
    offsets = rng.normal(0, 50, (nints, ngroups, 4, 2))          # per amp, per column parity
    amp = np.arange(NX) // AMP
    par = np.arange(NX) % 2
    data = data + offsets[:, :, amp, par][:, :, None, :]
    drift = 7.0 * t + 3.0 * np.arange(nints)[:, None, None, None]  # drifting bias
    return (data + drift).astype(np.float32), (sky * t * np.ones((nints, 1, 1, 1)))


@pytest.mark.parametrize("use_side", [True, False])
def test_removes_per_amp_odd_even_offsets_and_drift_exactly(use_side):
    data, truth = _toy()
    pdq = np.zeros((NY, NX), np.uint32)
    res = correct_reference_pixels(data, pdq, LAYOUT, do_not_use=DNU, use_side_ref_pixels=use_side)
    assert res.status == "COMPLETE"
    np.testing.assert_allclose(data, truth, atol=2e-3)


def test_odd_even_off_leaves_parity_pattern():
    data, truth = _toy()
    correct_reference_pixels(data, np.zeros((NY, NX), np.uint32), LAYOUT, do_not_use=DNU,
                             odd_even_columns=False)
    resid = data - truth
    assert np.abs(resid).max() > 1.0      # one mean per amp cannot remove odd/even offsets
    # but the per-amp mean offset is gone
    for a in range(4):
        assert abs(resid[..., a * AMP:(a + 1) * AMP].mean()) < 1e-2


def test_reduces_row_correlated_noise():
    rng = np.random.default_rng(3)
    ny, nx = 256, 64
    layout = RefpixLayout(4, 4, 4, 4, (0, 16, 32, 48, 64))
    walk = np.cumsum(rng.normal(0, 1.0, (1, 4, ny)), axis=-1)
    rows = np.apply_along_axis(lambda v: np.convolve(v, np.ones(9) / 9, "same"), -1, walk) * 5
    data = (rows[..., None] + rng.normal(0, 1.0, (1, 4, ny, nx))).astype(np.float32)
    sci = (slice(None), slice(None), slice(4, ny - 4), slice(4, nx - 4))
    before = data[sci].mean(axis=-1).std()
    correct_reference_pixels(data, np.zeros((ny, nx), np.uint32), layout, do_not_use=DNU)
    after = data[sci].mean(axis=-1).std()
    assert before > 5.0 and after < 0.3 * before


def test_clipping_and_do_not_use_reject_bad_reference_pixels():
    data, truth = _toy()
    data[:, :, 1, 2] += 1e5          # hot reference pixel in amp 0 (clipped away)
    data[:, :, 42 - 4, 9] = np.nan   # top reference pixel of amp 1 ...
    pdq = np.zeros((NY, NX), np.uint32)
    pdq[42 - 4, 9] = DNU             # ... flagged DO_NOT_USE
    correct_reference_pixels(data, pdq, LAYOUT, do_not_use=DNU, use_side_ref_pixels=False)
    sci = (slice(None), slice(None), slice(4, NY - 4), slice(4, NX - 4))
    np.testing.assert_allclose(data[sci], truth[sci], atol=2e-3)


def _official(data, pdq, edges, nref, smooth, gain):
    """Plain statement of the official full-frame NIR algorithm (one plane at a time)."""
    out = data.astype(np.float64).copy()
    ny, nx = data.shape[-2:]
    half = smooth // 2
    for idx in np.ndindex(data.shape[:2]):
        g = out[idx]
        good = (pdq & DNU) == 0
        for a0, a1 in zip(edges[:-1], edges[1:]):
            lev = []
            for par in (0, 1):
                vals = []
                for rows in (slice(0, nref), slice(ny - nref, ny)):
                    block, ok = g[rows, a0 + par:a1:2], good[rows, a0 + par:a1:2]
                    c = block[ok]
                    if c.std() != 0:
                        c = stats.sigmaclip(c, 3.0, 3.0)[0]
                    vals.append(c.mean())
                lev.append(np.mean(vals))
            g[:, a0:a1:2] -= lev[0]
            g[:, a0 + 1:a1:2] -= lev[1]
        side = []
        for cols in (slice(0, nref), slice(nx - nref, nx)):
            ref = np.concatenate([g[half:0:-1, cols], g[:, cols], g[-2:-(half + 2):-1, cols]])
            ok = np.concatenate([good[half:0:-1, cols], good[:, cols], good[-2:-(half + 2):-1, cols]])
            side.append([np.median(ref[i:i + smooth][ok[i:i + smooth]]) for i in range(ny)])
        out[idx] = g - gain * np.mean(side, axis=0)[:, None]
    return out


def test_matches_plain_statement_of_official_algorithm():
    rng = np.random.default_rng(7)
    data = rng.normal(1000, 20, (1, 2, NY, NX)).astype(np.float32)
    data[0, 0, 1, 5] = 5000.0
    pdq = np.zeros((NY, NX), np.uint32)
    pdq[10, 1] = DNU
    expect = _official(data, pdq, LAYOUT.amp_edges, 4, 11, 0.8)
    correct_reference_pixels(data, pdq, LAYOUT, do_not_use=DNU, side_gain=0.8)
    np.testing.assert_allclose(data, expect, atol=2e-3)


def test_layouts_and_subarrays():
    full = nircam_refpix_layout(substrt1=1, substrt2=1, nx=2048, ny=2048)
    assert full == RefpixLayout(4, 4, 4, 4, (0, 512, 1024, 1536, 2048), 0, False)
    corner = nircam_refpix_layout(substrt1=1, substrt2=1, nx=160, ny=160, noutputs=1)
    assert (corner.n_bottom, corner.n_top, corner.n_left, corner.n_right) == (4, 0, 4, 0)
    assert corner.single_amp and corner.amp_edges == (0, 160)
    stripe = nircam_refpix_layout(substrt1=1, substrt2=1793, nx=2048, ny=256)
    assert (stripe.n_bottom, stripe.n_top, stripe.n_left, stripe.n_right) == (0, 4, 4, 4)
    middle = nircam_refpix_layout(substrt1=1024, substrt2=1024, nx=64, ny=64, noutputs=1)
    assert not middle.has_reference_pixels and middle.parity_offset == 1
    data = np.ones((1, 2, 64, 64), np.float32)
    res = correct_reference_pixels(data, np.zeros((64, 64), np.uint32), middle, do_not_use=DNU)
    assert res.status == "SKIPPED" and (data == 1).all()


def test_single_amp_subarray_pooled_levels():
    layout = nircam_refpix_layout(substrt1=2, substrt2=1, nx=16, ny=16, noutputs=1)
    assert layout.parity_offset == 1 and layout.n_left == 3 and layout.n_bottom == 4
    data = np.zeros((1, 2, 16, 16), np.float32)
    col_full = np.arange(16) + 1                       # full-frame column numbers
    data += np.where(col_full % 2 == 0, 10.0, 20.0).astype(np.float32)  # parity offsets
    data[0, 1] += 5.0
    correct_reference_pixels(data, np.zeros((16, 16), np.uint32), layout, do_not_use=DNU)
    np.testing.assert_allclose(data, 0.0, atol=1e-5)


def _single_amp_rows(ngroups=4, n=64):
    """Single-output corner subarray: parity offsets + a per-group row gradient r_g(y)."""
    y = np.arange(n, dtype=np.float64)
    slope = np.array([0.0, 0.5, -0.3, 0.8])[:ngroups]          # DN per row, per group
    rows = slope[:, None] * (y - y.mean())                     # zero mean over rows
    data = np.zeros((1, ngroups, n, n))
    data += rows[None, :, :, None]
    data += np.where(np.arange(n) % 2 == 0, 10.0, -4.0)       # even/odd column offsets
    data += 3.0 * np.arange(ngroups)[None, :, None, None]       # bias drift
    layout = nircam_refpix_layout(substrt1=1, substrt2=1, nx=n, ny=n, noutputs=1)
    return data.astype(np.float32), rows, layout


def test_single_amp_side_correction_removes_rows_and_bottom_row_bias():
    # The pooled (official) level mixes the bottom rows' row signal into one number per
    # group: here it is biased by ~0.5 * r_g(rows 0-3). Subtracting the left columns'
    # running median row by row cancels that bias and the row signal (exact for a linear
    # row signal away from the array ends, where the window is reflected).
    data, rows, layout = _single_amp_rows()
    assert layout.single_amp and layout.n_left == 4 and layout.n_bottom == 4
    official = data.copy()
    pdq = np.zeros(data.shape[-2:], np.uint32)
    res = correct_reference_pixels(official, pdq, layout, do_not_use=DNU,
                                   single_amp_side=False)
    assert res.side is None
    ref = np.zeros(data.shape[-2:], bool)
    ref[:4], ref[:, :4] = True, True
    expect_level = np.array([rows[g][np.nonzero(ref)[0]].mean() for g in range(4)])
    sci = official[0, :, 4:, 4:] - rows[:, 4:, None]
    np.testing.assert_allclose(sci.mean(axis=(1, 2)), -expect_level, atol=1e-3)
    assert np.abs(expect_level[1:]).min() > 3.0          # a real bias, groups 1-3

    res = correct_reference_pixels(data, pdq, layout, do_not_use=DNU)
    assert res.status == "COMPLETE" and res.side is not None
    inner = data[0, :, 4 + 5:64 - 5, 4:]                 # rows with a full window
    np.testing.assert_allclose(inner, 0.0, atol=1e-3)
