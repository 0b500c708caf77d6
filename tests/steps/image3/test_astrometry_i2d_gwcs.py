"""The i2d carries a gwcs (ASDF ``meta.wcs``) besides its FITS TAN header, like the
official i2d, and stdatamodels reads it (needs the resample step to set
``mosaic.wcs``: see /tmp/d_resample.patch, ``grid_gwcs``)."""

import numpy as np


def test_i2d_gwcs_matches_the_fits_header_and_opens_in_stdatamodels(image3_run):
    from astropy.io import fits
    from astropy.wcs import WCS

    stdm = __import__("pytest").importorskip("stdatamodels.jwst.datamodels")
    path = image3_run.folder / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits"
    assert path.exists() and image3_run.library.mosaic.wcs is not None
    x = np.array([0.0, 40.5, 150.25, 250.0])
    y = np.array([0.0, 90.0, 20.75, 260.0])
    hwcs = WCS(fits.getheader(path, "SCI"))
    ra_h, dec_h = hwcs.all_pix2world(x, y, 0)
    with stdm.open(path) as model:
        ra_g, dec_g = model.meta.wcs(x, y, with_bounding_box=False)
        assert model.data.shape == image3_run.library.mosaic.data.shape
    sep_mas = np.hypot((ra_g - ra_h) * np.cos(np.radians(dec_h)), dec_g - dec_h) * 3.6e6
    assert sep_mas.max() < 0.01
