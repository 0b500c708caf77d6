"""resample / library invariants: flux conservation, tiling, memory, bad input, products."""

import json
import tracemalloc

import numpy as np
import pytest

from webbcal.datamodels import FormatError
from webbcal.errors import WebbcalError
from webbcal.steps.image3._library import ExposureLibrary, load_library
from webbcal.steps.image3.resample import ResampleStep

from _image3_scene import make_scene, write_scene


@pytest.fixture(scope="module")
def small():
    return make_scene(n_exposures=2, with_cr=False, n_stars=40, seed=7)


def test_constant_surface_brightness_stays_constant(small):
    """Distorted inputs of constant MJy/sr resample to the same constant (0.1 %)."""
    models = [m.copy() for m in small.models]
    for m in models:
        m.data[:] = 1.5
    lib = ExposureLibrary.from_models(models)
    mos = ResampleStep(rotation=17.0).run(lib).mosaic
    full = mos.wht >= 0.99 * np.nanmax(mos.wht[mos.wht > 0]) * 0.5
    inner = full & np.isfinite(mos.data)
    assert inner.sum() > 10000
    assert np.max(np.abs(mos.data[inner] / 1.5 - 1)) < 1e-3


def test_point_source_flux_is_conserved(small):
    """Σ mosaic × pixel area = Σ input × true pixel solid angle (within 0.5 %)."""
    from _image3_scene import _solid_angle

    from webbcal.instrument import DetectorGeometry

    m = small.models[0].copy()
    exp = m.exposure
    geom = DetectorGeometry(exp.detector, exp.pointing, substrt=(exp.substrt1, exp.substrt2),
                            shape=m.data.shape)
    omega = _solid_angle(geom, m.data.shape)
    y, x = np.mgrid[0:m.data.shape[0], 0:m.data.shape[1]]
    jy = np.exp(-0.5 * ((x - 101.3) ** 2 + (y - 97.8) ** 2) / 1.0**2)
    jy *= 1e-6 / jy.sum()
    m.data = (jy / omega / 1e6).astype(np.float32)
    mos = ResampleStep(pixel_scale_ratio=0.8, rotation=33.0).run(
        ExposureLibrary.from_models([m])).mosaic
    total = np.nansum(mos.data) * mos.sci_header["PIXAR_SR"] * 1e6
    assert abs(total / 1e-6 - 1) < 0.005


def test_tiled_equals_untiled_and_parallel_equals_serial(small):
    lib = ExposureLibrary.from_models(small.models)
    one = ResampleStep().run(lib).mosaic
    tiled = ResampleStep(tile_size=64).run(lib).mosaic
    par = ResampleStep(tile_size=100, workers=2).run(lib).mosaic
    for other in (tiled, par):
        ok = np.isfinite(one.data)
        assert np.array_equal(ok, np.isfinite(other.data))
        assert np.allclose(other.data[ok], one.data[ok], rtol=1e-5, atol=1e-6)
        assert np.allclose(other.wht, one.wht, rtol=1e-5, atol=1e-3)
        assert np.array_equal(other.con, one.con)
    assert set(np.unique(one.con)) <= {0, 1, 2, 3}


def test_context_can_be_turned_off(small):
    mos = ResampleStep(context_plane=False).run(ExposureLibrary.from_models(small.models)).mosaic
    assert mos.con is None


def test_peak_memory_does_not_grow_with_the_number_of_exposures(tmp_path):
    """tracemalloc of resampling 2 vs 4 exposures (files) onto the same grid."""
    sc = make_scene(n_exposures=4, with_cr=False, n_stars=10, seed=2)
    paths, *_ = write_scene(sc, tmp_path)
    peaks = []
    for n in (2, 4):
        lib = ExposureLibrary.from_paths(paths[:n], product_name="p", output_dir=tmp_path)
        for k in range(n):
            lib.nodes(k)
        step = ResampleStep(crval="53.16 -27.78", output_shape="400 400", rotation=0.0)
        tracemalloc.start()
        step.run(lib)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.2 * peaks[0]


def test_grid_missing_the_data_is_an_error(small):
    lib = ExposureLibrary.from_models(small.models)
    with pytest.raises(WebbcalError, match="no input pixel lands"):
        ResampleStep(crval="200.0 10.0", output_shape="50 50").run(lib)


def test_association_with_missing_member(tmp_path, small):
    paths, asn, _ = write_scene(small, tmp_path)
    paths[1].unlink()
    with pytest.raises(FormatError, match="missing"):
        load_library(asn)


def test_association_mixing_filters(tmp_path, small):
    models = [m.copy() for m in small.models]
    models[1].header["FILTER"] = "F150W"
    with pytest.raises(FormatError, match="F150W"):
        load_library(models)


def test_products_written_by_the_pipeline(image3_run):
    from astropy.table import Table

    from webbcal.datamodels import DQ, read_image, read_mosaic

    out = image3_run.folder
    stem = image3_run.library.product_name
    i2d = read_mosaic(out / f"{stem}_i2d.fits")
    assert i2d.sci_header["CTYPE1"] == "RA---TAN" and i2d.header["S_RESAMP"] == "COMPLETE"
    assert i2d.con is not None and i2d.var_rnoise.shape == i2d.data.shape
    cat = Table.read(out / f"{stem}_cat.ecsv")
    for col in ("label", "xcentroid", "ycentroid", "sky_centroid", "aper30_flux",
                "aper50_flux_err", "aper70_flux", "aper_total_flux", "aper_total_abmag",
                "isophotal_flux", "kron_flux", "kron_abmag", "CI_70_30", "is_extended",
                "flags"):
        assert col in cat.colnames
    assert (out / f"{stem}_segm.fits").exists()
    crfs = sorted(out.glob("*_crf.fits"))
    assert len(crfs) == 4
    crf = read_image(crfs[0])
    assert np.any(crf.dq & DQ.OUTLIER) and "BKGLEVEL" in crf.header
    assert crf.header["S_OUTLIR"] == "COMPLETE"


def test_command_line(tmp_path, small):
    from webbcal.cli import main

    paths, asn, _ = write_scene(small, tmp_path)
    rc = main(["run", "image3", str(asn), "--steps.source_catalog.skip", "true"])
    assert rc == 0
    name = json.loads(asn.read_text())["products"][0]["name"]
    assert (tmp_path / f"{name}_i2d.fits").exists()


def test_outlier_detection_parallel_equals_serial(tmp_path):
    from webbcal.datamodels import DQ, read_image
    from webbcal.steps.image3.outlier_detection import OutlierDetectionStep

    sc = make_scene(n_exposures=3, n_stars=40, seed=4)
    paths, *_ = write_scene(sc, tmp_path / "in")
    dqs = []
    for workers, out in ((1, tmp_path / "serial"), (2, tmp_path / "parallel")):
        lib = ExposureLibrary.from_paths(paths, product_name="p", output_dir=out)
        lib = OutlierDetectionStep(workers=workers, tile_size=96).run(lib)
        dqs.append([read_image(m.path).dq for m in lib.members])
        assert all(m.path.parent == out for m in lib.members)
    for a, b in zip(*dqs):
        assert np.array_equal(a, b)
    assert sum(int(np.sum(d & DQ.OUTLIER > 0)) for d in dqs[0]) > 100


def test_exposures_that_do_not_overlap_are_reported(caplog):
    """Two exposures 40″ apart: tweakreg and outlier_detection say why they skip; the
    mosaic still holds both (never silently empty)."""
    import _image3_scene as s

    old = s.DITHERS
    s.DITHERS = [(0.0, 0.0), (40.0, 0.0)]
    try:
        sc = make_scene(n_exposures=2, with_cr=False, n_stars=30, seed=9)
    finally:
        s.DITHERS = old
    from webbcal.steps.image3.outlier_detection import OutlierDetectionStep
    from webbcal.steps.image3.tweakreg import TweakRegStep

    lib = ExposureLibrary.from_models(sc.models)
    with caplog.at_level("WARNING", logger="webbcal.image3"):
        lib = TweakRegStep().run(lib)
        lib = OutlierDetectionStep().run(lib)
    text = caplog.text
    assert "no overlap" in text and "no two exposures overlap" in text
    mos = ResampleStep(context_plane=False).run(lib).mosaic
    assert np.isfinite(mos.data).sum() > 2 * 0.9 * 224 * 224


def test_sums_from_outlier_detection_equal_a_separate_resample():
    """outlier_detection drizzles each exposure once and leaves the sums (minus the
    pixels it flags) for resample: the mosaic equals drizzling the crf data again."""
    from webbcal.datamodels import DQ
    from webbcal.steps.image3.outlier_detection import OutlierDetectionStep

    sc = make_scene(n_exposures=3, n_stars=40, seed=4)
    lib = OutlierDetectionStep(tile_size=100).run(ExposureLibrary.from_models(sc.models))
    assert lib.prepared is not None
    n_flagged = sum(int(np.sum(lib.load(k).dq & DQ.OUTLIER > 0)) for k in range(len(lib)))
    assert n_flagged > 100
    wt = OutlierDetectionStep().params.weight_type  # the sums are reused only if equal
    fused = ResampleStep(weight_type=wt).run(lib).mosaic
    assert lib.prepared is None
    direct = ResampleStep(weight_type=wt).run(lib).mosaic  # no sums left: drizzles again
    assert np.array_equal(np.isfinite(fused.data), np.isfinite(direct.data))
    ok = np.isfinite(direct.data)
    # float32 rounding of subtracted cosmic rays only: far below the noise
    assert np.max(np.abs(fused.data - direct.data)[ok] / direct.err[ok]) < 1e-2
    assert np.median(np.abs(fused.data - direct.data)[ok]) < 1e-7
    np.testing.assert_allclose(fused.wht, direct.wht, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(fused.err[ok], direct.err[ok], rtol=5e-3)
    assert np.array_equal(fused.con, direct.con)


def test_executor_hook_receives_the_work_items(small):
    """Anything with ``map`` (a Dask client's executor, ...) gets the tiles; same mosaic."""
    class Recording:
        def __init__(self):
            self.items = 0

        def map(self, fn, items):
            items = list(items)
            self.items += len(items)
            return map(fn, items)

    lib = ExposureLibrary.from_models(small.models)
    serial = ResampleStep(tile_size=100).run(lib).mosaic
    step = ResampleStep(tile_size=100)
    step.executor = ex = Recording()
    hooked = step.run(lib).mosaic
    ny, nx = serial.data.shape
    assert ex.items == -(-ny // 100) * -(-nx // 100)
    np.testing.assert_array_equal(hooked.data, serial.data)


def test_window_reads_the_same_planes_as_load(tmp_path, small):
    """The cheap block reader (memory map, DQ with BZERO) = slicing the full read."""
    paths, *_ = write_scene(small, tmp_path)
    lib = ExposureLibrary.from_paths(paths, product_name="p", output_dir=tmp_path)
    lib.members[0].sky_subtract = 0.25
    full = lib.load(0)
    w = lib.window(0, (10, 120, 30, 200))
    sl = (slice(10, 120), slice(30, 200))
    assert w.dq.dtype == np.uint32 and w.data.dtype == np.float32
    for key in ("data", "dq", "var_rnoise", "var_poisson"):
        np.testing.assert_array_equal(getattr(w, key), getattr(full, key)[sl])
