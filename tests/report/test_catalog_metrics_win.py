"""validate's astrometry of the two centroid sets: ``sky_centroid`` (official
definition) gives the main figures, ``sky_centroid_win`` the same pairs' windowed ones."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from test_catalog_metrics import COSD, _shift, synthetic_mosaic  # noqa: F401 (fixture)

from webbcal.report import catalog_metrics as C


def test_pair_residuals_by_hand():
    ra_t, dec_t = np.array([10.0, 10.001]), np.array([52.88, 52.881])
    ra, dec = _shift(ra_t, dec_t, np.array([3.0, -4.0]), np.array([1.0, 2.5]))
    dra, ddec = C.pair_residuals_mas(ra, dec, ra_t, dec_t)
    cos_mean = np.cos(np.deg2rad(dec_t.mean()))
    assert np.allclose(dra, np.array([3.0, -4.0]) * cos_mean / COSD, atol=1e-6)
    assert np.allclose(ddec, [1.0, 2.5], atol=1e-6)
    dra, _ = C.pair_residuals_mas(np.array([359.9999]), np.array([0.0]),  # across RA = 0
                                  np.array([0.0001]), np.array([0.0]))
    assert dra[0] == pytest.approx(-0.0002 * 3.6e6)


def test_windowed_centroids_give_a_second_astrometry_line(synthetic_mosaic, tmp_path):
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    import astropy.units as u

    from webbcal.report.collect import discover, mosaic_metrics

    root, truth, kind = synthetic_mosaic
    plain = mosaic_metrics(discover(root, truth_dir=truth).mosaics[0], truth)
    assert plain.astrometry_win is None  # a catalog without windowed centroids
    new = tmp_path / "mosaic"
    shutil.copytree(root, new)
    cat_path = next(new.glob("*_cat.ecsv"))
    cat = Table.read(cat_path)
    sky = cat["sky_centroid"]
    ra, dec = _shift(sky.ra.deg, sky.dec.deg, 4.0, -3.0)  # windowed: 4, -3 mas away
    cat["sky_centroid_win"] = SkyCoord(ra * u.deg, dec * u.deg)
    cat.write(cat_path, format="ascii.ecsv", overwrite=True)
    m = mosaic_metrics(discover(new, truth_dir=new / "truth").mosaics[0], new / "truth")
    a, w = m.astrometry, m.astrometry_win
    assert a == plain.astrometry  # the main figures: the official sky_centroid
    assert w.n == a.n == 40
    assert w.median_dra == pytest.approx(a.median_dra + 4.0, abs=0.05)
    assert w.median_ddec == pytest.approx(a.median_ddec - 3.0, abs=0.05)
    assert w.rms_relative == pytest.approx(a.rms_relative, abs=0.05)
