"""crf files written as a copy of the cal file with a new DQ plane (no re-encoding)."""

import numpy as np
import pytest

from webbcal.datamodels import DQ, FormatError, ImageModel, read_image
from webbcal.steps.image3._crf import copy_with_new_dq


def _cal(path, rng):
    from astropy.io import fits

    shape = (40, 56)
    m = ImageModel(data=rng.normal(1, 0.1, shape).astype(np.float32),
                   err=np.full(shape, 0.1, np.float32),
                   dq=rng.integers(0, 4, shape).astype(np.uint32),
                   var_poisson=np.full(shape, 0.004, np.float32),
                   var_rnoise=np.full(shape, 0.006, np.float32),
                   var_flat=np.zeros(shape, np.float32),
                   header=fits.Header({"FILTER": "F200W", "EFFEXPTM": 100.0}),
                   sci_header=fits.Header({"BUNIT": "MJy/sr"}), filename=path.name)
    m.write(path)
    return read_image(path)


def test_copy_replaces_dq_and_headers_and_keeps_everything_else(tmp_path):
    rng = np.random.default_rng(2)
    cal = _cal(tmp_path / "a_cal.fits", rng)
    dq = cal.dq.copy()
    dq[3, 4] |= DQ.OUTLIER | DQ.DO_NOT_USE
    dq[0, 0] = np.uint32(2**31 + 7)  # the top bit survives the BZERO encoding
    out = tmp_path / "a_crf.fits"
    copy_with_new_dq(tmp_path / "a_cal.fits", out, dq,
                     primary_cards={"S_OUTLIR": ("COMPLETE", "step"), "BKGLEVEL": (0.25, "x")},
                     sci_cards={"PIXAR_SR": (2.5e-14, "y")}, history=["3 pixels flagged"])
    crf = read_image(out)
    assert np.array_equal(crf.dq, dq)
    for name in ("data", "err", "var_poisson", "var_rnoise", "var_flat"):
        assert np.array_equal(getattr(crf, name), getattr(cal, name)), name
    assert crf.header["S_OUTLIR"] == "COMPLETE" and crf.header["BKGLEVEL"] == 0.25
    assert crf.header["FILTER"] == "F200W" and crf.sci_header["PIXAR_SR"] == 2.5e-14
    assert "3 pixels flagged" in str(crf.header["HISTORY"])
    assert out.stat().st_size == (tmp_path / "a_cal.fits").stat().st_size


def test_copy_can_replace_sci_and_rejects_a_wrong_dq_shape(tmp_path):
    rng = np.random.default_rng(3)
    cal = _cal(tmp_path / "b_cal.fits", rng)
    new_sci = cal.data - np.float32(0.5)
    copy_with_new_dq(tmp_path / "b_cal.fits", tmp_path / "b_crf.fits", cal.dq, sci_data=new_sci)
    assert np.array_equal(read_image(tmp_path / "b_crf.fits").data, new_sci)
    with pytest.raises(FormatError, match="DQ"):
        copy_with_new_dq(tmp_path / "b_cal.fits", tmp_path / "c_crf.fits",
                         np.zeros((3, 3), np.uint32))
    assert not (tmp_path / "c_crf.fits").exists()


def test_crf_of_an_aligned_exposure_carries_the_rebuilt_gwcs(tmp_path, realdata):
    """A member moved by tweakreg: its crf is still a byte copy, with a new ASDF."""
    import asdf

    from webbcal.datamodels import Pointing
    from webbcal.steps.image3._library import ExposureLibrary, rebuild_wcs
    from webbcal.steps.image3.outlier_detection import _write_crf_copy

    from gwcs import WCS

    with asdf.open(realdata / "wcs" / "nrcb5-wcs.asdf", lazy_load=False) as af:
        flight = af.tree["wcs"]
    # the flight gwcs has tweakreg's v2v3corr frame; ours goes v2v3vacorr -> world
    steps = flight.pipeline
    wcs = WCS([(steps[0].frame, steps[0].transform), (steps[1].frame, steps[1].transform),
               (steps[2].frame, steps[2].transform | steps[3].transform),
               (steps[4].frame, None)])
    rng = np.random.default_rng(4)
    cal = _cal(tmp_path / "c_cal.fits", rng)
    cal.wcs = wcs
    cal.write(tmp_path / "c_cal.fits")
    lib = ExposureLibrary.from_paths([tmp_path / "c_cal.fits"], product_name="p",
                                     output_dir=tmp_path)
    moved = Pointing(ra_ref=34.4622 + 1e-4, dec_ref=-5.2370, roll_ref=69.99,
                     v2_ref=-89.387412, v3_ref=-491.352394, v3i_yang=0.0, vparity=-1,
                     va_scale=1.0)
    lib.members[0].wcs_pointing = moved
    dq = cal.dq | np.uint32(DQ.OUTLIER)
    _write_crf_copy(lib, 0, moved, tmp_path / "c_crf.fits", dq)
    crf = read_image(tmp_path / "c_crf.fits")
    assert np.array_equal(crf.dq, dq) and np.array_equal(crf.data, cal.data)
    expected = rebuild_wcs(wcs, moved)(100.0, 200.0)
    got, before = crf.wcs(100.0, 200.0), wcs(100.0, 200.0)
    assert np.allclose(got, expected, rtol=0, atol=1e-10)
    assert abs(got[0] - before[0]) > 5e-5  # it did move
