"""The catalog's centroid columns: the official ``xcentroid``/``ycentroid``/
``sky_centroid`` and the windowed ``*_win`` set, with descriptions, through an ECSV
round trip as the pipeline writes it."""

import numpy as np


def _catalog():
    from webbcal.algorithms.image3.apcorr import aperture_set
    from webbcal.algorithms.image3.catalog import measure_sources
    from webbcal.algorithms.image3.grid import OutputGrid
    from webbcal.steps.image3.source_catalog import catalog_table

    rng = np.random.default_rng(3)
    y, x = np.indices((120, 140))
    img = np.full(x.shape, 0.1)
    for x0, y0, f, s in ((30.2, 40.7, 30.0, 1.2), (100.6, 80.1, 50.0, 3.0),
                         (70.0, 20.4, 20.0, 1.2)):
        img += f / (2 * np.pi * s * s) * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))
    sci = (img + rng.normal(0, 0.01, img.shape)).astype(np.float32)
    aps = aperture_set(0.066, input_scale=0.031, output_scale=0.031, ee=(30, 50, 70))
    src = measure_sources(sci, np.full(sci.shape, 0.01, np.float32), apertures=aps,
                          pixel_area_sr=2.3e-14)
    grid = OutputGrid((150.1, 2.2), (70.0, 60.0), 0.031, 20.0, sci.shape)
    return src, grid, catalog_table(src, grid, aps)


def test_both_centroid_sets_round_trip_through_ecsv(tmp_path):
    from astropy.coordinates import SkyCoord
    from astropy.table import QTable, Table

    src, grid, t = _catalog()
    assert len(t) == 3
    path = tmp_path / "x_cat.ecsv"
    t.write(path, format="ascii.ecsv")  # as Image3Pipeline writes it
    back = QTable.read(path)
    plain = Table.read(path, format="ascii.ecsv")
    for suffix, xs, ys in (("", src.x, src.y), ("_win", src.x_win, src.y_win)):
        x, y, sky = (back[f"{c}centroid{suffix}"] for c in ("x", "y", "sky_"))
        assert np.array_equal(np.asarray(x), xs) and np.array_equal(np.asarray(y), ys)
        assert getattr(x, "unit", None) is None  # unitless pixels, as the official catalog
        assert isinstance(sky, SkyCoord) and isinstance(plain[f"sky_centroid{suffix}"], SkyCoord)
        ra, dec = grid.pixel_to_world(xs, ys)
        assert np.allclose(sky.ra.deg, ra, rtol=0, atol=1e-12)
        assert np.allclose(sky.dec.deg, dec, rtol=0, atol=1e-12)
        assert "0-based pixel" in back.meta[f"xcentroid{suffix}, ycentroid{suffix}"]
        assert sky.info.description.startswith("ICRS position")
    assert "first moment" in back["sky_centroid"].info.description
    assert "windowed" in back["sky_centroid_win"].info.description
    assert "photometry" in back["sky_centroid_win"].info.description
    assert back.meta["photometry_centre"] == "xcentroid_win, ycentroid_win"
    # no plain-column descriptions: the report's fast reader still reads it
    from webbcal.report._io import read_ecsv_columns

    fast = read_ecsv_columns(path)
    assert "sky_centroid_win.ra" in fast.colnames
    assert np.array_equal(fast["sky_centroid_win.dec"], back["sky_centroid_win"].dec.deg)
    # two definitions: close for these isolated sources, never identical
    sep = back["sky_centroid"].separation(back["sky_centroid_win"]).to_value("arcsec")
    assert np.all(sep < 0.031) and np.all(sep > 0)
