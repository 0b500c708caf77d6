"""The geometry kernels (serial ``nogil`` kernels run on row bands): bit-identical
whatever the split into bands/threads, and the same IEEE arithmetic as their Python
source evaluated point by point."""

import numpy as np
import pytest

from webbcal._threads import run_row_bands
from webbcal.instrument import _kernels, siaf_aperture
from webbcal.instrument.sky import _va_scale, attitude_matrix

from .conftest import StandInPointing

POINTING = StandInPointing(34.46216220475726, -5.23699444075018, 69.98959542132465,
                           -89.387412, -491.352394, 0.9999039861972934)


def _calls():
    """(kernel, n, args with outputs last) for each of the four kernels on 20 000
    points spread over a full NRCB1 frame (and its sky footprint)."""
    ap = siaf_aperture("NRCB1")
    rng = np.random.default_rng(0)
    n = 20_000
    x, y = rng.uniform(-5, 2053, n), rng.uniform(-5, 2053, n)
    v2, v3 = ap.sci_to_v2v3(x[:10], y[:10])            # numpy path: a point to scale
    v2 = v2[0] + rng.uniform(-70, 70, n)
    v3 = v3[0] + rng.uniform(-70, 70, n)
    mat, scale = attitude_matrix(POINTING), _va_scale(POINTING)
    ra = POINTING.ra_ref + rng.uniform(-0.02, 0.02, n)
    dec = POINTING.dec_ref + rng.uniform(-0.02, 0.02, n)
    (jxx, jxy), (jyx, jyy) = ap._jacobian_matrices
    ref = (float(ap.x_sci_ref), float(ap.y_sci_ref))
    out = lambda: (np.empty(n), np.empty(n))          # noqa: E731
    return [
        (_kernels.sci_to_v2v3_kernel, n, (x, y, ap.sci2idl_x, ap.sci2idl_y, *ref,
                                          ap.idl_to_v2v3_matrix, float(ap.v2_ref),
                                          float(ap.v3_ref)), out),
        (_kernels.v2v3_to_sci_kernel, n, (v2, v3, ap.idl2sci_x, ap.idl2sci_y, ap.sci2idl_x,
                                          ap.sci2idl_y, jxx, jxy, jyx, jyy, *ref,
                                          ap.v2v3_to_idl_matrix, float(ap.v2_ref),
                                          float(ap.v3_ref), 2), out),
        (_kernels.v2v3_to_sky_kernel, n, (v2, v3, mat, float(POINTING.v2_ref),
                                          float(POINTING.v3_ref), scale), out),
        (_kernels.sky_to_v2v3_kernel, n, (ra, dec, mat.T, float(POINTING.v2_ref),
                                          float(POINTING.v3_ref), scale,
                                          POINTING.ra_ref, POINTING.dec_ref), out),
    ]


@pytest.mark.parametrize("k", range(4))
def test_kernel_bit_identical_whatever_the_bands(k):
    kernel, n, args, out = _calls()[k]
    serial = out()
    kernel(0, n, *args, *serial)
    for threads, band in ((1, None), (3, 997), (2, 1)):
        if band == 1:                       # one point per band: a slice, not all
            n_run, got = 300, (np.full(n, np.nan), np.full(n, np.nan))
        else:
            n_run, got = n, out()
        run_row_bands(kernel, n_run, *args, *got, band=band, threads=threads)
        for a, b in zip(serial, got):
            assert a[:n_run].tobytes() == b[:n_run].tobytes(), (kernel, threads, band)
        if n_run < n:                       # nothing written beyond the rows asked for
            assert np.isnan(got[0][n_run:]).all()
    assert all(np.isfinite(a).all() for a in serial)


@pytest.mark.parametrize("k", range(4))
def test_kernel_is_its_python_source(k):
    """The compiled kernel and its Python source (``py_func``) agree point by point to
    one ulp (the trigonometry of LLVM and of Python's libm may round differently): no
    fast-math reordering. (Old parfor kernels vs these: bit-identical on full frames,
    checked when converting.)"""
    kernel, n, args, out = _calls()[k]
    compiled, python = out(), out()
    kernel(0, n, *args, *compiled)
    kernel.py_func(0, 200, *args, *python)
    for a, b in zip(compiled, python):
        np.testing.assert_array_max_ulp(a[:200], b[:200], maxulp=1)


def test_wrappers_round_trip_on_the_threaded_path():
    """pixel → sky → pixel on a full-frame-sized grid (the kernel path, ≥ LARGE points)."""
    from webbcal.instrument import DetectorGeometry

    geo = DetectorGeometry("NRCB1", POINTING)
    y, x = np.mgrid[0:2048:4, 0:2048:4].astype(float)
    assert x.size >= 65536
    ra, dec = geo.pixel_to_sky(x, y)
    xb, yb = geo.sky_to_pixel(ra, dec)
    assert max(np.abs(xb - x).max(), np.abs(yb - y).max()) < 1e-6
