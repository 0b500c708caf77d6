"""What tweakreg reads, and how: only the planes and headers it needs (the library's
plane reader, sky nodes from headers + gwcs), plain ECSV reference catalogs read
directly, and the crf's aligned gwcs patched in the ASDF text — each equal to the
slower route it replaces."""

import dataclasses
import io

import numpy as np
import pytest

from webbcal.datamodels import DQ, FormatError, ImageModel, read_image
from webbcal.steps.image3._library import ExposureLibrary, rebuild_wcs
from webbcal.steps.image3.tweakreg import _read_plain_ecsv, read_refcat

from _image3_scene import DETECTORS, _pointing


def test_plain_ecsv_reader_equals_astropy(tmp_path):
    from astropy import units as u
    from astropy.table import Table

    rng = np.random.default_rng(8)
    ra = np.concatenate([rng.uniform(0, 360, 300), [1e-7, 359.99999999999994, 0.0]])
    dec = np.concatenate([rng.uniform(-90, 90, 300), [-1e-300, 89.9, -0.0]])
    path = tmp_path / "ref.ecsv"
    Table({"ra": ra, "dec": dec, "g": rng.normal(size=ra.size)}).write(path)
    assert _read_plain_ecsv(path) is not None  # the direct route is taken
    got = read_refcat(path)
    t = Table.read(path)
    assert np.array_equal(got[0], np.asarray(t["ra"], np.float64))
    assert np.array_equal(got[1], np.asarray(t["dec"], np.float64))
    assert np.array_equal(got[0], ra) and np.array_equal(got[1], dec)
    # units, float32, other names, FITS: astropy reads them (same columns found)
    for name, table in (("u.ecsv", Table({"RA": ra * u.deg, "DEC": dec * u.deg})),
                        ("f.ecsv", Table({"ra_icrs": ra.astype(np.float32),
                                          "de_icrs": dec.astype(np.float32)})),
                        ("t.fits", Table({"ra": ra, "dec": dec}))):
        p = tmp_path / name
        table.write(p)
        assert _read_plain_ecsv(p) is None
        r, d = read_refcat(p)
        cols = table.colnames
        assert np.array_equal(r, np.asarray(table[cols[0]], np.float64))
        assert np.array_equal(d, np.asarray(table[cols[1]], np.float64))
    Table({"x": ra, "y": dec}).write(tmp_path / "bad.ecsv")
    with pytest.raises(FormatError, match="ra and dec"):
        read_refcat(tmp_path / "bad.ecsv")


def _cal(path, shape=(48, 64), wcs=None, seed=0):
    from webbcal.datamodels import ExposureInfo

    rng = np.random.default_rng(seed)
    p = _pointing(53.16, -27.78, 20.0, *DETECTORS["NRCA1"])
    info = ExposureInfo(instrument="NIRCAM", detector="NRCA1", module="A", channel="SHORT",
                        filter="F200W", pupil="CLEAR", exp_type="NRC_IMAGE",
                        readpatt="MEDIUM8", nframes=8, groupgap=2, ngroups=9, nints=1,
                        tframe=10.73677, tgroup=107.3677, subarray="SUBWIN",
                        substrt1=1000, substrt2=1000, subsize1=shape[1], subsize2=shape[0],
                        pointing=p)
    primary, sci = info.to_headers()
    sci["BUNIT"] = "MJy/sr"
    data = rng.normal(1, 0.1, shape).astype(np.float32)
    data[3, 5] = np.nan
    err = np.full(shape, 0.1, np.float32)
    err[7, 9] = np.inf
    m = ImageModel(data=data, err=err, dq=rng.integers(0, 4, shape).astype(np.uint32),
                   var_poisson=np.full(shape, 0.004, np.float32),
                   var_rnoise=rng.uniform(0.005, 0.007, shape).astype(np.float32),
                   var_flat=np.zeros(shape, np.float32), header=primary, sci_header=sci,
                   wcs=wcs, filename=path.name)
    m.write(path)
    return p


def _image2_gwcs(pointing, shape):
    from astropy.modeling.models import Mapping, Polynomial2D, Shift

    from webbcal.algorithms.image2.wcs import imaging_wcs

    px = Polynomial2D(2, c0_0=pointing.v2_ref, c1_0=0.031, c0_1=1e-4, c2_0=1e-9)
    py = Polynomial2D(2, c0_0=pointing.v3_ref, c1_0=-1e-4, c0_1=0.031, c0_2=2e-9)
    dist = (Shift(-1024.0) & Shift(-1024.0)) | Mapping((0, 1, 0, 1)) | (px & py)
    return imaging_wcs(dist, pointing, shape=shape)


def _nodes_equal(a, b):
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name))
               for f in dataclasses.fields(a))


def test_planes_headers_and_nodes_equal_a_full_load(tmp_path):
    """strided(k, 1) / headers / nodes (no plane read) give what load(k) gives."""
    path = tmp_path / "jw01345001001_02101_00001_nrca1_cal.fits"
    p = _cal(path)
    fast = ExposureLibrary.from_paths([path], product_name="p", output_dir=tmp_path)
    slow = ExposureLibrary.from_paths([path], product_name="p", output_dir=tmp_path)
    for lib in (fast, slow):
        lib.members[0].sky_subtract = 0.125
        lib.members[0].updates["sci"]["RA_REF"] = (p.ra_ref + 1e-4, "moved")
    model = slow.load(0)  # computes the nodes from the full model
    planes = fast.strided(0, 1, ("data", "err", "dq"))
    for key in ("data", "err", "dq"):
        assert planes[key].dtype == getattr(model, key).dtype
        assert np.array_equal(planes[key], getattr(model, key), equal_nan=True), key
    primary, sci = fast.headers(0)
    assert sci["RA_REF"] == p.ra_ref + 1e-4 and primary["DETECTOR"] == "NRCA1"
    assert fast.exposure(0).pointing == model.exposure.pointing
    assert fast.members[0].nodes is None
    assert _nodes_equal(fast.nodes(0), slow.nodes(0))
    assert fast.median_weight(0) == slow.median_weight(0)
    # in-memory members take the same route
    mem = ExposureLibrary.from_models([read_image(path)])
    mem.members[0].updates["sci"]["RA_REF"] = (p.ra_ref + 1e-4, "moved")
    assert _nodes_equal(mem.nodes(0), slow.nodes(0))


def test_nodes_from_a_gwcs_and_the_crf_asdf_patch(tmp_path):
    """With a gwcs (real cal files): nodes from headers + gwcs equal a full load's,
    also for a pending pointing; the crf's ASDF is patched in the text, and reads
    back as the asdf rebuild does."""
    from webbcal.datamodels._asdf import read_asdf_wcs
    from webbcal.steps.image3._crf import copy_with_new_dq

    shape = (40, 56)
    p0 = _pointing(53.16, -27.78, 20.0, *DETECTORS["NRCA1"])
    path = tmp_path / "c_cal.fits"
    _cal(path, shape, wcs=_image2_gwcs(p0, shape))
    moved = dataclasses.replace(p0, ra_ref=p0.ra_ref + 1e-4, roll_ref=p0.roll_ref + 2e-3)
    fast = ExposureLibrary.from_paths([path], product_name="p", output_dir=tmp_path)
    slow = ExposureLibrary.from_paths([path], product_name="p", output_dir=tmp_path)
    for lib in (fast, slow):
        lib.members[0].wcs_pointing = moved
    slow.load(0)
    assert _nodes_equal(fast.nodes(0), slow.nodes(0))

    ext = fast.aligned_asdf_hdu(0)
    assert isinstance(ext, bytes)  # the text patch, no asdf write
    dq = read_image(path).dq | np.uint32(DQ.OUTLIER)
    copy_with_new_dq(path, tmp_path / "c_crf.fits", dq, asdf_hdu=ext)
    crf = read_image(tmp_path / "c_crf.fits")
    assert np.array_equal(crf.dq, dq)
    want = rebuild_wcs(read_image(path).wcs, moved)
    x, y = np.array([0.0, 20.5, 55.0]), np.array([0.0, 11.0, 39.0])
    assert np.abs(np.subtract(crf.wcs(x, y), want(x, y))).max() < 1e-12
    assert np.abs(np.subtract(crf.wcs(x, y), read_image(path).wcs(x, y))).max() > 1e-5
    # the ASDF file itself has the asdf route's length and frames
    import asdf
    from astropy.io import fits

    with fits.open(tmp_path / "c_crf.fits") as h:
        raw = np.asarray(h["ASDF"].data["ASDF_METADATA"]).tobytes()
        frames = read_asdf_wcs(h["ASDF"]).available_frames
    buffer = io.BytesIO()
    asdf.AsdfFile({"meta": {"wcs": want}}).write_to(buffer)
    assert len(raw) == len(buffer.getvalue()) and frames == want.available_frames
