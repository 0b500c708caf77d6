"""The image3 kernels run on row bands in threads (``outliers.run_rows``): results must
not depend on the number of threads, bit for bit."""

import numpy as np
import pytest

from webbcal.algorithms.image3.outliers import blot, flag_outliers, median_of_singles
from webbcal.algorithms.image3.resample import drizzle_square_add


def _all_outputs(rng_seed=4):
    rng = np.random.default_rng(rng_seed)
    n = 120
    r, c = np.mgrid[0:n + 1, 0:n + 1].astype(float) - 0.5
    t = np.radians(5.0)
    cx = 4.2 + 1.03 * (np.cos(t) * c - np.sin(t) * r) + 2e-4 * r * r
    cy = 3.7 + 0.97 * (np.sin(t) * c + np.cos(t) * r)
    sci = rng.normal(10, 3, (n, n)).astype(np.float32)
    w = rng.uniform(0.5, 2, (n, n)).astype(np.float32)
    v = tuple(rng.uniform(0.1, 1, (n, n)).astype(np.float32) for _ in range(3))
    num = np.zeros((140, 140), np.float32)
    wht, var = num.copy(), np.zeros((3, 140, 140), np.float32)
    con = np.zeros((1, 140, 140), np.int32)
    drizzle_square_add(num, wht, var, con, sci, (cx, cy), w, v, row0=5, con_index=3)
    med = np.where(wht > 0, num / np.maximum(wht, 1e-9), np.nan).astype(np.float32)
    b5 = blot(med, corners=(cx, cy), interp="poly5")
    b1 = blot(med, corners=(cx, cy), interp="linear")
    flags = flag_outliers(sci, np.full_like(sci, 0.5), b1)
    s3 = rng.normal(0, 1, (5, 70, 60)).astype(np.float32)
    m = median_of_singles(s3, rng.uniform(0, 1, s3.shape).astype(np.float32), maskpt=0.7,
                          median_weights=np.full(5, 0.5))
    return num, wht, var, con, b5, b1, flags, m


def test_results_do_not_depend_on_the_number_of_threads():
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _all_outputs()
        numba.set_num_threads(2)
        two = _all_outputs()
    finally:
        numba.set_num_threads(before)
    assert np.count_nonzero(one[1]) > 10000 and one[6].any()
    for a, b in zip(one, two):
        assert np.array_equal(a, b, equal_nan=True)
