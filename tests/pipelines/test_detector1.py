"""detector1 on the simulator's `tiny` preset: accuracy vs truth, provenance, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from webbcal.datamodels import DQ, FormatError, read_uncal
from webbcal.errors import WebbcalError
from webbcal.pipelines.validation import load_true_rate, rate_zscores

detector1 = pytest.importorskip("webbcal.pipelines.detector1",
                                reason="detector1 steps not all available yet")
DETECTOR1_STEPS = detector1.DETECTOR1_STEPS


def test_public_import_and_step_order():
    from webbcal import Detector1Pipeline

    assert [n for n, _ in Detector1Pipeline.step_list] == list(DETECTOR1_STEPS)
    assert DETECTOR1_STEPS == ("dq_init", "saturation", "superbias", "refpix", "linearity",
                               "dark_current", "jump", "ramp_fit", "gain_scale")


def test_products_and_provenance(tiny_world, tiny_rate):
    pipe, result = tiny_rate
    names = sorted(p.name for p in pipe.output_paths)
    stem = tiny_world.uncal_files[0].name.replace("_uncal.fits", "")
    assert names == [f"{stem}_rate.fits", f"{stem}_rateints.fits"]
    header = fits.getheader(pipe.output_paths[0])
    for key in ("S_DQINIT", "S_SATURA", "S_SUPERB", "S_LINEAR", "S_DARK", "S_JUMP", "S_RAMP"):
        assert header.get(key) == "COMPLETE", key
    assert header.get("S_REFPIX") in ("COMPLETE", "SKIPPED")  # SKIPPED: no usable ref pixels
    statuses = {t.step: t.status for t in pipe.step_timings}
    assert statuses["refpix"] == header["S_REFPIX"]
    for key in ("R_MASK", "R_SATURA", "R_SUPERB", "R_LINEAR", "R_DARK", "R_GAIN", "R_READNO"):
        assert header.get(key, "N/A").startswith("crds://"), key
    assert header["CRDS_CTX"] == str(tiny_world.world.context)
    assert set(DETECTOR1_STEPS) <= set(pipe.timings)
    with fits.open(pipe.output_paths[1]) as hdul:
        assert hdul["SCI"].data.shape == (1, *result.data.shape)


def test_rate_matches_truth(tiny_world, tiny_rate):
    pipe, result = tiny_rate
    truth = load_true_rate(tiny_world.world, pipe.output_paths[0])
    assert truth is not None
    zs = rate_zscores(result, truth)
    assert zs.z.size > 0.5 * result.data.size  # most pixels are unflagged
    assert abs(zs.median) < 0.05, zs.median
    assert 0.95 <= zs.std <= 1.10, zs.std


def _run_fails(tiny_world, uncal, out, **kw):
    from webbcal.pipelines.detector1 import Detector1Pipeline

    with tiny_world.crds_env(), pytest.raises(WebbcalError) as err:
        Detector1Pipeline(output_dir=out, **kw).run(uncal)
    assert not out.exists() or list(out.iterdir()) == []
    return str(err.value)


def test_groups_out_of_order(tiny_world, tmp_path):
    model = read_uncal(tiny_world.uncal_files[0])
    order = np.arange(model.data.shape[1])
    order[[1, 2]] = order[[2, 1]]
    model.data = np.ascontiguousarray(model.data[:, order])
    model.group = model.group[order]  # one integration: rows are the groups
    bad = tmp_path / "jw_swapped_nrca1_uncal.fits"
    model.write(bad)
    msg = _run_fails(tiny_world, bad, tmp_path / "out")
    assert "jw_swapped_nrca1_uncal.fits" in msg and "out of order" in msg


def test_truncated_uncal(tiny_world, tmp_path):
    data = tiny_world.uncal_files[0].read_bytes()
    bad = tmp_path / "jw_trunc_nrca1_uncal.fits"
    bad.write_bytes(data[: len(data) * 2 // 3])
    msg = _run_fails(tiny_world, bad, tmp_path / "out")
    assert "jw_trunc_nrca1_uncal.fits" in msg


def test_shape_mismatch_between_header_and_data(tiny_world, tmp_path):
    model = read_uncal(tiny_world.uncal_files[0])
    model.header["NGROUPS"] = model.data.shape[1] + 1
    bad = tmp_path / "jw_ngroups_nrca1_uncal.fits"
    model.write(bad)
    msg = _run_fails(tiny_world, bad, tmp_path / "out")
    assert "jw_ngroups_nrca1_uncal.fits" in msg and "NGROUPS" in msg


def test_reference_of_wrong_subarray(tiny_world, tmp_path):
    from webbcal.references import SuperbiasRef, get_references

    uncal = tiny_world.uncal_files[0]
    with tiny_world.crds_env():
        path = get_references(read_uncal(uncal).exposure, ["superbias"])["superbias"]
    ref = SuperbiasRef.read(path)
    ny, nx = ref.data.shape
    small = SuperbiasRef.read(path)
    small.data, small.err, small.dq = (None if a is None else a[: ny // 2, : nx // 2].copy()
                                       for a in (ref.data, ref.err, ref.dq))
    small.header["SUBSIZE1"], small.header["SUBSIZE2"] = nx // 2, ny // 2
    small.header["SUBARRAY"] = "GENERIC"
    wrong = tmp_path / "small_superbias.fits"
    small.write(wrong)
    msg = _run_fails(tiny_world, uncal, tmp_path / "out", references={"superbias": wrong})
    assert "small_superbias.fits" in msg or "superbias" in msg.lower()


# --- a controlled exposure: the tiny scene plus bright pixels, no bias drift/1-f ------

@pytest.fixture(scope="module")
def controlled(tiny_world, tmp_path_factory):
    """The first tiny exposure re-simulated from its own references with known rates.

    The truth rate plus a grid of bright pixels (1500–6000 DN/s, saturating between the
    third and last group), no cosmic rays, no bias drift or 1/f noise, no dark current.
    Returns (uncal path, true rate, ramp model after jump, rate model).
    """
    from webbcal.pipelines.detector1 import Detector1Pipeline
    from webbcal.references import (GainRef, LinearityRef, ReadnoiseRef, SaturationRef,
                                    SuperbiasRef, get_references)
    from webbcal.simulate import simulate_ramp

    src = tiny_world.uncal_files[0]
    model = read_uncal(src)
    exp = model.exposure
    kinds = {"gain": GainRef, "readnoise": ReadnoiseRef, "superbias": SuperbiasRef,
             "linearity": LinearityRef, "saturation": SaturationRef}
    with tiny_world.crds_env():
        paths = get_references(exp, list(kinds))
    refs = {k: cls.read(paths[k]).for_exposure(exp) for k, cls in kinds.items()}
    rate = load_true_rate(tiny_world.world, src).copy()
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[12:250:12, 12:250:12]
    rate[yy, xx] = rng.uniform(1500, 6000, yy.shape)
    ramp = simulate_ramp(rate, ngroups=exp.ngroups, tframe=exp.tframe, nframes=exp.nframes,
                         groupgap=exp.groupgap, readnoise_dn=refs["readnoise"].data,
                         gain=refs["gain"].data, superbias_dn=refs["superbias"].data,
                         linearity_coeffs=refs["linearity"].coeffs,
                         saturation_dn=refs["saturation"].data, cr_rate=0.0,
                         snowball_rate=0.0, substrt=(exp.substrt1, exp.substrt2),
                         noutputs=exp.noutputs, rng=11)
    model.data = ramp.data
    path = tmp_path_factory.mktemp("controlled") / "jw_controlled_nrca1_uncal.fits"
    model.write(path)
    skip_dark = {"dark_current": {"skip": True}}
    with tiny_world.crds_env():
        after_jump = Detector1Pipeline(
            steps={**skip_dark, "ramp_fit": {"skip": True}, "gain_scale": {"skip": True}},
            save_results=False).run(path)
        result = Detector1Pipeline(steps=skip_dark, save_results=False).run(path)
    return path, rate, after_jump, result


def test_controlled_rate_is_unbiased(controlled):
    _, rate, _, result = controlled
    zs = rate_zscores(result, rate)
    assert zs.z.size > 0.5 * result.data.size
    assert abs(zs.median) < 0.05, zs.median
    assert 0.95 <= zs.std <= 1.10, zs.std


def test_pixels_saturating_at_group_3_or_later_within_2_percent(controlled):
    _, rate, ramp, result = controlled
    sat = (ramp.groupdq[0] & DQ.SATURATED) != 0
    first_sat = np.where(sat.any(axis=0), sat.argmax(axis=0), -1)
    bright = rate > 1000
    usable = (result.dq & DQ.DO_NOT_USE) == 0  # not a dead/bad pixel of the mask
    pick = bright & (first_sat >= 2) & usable  # 0-based index 2 = third group
    assert pick.sum() >= 50, pick.sum()   # the grid puts ~400 such pixels in
    assert (bright & (first_sat == -1)).sum() < bright.sum()  # some do saturate
    ratio = result.data[pick] / rate[pick]
    assert np.all(np.abs(ratio - 1) < 0.02), (ratio.min(), ratio.max())


def test_dark_too_short_for_the_readout(tiny_world, tmp_path):
    from webbcal.references import DarkRef, get_references

    uncal = tiny_world.uncal_files[0]
    with tiny_world.crds_env():
        path = get_references(read_uncal(uncal).exposure, ["dark"])["dark"]
    dark = DarkRef.read(path)
    dark.data = dark.data[:10].copy()
    if dark.err is not None:
        dark.err = dark.err[:10].copy()
    dark.header["NGROUPS"] = 10
    short = tmp_path / "short_dark.fits"
    dark.write(short)
    msg = _run_fails(tiny_world, uncal, tmp_path / "out", references={"dark": short})
    assert "dark" in msg.lower() and "10" in msg


def test_uncal_is_read_straight_into_float32(tiny_world):
    """The pipeline reads the raw cube as float32 (no uint16 copy held), same values."""
    from webbcal.pipelines.detector1 import Detector1Pipeline

    uncal = tiny_world.uncal_files[0]
    raw = read_uncal(uncal)
    model = Detector1Pipeline().load_input(uncal)
    assert raw.data.dtype == np.uint16 and model.data.dtype == np.float32
    assert model.data.flags.c_contiguous
    assert np.array_equal(model.data, raw.data.astype(np.float32))


def test_dark_is_cached_without_err_and_cut_to_the_planes_used(tiny_world, tmp_path):
    """The dark_current step keeps only SCI planes the exposure uses and the DQ (no ERR),
    and subtracts exactly what the whole reference would."""

    from webbcal.algorithms.detector1.dark import subtract_dark
    from webbcal.references import DarkRef, get_references
    from webbcal.steps.detector1.dark_current import (_load_trimmed_dark,
                                                       dark_planes_needed)

    model = read_uncal(tiny_world.uncal_files[0], as_float32=True)
    exp = model.exposure
    with tiny_world.crds_env():
        path = get_references(exp, ["dark"])["dark"]
    full = DarkRef.read(path)
    # a frame dark with more planes than needed: 3 groups of NFRAMES=2, GROUPGAP=1
    frames = np.concatenate([full.data] * 3)[:12]
    frame_dark = DarkRef(data=frames, err=np.ones_like(frames), dq=full.dq,
                         header=full.header.copy())
    frame_dark.header["NFRAMES"], frame_dark.header["GROUPGAP"] = 1, 0
    frame_path = tmp_path / "frame_dark.fits"
    frame_dark.write(frame_path)
    header = model.header.copy()
    header["NGROUPS"], header["NFRAMES"], header["GROUPGAP"] = 3, 2, 1
    model.header = header
    exp = model.exposure
    trimmed = _load_trimmed_dark(frame_path, exp)
    need = dark_planes_needed(3, 2, 1, 1, 0)
    assert need == 8 and trimmed.err is None and trimmed.data.shape[0] == need
    np.testing.assert_array_equal(trimmed.data, frames[:need])
    assert _load_trimmed_dark(frame_path, exp).data is trimmed.data   # served from the cache
    cube = np.random.default_rng(0).normal(size=(1, 3, *frames.shape[1:])).astype(np.float32)
    a, b = cube.copy(), cube.copy()
    pdq = np.zeros(frames.shape[1:], np.uint32)
    subtract_dark(a, pdq.copy(), frames, full.dq, nframes=2, groupgap=1)
    subtract_dark(b, pdq.copy(), trimmed.data, trimmed.dq, nframes=2, groupgap=1)
    np.testing.assert_array_equal(a, b)
