"""The i2d's ASDF extension emitted without asdf (``webbcal.datamodels._asdf_text``):
the bytes equal what asdf writes for ``grid_gwcs(grid)``, read back they give the same
transforms, and stdatamodels opens an i2d written with it."""

import copy
import io

import numpy as np
import pytest

from webbcal.algorithms.image3.grid import OutputGrid
from webbcal.datamodels._asdf_text import (TanGwcs, asdf_extension_bytes, tan_gwcs_asdf,
                                           yaml_float)
from webbcal.steps.image3.resample import grid_gwcs, grid_tan_gwcs


def _grids(n, seed=3):
    rng = np.random.default_rng(seed)
    out = [OutputGrid(crval=(5e-05, -0.0), crpix=(1e17, 3.0), pixel_scale=0.03, rotation=0.0,
                      shape=(100, 200)),
           OutputGrid(crval=(359.99999, 89.5), crpix=(-12.5, 7000.125), pixel_scale=0.063,
                      rotation=-179.9, shape=(1, 20000))]
    for _ in range(n):
        out.append(OutputGrid(crval=(rng.uniform(0, 360), rng.uniform(-89, 89)),
                              crpix=(rng.uniform(-10, 5000), rng.uniform(-10, 5000)),
                              pixel_scale=rng.uniform(0.01, 0.1),
                              rotation=rng.uniform(-180, 180),
                              shape=(int(rng.integers(1, 20000)), int(rng.integers(1, 20000)))))
    return out


def _canonical(b: bytes) -> bytes:
    """ASDF bytes with the history's extension entries sorted: asdf lists the
    extensions it used from a set, so their order varies from run to run."""
    head, rest = b.split(b"  extensions:\n", 1)
    ext, tail = rest.split(b"meta:\n", 1)
    entries = ext.split(b"  - ")
    assert entries[0] == b""
    return head + b"".join(sorted(b"  - " + e for e in entries[1:])) + b"meta:\n" + tail


def _asdf_bytes(wcs) -> bytes:
    import asdf

    buffer = io.BytesIO()
    asdf.AsdfFile({"meta": {"wcs": wcs}}).write_to(buffer)
    return buffer.getvalue()


def test_yaml_float_is_pyyaml_representation():
    import yaml

    for v in (0.5, -1053.25, 1e17, 5e-05, -0.0, 214.9, 1 / 3, 1e-300, np.float64(2.5)):
        assert yaml_float(v) == yaml.dump(float(v)).split("\n")[0]
    assert yaml_float(1e17) == "1.0e+17" and yaml_float(float("nan")) == ".nan"


def _template_versions_installed() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    from webbcal.datamodels._asdf_text import TEMPLATE_VERSIONS

    try:
        return all(version(p) == v for p, v in TEMPLATE_VERSIONS.items())
    except PackageNotFoundError:
        return False


@pytest.mark.skipif(not _template_versions_installed(),
                    reason="byte equality holds for the template's asdf/gwcs versions only "
                           "(the read-back tests below cover the others)")
def test_emitted_bytes_equal_asdf_output():
    for g in _grids(6):
        mine = tan_gwcs_asdf(g.crval, g.crpix, g.cd, g.shape)
        ref = _asdf_bytes(grid_gwcs(g))
        assert len(mine) == len(ref)
        assert _canonical(mine) == _canonical(ref)


def test_extension_bytes_equal_astropy_table():
    from astropy.io import fits

    from webbcal.datamodels._fits_write import astropy_hdu_bytes

    for n in (1, 2880, 4541, 10000):
        raw = bytes(np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8))
        col = fits.Column(name="ASDF_METADATA", format=f"{n}B",
                          array=np.frombuffer(raw, np.uint8)[None])
        ref = astropy_hdu_bytes(fits.BinTableHDU.from_columns([col], name="ASDF"))
        assert asdf_extension_bytes(raw) == ref


def test_read_back_transforms_equal_grid_gwcs():
    import asdf

    rng = np.random.default_rng(7)
    for g in _grids(4, seed=11)[1:]:
        with asdf.open(io.BytesIO(tan_gwcs_asdf(g.crval, g.crpix, g.cd, g.shape))) as af:
            wcs = af.tree["meta"]["wcs"]
            ref = grid_gwcs(g)
            ny, nx = g.shape
            x = rng.uniform(-0.5, nx - 0.5, 500)
            y = rng.uniform(-0.5, ny - 0.5, 500)
            ra, dec = wcs(x, y)
            ra0, dec0 = ref(x, y)
            assert np.isfinite(ra).all()
            dra = (ra - ra0 + 180.0) % 360.0 - 180.0
            assert np.abs(dra).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10
            xb, yb = wcs.invert(ra0, dec0)
            xr, yr = ref.invert(ra0, dec0)
            assert np.abs(xb - xr).max() < 1e-6 and np.abs(yb - yr).max() < 1e-6
            assert wcs.bounding_box.bounding_box() == ref.bounding_box.bounding_box()
            assert tuple(wcs.pixel_shape) == (nx, ny)
            # and the grid's own arithmetic (the FITS header) agrees
            gra, gdec = g.pixel_to_world(x, y)
            assert np.abs((ra - gra + 180) % 360 - 180).max() < 1e-10
            assert np.abs(dec - gdec).max() < 1e-10


def test_tan_gwcs_is_lazy_and_forwards():
    g = OutputGrid(crval=(150.1, 2.2), crpix=(50.0, 40.0), pixel_scale=0.03, rotation=20.0,
                   shape=(80, 100))
    lazy = grid_tan_gwcs(g)
    dup = copy.deepcopy(lazy)
    assert lazy._gwcs is None and dup._gwcs is None  # copying builds nothing
    ra, dec = lazy(np.array([3.0, 60.0]), np.array([7.0, 33.0]))
    ra0, dec0 = grid_gwcs(g)(np.array([3.0, 60.0]), np.array([7.0, 33.0]))
    assert np.allclose(ra, ra0, rtol=0, atol=1e-12) and np.allclose(dec, dec0, rtol=0, atol=1e-12)
    assert lazy.forward_transform.n_inputs == 2 and lazy.output_frame.name == "world"
    assert dup.asdf_bytes() == lazy.asdf_bytes()
    with pytest.raises(AttributeError):
        lazy.__nonexistent__  # noqa: B018


def test_mosaic_written_with_text_asdf_opens_in_stdatamodels(tmp_path):
    stdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    from webbcal.datamodels import MosaicModel
    from webbcal.datamodels.readers import read_mosaic

    g = OutputGrid(crval=(53.1, -27.8), crpix=(30.5, 20.0), pixel_scale=0.031,
                   rotation=-35.0, shape=(48, 64))
    data = np.arange(48 * 64, dtype=np.float32).reshape(48, 64)
    mosaic = MosaicModel(data=data, wcs=grid_tan_gwcs(g))
    mosaic.sci_header = g.to_header()
    path = tmp_path / "x_i2d.fits"
    mosaic.write(path)
    assert mosaic.wcs._gwcs is None  # written without building a gwcs
    # the same bytes as the asdf route (up to asdf's extension order)
    via_asdf = MosaicModel(data=data, wcs=grid_gwcs(g))
    via_asdf.sci_header = g.to_header()
    path2 = tmp_path / "y_i2d.fits"
    via_asdf.write(path2)
    a, b = path.read_bytes(), path2.read_bytes()
    assert len(a) == len(b)
    cut = a.index(b"#ASDF 1.0.0")
    assert a[:cut] == b[:cut]
    x = np.array([0.0, 10.5, 63.0])
    y = np.array([0.0, 30.25, 47.0])
    ra0, dec0 = g.pixel_to_world(x, y)
    with stdm.open(path) as model:
        ra, dec = model.meta.wcs(x, y)
        assert np.array_equal(model.data, data)
    assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10
    back = read_mosaic(path)
    ra, dec = back.wcs(x, y)
    assert np.abs(ra - ra0).max() < 1e-10 and np.abs(dec - dec0).max() < 1e-10
    hdul = mosaic.to_hdulist()
    assert np.asarray(hdul["ASDF"].data["ASDF_METADATA"]).tobytes() == mosaic.wcs.asdf_bytes()


def _image2_gwcs(pointing, shape=(64, 80)):
    """A gwcs in our image2's layout (a polynomial stands in for the distortion)."""
    from astropy.modeling.models import Polynomial2D, Shift

    from webbcal.algorithms.image2.wcs import imaging_wcs

    px = Polynomial2D(2, c0_0=-90.0, c1_0=0.031, c0_1=1e-4, c2_0=1e-9)
    py = Polynomial2D(2, c0_0=-490.0, c1_0=-1e-4, c0_1=0.031, c0_2=2e-9)
    from astropy.modeling.models import Mapping

    dist = (Shift(-1024.0) & Shift(-1024.0)) | Mapping((0, 1, 0, 1)) | (px & py)
    return imaging_wcs(dist, pointing, shape=shape)


def test_v23tosky_patch_equals_asdf_rebuild():
    import dataclasses

    import asdf

    from webbcal.datamodels import Pointing
    from webbcal.datamodels._asdf_text import flow_floats, patch_v23tosky
    from webbcal.steps.image3._library import rebuild_wcs

    rng = np.random.default_rng(5)
    for k in range(3):
        p = Pointing(ra_ref=rng.uniform(0, 360), dec_ref=rng.uniform(-80, 80),
                     roll_ref=rng.uniform(0, 360), v2_ref=rng.uniform(-200, 200),
                     v3_ref=rng.uniform(-600, -400), v3i_yang=0.0, vparity=-1,
                     va_scale=1.0 + 1e-5)
        wcs = _image2_gwcs(p)
        raw = _asdf_bytes(wcs)
        moved = dataclasses.replace(p, ra_ref=p.ra_ref + rng.normal() * 1e-4,
                                    dec_ref=p.dec_ref - 3e-5, roll_ref=p.roll_ref + 1e-3 * k)
        patched = patch_v23tosky(raw, moved)
        assert patched is not None
        ref = _asdf_bytes(rebuild_wcs(wcs, moved))
        assert _canonical(patched) == _canonical(ref)  # bytes, block index included
        assert _canonical(patch_v23tosky(raw, p)) == _canonical(raw)
        with asdf.open(io.BytesIO(patched)) as af:
            x, y = np.array([0.0, 40.0, 79.0]), np.array([0.0, 30.0, 63.0])
            got = af.tree["meta"]["wcs"](x, y)
            want = rebuild_wcs(wcs, moved)(x, y)
            assert np.abs(np.subtract(got, want)).max() < 1e-12
            assert np.abs(np.subtract(got, wcs(x, y))).max() > 1e-5  # it moved
    # another writer's layout: declined (the caller falls back to asdf)
    g = OutputGrid(crval=(1.0, 2.0), crpix=(3.0, 4.0), pixel_scale=0.03, rotation=0.0,
                   shape=(5, 6))
    assert patch_v23tosky(tan_gwcs_asdf(g.crval, g.crpix, g.cd, g.shape), p) is None
    assert patch_v23tosky(b"not asdf", p) is None
    # PyYAML wraps flow sequences past column 80
    assert flow_floats([1.5, 2.5], 70, 14) == "[1.5, 2.5]"
    assert flow_floats([0.03349355361111111, 0.14652817527777778, 129.99134418480682,
                        52.8793481666515], 20, 14) == (
        "[0.03349355361111111, 0.14652817527777778, 129.99134418480682,\n"
        "              52.8793481666515]")
