"""Reference models: round trips, official layouts (stdatamodels), validation, subarrays."""

import dataclasses
import warnings

import numpy as np
import pytest
from astropy.io import fits

from webbcal.datamodels import ExposureInfo
from webbcal.references import (AreaRef, DarkRef, DistortionRef, FlatRef, GainRef, LinearityRef,
                                MaskRef, PhotomRef, ReadnoiseRef, ReferenceError_, SaturationRef,
                                SuperbiasRef, read_reference, reference_header)
from webbcal.references._models import PHOTOM_DTYPE


def exposure(**kw):
    base = dict(instrument="NIRCAM", detector="NRCA1", module="A", channel="SHORT", filter="F200W",
                pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="RAPID", nframes=1, groupgap=0,
                ngroups=3, nints=1, tframe=10.73677, tgroup=10.73677, subarray="FULL", substrt1=1,
                substrt2=1, subsize1=2048, subsize2=2048, date_obs="2023-01-01", time_obs="00:00:00")
    base.update(kw)
    return ExposureInfo(**base)


def _hdr():
    return reference_header(detector="NRCA1", FILTER="F200W", PUPIL="CLEAR", EXP_TYPE="NRC_IMAGE")


A = np.arange(20, dtype=np.float32).reshape(4, 5)
DQ = np.zeros((4, 5), np.uint32)
DQ[1, 2] = 1 | 1024  # DO_NOT_USE | DEAD
DQ[3, 0] = 2048      # HOT
TABLE = np.array([("F200W", "CLEAR", 0.25, 0.01), ("F444W", "CLEAR", 0.5, 0.02)], dtype=PHOTOM_DTYPE)


def all_refs():
    from astropy.modeling import models
    return [MaskRef(DQ, _hdr()), SaturationRef(A + 1e4, DQ, _hdr()), SuperbiasRef(A, A / 10, DQ, _hdr()),
            LinearityRef(np.stack([A, A * 0 + 1, A * 1e-6]), DQ, _hdr()),
            DarkRef(np.stack([A, 2 * A, 3 * A]), np.stack([A, A, A]) / 100, DQ, _hdr()),
            GainRef(A + 1, _hdr()), ReadnoiseRef(A + 5, _hdr()), FlatRef(A / 20 + 0.5, A / 100, DQ, _hdr()),
            AreaRef(A / 20 + 0.9, 9.31e-14, 0.00396, _hdr()), PhotomRef(TABLE, 9.31e-14, 0.00396, _hdr()),
            DistortionRef(models.Shift(1.5) & models.Scale(0.031),
                          meta={"instrument": {"name": "NIRCAM", "detector": "NRCA1"}})]


MODEL_NAMES = {MaskRef: "MaskModel", SaturationRef: "SaturationModel", SuperbiasRef: "SuperBiasModel",
               LinearityRef: "LinearityModel", DarkRef: "DarkModel", GainRef: "GainModel",
               ReadnoiseRef: "ReadnoiseModel", FlatRef: "FlatModel", AreaRef: "PixelAreaModel",
               PhotomRef: "NrcImgPhotomModel", DistortionRef: "DistortionModel"}


def _path(tmp_path, ref):
    return tmp_path / f"{type(ref).__name__}.{'asdf' if isinstance(ref, DistortionRef) else 'fits'}"


@pytest.mark.parametrize("ref", all_refs(), ids=lambda r: type(r).__name__)
def test_round_trip(tmp_path, ref):
    path = ref.write(_path(tmp_path, ref))
    back = read_reference(path)
    assert type(back) is type(ref)
    if isinstance(ref, DistortionRef):
        x, y = np.array([0.0, 100.0]), np.array([3.0, 7.0])
        np.testing.assert_allclose(back.model(x, y), ref.model(x, y))
        assert back.input_units == "pix" and back.output_units == "arcsec"
        assert back.meta["instrument"]["detector"] == "NRCA1"
        return
    assert back.header["REFTYPE"] == ref.REFTYPE and back.header["DATAMODL"] == ref.DATAMODL
    assert back.header["DETECTOR"] == "NRCA1" and back.header["FILENAME"] == path.name
    for f in dataclasses.fields(ref):
        if f.name == "header":
            continue
        a, b = getattr(ref, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray) and a.dtype.names:
            assert a.tolist() == b.tolist()
        elif isinstance(a, np.ndarray):
            assert b.dtype == (np.uint32 if a.dtype == np.uint32 else np.float32)
            np.testing.assert_array_equal(a, b)
        else:
            assert a == pytest.approx(b)


@pytest.mark.parametrize("ref", all_refs(), ids=lambda r: type(r).__name__)
def test_opens_in_stdatamodels(tmp_path, ref):
    dm = pytest.importorskip("stdatamodels.jwst.datamodels")
    path = ref.write(_path(tmp_path, ref))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any validation warning fails the test
        with dm.open(path) as model:
            model.validate()
            assert type(model).__name__ == MODEL_NAMES[type(ref)]
            assert model.meta.reftype.upper() == ref.REFTYPE
            if hasattr(ref, "dq") and ref.dq is not None:  # DQ_DEF maps to the same official bits
                np.testing.assert_array_equal(model.dq, DQ)
            if isinstance(ref, PhotomRef):
                assert model.phot_table["photmjsr"][1] == pytest.approx(0.5)


def test_real_wfss_photom_table_reads(realdata):
    ref = PhotomRef.read(realdata / "reffiles" / "jwst_nircam_photom_0064.fits")
    assert len(ref.table) == 48 and ref.header["DETECTOR"] == "NRCALONG"
    assert ref.pixar_sr == pytest.approx(9.30711286318865e-14)
    f, p = ref.table["filter"][0], ref.table["pupil"][0]
    assert ref.lookup(f, p)[0] == pytest.approx(float(ref.table["photmjsr"][0]))


def test_photom_lookup_and_missing_row():
    ref = PhotomRef(TABLE, 1e-13, 0.004)
    assert ref.lookup("f444w") == (0.5, pytest.approx(0.02))
    with pytest.raises(ReferenceError_, match="F090W/CLEAR"):
        ref.lookup("F090W")


def test_wrong_reftype_names_file_keyword_and_values(tmp_path):
    path = GainRef(A, _hdr()).write(tmp_path / "g.fits")
    with pytest.raises(ReferenceError_) as err:
        FlatRef.read(path)
    msg = str(err.value)
    assert "g.fits" in msg and "REFTYPE" in msg and "FLAT" in msg and "GAIN" in msg


def test_missing_extension_wrong_ndim_and_dtype(tmp_path):
    path = SuperbiasRef(A, A, DQ, _hdr()).write(tmp_path / "sb.fits")
    with fits.open(path) as hdul:
        del hdul["SCI"]
        hdul.writeto(tmp_path / "nosci.fits")
    with pytest.raises(ReferenceError_, match="extension SCI"):
        SuperbiasRef.read(tmp_path / "nosci.fits")
    with fits.open(path) as hdul:
        hdul["SCI"].data = np.stack([A, A])
        hdul.writeto(tmp_path / "3d.fits")
    with pytest.raises(ReferenceError_, match="2-D image.*3-D"):
        read_reference(tmp_path / "3d.fits")
    with fits.open(path) as hdul:
        hdul["SCI"].data = A.astype(np.int16)
        hdul.writeto(tmp_path / "int.fits")
    with pytest.raises(ReferenceError_, match="dtype.*float32.*int16"):
        read_reference(tmp_path / "int.fits")
    with pytest.raises(ReferenceError_, match="no such file"):
        read_reference(tmp_path / "absent.fits")


def test_unknown_reftype(tmp_path):
    fits.PrimaryHDU(header=fits.Header([("REFTYPE", "IPC")])).writeto(tmp_path / "ipc.fits")
    with pytest.raises(ReferenceError_, match="REFTYPE.*IPC"):
        read_reference(tmp_path / "ipc.fits")


def test_write_is_atomic_on_failure(tmp_path):
    bad = GainRef(np.ones((3, 3, 3), np.float32))
    with pytest.raises(ReferenceError_, match="2-D"):
        bad.write(tmp_path / "bad.fits")
    assert list(tmp_path.iterdir()) == []


def _ff_image(x0, y0, nx, ny):
    """value = 10000 * y + x in 1-based full-frame science pixels."""
    y, x = np.mgrid[y0:y0 + ny, x0:x0 + nx]
    return (10000.0 * y + x).astype(np.float32)


def test_for_exposure_cuts_subarray_by_hand():
    # reference is itself a subarray starting at full-frame (101, 201), 10 x 8 pixels
    hdr = reference_header(detector="NRCA1", SUBARRAY="GENERIC", SUBSTRT1=101, SUBSTRT2=201,
                           SUBSIZE1=10, SUBSIZE2=8)
    img = _ff_image(101, 201, 10, 8)
    ref = FlatRef(img, img * 0, np.zeros_like(img, dtype=np.uint32), hdr)
    cut = ref.for_exposure(exposure(subarray="SUBX", substrt1=103, substrt2=204, subsize1=4, subsize2=3))
    assert cut.data.shape == (3, 4)
    assert cut.data[0, 0] == 10000 * 204 + 103 and cut.data[2, 3] == 10000 * 206 + 106
    assert (cut.header["SUBSTRT1"], cut.header["SUBSTRT2"], cut.header["SUBARRAY"]) == (103, 204, "SUBX")
    assert ref.data.shape == (8, 10)  # original untouched
    dark = DarkRef(np.stack([img, 2 * img]), header=hdr.copy())
    dcut = dark.for_exposure(exposure(substrt1=110, substrt2=208, subsize1=1, subsize2=1))
    assert dcut.data[:, 0, 0].tolist() == [10000 * 208 + 110, 2 * (10000 * 208 + 110)]


def test_for_exposure_full_frame_and_not_contained():
    ref = GainRef(_ff_image(1, 1, 2048, 2048))
    cut = ref.for_exposure(exposure(subarray="SUB64P", substrt1=1985, substrt2=1, subsize1=64, subsize2=64))
    assert cut.data[0, 0] == 10000 * 1 + 1985 and cut.data.shape == (64, 64)
    small = GainRef(_ff_image(1, 1, 10, 10), reference_header(detector="NRCA1", SUBSTRT1=1, SUBSTRT2=1,
                                                              SUBSIZE1=10, SUBSIZE2=10))
    with pytest.raises(ReferenceError_, match="SUBSTRT.*SUB64P"):
        small.for_exposure(exposure(subarray="SUB64P", substrt1=5, substrt2=1, subsize1=64, subsize2=64))


def test_read_skips_optional_arrays_without_changing_the_class(tmp_path):
    """``read(skip=...)`` leaves an optional array out; read_reference still gives the
    full class (the detector1 dark cache once swapped the registered class)."""
    dark = all_refs()[4]
    path = dark.write(tmp_path / "dark.fits")
    slim = DarkRef.read(path, skip=("err",))
    assert type(slim) is DarkRef and slim.err is None
    np.testing.assert_array_equal(slim.data, dark.data)
    full = read_reference(path)
    assert type(full) is DarkRef and full.err is not None
    with pytest.raises(ValueError, match="required"):
        DarkRef.read(path, skip=("data",))
