"""Image2Pipeline end to end on a small rate file with in-memory references:
the cal product, its interoperability with stdatamodels/astropy.wcs, and bad inputs."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from webbcal.datamodels import FormatError, read_image
from webbcal.pipelines.image2 import Image2Pipeline

_spec = importlib.util.spec_from_file_location(
    "_image2_data", Path(__file__).parents[1] / "steps" / "image2" / "_image2_data.py")
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def sep_mas(ra1, dec1, ra2, dec2):
    dra = (np.asarray(ra1) - ra2 + 180.0) % 360.0 - 180.0
    return np.hypot(dra * np.cos(np.deg2rad(dec2)), np.asarray(dec1) - dec2) * 3.6e6


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    out = tmp_path_factory.mktemp("image2")
    exp = data.make_exposure()
    rate = data.make_rate(exp, filename=str(out / "jw_test_nrcblong_rate.fits"))
    rate.write(out / "jw_test_nrcblong_rate.fits")
    refs = data.make_references(exp)
    pipe = Image2Pipeline(references=refs)
    pipe.run(out / "jw_test_nrcblong_rate.fits")
    return pipe.output_paths[0], rate, refs


def test_writes_cal_with_expected_content(cal):
    path, rate, refs = cal
    assert path.name == "jw_test_nrcblong_cal.fits"
    model = read_image(path)
    flat, c = refs["flat"].data, 0.45
    assert np.allclose(model.data, rate.data / flat * c, rtol=1e-5)
    assert np.allclose(model.err ** 2, model.var_poisson + model.var_rnoise + model.var_flat,
                       rtol=1e-4)
    assert model.sci_header["BUNIT"] == "MJy/sr" and model.area is not None
    for key in ("S_WCS", "S_FLAT", "S_PHOTOM"):
        assert model.header[key] == "COMPLETE"


def test_stdatamodels_wcs_and_sip_header_match_ours(cal):
    from astropy.io import fits
    from astropy.wcs import WCS
    from stdatamodels.jwst import datamodels as dm

    path, _, _ = cal
    ours = read_image(path)
    x, y = np.meshgrid(np.linspace(0, 159, 12), np.linspace(0, 159, 12))
    ra, dec = ours.wcs(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no validation warnings either
        with dm.open(path) as official:
            ra_o, dec_o = official.meta.wcs(x, y)
    assert sep_mas(ra_o, dec_o, ra, dec).max() < 1.0
    header = fits.getheader(path, "SCI")
    ra_s, dec_s = WCS(header).all_pix2world(x, y, 0)
    assert (sep_mas(ra_s, dec_s, ra, dec) / 62.9).max() < 0.01  # < 0.01 px


@pytest.mark.parametrize("case", ["no_pointing", "filter_missing", "wrong_flat"])
def test_bad_input_raises_and_writes_nothing(tmp_path, case):
    exp = data.make_exposure(pointing=None if case == "no_pointing" else data.FLIGHT_POINTING,
                             filter="F356W" if case == "filter_missing" else "F444W")
    rate_path = tmp_path / "bad_rate.fits"
    data.make_rate(exp).write(rate_path)
    refs = data.make_references(exp)
    if case == "wrong_flat":
        small = data.make_exposure(shape=(64, 64))
        refs["flat"] = data.make_flat(small, filename="wrong_flat.fits")
    expected = {"no_pointing": r"bad_rate\.fits.*RA_REF",
                "filter_missing": r"test_photom\.fits.*F356W",
                "wrong_flat": r"wrong_flat\.fits"}[case]
    with pytest.raises(FormatError, match=expected):
        Image2Pipeline(references=refs, output_dir=tmp_path / "out").run(rate_path)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
