"""Image2Pipeline's per-exposure i2d (resample step): off by default; on request it
writes ``*_i2d.fits`` whose grid WCS puts a source where the cal gwcs does and whose
surface brightness and total flux match the cal image."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from webbcal.datamodels import read_image, read_mosaic
from webbcal.pipelines.image2 import Image2Pipeline

_spec = importlib.util.spec_from_file_location(
    "_image2_data", Path(__file__).parents[1] / "steps" / "image2" / "_image2_data.py")
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

X0, Y0, SIGMA, PEAK, SKY = 83.3, 71.6, 1.6, 200.0, 1.0  # rate image blob (DN/s)


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    out = tmp_path_factory.mktemp("image2_i2d")
    exp = data.make_exposure()
    ny, nx = exp.shape
    y, x = np.mgrid[0:ny, 0:nx]
    blob = SKY + PEAK * np.exp(-0.5 * ((x - X0) ** 2 + (y - Y0) ** 2) / SIGMA**2)
    rate_path = out / "jw_i2d_nrcblong_rate.fits"
    data.make_rate(exp, data=blob.astype(np.float32)).write(rate_path)
    refs = data.make_references(exp)
    refs["flat"] = data.make_flat(exp, value=1.0)
    default = Image2Pipeline(references=refs, output_dir=out / "default")
    default.run(rate_path)
    pipe = Image2Pipeline(references=refs, output_dir=out / "i2d",
                          steps={"resample": {"skip": False}})
    pipe.run(rate_path)
    return default.output_paths, pipe.output_paths


def test_default_writes_cal_only(products):
    default, _ = products
    assert [p.name for p in default] == ["jw_i2d_nrcblong_cal.fits"]


def test_i2d_written_with_exposure_metadata(products):
    _, paths = products
    assert [p.name for p in paths] == ["jw_i2d_nrcblong_cal.fits", "jw_i2d_nrcblong_i2d.fits"]
    i2d = read_mosaic(paths[1])
    assert i2d.header["S_RESAMP"] == "COMPLETE"
    assert i2d.header["DETECTOR"] == "NRCBLONG" and i2d.header["FILTER"] == "F444W"
    assert i2d.sci_header["BUNIT"] == "MJy/sr"
    assert i2d.header["NDRIZIM"] == 1
    assert np.all(i2d.wht[np.isfinite(i2d.data)] > 0)


def _centroid(img, x, y, h=6):
    ix, iy = int(round(x)), int(round(y))
    cut = img[iy - h:iy + h + 1, ix - h:ix + h + 1].astype(np.float64)
    cut = cut - np.nanmedian(img)
    yy, xx = np.mgrid[-h:h + 1, -h:h + 1]
    return ix + (cut * xx).sum() / cut.sum(), iy + (cut * yy).sum() / cut.sum(), cut.sum()


def test_i2d_source_position_and_flux_match_cal(products):
    from astropy.wcs import WCS

    _, (cal_path, i2d_path) = products
    cal, i2d = read_image(cal_path), read_mosaic(i2d_path)
    ra, dec = cal.wcs(X0, Y0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = WCS(i2d.sci_header)
    xg, yg = grid.all_world2pix(ra, dec, 0)
    xc, yc, flux_i2d = _centroid(i2d.data, float(xg), float(yg))
    assert np.hypot(xc - xg, yc - yg) < 0.05  # pixels of the (native-scale) grid
    # flux: Σ SB × pixel solid angle, in the cal (× AREA) and on the grid
    xc0, yc0, flux_cal = _centroid(cal.data * cal.area, X0, Y0)
    assert np.hypot(xc0 - X0, yc0 - Y0) < 0.05
    ratio = flux_i2d * i2d.sci_header["PIXAR_SR"] / (flux_cal * cal.sci_header["PIXAR_SR"])
    assert abs(ratio - 1.0) < 0.01, ratio
    # a flat sky stays flat: surface brightness is preserved in the interior
    sky_cal = np.median(cal.data[:, :40])
    interior = i2d.data[20:-20, 20:-20]
    assert abs(np.nanmedian(interior) / sky_cal - 1.0) < 0.02
