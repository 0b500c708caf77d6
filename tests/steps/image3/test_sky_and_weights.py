"""Resample removes skymatch's recorded (not subtracted) levels; weight types end to end."""

import numpy as np
import pytest

from webbcal.steps.image3._library import ExposureLibrary
from webbcal.steps.image3.resample import ResampleStep
from webbcal.steps.image3.skymatch import SkyMatchStep

from _image3_scene import make_scene

LEVELS = (0.30, 0.55)


@pytest.fixture(scope="module")
def sky_models():
    """Two dithered exposures of blank sky at different constant levels."""
    sc = make_scene(n_exposures=2, with_cr=False, n_stars=10, seed=11)
    models = [m.copy() for m in sc.models]
    for m, level in zip(models, LEVELS):
        m.data[:] = level
    return models


def _overlap(mosaic):
    """Mosaic pixels covered by both exposures."""
    return np.isfinite(mosaic.data) & (mosaic.con[0] == 0b11)


def _covered(mosaic):
    return np.isfinite(mosaic.data) & (mosaic.wht > 0)


def test_recorded_sky_levels_are_removed_before_drizzling(sky_models):
    """skymatch (match, subtract=False) records levels 0 and 0.25; the mosaic is flat
    at the lower level instead of a 0.30 / 0.55 patchwork (and mixed in the overlap)."""
    raw = ResampleStep().run(ExposureLibrary.from_models(sky_models)).mosaic
    assert np.nanmax(raw.data) - np.nanmin(raw.data) > 0.2  # the patchwork it fixes
    lib = SkyMatchStep(skymethod="match").run(ExposureLibrary.from_models(sky_models))
    levels = [m.bkglevel for m in lib.members]
    assert levels == [pytest.approx(0.0, abs=1e-4), pytest.approx(0.25, abs=1e-4)]
    assert not any(m.bkgsub for m in lib.members)
    mos = ResampleStep().run(lib).mosaic
    cov = _covered(mos)
    assert cov.sum() > 20000 and _overlap(mos).sum() > 5000
    np.testing.assert_allclose(mos.data[cov], LEVELS[0], atol=1e-4)
    tiled = ResampleStep(tile_size=64).run(lib).mosaic  # the tile path does the same
    np.testing.assert_allclose(tiled.data[cov], LEVELS[0], atol=1e-4)


def test_global_match_levels_give_zero_sky(sky_models):
    lib = SkyMatchStep(skymethod="global+match").run(ExposureLibrary.from_models(sky_models))
    assert [m.bkglevel for m in lib.members] == [pytest.approx(v, abs=1e-4) for v in LEVELS]
    mos = ResampleStep().run(lib).mosaic
    np.testing.assert_allclose(mos.data[_covered(mos)], 0.0, atol=1e-4)


def test_subtracted_levels_are_not_removed_twice(sky_models):
    lib = SkyMatchStep(skymethod="global+match", subtract=True).run(
        ExposureLibrary.from_models(sky_models))
    assert all(m.bkgsub for m in lib.members)
    mos = ResampleStep().run(lib).mosaic
    np.testing.assert_allclose(mos.data[_covered(mos)], 0.0, atol=1e-4)


def test_outlier_sums_with_sky_still_give_a_flat_mosaic(sky_models):
    """Sums left by outlier_detection are reused only if they had the sky removed."""
    from webbcal.steps.image3.outlier_detection import OutlierDetectionStep

    lib = SkyMatchStep(skymethod="global+match").run(ExposureLibrary.from_models(sky_models))
    lib = OutlierDetectionStep().run(lib)
    mos = ResampleStep(weight_type=OutlierDetectionStep().params.weight_type).run(lib).mosaic
    np.testing.assert_allclose(mos.data[_covered(mos)], 0.0, atol=1e-3)


@pytest.mark.parametrize("weight_type", ["ivm", "ivm-med", "ivm-smed", "exptime"])
def test_every_weight_type_runs_and_is_recorded(sky_models, weight_type):
    mos = ResampleStep(weight_type=weight_type).run(
        ExposureLibrary.from_models(sky_models)).mosaic
    assert mos.header["RESWHTWB"] == weight_type
    assert mos.header["RESWHT"] == ("exptime" if weight_type == "exptime" else "ivm")
    assert np.isfinite(mos.data).sum() > 20000
