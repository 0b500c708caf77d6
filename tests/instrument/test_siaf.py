"""SIAF apertures: agreement with pysiaf, inverse accuracy, numba vs numpy paths."""

import numpy as np
import pytest

from webbcal.instrument import DETECTORS, siaf_aperture
from webbcal.instrument._poly import LARGE

from .conftest import grid


@pytest.mark.parametrize("det", list(DETECTORS))
def test_sci_to_v2v3_matches_pysiaf(det, pysiaf_nircam):
    ap = siaf_aperture(det)
    ref = pysiaf_nircam[ap.name]
    assert (ap.v2_ref, ap.v3_ref, ap.v3_idl_yang) == (ref.V2Ref, ref.V3Ref, ref.V3IdlYAngle)
    x, y = grid(25, -10, 2057)
    v2, v3 = ap.sci_to_v2v3(x, y)
    r2, r3 = ref.sci_to_tel(x + 1, y + 1)  # pysiaf sci pixels are 1-based
    assert np.abs(v2 - r2).max() < 1e-6 and np.abs(v3 - r3).max() < 1e-6
    xi, yi = ap.sci_to_idl(x, y)
    ri, rj = ref.sci_to_idl(x + 1, y + 1)
    assert np.abs(xi - ri).max() < 1e-9 and np.abs(yi - rj).max() < 1e-9


def test_reference_pixel_maps_to_v2ref_v3ref():
    ap = siaf_aperture("NRCA1")
    v2, v3 = ap.sci_to_v2v3(ap.x_sci_ref - 1, ap.y_sci_ref - 1)  # 0-based
    assert v2 == pytest.approx(ap.v2_ref, abs=1e-9)
    assert v3 == pytest.approx(ap.v3_ref, abs=1e-9)
    # local scale is the SIAF XSciScale
    v2b, v3b = ap.sci_to_v2v3(ap.x_sci_ref, ap.y_sci_ref - 1)
    assert np.hypot(v2b - v2, v3b - v3) == pytest.approx(ap.x_sci_scale, rel=1e-4)


@pytest.mark.parametrize("det", ["NRCA1", "NRCALONG", "NRCB3", "NRCBLONG"])
def test_inverse_round_trip_below_1e4_pixel(det):
    ap = siaf_aperture(det)
    x, y = grid(41, -20, 2067)
    xb, yb = ap.v2v3_to_sci(*ap.sci_to_v2v3(x, y))
    assert max(np.abs(xb - x).max(), np.abs(yb - y).max()) < 1e-6
    # without the Newton refinement the Idl2Sci polynomial alone is visibly worse
    x0, _ = ap.v2v3_to_sci(*ap.sci_to_v2v3(x, y), n_iter=0)
    assert np.abs(x0 - x).max() > 10 * np.abs(xb - x).max()


def test_large_arrays_use_kernels_with_identical_results():
    ap = siaf_aperture("NRCBLONG")
    n = int(np.ceil(np.sqrt(LARGE))) + 1
    x, y = grid(n, 0, 2047)
    assert x.size >= LARGE
    v2, v3 = ap.sci_to_v2v3(x, y)                        # numba path
    w2, w3 = ap.idl_to_v2v3(*ap.sci_to_idl(x, y))        # numpy path
    assert v2.shape == x.shape
    assert np.abs(v2 - w2).max() < 1e-9 and np.abs(v3 - w3).max() < 1e-9
    xb, yb = ap.v2v3_to_sci(v2, v3)                      # numba path
    xn, yn = ap.idl_to_sci(*ap.v2v3_to_idl(v2, v3))      # numpy path
    assert max(np.abs(xb - x).max(), np.abs(yb - y).max()) < 1e-6
    assert max(np.abs(xb - xn).max(), np.abs(yb - yn).max()) < 1e-8


def test_scalars_broadcast():
    ap = siaf_aperture("NRCA2")
    v2, v3 = ap.sci_to_v2v3(1023.5, np.array([0.0, 2047.0]))
    assert v2.shape == (2,)
    x, y = ap.v2v3_to_sci(float(v2[0]), float(v3[0]))
    assert float(x) == pytest.approx(1023.5, abs=1e-6) and float(y) == pytest.approx(0, abs=1e-6)
