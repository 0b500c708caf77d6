"""Sky scenes (stars, Sérsic galaxies, sky background) and their noiseless images.

Fluxes are µJy per filter; positions RA/Dec (deg).  :func:`render_rate` turns a scene
into the true count rate (linear DN/s, QE applied) of one detector window through its
real geometry (``DetectorGeometry``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scene", "make_scene", "render_rate", "SKY_MJYSR", "SOURCE_DTYPE"]

#: Zodiacal-like sky background per filter, MJy/sr.
SKY_MJYSR = {"F090W": 0.08, "F115W": 0.09, "F150W": 0.10, "F200W": 0.12, "F277W": 0.10,
             "F356W": 0.12, "F444W": 0.30}

SOURCE_DTYPE = [("id", "i4"), ("kind", "U6"), ("ra", "f8"), ("dec", "f8"), ("n", "f4"),
                ("r_eff", "f4"), ("q", "f4"), ("pa", "f4")]


@dataclass(frozen=True)
class Scene:
    """Sources and sky.

    Attributes
    ----------
    sources : structured array (SOURCE_DTYPE)
        ``kind`` 'star' or 'galaxy'; Sérsic index ``n``, half-light radius ``r_eff``
        (arcsec), axis ratio ``q``, position angle ``pa`` (deg E of N).
    flux : dict filter -> (nsrc,) float64, µJy
    sky : dict filter -> float, MJy/sr
    """

    sources: np.ndarray
    flux: dict
    sky: dict


def make_scene(ra0, dec0, radius_arcsec, filters, *, rng, n_galaxies=300, n_stars=30,
               n_bright=4) -> Scene:
    """Random stars and galaxies in a circle about (ra0, dec0)."""
    n = n_galaxies + n_stars + n_bright
    r = radius_arcsec * np.sqrt(rng.random(n))
    th = rng.uniform(0, 2 * np.pi, n)
    src = np.zeros(n, SOURCE_DTYPE)
    src["id"] = np.arange(1, n + 1)
    src["dec"] = dec0 + r * np.sin(th) / 3600
    src["ra"] = ra0 + r * np.cos(th) / 3600 / np.cos(np.deg2rad(dec0))
    kind = np.array(["galaxy"] * n_galaxies + ["star"] * (n_stars + n_bright))
    src["kind"] = kind
    gal = kind == "galaxy"
    src["n"][gal] = rng.uniform(0.5, 4.0, gal.sum())
    src["r_eff"][gal] = np.exp(rng.uniform(np.log(0.06), np.log(0.5), gal.sum()))
    src["q"] = 1.0
    src["q"][gal] = rng.uniform(0.3, 1.0, gal.sum())
    src["pa"][gal] = rng.uniform(0, 180, gal.sum())
    # reference-filter fluxes (µJy): power laws; bright stars reach saturation
    f_ref = np.empty(n)
    f_ref[:n_galaxies] = np.exp(rng.uniform(np.log(0.02), np.log(5.0), n_galaxies))
    f_ref[n_galaxies:n_galaxies + n_stars] = np.exp(rng.uniform(np.log(0.3), np.log(20.0), n_stars))
    f_ref[n_galaxies + n_stars:] = np.exp(rng.uniform(np.log(30.0), np.log(300.0), n_bright))
    color = np.where(gal, rng.uniform(0.8, 3.0, n), rng.uniform(0.3, 0.8, n))
    flux = {}
    for f in filters:
        lam = float(f[1:4]) / 100.0
        flux[f] = f_ref * color ** np.clip((lam - 2.0) / 2.44, -1, 1)
    return Scene(sources=src, flux=flux, sky={f: SKY_MJYSR.get(f, 0.15) for f in filters})


def _sersic_b(n):
    return 2.0 * n - 1.0 / 3.0 + 0.009876 / n


def _galaxy_stamp(src, inv, x0, y0, pix_scale):
    """Unit-sum Sérsic stamp (pixels) and its lower-left corner; 3×3 subsampled.

    ``inv``: inverse of the local Jacobian (arcsec east/north per pixel), (2, 2).
    """
    rmax = min(max(4.0 * src["r_eff"] / pix_scale, 3.0), 30.0)
    half = int(np.ceil(rmax)) + 1
    ix, iy = int(np.floor(x0 + 0.5)), int(np.floor(y0 + 0.5))
    sub = ((np.arange(3) + 0.5) / 3 - 0.5).astype(np.float32)
    k = np.arange(-half, half + 1, dtype=np.float32)
    # (3n, 3n) subsample grid, float32 (the stamp is normalised: float32 is plenty)
    px = ((ix - x0) + k[:, None] + sub[None, :]).astype(np.float32).ravel()
    py = ((iy - y0) + k[:, None] + sub[None, :]).astype(np.float32).ravel()
    # pixel offsets -> sky offsets (arcsec, east, north) via the inverse Jacobian,
    # then onto the major (a) and minor (b) axes, in units of r_eff
    pa = np.deg2rad(float(src["pa"]))
    sp, cp = np.sin(pa), np.cos(pa)
    ri = 1.0 / float(src["r_eff"])
    ax, ay = (inv[0, 0] * sp + inv[1, 0] * cp) * ri, (inv[0, 1] * sp + inv[1, 1] * cp) * ri
    qi = ri / max(float(src["q"]), 0.05)
    bx, by = (inv[0, 0] * cp - inv[1, 0] * sp) * qi, (inv[0, 1] * cp - inv[1, 1] * sp) * qi
    a = np.float32(ax) * px[None, :] + np.float32(ay) * py[:, None]
    b = np.float32(bx) * px[None, :] + np.float32(by) * py[:, None]
    a *= a
    b *= b
    a += b
    # exp(-b_n r^(1/n)) with r^(1/n) = exp(log(r²) / 2n): float32 log/exp are SIMD in
    # numpy, float32 power is not (2x faster); r = 0 gives log = -inf -> exp(0) = 1
    with np.errstate(divide="ignore"):
        np.log(a, out=a)
    a *= np.float32(0.5 / float(src["n"]))
    np.exp(a, out=a)
    a *= np.float32(-_sersic_b(float(src["n"])))
    np.exp(a, out=a)
    # 3x3 block sums: columns then rows (strided adds, not a 4-axis reduction)
    a = a[:, 0::3] + a[:, 1::3] + a[:, 2::3]
    img = (a[0::3] + a[1::3] + a[2::3]).astype(np.float64)
    return img / img.sum(), ix - half, iy - half


def _add(image, stamp, x0, y0):
    ny, nx = image.shape
    sy, sx = stamp.shape
    ya, xa = max(y0, 0), max(x0, 0)
    yb, xb = min(y0 + sy, ny), min(x0 + sx, nx)
    if ya < yb and xa < xb:
        image[ya:yb, xa:xb] += stamp[ya - y0:yb - y0, xa - x0:xb - x0]


def _convolve_same(image, kernel):
    """``scipy.signal.convolve(image, kernel, mode='same')`` by one float32 FFT (2 threads).

    image (ny, nx), kernel (k, k) odd; returns (ny, nx) float32.
    """
    from scipy import fft

    ny, nx = image.shape
    k = kernel.shape[0]
    shape = (fft.next_fast_len(ny + k - 1, real=True), fft.next_fast_len(nx + k - 1, real=True))
    spec = fft.rfft2(image.astype(np.float32), shape, workers=2)
    spec *= fft.rfft2(kernel.astype(np.float32), shape, workers=2)
    full = fft.irfft2(spec, shape, workers=2)
    c = (k - 1) // 2
    return np.ascontiguousarray(full[c:c + ny, c:c + nx], np.float32)


def render_rate(scene, filt, geometry, psf, *, photmjsr, pixar_sr, qe, area):
    """True count rate of one detector window, linear DN/s (QE applied), and positions.

    Parameters
    ----------
    scene : Scene
    filt : str
    geometry : webbcal.instrument.DetectorGeometry
        The *true* geometry (pointing errors included).
    psf : webbcal.simulate.psf.PSF
    photmjsr : float
        MJy/sr per DN/s.
    pixar_sr : float
        Nominal pixel solid angle (sr).
    qe, area : (ny, nx) float32
        QE (flat without area) and relative pixel area.

    Returns
    -------
    rate : (ny, nx) float32, DN/s
    x, y : (nsrc,) float64, array pixel positions of every source
    """
    ny, nx = geometry.shape
    src = scene.sources
    x, y = geometry.sky_to_pixel(src["ra"], src["dec"])
    dn_per_ujy = 1e-12 / (photmjsr * pixar_sr)
    fl = scene.flux[filt] * dn_per_ujy
    pad = psf.radius + 70
    inside = (x > -pad) & (x < nx + pad) & (y > -pad) & (y < ny + pad)
    stars = np.zeros((ny, nx), np.float32)
    gals = np.zeros((ny, nx), np.float32)
    # local Jacobian (pixels per arcsec, east/north) at the window centre
    rc, dc = geometry.pixel_to_sky(nx / 2, ny / 2)
    d = 1.0 / 3600
    xe, ye = geometry.sky_to_pixel(rc + d / np.cos(np.deg2rad(dc)), dc)
    xn, yn = geometry.sky_to_pixel(rc, dc + d)
    xc, yc = geometry.sky_to_pixel(rc, dc)
    jac = np.array([[xe - xc, xn - xc], [ye - yc, yn - yc]])
    r = psf.radius
    inv = np.linalg.inv(jac)
    for i in np.flatnonzero(inside):
        if src["kind"][i] == "star":
            ix, iy = int(np.floor(x[i] + 0.5)), int(np.floor(y[i] + 0.5))
            stamp = psf.stamp(x[i] - ix, y[i] - iy) * fl[i]
            _add(stars, stamp, ix - r, iy - r)
        else:
            stamp, x0, y0 = _galaxy_stamp(src[i], inv, x[i], y[i], psf.pixel_scale)
            _add(gals, stamp * fl[i], x0, y0)
    if gals.any():
        gals = _convolve_same(gals, psf.stamp(0.0, 0.0))
    sky = scene.sky[filt] / photmjsr * area
    rate = (stars + gals + sky) * qe
    return rate.astype(np.float32), x, y
