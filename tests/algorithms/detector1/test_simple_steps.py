"""dq_init, superbias, linearity, dark and gain_scale on hand-checkable arrays."""

import numpy as np
import pytest

from webbcal.algorithms.detector1.dark import subtract_dark
from webbcal.algorithms.detector1.dq_init import initialize_dq, raw_to_float32
from webbcal.algorithms.detector1.gain_scale import apply_gain_scale
from webbcal.algorithms.detector1.linearity import correct_linearity
from webbcal.algorithms.detector1.superbias import subtract_superbias
from webbcal.datamodels.dqflags import DQ
from webbcal.errors import WebbcalError

SAT, NOLIN, DNU = int(DQ.SATURATED), int(DQ.NO_LIN_CORR), int(DQ.DO_NOT_USE)


def test_raw_to_float32_and_dq_init():
    raw = np.arange(2 * 3 * 4 * 5, dtype=np.uint16).reshape(2, 3, 4, 5) * 500
    out = raw_to_float32(raw)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, raw.astype(np.float64))
    mask = np.zeros((4, 5), np.uint32)
    mask[1, 2] = DQ.DEAD | DQ.DO_NOT_USE
    old = np.zeros((4, 5), np.uint32)
    old[0, 0] = DQ.HOT
    res = initialize_dq(mask, raw.shape, pixeldq=old)
    assert res.pixeldq[1, 2] == DQ.DEAD | DQ.DO_NOT_USE and res.pixeldq[0, 0] == DQ.HOT
    assert res.pixeldq.sum() == DQ.DEAD + DQ.DO_NOT_USE + DQ.HOT
    # official: the mask's DO_NOT_USE goes into every group (no ramp fit on bad pixels)
    assert res.groupdq.shape == raw.shape and res.groupdq.dtype == np.uint8
    assert (res.groupdq[..., 1, 2] == DQ.DO_NOT_USE).all()
    assert res.groupdq.sum() == DQ.DO_NOT_USE * raw.shape[0] * raw.shape[1]
    with pytest.raises(WebbcalError, match=r"expected shape \(4, 5\).*found \(5, 4\)"):
        initialize_dq(mask.T, raw.shape)


def test_superbias_subtracts_zeroes_nan_and_propagates_dq():
    data = np.full((2, 3, 2, 2), 1000.0, np.float32)
    pdq = np.zeros((2, 2), np.uint32)
    bias = np.array([[100.0, np.nan], [300.0, 400.0]])
    bdq = np.array([[0, 0], [int(DQ.UNRELIABLE_BIAS), 0]])
    zf = np.full((2, 2, 2), 500.0, np.float32)
    res = subtract_superbias(data, pdq, bias, bdq, nan_flag=int(DQ.UNRELIABLE_BIAS), zeroframe=zf)
    assert res.n_nan == 1
    expect = np.array([[900.0, 1000.0], [700.0, 600.0]])
    np.testing.assert_array_equal(data, np.broadcast_to(expect, data.shape))
    np.testing.assert_array_equal(zf, np.broadcast_to(expect - 500, zf.shape))
    np.testing.assert_array_equal(pdq, [[0, DQ.UNRELIABLE_BIAS], [DQ.UNRELIABLE_BIAS, 0]])


def _poly(c, x):
    return sum(ck * x**k for k, ck in enumerate(c))


def test_linearity_recovers_linear_ramp_and_respects_flags():
    ny, nx, ng = 3, 4, 6
    c = np.zeros((4, ny, nx), np.float32)
    c[1], c[2], c[3] = 1.0, 2e-6, 1.5e-11
    c[:, 0, 1] = np.nan                      # NaN coefficient → NO_LIN_CORR, untouched
    c[1, 2, 0] = 0.0                         # zero linear term → NO_LIN_CORR, untouched
    lin_dq = np.zeros((ny, nx), np.uint32)
    lin_dq[0, 2] = NOLIN                     # flagged in the reference → untouched
    true = np.linspace(0, 25000, ng)[None, :, None, None] * np.ones((1, ng, ny, nx))
    # distort with the inverse polynomial (Newton), so that poly(observed) == true
    obs = true.copy()
    for _ in range(30):
        obs -= (_poly([0, 1, 2e-6, 1.5e-11], obs) - true) / (1 + 4e-6 * obs + 4.5e-11 * obs**2)
    data = obs.astype(np.float32)
    before = data.copy()
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 4:, 2, 3] = SAT                   # saturated groups are left alone
    pdq = np.zeros((ny, nx), np.uint32)
    res = correct_linearity(data, gdq, pdq, c, lin_dq, saturated=SAT, no_lin_corr=NOLIN)
    assert res.n_no_lin_corr == 3
    assert pdq[0, 1] == pdq[0, 2] == pdq[2, 0] == NOLIN and pdq.sum() == 3 * NOLIN
    good = np.ones((ny, nx), bool)
    good[0, 1] = good[0, 2] = good[2, 0] = False
    np.testing.assert_allclose(data[0, :4][:, good], true[0, :4][:, good], rtol=1e-4, atol=1e-2)
    assert np.abs(data[0, :4, 2, 3] - true[0, :4, 2, 3]).max() < 0.05
    np.testing.assert_array_equal(data[0, 4:, 2, 3], before[0, 4:, 2, 3])
    np.testing.assert_array_equal(data[..., 0, 1], before[..., 0, 1])
    np.testing.assert_array_equal(data[..., 0, 2], before[..., 0, 2])
    np.testing.assert_array_equal(data[..., 2, 0], before[..., 2, 0])
    good[2, 3] = False                       # all groups of the other pixels are corrected
    np.testing.assert_allclose(data[0][:, good], true[0][:, good], rtol=1e-4, atol=1e-2)
    # the correction is real: distorted values differ from truth by > 1 %
    assert abs(before[0, -1, 1, 1] / true[0, -1, 1, 1] - 1) > 0.01


def test_dark_averaging_nframes4_groupgap1_matches_hand_computation():
    ng, ny, nx = 3, 2, 3
    nframes_dark = 15
    frame_index = np.arange(nframes_dark, dtype=np.float32)
    pix = np.arange(ny * nx, dtype=np.float32).reshape(ny, nx)
    dark = frame_index[:, None, None] * (1 + pix)          # frame f, pixel p: f * (1 + p)
    data = np.zeros((2, ng, ny, nx), np.float32)
    pdq = np.zeros((ny, nx), np.uint32)
    ddq = np.zeros((ny, nx), np.uint32)
    ddq[1, 1] = DQ.WARM
    res = subtract_dark(data, pdq, dark, ddq, nframes=4, groupgap=1)
    # group 0: frames 0-3 (mean 1.5); group 1: frames 5-8 (6.5); group 2: frames 10-13 (11.5)
    for g, mean_f in enumerate([1.5, 6.5, 11.5]):
        np.testing.assert_allclose(data[:, g], np.broadcast_to(-mean_f * (1 + pix), (2, ny, nx)),
                                   rtol=1e-6)
    assert res.frames_used == 14 and res.frames_per_group == 4
    assert pdq[1, 1] == DQ.WARM and pdq.sum() == DQ.WARM


def test_dark_errors_and_pre_averaged_dark():
    data = np.zeros((1, 3, 2, 2), np.float32)
    pdq = np.zeros((2, 2), np.uint32)
    with pytest.raises(WebbcalError, match=r"dark\.fits.*at least 14 frames.*3 groups.*found 10"):
        subtract_dark(data, pdq, np.zeros((10, 2, 2), np.float32), nframes=4, groupgap=1,
                      dark_name="dark.fits")
    with pytest.raises(WebbcalError, match="NFRAMES=2/GROUPGAP=0"):
        subtract_dark(data, pdq, np.zeros((10, 2, 2), np.float32), nframes=4, groupgap=1,
                      dark_nframes=2)
    grouped = np.arange(3, dtype=np.float32)[:, None, None] * np.ones((3, 2, 2), np.float32)
    subtract_dark(data, pdq, grouped, nframes=4, groupgap=1, dark_nframes=4, dark_groupgap=1)
    np.testing.assert_array_equal(data[0, :, 0, 0], [0, -1, -2])


def test_gain_scale():
    sci, err = np.full((2, 2), 3.0, np.float32), np.ones((2, 2), np.float32)
    vp, vr = np.ones((2, 2), np.float32), np.full((2, 2), 2.0, np.float32)
    assert not apply_gain_scale(sci, err, vp, vr, gain_factor=None).applied
    assert sci[0, 0] == 3.0
    res = apply_gain_scale(sci, err, vp, vr, gain_factor=2.0)
    assert res.applied and res.gain_factor == 2.0
    assert sci[0, 0] == 6.0 and err[0, 0] == 2.0 and vp[0, 0] == 4.0 and vr[0, 0] == 8.0


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_row_bands_cover_every_row_once(threads):
    """The shared row-band driver hands every row of a kernel to exactly one band (a row
    done twice would read -1, a row missed +1), for bands that do not divide the rows."""
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1 import _ramp_kernels as k

    for nplanes, ny in ((1, 1), (3, 17), (2, 64)):
        for band in (None, 1, 5):
            data = np.ones((nplanes, ny, 5), np.float32)
            run_row_bands(k.subtract_plane, nplanes * ny, data, np.ones((ny, 5), np.float32),
                          band=band, threads=threads)
            assert np.all(data == 0)


def _all_steps(seed):
    """saturation, superbias, refpix, linearity and dark on a small 4-amplifier ramp."""
    from webbcal.algorithms.detector1.refpix import RefpixLayout, correct_reference_pixels
    from webbcal.algorithms.detector1.saturation import flag_saturation, read_pattern_frames

    rng = np.random.default_rng(seed)
    ny, nx, ng = 36, 40, 5
    rate = rng.uniform(0, 9000, (ny, nx))
    data = (rate * np.arange(1, ng + 1)[:, None, None])[None].astype(np.float32)
    data += rng.normal(0, 5, data.shape).astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    pdq = np.zeros((ny, nx), np.uint32)
    thr = np.full((ny, nx), 30000, np.float32)
    zf = rate[None].astype(np.float32) * 0.5
    zf[0, 7, 9] = 40000.0  # saturated ZEROFRAME pixel: it and its neighbours are zeroed
    flag_saturation(data, gdq, pdq, thr, np.zeros((ny, nx), np.uint32),
                    saturated=int(DQ.SATURATED), do_not_use=int(DQ.DO_NOT_USE),
                    ad_floor=int(DQ.AD_FLOOR), no_sat_check=int(DQ.NO_SAT_CHECK),
                    read_pattern=read_pattern_frames(ng, 4, 1), zeroframe=zf)
    subtract_superbias(data, pdq, rng.normal(100, 3, (ny, nx)).astype(np.float32))
    correct_reference_pixels(data, pdq, RefpixLayout(4, 4, 4, 4, (0, 10, 20, 30, 40)),
                             do_not_use=int(DQ.DO_NOT_USE))
    coeffs = np.stack([np.zeros((ny, nx)), np.ones((ny, nx)),
                       np.full((ny, nx), 1e-6)]).astype(np.float32)
    correct_linearity(data, gdq, pdq, coeffs, saturated=int(DQ.SATURATED),
                      no_lin_corr=int(DQ.NO_LIN_CORR))
    subtract_dark(data, pdq, rng.normal(1, 0.1, (2 * ng, ny, nx)).astype(np.float32),
                  nframes=2, groupgap=0)
    return data, gdq, pdq, zf


def test_one_and_two_threads_give_identical_results():
    """Row bands on threads change nothing: bitwise the same cube, DQ and ZEROFRAME."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _all_steps(5)
        numba.set_num_threads(2)
        two = _all_steps(5)
    finally:
        numba.set_num_threads(before)
    assert np.any(one[1] & DQ.SATURATED) and np.any(one[3] == 0)  # the paths were exercised
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_dark_planes_needed():
    from webbcal.steps.detector1.dark_current import dark_planes_needed

    assert dark_planes_needed(9, 8, 2, 1, 0) == 88      # frame dark, MEDIUM8: 8*10 + 8
    assert dark_planes_needed(9, 8, 2, 8, 2) == 9       # dark already in groups
    assert dark_planes_needed(100, 1, 0, 1, 0) == 100   # RAPID
    assert dark_planes_needed(5, 4, 1, 2, 0) is None    # incompatible readout
