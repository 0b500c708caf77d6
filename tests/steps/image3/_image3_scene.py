"""Cal-like exposures with known truth for the image3 tests.

Stand-in for ``simulate_world('tiny')`` (not available when these tests were
written): stars rendered through the SIAF distortion with the *true* pointing
(nominal + a per-exposure-group pointing error), Gaussian PSF of the filter's FWHM,
sky, Gaussian noise with ERR/VAR_* consistent with it, and cosmic-ray hits injected
into the cal images (unflagged, like jump residuals). Headers carry the *nominal*
pointing, so tweakreg has something to fix. Units: MJy/sr; each pixel's value is
its flux over its true solid angle (sky-flat convention).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from webbcal.algorithms.image3.apcorr import psf_fwhm
from webbcal.datamodels import DQ, Association, ExposureInfo, ImageModel, Pointing
from webbcal.instrument import DetectorGeometry

RA0, DEC0, ROLL0 = 53.16, -27.78, 20.0
WINDOW = 224
DETECTORS = {"NRCA1": (120.576793, -527.501431), "NRCA2": (119.740061, -459.78426)}
DITHERS = [(0.0, 0.0), (1.0, 0.4), (0.5, -0.9), (-0.8, 0.7)]  # arcsec on the sky
SKY_LEVELS = [0.30, 0.33, 0.28, 0.31]
SKY_VAR_POISSON = 0.015**2
RNOISE = 0.012
FILTER = "F200W"


@dataclass(frozen=True)
class Scene:
    models: list            # ImageModel per (exposure, detector)
    ra: np.ndarray          # truth stars
    dec: np.ndarray
    flux: np.ndarray        # Jy
    cr_masks: list          # bool (ny, nx) per model
    true_pointings: list
    ref_ra: np.ndarray      # Gaia-like catalog (bright subset, 1.5 mas errors)
    ref_dec: np.ndarray


def _pointing(ra, dec, roll, v2, v3):
    return Pointing(ra_ref=ra, dec_ref=dec, roll_ref=roll, v2_ref=v2, v3_ref=v3,
                    v3i_yang=-0.09, vparity=-1, va_scale=1.0)


def _offset(ra, dec, dx, dy):
    return ra + dx / 3600.0 / np.cos(np.radians(dec)), dec + dy / 3600.0


def _solid_angle(geom, shape):
    """True solid angle [sr] of every pixel (corners through the geometry)."""
    ny, nx = shape
    yc, xc = np.mgrid[0:ny + 1, 0:nx + 1].astype(float) - 0.5
    ra, dec = geom.pixel_to_sky(xc, yc)
    r0, d0 = float(ra.mean()), float(dec.mean())
    x = (ra - r0) * np.cos(np.radians(d0)) * np.pi / 180
    y = (dec - d0) * np.pi / 180
    a = 0.5 * np.abs((x[:-1, :-1] - x[1:, 1:]) * (y[:-1, 1:] - y[1:, :-1])
                     - (x[:-1, 1:] - x[1:, :-1]) * (y[:-1, :-1] - y[1:, 1:]))
    return a


def _header(det, substrt, pointing, name, window=WINDOW):
    info = ExposureInfo(instrument="NIRCAM", detector=det, module="A", channel="SHORT",
                        filter=FILTER, pupil="CLEAR", exp_type="NRC_IMAGE",
                        readpatt="MEDIUM8", nframes=8, groupgap=2, ngroups=9, nints=1,
                        tframe=10.73677, tgroup=107.3677, subarray="SUBWIN",
                        substrt1=substrt[0], substrt2=substrt[1], subsize1=window,
                        subsize2=window, pointing=pointing)
    primary, sci = info.to_headers()
    primary["FILENAME"] = name
    sci["BUNIT"] = "MJy/sr"
    return primary, sci


def make_scene(*, n_exposures=4, detectors=("NRCA1",), n_stars=160, seed=1,
               pointing_error=0.25, roll_error=0.003, cr_fraction=0.0015,
               with_cr=True, window: int = WINDOW) -> Scene:
    """Simulate the scene (see module docstring); ``window`` = detector window size."""
    WINDOW = int(window)  # noqa: N806 - local override of the module default
    rng = np.random.default_rng(seed)
    cr_rng = np.random.default_rng(seed + 1000)  # CRs never change the rest of the scene
    fwhm_pix = psf_fwhm(FILTER) / 0.0311
    sigma = fwhm_pix / 2.3548
    # true pointing per exposure group; nominal = dithered pattern
    nominal, true = [], []
    for e in range(n_exposures):
        ra, dec = _offset(RA0, DEC0, *DITHERS[e % len(DITHERS)])
        nominal.append((ra, dec, ROLL0))
        ang = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(0.4, 1.0) * pointing_error
        rt, dt = _offset(ra, dec, amp * np.cos(ang), amp * np.sin(ang))
        true.append((rt, dt, ROLL0 + rng.normal(0, roll_error)))
    v2c, v3c = DETECTORS[detectors[0]]
    substrt = (1 + 1024 - WINDOW // 2, 1 + 1024 - WINDOW // 2)
    n_stars = int(n_stars * (WINDOW + 200) ** 2 / (224 + 200) ** 2)
    # stars spread over the union of the first detector's windows
    g0 = DetectorGeometry(detectors[0], _pointing(*nominal[0], v2c, v3c), substrt=substrt,
                          shape=(WINDOW, WINDOW))
    ras, decs = [], []
    for det in detectors:
        gd = DetectorGeometry(det, _pointing(*nominal[0], v2c, v3c), substrt=substrt,
                              shape=(WINDOW, WINDOW))
        x = rng.uniform(-100, WINDOW + 100, n_stars)
        y = rng.uniform(-100, WINDOW + 100, n_stars)
        r, d = gd.pixel_to_sky(x, y)
        ras.append(r)
        decs.append(d)
    del g0
    ra_s, dec_s = np.concatenate(ras), np.concatenate(decs)
    flux = 10 ** rng.uniform(-7.7, -5.3, ra_s.size)  # Jy: 0.02 .. 5 µJy
    models, crs, truep = [], [], []
    for e in range(n_exposures):
        for det in detectors:
            v2, v3 = DETECTORS[detectors[0]]
            p_nom = _pointing(*nominal[e], v2, v3)
            p_true = _pointing(*true[e], v2, v3)
            geom = DetectorGeometry(det, p_true, substrt=substrt, shape=(WINDOW, WINDOW))
            omega = _solid_angle(geom, (WINDOW, WINDOW))
            xs, ys = geom.sky_to_pixel(ra_s, dec_s)
            signal_jy = np.zeros((WINDOW, WINDOW))
            h = int(np.ceil(4 * sigma)) + 1
            for xs_, ys_, f in zip(xs, ys, flux):
                ix, iy = int(round(xs_)), int(round(ys_))
                if not (-h <= ix < WINDOW + h and -h <= iy < WINDOW + h):
                    continue
                x0, x1 = max(ix - h, 0), min(ix + h + 1, WINDOW)
                y0, y1 = max(iy - h, 0), min(iy + h + 1, WINDOW)
                if x0 >= x1 or y0 >= y1:
                    continue
                gx = np.arange(x0, x1)
                gy = np.arange(y0, y1)
                s2 = np.sqrt(2) * sigma
                fx = 0.5 * (erf((gx + 0.5 - xs_) / s2) - erf((gx - 0.5 - xs_) / s2))
                fy = 0.5 * (erf((gy + 0.5 - ys_) / s2) - erf((gy - 0.5 - ys_) / s2))
                signal_jy[y0:y1, x0:x1] += f * np.outer(fy, fx)
            signal = signal_jy / omega / 1e6  # MJy/sr
            sky = SKY_LEVELS[e % len(SKY_LEVELS)]
            var_p = SKY_VAR_POISSON * (sky + signal) / sky
            var_r = np.full_like(signal, RNOISE**2)
            err = np.sqrt(var_p + var_r)
            data = sky + signal + rng.normal(size=signal.shape) * err
            cr = np.zeros(signal.shape, bool)
            if with_cr:
                n = int(cr_fraction * cr.size)
                iy, ix = cr_rng.integers(2, WINDOW - 2, n), cr_rng.integers(2, WINDOW - 2, n)
                amp = 10 ** cr_rng.uniform(np.log10(30), np.log10(3000), n) * np.sqrt(
                    SKY_VAR_POISSON + RNOISE**2)
                data[iy, ix] += amp
                cr[iy, ix] = True
                two = cr_rng.random(n) < 0.3
                data[iy[two], ix[two] + 1] += 0.5 * amp[two]
                cr[iy[two], ix[two] + 1] = True
            name = f"jw01345001001_02101_{e + 1:05d}_{det.lower()}_cal.fits"
            primary, scih = _header(det, substrt, p_nom, name, WINDOW)
            primary["EFFEXPTM"] = 1000.0
            scih["PIXAR_SR"] = float(np.median(omega))
            m = ImageModel(data=data.astype(np.float32), err=err.astype(np.float32),
                           dq=np.zeros(signal.shape, np.uint32),
                           var_poisson=var_p.astype(np.float32),
                           var_rnoise=var_r.astype(np.float32),
                           var_flat=np.zeros(signal.shape, np.float32),
                           header=primary, sci_header=scih, filename=name)
            models.append(m)
            crs.append(cr)
            truep.append(p_true)
    bright = flux > 3e-7
    ref_ra = ra_s[bright] + rng.normal(0, 1.5e-3, bright.sum()) / 3600 / np.cos(np.radians(DEC0))
    ref_dec = dec_s[bright] + rng.normal(0, 1.5e-3, bright.sum()) / 3600
    return Scene(models, ra_s, dec_s, flux, crs, truep, ref_ra, ref_dec)


def write_scene(scene: Scene, folder, *, product="jw01345-o001_t001_nircam_clear-f200w"):
    """Write the cal files, the association and the reference catalog; returns paths."""
    from astropy.table import Table

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in scene.models:
        p = folder / m.filename
        m.copy().write(p)
        paths.append(p)
    asn = Association.from_members(product, paths, relative_to=folder)
    asn_path = folder / "test_image3_asn.json"
    asn.write(asn_path)
    ref = folder / "gaia.ecsv"
    Table({"ra": scene.ref_ra, "dec": scene.ref_dec}).write(ref, overwrite=True)
    return paths, asn_path, ref


def truth_match(ra, dec, scene: Scene, radius_mas=50.0):
    """Nearest truth star of each (ra, dec): (index, separation [mas])."""
    from scipy.spatial import cKDTree

    c = np.cos(np.radians(DEC0))
    t = np.column_stack([scene.ra * c, scene.dec]) * 3.6e6
    q = np.column_stack([np.asarray(ra) * c, np.asarray(dec)]) * 3.6e6
    d, i = cKDTree(t).query(q)
    return i, d


__all__ = ["Scene", "make_scene", "write_scene", "truth_match", "dataclasses"]
