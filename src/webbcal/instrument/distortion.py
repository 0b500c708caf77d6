"""The SIAF distortion as an astropy model, in the shape of the CRDS NIRCam DISTORTION
reference transform (imports astropy.modeling when called)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from webbcal.instrument.siaf import SiafAperture, siaf_aperture

__all__ = ["distortion_model", "refit_idl2sci"]


def _poly(mat):
    from astropy.modeling.models import Polynomial2D

    deg = mat.shape[0] - 1
    params = {f"c{p}_{q}": float(mat[p, q])
              for p in range(deg + 1) for q in range(deg + 1 - p)}
    return Polynomial2D(deg, **params)


def _linear(a, b):
    """Polynomial2D(1) for ``a * x + b * y``."""
    from astropy.modeling.models import Polynomial2D

    return Polynomial2D(1, c0_0=0.0, c1_0=float(a), c0_1=float(b))


def refit_idl2sci(ap: SiafAperture, *, n: int = 65, margin: float = 8.0):
    """Degree-5 ideal → science polynomials fitted to the exact inverse of Sci2Idl.

    The SIAF Idl2Sci polynomials of some detectors do not invert Sci2Idl well (NRCA2
    and NRCA3 of PRDOPSSOC-075 are off by 0.11–0.14 pixel in x); a least-squares fit on
    an ``n × n`` grid spanning the detector plus `margin` pixels inverts it to ≲ 3e-3
    pixel for every detector.

    Returns
    -------
    (ndarray, ndarray)
        6×6 coefficient matrices giving ``x_sci - XSciRef`` and ``y_sci - YSciRef``
        (1-based SIAF convention, like Idl2SciX/Y).
    """
    lo, hi = -margin, 2047.0 + margin
    ys, xs = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n), indexing="ij")
    xi, yi = ap.sci_to_idl(xs, ys)
    terms = [(p, q) for p in range(6) for q in range(6 - p)]
    scale = 100.0  # keeps the design matrix well conditioned (ideal coords ~ ±70″)
    design = np.stack([(xi.ravel() / scale) ** p * (yi.ravel() / scale) ** q
                       for p, q in terms], axis=1)
    mats = []
    for target in (xs + 1.0 - ap.x_sci_ref, ys + 1.0 - ap.y_sci_ref):
        coef, *_ = np.linalg.lstsq(design, target.ravel(), rcond=None)
        mat = np.zeros((6, 6))
        for (p, q), c in zip(terms, coef):
            mat[p, q] = c / scale ** (p + q)
        mats.append(mat)
    return mats[0], mats[1]


def distortion_model(detector: str | SiafAperture, *,
                     inverse: Literal["refit", "siaf"] = "refit"):
    """Science pixels → V2/V3 model of a NIRCam detector, with its inverse set.

    The forward transform has the layout of the official NIRCam distortion reference
    files::

        Shift(1) & Shift(1)                    0-based → 1-based SIAF science pixels
        | Shift(-XSciRef) & Shift(-YSciRef)
        | Mapping((0, 1, 0, 1)) | Polynomial2D Sci2IdlX & Polynomial2D Sci2IdlY
        | Mapping((0, 1, 0, 1)) | Polynomial2D(1) & Polynomial2D(1)   parity + V3IdlYAngle
        | Shift(V2Ref) & Shift(V3Ref)

    and ``.inverse`` is the reverse chain ending in degree-5 ideal → science
    polynomials: by default (``inverse='refit'``) fitted to the exact inverse of
    Sci2Idl (`refit_idl2sci`, ≲ 3e-3 pixel everywhere), or with ``inverse='siaf'`` the
    SIAF Idl2Sci coefficients verbatim (up to 0.14 pixel off for NRCA2/NRCA3). For exact
    inverses use `SiafAperture.v2v3_to_sci` (Newton-refined).

    Parameters
    ----------
    detector : str or SiafAperture
    inverse : {'refit', 'siaf'}
        Which ideal → science polynomials the inverse uses.

    Returns
    -------
    astropy.modeling.CompoundModel
        Inputs (x, y) in 0-based full-frame science pixels, outputs (v2, v3) in arcsec;
        serializable with asdf (asdf-astropy).
    """
    from astropy.modeling.models import Mapping, Shift

    ap = detector if isinstance(detector, SiafAperture) else siaf_aperture(detector)
    fwd_rot = ap.idl_to_v2v3_matrix
    inv_rot = ap.v2v3_to_idl_matrix
    if inverse == "refit":
        idl2sci_x, idl2sci_y = refit_idl2sci(ap)
    elif inverse == "siaf":
        idl2sci_x, idl2sci_y = ap.idl2sci_x, ap.idl2sci_y
    else:
        raise ValueError(f"distortion_model: inverse expected 'refit' or 'siaf', "
                         f"found {inverse!r}")
    forward = (Shift(1.0) & Shift(1.0)
               | Shift(-ap.x_sci_ref) & Shift(-ap.y_sci_ref)
               | Mapping((0, 1, 0, 1)) | _poly(ap.sci2idl_x) & _poly(ap.sci2idl_y)
               | Mapping((0, 1, 0, 1))
               | _linear(*fwd_rot[0]) & _linear(*fwd_rot[1])
               | Shift(ap.v2_ref) & Shift(ap.v3_ref))
    inverse = (Shift(-ap.v2_ref) & Shift(-ap.v3_ref)
               | Mapping((0, 1, 0, 1))
               | _linear(*inv_rot[0]) & _linear(*inv_rot[1])
               | Mapping((0, 1, 0, 1)) | _poly(idl2sci_x) & _poly(idl2sci_y)
               | Shift(ap.x_sci_ref) & Shift(ap.y_sci_ref)
               | Shift(-1.0) & Shift(-1.0))
    forward.inverse = inverse
    forward.name = f"{ap.name} sci→v2v3"
    forward.inputs = ("x", "y")
    forward.outputs = ("v2", "v3")
    return forward
