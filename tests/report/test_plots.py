"""Quick-look pictures: block averages, stretches, DQ layers, the Pillow plot canvas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from webbcal.report import plots
from webbcal.report._canvas import Panel, log_ticks, nice_ticks, render, tick_labels


@pytest.mark.parametrize("shape", [(64, 63), (91, 97)])
def test_shrink_is_a_nan_aware_block_mean(shape):
    rng = np.random.default_rng(0)
    img = rng.random(shape).astype(np.float32)
    img[3, 4] = np.nan
    img[6:9, 12:15] = np.nan  # a whole block for f = 3
    f = int(np.ceil(max(shape) / 32))
    out = plots._shrink(img, 32)
    ny, nx = shape[0] // f * f, shape[1] // f * f
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmean(img[:ny, :nx].reshape(ny // f, f, nx // f, f), axis=(1, 3))
    assert out.shape == ref.shape and max(out.shape) <= 32
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert np.array_equal(np.isnan(out), np.isnan(ref))


def test_zscale_and_asinh_limits_bracket_the_noise():
    rng = np.random.default_rng(1)
    img = rng.normal(10.0, 1.0, (300, 300)).astype(np.float32)
    img[150, 150] = 1e5  # a star does not move zscale
    lo, hi = plots.stretch_limits(img, "zscale")
    assert 6.0 < lo < 9.5 and 10.5 < hi < 14.0
    lo, hi = plots.stretch_limits(img, "asinh")
    assert lo < 8.0 and 12.0 < hi < 1e3
    u8 = plots.stretch_to_uint8(np.array([lo - 1, lo, hi, hi + 1, np.nan]), lo, hi, "zscale")
    assert u8.tolist() == [0, 0, 255, 255, 0]
    with pytest.raises(ValueError, match="stretch"):
        plots.stretch_limits(img, "log")


def test_dq_layers_counts_and_block_or():
    rng = np.random.default_rng(2)
    bits = np.array([0, 1, 2, 4, 2**31, 2**11, 2**10, 6, 5], np.uint32)
    dq = rng.choice(bits, (64, 64))
    layer = plots.dq_layers(dq)
    # SATURATED (2) is drawn last, so 6 = SATURATED|JUMP_DET shows as SATURATED
    assert layer[dq == 6].tolist() == [len(plots.DQ_LAYERS)] * int((dq == 6).sum())
    assert np.array_equal(plots.dq_layer_counts(dq),
                          np.bincount(layer.ravel(), minlength=len(plots.DQ_LAYERS) + 1)[1:])
    shrunk = plots.dq_layers(plots._block_or(dq, 2))
    assert np.array_equal(shrunk, layer.reshape(32, 2, 32, 2).max(axis=(1, 3)))


def test_ticks_and_labels():
    assert nice_ticks(0.0, 1.0).tolist() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-112.7, 93.1).tolist() == [-100.0, -50.0, 0.0, 50.0]
    assert log_ticks(0.15, 3.0).tolist() == [0.2, 0.5, 1.0, 2.0]
    assert tick_labels(np.array([0.0, 200.0, 400.0])) == ["0", "200", "400"]
    assert tick_labels(np.array([51626.0, 51628.0])) == ["51626", "51628"]
    assert tick_labels(np.array([0.2, 0.5, 1.0])) == ["0.2", "0.5", "1.0"]


def test_canvas_draws_points_where_the_data_are():
    p = Panel(title="t", xlabel="x", ylabel="y")
    p.points([0.0, 10.0], [0.0, 10.0], colour="r", size=3)
    img = np.asarray(render([p], width=300, height=240))
    red = (img[..., 0] > 200) & (img[..., 1] < 80) & (img[..., 2] < 80)
    ys, xs = np.nonzero(red)
    assert red.sum() > 10
    # the (0, 0) point is lower-left of the (10, 10) point: two clusters on a diagonal
    left, right = xs < xs.mean(), xs >= xs.mean()
    assert ys[left].mean() > ys[right].mean() + 50
