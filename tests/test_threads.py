"""webbcal._threads.run_row_bands: every row exactly once, serial-equal results,
exceptions propagated, nested and concurrent calls finish."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from webbcal._threads import default_threads, row_bands, run_row_bands


def _count_kernel(y0, y1, counts, calls):
    counts[y0:y1] += 1
    calls.append((y0, y1))


@pytest.mark.parametrize("nrows", [0, 1, 7, 16, 17, 100, 1001])
@pytest.mark.parametrize("band", [None, 1, 3, 16, 5000])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_every_row_exactly_once(nrows, band, threads):
    counts = np.zeros(nrows, np.int64)
    calls = []
    run_row_bands(_count_kernel, nrows, counts, calls, band=band, threads=threads)
    assert np.all(counts == 1)
    # contiguous, non-overlapping bands, none longer than asked
    assert sorted(calls) == sorted(set(calls))
    assert sum(y1 - y0 for y0, y1 in calls) == nrows
    if band is not None and threads > 1:
        assert all(y1 - y0 <= band for y0, y1 in calls)


def test_row_bands_layout():
    assert row_bands(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert row_bands(8, 4) == [(0, 4), (4, 8)]
    assert row_bands(0, 4) == []


def test_serial_path_is_one_call():
    calls = []
    run_row_bands(_count_kernel, 50, np.zeros(50), calls, threads=1)
    assert calls == [(0, 50)]
    calls = []
    run_row_bands(_count_kernel, 50, np.zeros(50), calls, band=64, threads=4)
    assert calls == [(0, 50)]


def test_default_threads_is_numbas():
    import numba

    assert default_threads() == numba.get_num_threads() >= 1


def test_numba_kernel_equals_serial():
    """A real nogil kernel with per-row work: any split gives the serial result."""
    from numba import njit

    @njit(nogil=True)
    def cumulate(y0, y1, a, out):
        for y in range(y0, y1):
            s = 0.0
            for x in range(a.shape[1]):
                s += np.sin(a[y, x]) * (y + 1)
                out[y, x] = s

    a = np.random.default_rng(1).normal(size=(203, 57))
    ref = np.zeros_like(a)
    cumulate(0, a.shape[0], a, ref)
    for threads, band in ((2, None), (3, 1), (4, 10)):
        out = np.full_like(a, np.nan)
        run_row_bands(cumulate, a.shape[0], a, out, band=band, threads=threads)
        np.testing.assert_array_equal(out, ref)


def test_runs_on_several_threads():
    """With 2 threads and bands that wait for each other, two threads really run."""
    barrier = threading.Barrier(2, timeout=10)
    seen = set()

    def kernel(y0, y1):
        seen.add(threading.get_ident())
        if y0 < 2:
            barrier.wait()     # the first two bands can only pass together

    run_row_bands(kernel, 8, band=1, threads=2)
    assert len(seen) == 2


def test_exception_propagates():
    done = []

    def kernel(y0, y1):
        if y0 <= 37 < y1:
            raise ZeroDivisionError(f"row 37 in band {y0}-{y1}")
        done.append(y0)

    for threads in (1, 2, 4):
        with pytest.raises(ZeroDivisionError, match="row 37"):
            run_row_bands(kernel, 100, band=4, threads=threads)
    # the pool still works afterwards
    counts = np.zeros(30, np.int64)
    run_row_bands(_count_kernel, 30, counts, [], band=2, threads=4)
    assert np.all(counts == 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="band"):
        run_row_bands(_count_kernel, 5, np.zeros(5), [], band=0)
    with pytest.raises(ValueError, match="threads"):
        run_row_bands(_count_kernel, 5, np.zeros(5), [], threads=0)
    with pytest.raises(ValueError, match="nrows"):
        run_row_bands(_count_kernel, -1, np.zeros(5), [])


def test_nested_and_concurrent_calls_finish():
    """Bands that themselves call run_row_bands, from several caller threads at once,
    complete (no worker waits for a worker that is never free)."""
    grids = np.zeros((3, 12, 40), np.int64)    # one per caller (no shared writes)

    def inner(x0, x1, c, y):
        grids[c, y, x0:x1] += 1

    def outer(y0, y1, c):
        for y in range(y0, y1):
            run_row_bands(inner, grids.shape[2], c, y, band=3, threads=3)

    with ThreadPoolExecutor(3) as callers:
        futures = [callers.submit(run_row_bands, outer, 4, c, band=1, threads=3)
                   for c in range(3)]
        for f in futures:
            f.result(timeout=60)
    assert np.all(grids[:, :4] == 1) and np.all(grids[:, 4:] == 0)
