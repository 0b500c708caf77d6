"""Compatibility with the official stdatamodels, both directions, and MAST products."""

import gzip
import shutil
import warnings

import numpy as np
import pytest

from webbcal.datamodels import (DQ, CubeModel, ImageModel, MosaicModel, RampModel,
                                make_group_table, make_int_times_table, read, read_image,
                                read_mosaic, read_uncal)

dm = pytest.importorskip("stdatamodels.jwst.datamodels")


def small_gwcs(crval=(53.16, -27.78), scale_deg=0.031 / 3600):
    """A TAN gwcs from astropy models (pixel -> ICRS), reference pixel (10, 7)."""
    from astropy import coordinates as coord
    from astropy import units as u
    from astropy.modeling import models
    from gwcs import coordinate_frames as cf
    from gwcs import wcs

    transform = ((models.Shift(-10) & models.Shift(-7))
                 | (models.Scale(scale_deg) & models.Scale(scale_deg))
                 | models.Pix2Sky_TAN()
                 | models.RotateNative2Celestial(crval[0], crval[1], 180))
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coord.ICRS(), name="world",
                            unit=(u.deg, u.deg))
    return wcs.WCS([(detector, transform), (sky, None)])


def _open_quietly(path):
    """Open with stdatamodels; return (model, list of warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = dm.open(path)
    relevant = [str(w.message) for w in caught
                if "Validation" in type(w.message).__name__ or "validat" in str(w.message)]
    return model, relevant


def _products(exposure, rng):
    primary, sci = exposure.to_headers()
    sci["BUNIT"] = "MJy/sr"
    shape, raw = exposure.shape, exposure.raw_shape
    f = lambda s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    uncal = RampModel(data=rng.integers(0, 65536, raw, dtype=np.uint16),
                      group=make_group_table(exposure),
                      int_times=make_int_times_table(exposure),
                      zeroframe=np.ones((exposure.nints, *shape), np.uint16),
                      header=primary, sci_header=sci)
    ramp = RampModel(data=f(raw), group=uncal.group, int_times=uncal.int_times,
                     pixeldq=np.zeros(shape, np.uint32), groupdq=np.zeros(raw, np.uint8),
                     header=primary, sci_header=sci)
    rate = ImageModel(data=f(shape), err=f(shape), header=primary, sci_header=sci)
    rate.dq[1, 2] = DQ.SATURATED
    ints = (exposure.nints, *shape)
    rateints = CubeModel(data=f(ints), err=f(ints), int_times=uncal.int_times,
                         header=primary, sci_header=sci)
    cal = ImageModel(data=f(shape), var_flat=f(shape) ** 2, area=np.ones(shape, np.float32),
                     wcs=small_gwcs(), header=primary, sci_header=sci)
    i2d = MosaicModel(data=f(shape), wht=np.ones(shape, np.float32),
                      con=np.ones((1, *shape), np.int32), wcs=small_gwcs(),
                      header=primary, sci_header=sci)
    return {"uncal": (uncal, "Level1bModel"), "ramp": (ramp, "RampModel"),
            "rate": (rate, "ImageModel"), "rateints": (rateints, "CubeModel"),
            "cal": (cal, "ImageModel"), "i2d": (i2d, "ImageModel")}


@pytest.mark.parametrize("kind", ["uncal", "ramp", "rate", "rateints", "cal", "i2d"])
def test_our_files_open_in_stdatamodels(tmp_path, exposure, rng, kind):
    model, cls_name = _products(exposure, rng)[kind]
    path = tmp_path / f"jw01234001001_01101_00001_nrcb1_{kind}.fits"
    model.write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any validation warning fails the test
        official = dm.open(path)
    with official:
        assert type(official).__name__ == cls_name
        np.testing.assert_array_equal(official.data, model.data)
        assert official.meta.instrument.detector == "NRCB1"
        assert official.meta.exposure.ngroups == 3 and official.meta.exposure.nints == 2
        assert official.meta.subarray.xstart == 101
        assert official.meta.wcsinfo.v2_ref == pytest.approx(-122.4)
        if kind == "rate":
            assert official.dq[1, 2] == DQ.SATURATED
        if kind in ("rate", "rateints", "cal", "i2d"):  # ERR in the units of SCI
            assert official.meta.bunit_err == official.meta.bunit_data == "MJy/sr"
        if kind == "uncal":
            assert official.group["group_number"].tolist() == [1, 2, 3, 1, 2, 3]
            assert official.zeroframe.shape == (2, 16, 24)
        if kind == "ramp":
            assert official.groupdq.shape == model.data.shape
        if kind in ("cal", "i2d"):
            ra, dec = official.meta.wcs(10, 7)
            assert (ra, dec) == pytest.approx((53.16, -27.78))
            ra2, _ = official.meta.wcs(11, 7)
            assert abs(ra2 - ra) * np.cos(np.radians(dec)) * 3600 == pytest.approx(0.031)
        if kind == "i2d":
            np.testing.assert_array_equal(official.con, model.con)
            np.testing.assert_array_equal(official.wht, model.wht)


def test_stdatamodels_would_warn_on_bad_enum(tmp_path, exposure, rng):
    """The check above is meaningful: a bad EXP_TYPE does raise a validation warning."""
    rate = _products(exposure, rng)["rate"][0]
    rate.header["EXP_TYPE"] = "NOT_A_TYPE"
    rate.write(tmp_path / "bad_rate.fits")
    _, messages = _open_quietly(tmp_path / "bad_rate.fits")
    assert messages


def test_wcs_round_trip_ours(tmp_path, exposure, rng):
    cal = _products(exposure, rng)["cal"][0]
    cal.write(tmp_path / "w_cal.fits")
    back = read_image(tmp_path / "w_cal.fits")
    x, y = np.array([0.0, 10, 23]), np.array([0.0, 7, 15])
    np.testing.assert_allclose(back.wcs(x, y), cal.wcs(x, y), rtol=0, atol=1e-12)


def test_stdatamodels_files_read_by_us(tmp_path, exposure, rng):
    primary, sci = exposure.to_headers()
    shape = exposure.shape
    # rate/cal written by the official ImageModel, with a gwcs
    m = dm.ImageModel(shape)
    m.data = rng.normal(size=shape).astype(np.float32)
    m.err = np.full(shape, 0.1, np.float32)
    m.dq = np.full(shape, int(DQ.DO_NOT_USE), np.uint32)
    m.var_poisson = np.full(shape, 0.01, np.float32)
    m.var_rnoise = np.full(shape, 0.02, np.float32)
    m.meta.instrument.name = "NIRCAM"
    m.meta.instrument.detector = "NRCB1"
    m.meta.exposure.ngroups, m.meta.exposure.nints = 3, 2
    m.meta.exposure.nframes, m.meta.exposure.groupgap = 8, 2
    m.meta.exposure.frame_time, m.meta.exposure.group_time = 0.5, 5.0
    m.meta.subarray.xsize, m.meta.subarray.ysize = 24, 16
    m.meta.wcsinfo.ra_ref, m.meta.wcsinfo.dec_ref, m.meta.wcsinfo.roll_ref = 53.1, -27.8, 12.5
    m.meta.wcsinfo.v2_ref, m.meta.wcsinfo.v3_ref = -122.4, -457.7
    m.meta.wcsinfo.v3yangle, m.meta.wcsinfo.vparity = -0.6, -1
    m.meta.wcs = small_gwcs()
    m.save(tmp_path / "official_rate.fits")
    ours = read(tmp_path / "official_rate.fits")
    assert type(ours) is ImageModel
    np.testing.assert_array_equal(ours.data, m.data)
    assert ours.dq.dtype == np.uint32 and ours.dq[0, 0] == 1
    np.testing.assert_allclose(ours.var_rnoise, 0.02)
    e = ours.exposure
    assert (e.detector, e.ngroups, e.nints, e.subsize1) == ("NRCB1", 3, 2, 24)
    assert e.pointing.v2_ref == pytest.approx(-122.4) and e.pointing.vparity == -1
    assert ours.wcs(10, 7) == pytest.approx((53.16, -27.78))

    # a level-1b file written by the official Level1bModel
    raw = rng.integers(0, 65536, exposure.raw_shape, dtype=np.uint16)
    u = dm.Level1bModel(data=raw)
    u.meta.instrument.name, u.meta.instrument.detector = "NIRCAM", "NRCB1"
    u.meta.exposure.ngroups, u.meta.exposure.nints = 3, 2
    u.save(tmp_path / "official_uncal.fits")
    back = read_uncal(tmp_path / "official_uncal.fits")
    assert back.data.dtype == np.uint16
    np.testing.assert_array_equal(back.data, raw)


@pytest.mark.parametrize("name", [
    "jw01288015001_04101_00001_mirimage_i2d.fits.gz",
    "jw01288015001_26101_00003_mirimage_i2d.fits.gz",
    "jw01288016001_34101_00002_mirimage_i2d.fits.gz",
])
def test_mast_miri_i2d(realdata, tmp_path, name):
    src = realdata / "flight_pixels" / name
    plain = tmp_path / name[:-3]
    with gzip.open(src) as fin, open(plain, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    for path in (src, plain):  # gzip directly and the unpacked file (fast path)
        m = read_mosaic(path)
        assert m.data.shape == (129, 137) and m.con.shape == (1, 129, 137)
        assert m.sci_header["BUNIT"] == "MJy/sr"
        assert m.header["INSTRUME"] == "MIRI" and m.exposure.nints == 115
        assert np.isfinite(m.data).any() and np.nanmax(m.wht) > 0
        with dm.open(plain) as official:
            np.testing.assert_array_equal(m.data, official.data)
            np.testing.assert_array_equal(m.con, official.con)
            # the gwcs from the ASDF extension agrees with the official reader's
            assert m.wcs(60, 60) == pytest.approx(official.meta.wcs(60, 60), abs=1e-10)
    # and it agrees with the FITS TAN header near the reference pixel
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tan = WCS(m.sci_header)
    assert m.wcs(60, 60) == pytest.approx([float(v) for v in tan.pixel_to_world_values(60, 60)],
                                          abs=1e-6)


def test_mast_fgs_uncal(realdata):
    """A real flight level-1b file (FGS ACQ1) reads with exact uint16 values."""
    from astropy.io import fits

    path = realdata / "flight_pixels" / "jw01019001001_gs-acq1_2022117003102_uncal.fits"
    m = read(path)
    assert type(m) is RampModel and m.is_raw and m.data.shape == (6, 2, 128, 128)
    assert (int(m.data.min()), int(m.data.max())) == (5886, 64364)
    with fits.open(path) as hdul:
        np.testing.assert_array_equal(m.data, hdul["SCI"].data)
    e = m.exposure
    assert (e.detector, e.subarray, e.substrt1, e.substrt2) == ("GUIDER2", "128X128", 887, 1022)
    assert (e.tframe, e.groupgap, e.fastaxis, e.slowaxis) == (0.182, 1, 2, -1)


def test_mast_header_only_file_is_rejected_clearly(realdata):
    """The flight header files have SCI cut to (1,1,1,1): a FormatError names NINTS."""
    from webbcal.datamodels import FormatError

    path = realdata / "flight_headers" / "jw01075001001_03105_00009_nrca2_uncal.fits"
    with pytest.raises(FormatError) as err:
        read_uncal(path)
    assert err.value.where == "extension SCI" and "shape (1, 1, 1, 1)" in err.value.found


def test_flight_headers_survive_our_writer(realdata, tmp_path):
    """All 198 + 79 real MAST cards (long CONTINUE strings included) go through our
    writer, come back from our reader, and validate in stdatamodels."""
    from astropy.io import fits

    path = realdata / "flight_headers" / "jw01075001001_03105_00009_nrca2_uncal.fits"
    with fits.open(path) as hdul:
        primary, sci = hdul[0].header.copy(), hdul["SCI"].header.copy()
    primary.update(SUBARRAY="SUB64P", SUBSIZE1=8, SUBSIZE2=4)
    m = RampModel(data=np.full((1, 10, 4, 8), 7, np.uint16), header=primary, sci_header=sci)
    m.write(tmp_path / "f_uncal.fits")
    back = read_uncal(tmp_path / "f_uncal.fits")
    assert back.sci_header["S_REGION"] == sci["S_REGION"]
    assert back.header["TARGNAME"] == "HD 147980" and back.exposure.pointing is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dm.open(tmp_path / "f_uncal.fits") as official:
            assert type(official).__name__ == "Level1bModel"
            assert official.meta.target.catalog_name == "HD 147980"
            assert official.meta.wcsinfo.roll_ref == pytest.approx(198.1509949487168)
