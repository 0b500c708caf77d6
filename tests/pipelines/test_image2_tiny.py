"""Image2 on the simulator's `tiny` world (detector1 → image2), checked against truth.

* Geometry: the cal WCS — the exact gwcs and the SIP approximation in the SCI header —
  maps the measured centroids of bright isolated stars onto the simulator's true sky
  positions (commanded pointing + the injected pointing error of
  ``truth/pointing_errors.ecsv``) within 5 mas RMS; the SIP agrees with the gwcs to
  0.01 px over the detector.
* Photometry: aperture fluxes of the same stars, corrected to total flux with the
  simulator's own PSF (``webbcal.simulate.psf.psf_model``), match the true fluxes to
  1 % in the median.

Centroids come from a least-squares fit of the simulator's PSF (position, flux,
background) on an 11×11 box; photometry is a 4-pixel circular aperture with a local
8–14 px annulus background, both corrected with the PSF sampled at the star's
sub-pixel phase (the PSF wing inside the annulus included).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

SNR_MIN = 50.0
R_AP, R_IN, R_OUT = 4.0, 8.0, 14.0
HALF_BOX = 5


@pytest.fixture(scope="module")
def tiny_cals(tiny_world, tiny_rate, tmp_path_factory):
    """All `tiny` exposures through detector1 and image2: list of cal paths.

    The first exposure's rate file is the session's shared ``tiny_rate``.
    """
    from webbcal.pipelines.detector1 import Detector1Pipeline
    from webbcal.pipelines.image2 import Image2Pipeline

    out = tmp_path_factory.mktemp("tiny_cal")
    cals = []
    with tiny_world.crds_env():
        for k, uncal in enumerate(tiny_world.uncal_files):
            d1 = tiny_rate[0]
            if k > 0:
                d1 = Detector1Pipeline(output_dir=out)
                d1.run(uncal)
            rate = next(p for p in d1.output_paths if str(p).endswith("_rate.fits"))
            im2 = Image2Pipeline(output_dir=out)
            im2.run(rate)
            cals.append(im2.output_paths[0])
    return cals


@pytest.fixture(scope="module")
def measured(tiny_world, tiny_cals):
    """Per bright isolated star: exposure, true flux, measured flux, sky errors (mas)."""
    from astropy.table import Table

    truth = tiny_world.truth_dir
    sources = Table.read(truth / "sources.ecsv")
    positions = Table.read(truth / "positions.fits")
    errors = Table.read(truth / "pointing_errors.ecsv")
    rows = []
    for cal in tiny_cals:
        rows += _measure_exposure(cal, sources, positions, errors)
    return rows


def _psf_for(model):
    from webbcal.instrument import DETECTORS, filter_info
    from webbcal.simulate.psf import psf_model

    exp = model.exposure
    info, fi = DETECTORS[exp.detector], filter_info(exp.filter, detector=exp.detector)
    # the same arguments the simulator renders with (simulate/_world_io.py)
    return psf_model(exp.filter, round(info.pixel_scale_arcsec, 5), round(fi.pivot_um, 3))


def _fit_centroid(model, psf, ix, iy):
    """PSF fit (dx, dy, flux, background) on a box about pixel (ix, iy)."""
    from scipy.optimize import least_squares

    h, r = HALF_BOX, psf.radius
    box = (slice(iy - h, iy + h + 1), slice(ix - h, ix + h + 1))
    cut = model.data[box].astype(np.float64)
    err = model.err[box].astype(np.float64)
    area = model.area[box].astype(np.float64)

    def resid(p):
        stamp = psf.stamp(p[0], p[1])[r - h:r + h + 1, r - h:r + h + 1]
        return ((p[2] * stamp / area + p[3] - cut) / err).ravel()

    fit = least_squares(resid, [0.0, 0.0, cut.sum(), float(np.median(cut))])
    return ix + fit.x[0], iy + fit.x[1], fit.x[0], fit.x[1]


def _aperture_flux(model, psf, xc, yc, dx, dy, bad):
    """PSF-corrected aperture flux (µJy) and its S/N."""
    from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry

    # point-source flux = Σ cal × PIXAR_SR × AREA (simulator convention)
    img = model.data.astype(np.float64) * model.area
    err = model.err.astype(np.float64) * model.area
    ap, an = CircularAperture((xc, yc), r=R_AP), CircularAnnulus((xc, yc), R_IN, R_OUT)
    t = aperture_photometry(img, [ap, an], error=err, mask=bad)
    bkg = t["aperture_sum_1"][0] / an.area_overlap(img, mask=bad)
    net = t["aperture_sum_0"][0] - bkg * ap.area
    stamp, c = psf.stamp(dx, dy), (psf.radius + dx, psf.radius + dy)
    ps = aperture_photometry(stamp, [CircularAperture(c, r=R_AP), CircularAnnulus(c, R_IN, R_OUT)])
    frac = ps["aperture_sum_0"][0] - ps["aperture_sum_1"][0] / an.area * ap.area
    return net / frac * model.sci_header["PIXAR_SR"] * 1e12, net / t["aperture_sum_err_0"][0]


def _measure_exposure(cal, sources, positions, errors):
    from astropy.wcs import WCS

    from webbcal.datamodels import DQ, read_image

    model = read_image(cal)
    name = cal.name[: -len("_cal.fits")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sip = WCS(model.sci_header)
    psf = _psf_for(model)
    pos = positions[positions["exposure"] == name]
    assert np.array_equal(pos["id"], sources["id"])
    x, y = np.asarray(pos["x"]), np.asarray(pos["y"])
    flux = np.asarray(sources[f"flux_{model.exposure.filter.lower()}"])
    dither = int(model.header["EXPOSURE"]) - 1
    perr = (errors["dra_arcsec"][dither] * 1e3, errors["ddec_arcsec"][dither] * 1e3)
    bad = ((model.dq & np.uint32(DQ.DO_NOT_USE)) != 0) | ~np.isfinite(model.data)
    ny, nx = model.data.shape
    rows = []
    for i in np.flatnonzero(np.asarray(sources["kind"]) == "star"):
        if not (R_OUT <= x[i] < nx - R_OUT and R_OUT <= y[i] < ny - R_OUT):
            continue
        d = np.hypot(x - x[i], y - y[i])
        d[i] = np.inf
        if np.any((d < R_OUT + 4) & (flux > 0.1 * flux[i])):
            continue  # not isolated
        ix, iy = int(np.floor(x[i] + 0.5)), int(np.floor(y[i] + 0.5))
        if bad[iy - HALF_BOX:iy + HALF_BOX + 1, ix - HALF_BOX:ix + HALF_BOX + 1].any():
            continue  # saturated core, bad pixel
        xc, yc, dx, dy = _fit_centroid(model, psf, ix, iy)
        f, snr = _aperture_flux(model, psf, xc, yc, dx, dy, bad)
        if snr < SNR_MIN:
            continue
        ra_dec = {"gwcs": model.wcs(xc, yc), "sip": sip.all_pix2world(xc, yc, 0)}
        err = {}
        for kind, (ra, dec) in ra_dec.items():
            cosd = np.cos(np.deg2rad(float(dec)))
            # truth was rendered with the true pointing = commanded + injected error
            err[kind] = ((float(ra) - sources["ra"][i]) * cosd * 3.6e6 + perr[0],
                         (float(dec) - sources["dec"][i]) * 3.6e6 + perr[1])
        rows.append({"exposure": name, "id": int(sources["id"][i]), "true": flux[i],
                     "flux": f, "snr": snr, "err_gwcs": err["gwcs"], "err_sip": err["sip"]})
    return rows


def test_enough_bright_isolated_stars(measured):
    assert len(measured) >= 5
    assert len({r["exposure"] for r in measured}) >= 2
    assert min(r["snr"] for r in measured) >= SNR_MIN


@pytest.mark.parametrize("kind", ["gwcs", "sip"])
def test_wcs_puts_truth_sources_on_their_centroids(measured, kind):
    e = np.array([r[f"err_{kind}"] for r in measured])
    rms = float(np.sqrt(np.mean(np.sum(e**2, axis=1))))
    assert rms < 5.0, f"{kind} astrometric RMS {rms:.2f} mas over {len(e)} stars"


def test_sip_matches_gwcs_over_detector(tiny_cals):
    from astropy.wcs import WCS

    from webbcal.datamodels import read_image

    for cal in tiny_cals:
        model = read_image(cal)
        ny, nx = model.data.shape
        x, y = np.meshgrid(np.linspace(-0.5, nx - 0.5, 40), np.linspace(-0.5, ny - 0.5, 40))
        ra, dec = model.wcs(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sip = WCS(model.sci_header)
        ra_s, dec_s = sip.all_pix2world(x, y, 0)
        scale = np.sqrt(abs(np.linalg.det(sip.wcs.cd))) * 3.6e6  # mas per pixel
        dra = (ra_s - ra + 180.0) % 360.0 - 180.0
        dev = (np.hypot(dra * np.cos(np.deg2rad(dec)), dec_s - dec) * 3.6e6 / scale).max()
        assert dev < 0.01, f"{cal.name}: SIP vs gwcs {dev:.4f} px"
        assert model.sci_header["SIPMXERR"] < 0.01


def test_aperture_photometry_matches_truth(measured):
    ratio = np.array([r["flux"] / r["true"] for r in measured])
    med = float(np.median(ratio))
    assert abs(med - 1.0) < 0.01, f"median flux ratio {med:.4f} over {ratio.size} stars"
    # and no star is wildly off (a per-star sanity bound; S/N ≥ 50 noise is ~2 %)
    assert np.all(np.abs(ratio - 1.0) < 0.08), ratio


def test_per_exposure_i2d_keeps_stars_on_their_truth_positions(tiny_cals, measured, tiny_world):
    """The per-exposure i2d (stage-3 resampler) of each cal: its grid WCS puts the
    bright isolated stars at their (pointing-corrected) truth positions, and a star's
    flux in a wide aperture is the same in the i2d as in the cal image."""
    from astropy.table import Table
    from astropy.wcs import WCS

    from webbcal.datamodels import read_image
    from webbcal.steps.image2.resample import resample_exposure

    sources = Table.read(tiny_world.truth_dir / "sources.ecsv")
    errors = Table.read(tiny_world.truth_dir / "pointing_errors.ecsv")
    res, ratios = [], []
    for cal in tiny_cals:
        stars = [r for r in measured if r["exposure"] == cal.name[: -len("_cal.fits")]]
        if not stars:
            continue
        model = read_image(cal)
        i2d = resample_exposure(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid = WCS(i2d.sci_header)
        scale = np.sqrt(abs(np.linalg.det(grid.pixel_scale_matrix))) * 3.6e6  # mas/px
        dither = int(model.header["EXPOSURE"]) - 1
        for r in stars:
            s = sources[sources["id"] == r["id"]][0]
            cosd = np.cos(np.deg2rad(s["dec"]))
            # where the commanded-pointing WCS sees the star: truth minus pointing error
            ra = s["ra"] - errors["dra_arcsec"][dither] / 3600.0 / cosd
            dec = s["dec"] - errors["ddec_arcsec"][dither] / 3600.0
            xt, yt = (float(v) for v in grid.all_world2pix(ra, dec, 0))
            xc, yc = _com(i2d.data, xt, yt)
            res.append(np.hypot(xc - xt, yc - yt) * scale)
            xs, ys = (float(v) for v in model.wcs.invert(ra, dec))
            f_cal = _wide_flux(model.data * model.area, xs, ys) * model.sci_header["PIXAR_SR"]
            ratios.append(_wide_flux(i2d.data, xt, yt) * i2d.sci_header["PIXAR_SR"] / f_cal)
    assert len(res) >= 3
    rms = float(np.sqrt(np.mean(np.square(res))))
    assert rms < 5.0, f"i2d astrometric RMS {rms:.2f} mas (centre of mass)"
    assert abs(np.median(ratios) - 1.0) < 0.01, ratios


def _com(img, x, y, h=6):
    """Background-subtracted centre of mass in a (2h+1)² box about (x, y)."""
    ix, iy = int(round(x)), int(round(y))
    cut = img[iy - h:iy + h + 1, ix - h:ix + h + 1].astype(np.float64)
    cut = cut - np.nanmedian(img[iy - 2 * h:iy + 2 * h + 1, ix - 2 * h:ix + 2 * h + 1])
    k = np.arange(-h, h + 1)
    total = np.nansum(cut)
    return ix + np.nansum(cut * k[None, :]) / total, iy + np.nansum(cut * k[:, None]) / total


def _wide_flux(img, x, y):
    """Sum in a 10 px circle minus the 12–16 px annulus mean (NaNs masked)."""
    from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry

    bad = ~np.isfinite(img)
    ap, an = CircularAperture((x, y), r=10.0), CircularAnnulus((x, y), 12.0, 16.0)
    t = aperture_photometry(np.where(bad, 0.0, img), [ap, an], mask=bad)
    bkg = t["aperture_sum_1"][0] / an.area_overlap(img, mask=bad)
    return t["aperture_sum_0"][0] - bkg * ap.area
