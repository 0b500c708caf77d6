"""Our writers and readers: round trips, uint16 handling, errors, atomic writes."""

import os

import numpy as np
import pytest
from astropy.io import fits

from webbcal.datamodels import (DQ, CubeModel, FormatError, ImageModel, MosaicModel,
                                RampModel, atomic_write, make_group_table,
                                make_int_times_table, read, read_cube, read_image,
                                read_mosaic, read_uncal)


def _uncal(exposure, rng):
    primary, sci = exposure.to_headers()
    sci["BUNIT"] = "DN"
    data = rng.integers(0, 65536, size=exposure.raw_shape, dtype=np.uint16)
    data.flat[:4] = [0, 32767, 32768, 65535]
    return RampModel(data=data, group=make_group_table(exposure),
                     int_times=make_int_times_table(exposure), header=primary, sci_header=sci)


def _image(exposure, rng, cls=ImageModel, nints=None):
    primary, sci = exposure.to_headers()
    shape = exposure.shape if nints is None else (nints, *exposure.shape)
    f = lambda: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    dq = np.zeros(shape, np.uint32)
    dq.flat[0] = DQ.DO_NOT_USE | DQ.REFERENCE_PIXEL  # bit 31 survives the uint32 path
    return cls(data=f(), err=f(), dq=dq, var_poisson=f(), var_rnoise=f(),
               header=primary, sci_header=sci)


def test_uncal_round_trip(tmp_path, exposure, rng):
    m = _uncal(exposure, rng)
    m.write(tmp_path / "a_uncal.fits")
    r = read_uncal(tmp_path / "a_uncal.fits")
    assert r.data.dtype == np.uint16 and r.data.dtype.isnative
    np.testing.assert_array_equal(r.data, m.data)
    assert r.exposure == exposure and r.is_raw
    np.testing.assert_array_equal(r.group, m.group)
    np.testing.assert_array_equal(r.int_times, m.int_times)
    assert r.header["DATAMODL"] == "Level1bModel" and r.sci_header["BUNIT"] == "DN"
    with fits.open(tmp_path / "a_uncal.fits") as hdul:  # the FITS convention: int16 + BZERO
        assert hdul["SCI"].header["BITPIX"] == 16 and hdul["SCI"].header["BZERO"] == 32768
        np.testing.assert_array_equal(hdul["SCI"].data, m.data)
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "GROUP", "INT_TIMES"]


def test_reads_astropy_written_uint16(tmp_path, exposure):
    data = np.arange(exposure.nints * exposure.ngroups * 16 * 24, dtype=np.uint32)
    data = (data * 97 % 65536).astype(np.uint16).reshape(exposure.raw_shape)
    primary, _ = exposure.to_headers()
    fits.HDUList([fits.PrimaryHDU(header=primary),
                  fits.ImageHDU(data, name="SCI")]).writeto(tmp_path / "b_uncal.fits")
    np.testing.assert_array_equal(read_uncal(tmp_path / "b_uncal.fits").data, data)


def test_ramp_round_trip(tmp_path, exposure, rng):
    m = _uncal(exposure, rng)
    ramp = RampModel(data=m.data.astype(np.float32), group=m.group, int_times=m.int_times,
                     pixeldq=np.full(exposure.shape, DQ.REFERENCE_PIXEL, np.uint32),
                     groupdq=np.zeros(exposure.raw_shape, np.uint8), header=m.header)
    ramp.groupdq[0, 1, 2, 3] = DQ.JUMP_DET
    ramp.write(tmp_path / "a_ramp.fits")
    r = read(tmp_path / "a_ramp.fits")
    assert isinstance(r, RampModel) and not r.is_raw
    assert r.header["DATAMODL"] == "RampModel"
    np.testing.assert_array_equal(r.data, ramp.data)
    assert r.pixeldq.dtype == np.uint32 and r.pixeldq[0, 0] == 2**31
    assert r.groupdq[0, 1, 2, 3] == DQ.JUMP_DET and r.groupdq.sum() == DQ.JUMP_DET


@pytest.mark.parametrize("cal", [False, True])
def test_image_round_trip(tmp_path, exposure, rng, cal):
    m = _image(exposure, rng)
    if cal:
        m.var_flat = np.full(exposure.shape, 0.5, np.float32)
        m.area = np.ones(exposure.shape, np.float32)
    name = tmp_path / ("a_cal.fits" if cal else "a_rate.fits")
    m.write(name)
    r = read(name)
    assert type(r) is ImageModel and r.filename == str(name)
    for attr in ("data", "err", "dq", "var_poisson", "var_rnoise", "var_flat", "area"):
        a, b = getattr(r, attr), getattr(m, attr)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.dtype.isnative
            np.testing.assert_array_equal(a, b)
    assert r.dq[0, 0] == 2**31 + 1 and r.exposure == exposure


def test_cube_round_trip(tmp_path, exposure, rng):
    m = _image(exposure, rng, CubeModel, nints=exposure.nints)
    m.int_times = make_int_times_table(exposure)
    m.write(tmp_path / "a_rateints.fits")
    r = read(tmp_path / "a_rateints.fits")
    assert type(r) is CubeModel and r.data.shape == (2, 16, 24)
    np.testing.assert_array_equal(r.var_rnoise, m.var_rnoise)
    np.testing.assert_array_equal(r.int_times["int_mid_MJD_UTC"],
                                  m.int_times["int_mid_MJD_UTC"])


def test_mosaic_round_trip(tmp_path, rng):
    data = rng.normal(size=(20, 30)).astype(np.float32)
    con = np.zeros((2, 20, 30), np.int32)
    con[1, 3, 4] = -2**31  # bit 31 of plane 1: input 63
    m = MosaicModel(data=data, wht=np.ones_like(data), con=con)
    m.header["INSTRUME"] = "NIRCAM"
    m.write(tmp_path / "a_i2d.fits")
    r = read(tmp_path / "a_i2d.fits")
    assert type(r) is MosaicModel
    np.testing.assert_array_equal(r.data, data)
    np.testing.assert_array_equal(r.con, con)
    assert r.wht.sum() == 600 and r.var_flat.shape == (20, 30)


def test_copy_is_independent(exposure, rng):
    m = _image(exposure, rng)
    c = m.copy()
    c.data[0, 0] = 1e6
    c.header["FILTER"] = "F444W"
    assert m.data[0, 0] != 1e6 and m.header["FILTER"] == "F200W"


# ---------------------------------------------------------------- errors
def test_missing_extension(tmp_path, exposure, rng):
    m = _image(exposure, rng)
    hdul = m.to_hdulist()
    del hdul["VAR_RNOISE"]
    hdul.writeto(tmp_path / "x_rate.fits")
    with pytest.raises(FormatError) as err:
        read_image(tmp_path / "x_rate.fits")
    e = err.value
    assert e.where == "extension VAR_RNOISE" and "x_rate.fits" in e.path
    assert "VAR_RNOISE" in e.expected and "'VAR_POISSON'" in e.found


def test_wrong_ndim(tmp_path, exposure, rng):
    m = _image(exposure, rng, CubeModel, nints=2)
    hdul = m.to_hdulist()
    hdul.writeto(tmp_path / "x_rate.fits")
    with pytest.raises(FormatError, match="expected a 2-D array, found a 3-D array"):
        read_image(tmp_path / "x_rate.fits")


def test_shape_inconsistent_with_ngroups(tmp_path, exposure, rng):
    m = _uncal(exposure, rng)
    m.header["NGROUPS"] = 4
    m.write(tmp_path / "x_uncal.fits")
    with pytest.raises(FormatError, match=r"NGROUPS=4.*found shape \(2, 3, 16, 24\)"):
        read_uncal(tmp_path / "x_uncal.fits")


def test_wrong_dtype(tmp_path, exposure, rng):
    m = _image(exposure, rng)
    hdul = m.to_hdulist()
    hdul["DQ"].data = np.full(exposure.shape, 0.5, np.float32)
    hdul.writeto(tmp_path / "x_rate.fits")
    with pytest.raises(FormatError, match="extension DQ: expected uint32 data, found float32"):
        read_image(tmp_path / "x_rate.fits")


def test_uncal_int32_sci_rejected(tmp_path, exposure):
    primary, _ = exposure.to_headers()
    fits.HDUList([fits.PrimaryHDU(header=primary), fits.ImageHDU(
        np.zeros(exposure.raw_shape, np.int32), name="SCI")]).writeto(tmp_path / "x.fits")
    with pytest.raises(FormatError, match="uint16 \\(raw\\) or float32"):
        read_uncal(tmp_path / "x.fits")


def test_truncated_file(tmp_path, exposure, rng):
    _uncal(exposure, rng).write(tmp_path / "x_uncal.fits")
    raw = (tmp_path / "x_uncal.fits").read_bytes()
    (tmp_path / "t_uncal.fits").write_bytes(raw[: 2880 * 4 + 100])
    with pytest.raises(FormatError, match="truncated"):
        read_uncal(tmp_path / "t_uncal.fits")


def test_truncated_anywhere_gives_format_error(tmp_path, exposure, rng):
    _image(exposure, rng).write(tmp_path / "x_rate.fits")
    raw = (tmp_path / "x_rate.fits").read_bytes()
    # every cut before the last block (data + padding): a FormatError, never a traceback
    for cut in range(1, len(raw) - 2880, 1001):
        (tmp_path / "t_rate.fits").write_bytes(raw[:cut])
        with pytest.raises(FormatError) as err:
            read(tmp_path / "t_rate.fits")
        assert "t_rate.fits" in str(err.value)


@pytest.mark.parametrize("content", [b"", b"hello world", b"SIMPLE  = garbage" * 10])
def test_not_fits(tmp_path, content):
    (tmp_path / "junk.fits").write_bytes(content)
    with pytest.raises(FormatError) as err:
        read(tmp_path / "junk.fits")
    assert "junk.fits" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        read_image(tmp_path / "nope_rate.fits")


def test_bad_group_table(tmp_path, exposure, rng):
    m = _uncal(exposure, rng)
    m.group = m.group[["integration_number", "group_number"]].copy()
    m.write(tmp_path / "x_uncal.fits")
    with pytest.raises(FormatError, match="extension GROUP.*missing"):
        read_uncal(tmp_path / "x_uncal.fits")


def test_validate_before_write(tmp_path, exposure, rng):
    m = _image(exposure, rng)
    m.err = m.err[:-1]
    with pytest.raises(FormatError, match="ImageModel.err"):
        m.write(tmp_path / "y_rate.fits")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- atomic
def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.fits"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.fits"]
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.fits"]


def test_format_error_fields_and_pickle():
    import pickle

    e = FormatError("f.fits", "extension SCI", "a 4-D array", "a 2-D array")
    assert isinstance(e, ValueError)
    assert str(e) == "f.fits: extension SCI: expected a 4-D array, found a 2-D array"
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.where, e2.expected, e2.found) == (e.path, e.where, e.expected, e.found)


def test_group_table_times(exposure):
    g = make_group_table(exposure)
    assert len(g) == 6 and list(g["group_number"]) == [1, 2, 3] * 2
    # groups end tgroup apart (tframe * (nframes + groupgap) = 5 s)
    dt = np.diff(g["bary_end_time"][:3]) * 86400
    np.testing.assert_allclose(dt, 5.0, atol=1e-4)
    it = make_int_times_table(exposure)
    assert np.all(it["int_start_MJD_UTC"] < it["int_end_MJD_UTC"])
    np.testing.assert_allclose(it["int_end_MJD_UTC"], g["bary_end_time"][[2, 5]])


def test_gzip_write_read_and_truncation(tmp_path, exposure, rng):
    m = _image(exposure, rng)
    m.write(tmp_path / "g_rate.fits.gz")
    assert (tmp_path / "g_rate.fits.gz").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read(tmp_path / "g_rate.fits.gz").data, m.data)
    raw = (tmp_path / "g_rate.fits.gz").read_bytes()
    (tmp_path / "t_rate.fits.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match="truncated or corrupt"):
        read(tmp_path / "t_rate.fits.gz")


def test_written_file_passes_astropy_verify(tmp_path, exposure, rng):
    _uncal(exposure, rng).write(tmp_path / "v_uncal.fits")
    assert (tmp_path / "v_uncal.fits").stat().st_size % 2880 == 0
    with fits.open(tmp_path / "v_uncal.fits") as hdul:
        hdul.verify("exception")
        assert hdul["GROUP"].data["group_number"].tolist() == [1, 2, 3, 1, 2, 3]


def test_signed_dq_is_reinterpreted_as_bits(tmp_path, exposure, rng):
    m = _image(exposure, rng)
    hdul = m.to_hdulist()
    signed = np.zeros(exposure.shape, np.int32)
    signed[0, 0] = -2**31 + 1  # bits 31 and 0
    hdul["DQ"] = fits.ImageHDU(signed, name="DQ")
    hdul.writeto(tmp_path / "s_rate.fits")
    dq = read_image(tmp_path / "s_rate.fits").dq
    assert dq.dtype == np.uint32 and dq[0, 0] == DQ.REFERENCE_PIXEL | DQ.DO_NOT_USE


def test_parallel_writer_matches_sequential_bytes(tmp_path, exposure, rng, monkeypatch):
    """write_parts (image data of the extensions in threads, at precomputed offsets) gives
    exactly the bytes of writing header, big-endian data and padding one after another,
    also when every array spans several conversion chunks (chunk of 7 elements)."""
    import webbcal.datamodels._fits_write as F

    monkeypatch.setattr(F, "_CHUNK", 7)
    f32 = rng.normal(size=(3, 5, 11)).astype(np.float32)
    u32 = rng.integers(0, 2**32, size=(5, 11), dtype=np.uint32)
    u32.flat[0] = 2**31 + 1
    u16 = rng.integers(0, 2**16, size=(2, 5, 11), dtype=np.uint16)
    parts = [F.primary_bytes(fits.Header([("TELESCOP", "JWST")]))]
    expected = [parts[0]]
    for name, arr, stored in (("SCI", f32, f32.astype(">f4")),
                              ("DQ", u32, (u32 ^ np.uint32(2**31)).view(np.int32).astype(">i4")),
                              ("RAW", u16, (u16 ^ np.uint16(2**15)).view(np.int16).astype(">i2"))):
        head = F.image_header_bytes(name, arr, None)
        raw = stored.tobytes()
        parts += [head, arr]
        expected += [head, raw + b"\0" * (-len(raw) % 2880)]
    for threads in (1, 2):
        path = tmp_path / f"t{threads}.fits"
        F.write_parts(path, parts, threads=threads)
        assert path.read_bytes() == b"".join(expected)
    with fits.open(tmp_path / "t2.fits") as hdul:
        np.testing.assert_array_equal(hdul["SCI"].data, f32)
        np.testing.assert_array_equal(hdul["DQ"].data.astype(np.int64), u32.astype(np.int64))
        np.testing.assert_array_equal(hdul["RAW"].data, u16)
    with pytest.raises(ValueError, match="2880"):
        F.write_parts(tmp_path / "bad.fits", [b"SIMPLE"])


def test_model_write_same_bytes_plain_and_gzip(tmp_path, exposure, rng):
    """The parallel plain-file path and the one-stream gzip path write the same FITS."""
    import gzip

    m = _image(exposure, rng, CubeModel, nints=exposure.nints)
    m.int_times = make_int_times_table(exposure)
    m.write(tmp_path / "a_rateints.fits")
    m.write(tmp_path / "b_rateints.fits.gz")
    plain = (tmp_path / "a_rateints.fits").read_bytes()
    assert plain == gzip.decompress((tmp_path / "b_rateints.fits.gz").read_bytes())
    assert len(plain) % 2880 == 0
