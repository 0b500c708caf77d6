"""FITS TAN-SIP approximation of an exact pixel → sky transform.

The layout and keywords follow the official ``gwcs.WCS.to_fits_sip`` as used by
``jwst.assign_wcs`` (CRPIX at the bounding-box centre, CD matrix, A/B forward and
AP/BP inverse polynomials, SIPMXERR/SIPIVERR). The fit is our own: linear least
squares of the tangent-plane coordinates on normalised pixel offsets, the lowest order
whose maximum error on a denser check grid is below the requested pixel error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from webbcal.algorithms.image2.skymap import tangent_project

__all__ = ["SipSolution", "fit_sip"]


def _powers(order: int, min_total: int) -> list[tuple[int, int]]:
    """Exponent pairs (p, q) with ``min_total <= p + q <= order``."""
    return [(p, t - p) for t in range(min_total, order + 1) for p in range(t, -1, -1)]


def _design(u: np.ndarray, v: np.ndarray, powers, scale: float) -> np.ndarray:
    us, vs = u / scale, v / scale
    return np.stack([us**p * vs**q for p, q in powers], axis=1)


def _fit(u, v, targets, powers, scale):
    """Least-squares coefficients (per target column) in physical units."""
    a = _design(u, v, powers, scale)
    # normal equations on coordinates scaled to [-1, 1]: well enough conditioned for
    # the orders used, and (unlike LAPACK lstsq) not slowed by BLAS threads on a busy
    # machine; the caller checks the achieved error anyway
    coef = np.linalg.solve(a.T @ a, a.T @ targets)
    norm = np.array([scale ** -(p + q) for p, q in powers])
    return coef * norm[:, None]


def _evaluate(coef, powers, u, v) -> np.ndarray:
    out = np.zeros((u.size, coef.shape[1]))
    for (p, q), c in zip(powers, coef):
        out += np.outer(u**p * v**q, c)
    return out


@dataclass(frozen=True)
class SipSolution:
    """A TAN-SIP WCS (FITS conventions).

    Attributes
    ----------
    crpix : (float, float)
        1-based reference pixel (CRPIX1, CRPIX2).
    crval : (float, float)
        Sky position of ``crpix`` (deg).
    cd : ndarray (2, 2) float64
        CD matrix (deg / pixel).
    order, inv_order : int
        A/B and AP/BP polynomial orders.
    a, b : dict[(p, q), float]
        Forward distortion coefficients, ``2 <= p + q <= order``.
    ap, bp : dict[(p, q), float]
        Inverse coefficients, ``1 <= p + q <= inv_order``.
    max_error, max_inv_error : float
        Largest error (pixels) of the forward / inverse polynomials on the check grid.
    shape : (ny, nx)
        Image shape.
    """

    crpix: tuple[float, float]
    crval: tuple[float, float]
    cd: np.ndarray
    order: int
    inv_order: int
    a: dict
    b: dict
    ap: dict
    bp: dict
    max_error: float
    max_inv_error: float
    shape: tuple[int, int]

    def to_header(self):
        """FITS WCS keywords (``astropy.io.fits.Header``) for the SCI header."""
        from astropy.io import fits

        cards = [("WCSAXES", 2, ""),
                 ("CTYPE1", "RA---TAN-SIP", "TAN projection with SIP distortion"),
                 ("CTYPE2", "DEC--TAN-SIP", "TAN projection with SIP distortion"),
                 ("CUNIT1", "deg", ""), ("CUNIT2", "deg", ""),
                 ("CRPIX1", self.crpix[0], ""), ("CRPIX2", self.crpix[1], ""),
                 ("CRVAL1", self.crval[0], ""), ("CRVAL2", self.crval[1], "")]
        cards += [(f"CD{i + 1}_{j + 1}", float(self.cd[i, j]), "")
                  for i in range(2) for j in range(2)]
        cards.append(("RADESYS", "ICRS", ""))
        for name, order, coefs in (("A", self.order, self.a), ("B", self.order, self.b),
                                   ("AP", self.inv_order, self.ap),
                                   ("BP", self.inv_order, self.bp)):
            cards.append((f"{name}_ORDER", order, ""))
            cards += [(f"{name}_{p}_{q}", c, "") for (p, q), c in coefs.items()]
        cards.append(("SIPMXERR", self.max_error, "Max diff from GWCS (equiv pix)."))
        cards.append(("SIPIVERR", self.max_inv_error, "Max diff for inverse (pixels)"))
        h = fits.Header(cards)
        return h

    def pixel_to_sky(self, x, y):
        """Evaluate the SIP WCS at 0-based pixels; returns (ra, dec) deg (float64)."""
        from webbcal.algorithms.image2.skymap import tangent_deproject

        u = np.ravel(np.asarray(x, dtype=np.float64)) - (self.crpix[0] - 1)
        v = np.ravel(np.asarray(y, dtype=np.float64)) - (self.crpix[1] - 1)
        f = sum(c * u**p * v**q for (p, q), c in self.a.items())
        g = sum(c * u**p * v**q for (p, q), c in self.b.items())
        xi, eta = self.cd @ np.vstack([u + f, v + g])
        ra, dec = tangent_deproject(xi, eta, *self.crval)
        shape = np.shape(x)
        return ra.reshape(shape), dec.reshape(shape)


    def sky_to_pixel(self, ra, dec):
        """Invert with the AP/BP polynomials (no iteration): 0-based (x, y) pixels."""
        xi, eta = tangent_project(np.ravel(ra), np.ravel(dec), *self.crval)
        uu, vv = np.linalg.solve(self.cd, np.vstack([xi, eta]))
        du = sum(c * uu**p * vv**q for (p, q), c in self.ap.items())
        dv = sum(c * uu**p * vv**q for (p, q), c in self.bp.items())
        shape = np.shape(ra)
        return ((uu + du + self.crpix[0] - 1).reshape(shape),
                (vv + dv + self.crpix[1] - 1).reshape(shape))


def _grid(shape, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    xs = np.linspace(-0.5, nx - 0.5, n_points)
    ys = np.linspace(-0.5, ny - 0.5, n_points)
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def fit_sip(pixel_to_sky: Callable, shape: tuple[int, int], *, max_pix_error: float = 0.01,
            max_inv_pix_error: float = 0.01, max_order: int = 9, n_points: int = 32,
            crpix: tuple[float, float] | None = None) -> SipSolution:
    """Fit a TAN-SIP approximation to an exact pixel → sky transform.

    Parameters
    ----------
    pixel_to_sky : callable
        ``pixel_to_sky(x, y) -> (ra, dec)`` deg for 0-based pixel arrays.
    shape : (ny, nx)
        Image shape; the fit covers the pixel edges ``-0.5 … n - 0.5``.
    max_pix_error, max_inv_pix_error : float
        Largest acceptable forward / inverse error (pixels). The lowest order (from 2)
        reaching it on a check grid twice as dense as the fit grid is used; if none
        does up to ``max_order`` the best one is used and its error recorded.
    max_order : int
        Highest polynomial order tried.
    n_points : int
        Fit grid points per axis.
    crpix : (float, float), optional
        1-based reference pixel; default the image centre rounded to 0.1 px (official).

    Returns
    -------
    SipSolution
    """
    ny, nx = shape
    if crpix is None:
        crpix = (round((nx - 1) / 2.0, 1) + 1.0, round((ny - 1) / 2.0, 1) + 1.0)
    cx, cy = crpix[0] - 1.0, crpix[1] - 1.0
    scale = max(nx, ny) / 2.0
    # one evaluation of the (slow to call) exact transform: centre, fit and check grids
    xf, yf = _grid(shape, n_points)
    xc, yc = _grid(shape, 2 * n_points)
    ra, dec = pixel_to_sky(np.concatenate([[cx], xf, xc]), np.concatenate([[cy], yf, yc]))
    ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
    ra0, dec0 = float(ra[0]), float(dec[0])
    xi, eta = tangent_project(ra[1:], dec[1:], ra0, dec0)
    nf = xf.size
    u, v, w = xf - cx, yf - cy, np.column_stack([xi[:nf], eta[:nf]])
    uc, vc, wc = xc - cx, yc - cy, np.column_stack([xi[nf:], eta[nf:]])

    best = None
    for order in range(2, max_order + 1):
        powers = _powers(order, 1)
        coef = _fit(u, v, w, powers, scale)
        cd = coef[:2].T  # rows (xi, eta), columns (u, v)
        cdinv = np.linalg.inv(cd)
        resid = (_evaluate(coef, powers, uc, vc) - wc) @ cdinv.T
        err = float(np.max(np.hypot(resid[:, 0], resid[:, 1])))
        if best is None or err < best[0]:
            best = (err, order, powers, coef, cd, cdinv)
        if err < max_pix_error:
            break
    err, order, powers, coef, cd, cdinv = best
    sip = coef[2:] @ cdinv.T  # pixel-space nonlinear terms
    a = {pq: float(c) for pq, c in zip(powers[2:], sip[:, 0])}
    b = {pq: float(c) for pq, c in zip(powers[2:], sip[:, 1])}

    # inverse: from intermediate pixel coordinates (U, V) = CD^-1 (xi, eta) to (u, v)
    uv = w @ cdinv.T
    uvc = wc @ cdinv.T
    best_inv = None
    for inv_order in range(2, max_order + 1):
        ipowers = _powers(inv_order, 1)
        icoef = _fit(uv[:, 0], uv[:, 1], np.column_stack([u, v]) - uv, ipowers, scale)
        pred = uvc + _evaluate(icoef, ipowers, uvc[:, 0], uvc[:, 1])
        ierr = float(np.max(np.hypot(pred[:, 0] - uc, pred[:, 1] - vc)))
        if best_inv is None or ierr < best_inv[0]:
            best_inv = (ierr, inv_order, ipowers, icoef)
        if ierr < max_inv_pix_error:
            break
    ierr, inv_order, ipowers, icoef = best_inv
    ap = {pq: float(c) for pq, c in zip(ipowers, icoef[:, 0])}
    bp = {pq: float(c) for pq, c in zip(ipowers, icoef[:, 1])}
    return SipSolution(crpix=(float(crpix[0]), float(crpix[1])), crval=(ra0, dec0), cd=cd,
                       order=order, inv_order=inv_order, a=a, b=b, ap=ap, bp=bp,
                       max_error=err, max_inv_error=ierr, shape=(ny, nx))
