"""assign_wcs, flat_field and photom steps on a small SUB160 rate image with
in-memory references (no CRDS)."""

import numpy as np
import pytest

from webbcal.datamodels import DQ, FormatError
from webbcal.steps.image2 import AssignWcsStep, FlatFieldStep, PhotomStep


def test_assign_wcs_sets_gwcs_and_sip_header(i2data, distortion_ref):
    from astropy.wcs import WCS

    from webbcal.instrument import DetectorGeometry

    exp = i2data.make_exposure()
    model = AssignWcsStep(references={"distortion": distortion_ref}).run(i2data.make_rate(exp))
    assert model.header["S_WCS"] == "COMPLETE"
    hdr = model.sci_header
    assert hdr["CTYPE1"] == "RA---TAN-SIP" and hdr["SIPMXERR"] < 0.01 and hdr["SIPIVERR"] < 0.01
    assert hdr["S_REGION"].startswith("POLYGON ICRS")
    x, y = np.meshgrid(np.arange(0, 160, 7.0), np.arange(0, 160, 9.0))
    ra, dec = model.wcs(x, y)
    geo = DetectorGeometry("NRCBLONG", exp.pointing, substrt=(905, 941), shape=(160, 160))
    ra_g, dec_g = geo.pixel_to_sky(x, y)
    assert np.hypot((ra - ra_g) * np.cos(np.deg2rad(dec)), dec - dec_g).max() * 3.6e6 < 1.0
    h = hdr.copy()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 160, 160
    ra_s, dec_s = WCS(h).all_pix2world(x, y, 0)
    err_px = np.hypot((ra_s - ra) * np.cos(np.deg2rad(dec)), dec_s - dec) * 3600 / 0.0629
    assert err_px.max() < 0.01


def test_assign_wcs_filter_offset_reference(i2data, distortion_ref):
    exp = i2data.make_exposure()
    plain = AssignWcsStep(references={"distortion": distortion_ref}).run(i2data.make_rate(exp))
    offsets = {"filters": [{"filter": "F444W", "pupil": "CLEAR", "column_offset": 1.0,
                            "row_offset": -2.0}]}
    moved = AssignWcsStep(references={"distortion": distortion_ref,
                                      "filteroffset": offsets}).run(i2data.make_rate(exp))
    assert np.allclose(moved.wcs(10.0, 20.0), plain.wcs(11.0, 18.0), rtol=0, atol=1e-10)


def test_assign_wcs_without_pointing_names_file_and_keyword(i2data, distortion_ref):
    exp = i2data.make_exposure(pointing=None)
    model = i2data.make_rate(exp, filename="nopoint_rate.fits")
    with pytest.raises(FormatError, match=r"nopoint_rate\.fits.*RA_REF"):
        AssignWcsStep(references={"distortion": distortion_ref}).run(model)


def test_flat_field_user_flat_from_path_and_memory(i2data, tmp_path):
    exp = i2data.make_exposure()
    flat = i2data.make_flat(exp, seed=7)
    path = flat.write(tmp_path / "my_flat.fits")
    rate = i2data.make_rate(exp)
    by_path = FlatFieldStep(references={"flat": str(path)}).run(rate.copy())
    in_mem = FlatFieldStep(references={"flat": flat}).run(rate.copy())
    expected = rate.data / flat.data
    assert np.allclose(by_path.data, expected, rtol=1e-6)
    assert np.array_equal(by_path.data, in_mem.data)
    assert np.allclose(by_path.var_flat, (expected * flat.err / flat.data) ** 2, rtol=1e-5)
    assert by_path.header["S_FLAT"] == "COMPLETE" and "my_flat.fits" in by_path.header["R_FLAT"]


def test_flat_field_unit_flat_is_invariant(i2data):
    exp = i2data.make_exposure()
    rate = i2data.make_rate(exp)
    flat = i2data.make_flat(exp, value=1.0)
    flat.err[:] = 0.0
    out = FlatFieldStep(references={"flat": flat}).run(rate.copy())
    assert np.array_equal(out.data, rate.data) and np.array_equal(out.dq, rate.dq)
    assert np.allclose(out.err, rate.err) and not out.var_flat.any()


def test_flat_field_bad_values_and_flags(i2data):
    exp = i2data.make_exposure()
    flat = i2data.make_flat(exp, value=2.0)
    flat.data[5, 5], flat.data[6, 6] = 0.0, np.nan
    flat.dq[7, 7] = DQ.UNRELIABLE_FLAT
    out = FlatFieldStep(references={"flat": flat}).run(i2data.make_rate(exp))
    assert np.isfinite(out.data).all()
    for y, x in ((5, 5), (6, 6)):
        assert out.dq[y, x] & (DQ.NO_FLAT_FIELD | DQ.DO_NOT_USE) == DQ.NO_FLAT_FIELD | DQ.DO_NOT_USE
    assert out.dq[7, 7] & DQ.UNRELIABLE_FLAT


def test_flat_of_wrong_shape_names_the_flat(i2data):
    exp = i2data.make_exposure()
    flat = i2data.make_flat(i2data.make_exposure(shape=(64, 64), substrt=(905, 941)),
                            filename="wrong_flat.fits")
    flat.header["SUBSIZE1"] = flat.header["SUBSIZE2"] = 160  # claims to cover the exposure
    with pytest.raises(FormatError, match=r"wrong_flat\.fits.*shape"):
        FlatFieldStep(references={"flat": flat}).run(i2data.make_rate(exp))


def test_photom_converts_to_mjy_per_sr(i2data):
    exp = i2data.make_exposure()
    rate = i2data.make_rate(exp)
    rate.var_flat = np.full(rate.data.shape, 1e-4, np.float32)
    refs = {"photom": i2data.make_photom(), "area": i2data.make_area(exp)}
    out = PhotomStep(references=refs).run(rate.copy())
    h = out.sci_header
    assert h["BUNIT"] == "MJy/sr" and h["PHOTMJSR"] == pytest.approx(0.45)
    assert h["PHOTUJA2"] == pytest.approx(0.45 * 23.5045, rel=1e-5)
    assert h["PIXAR_SR"] == pytest.approx(9.31e-14) and h["PIXAR_A2"] == pytest.approx(3.96e-3)
    assert np.allclose(out.data, rate.data * 0.45)
    assert np.allclose(out.var_poisson, rate.var_poisson * 0.45**2)
    assert np.allclose(out.var_flat, 1e-4 * 0.45**2)
    assert np.array_equal(out.area, refs["area"].data)


def test_photom_missing_filter_names_file_and_filter(i2data):
    exp = i2data.make_exposure(filter="F356W")
    refs = {"photom": i2data.make_photom(), "area": i2data.make_area(exp)}
    with pytest.raises(FormatError, match=r"test_photom\.fits.*F356W/CLEAR"):
        PhotomStep(references=refs).run(i2data.make_rate(exp))
