"""Run a GIL-free row kernel over contiguous row bands on a thread pool.

The numba kernels of webbcal are serial ``@njit(cache=True, nogil=True)`` functions
over a range of rows, ``kernel(y0, y1, *args)``; :func:`run_row_bands` runs them on
several threads. This replaces ``parallel=True`` (parfor) kernels, whose lowering cost
about 10 s of compile time each, at the same warm speed.

Contract for a kernel: it handles rows ``y0 … y1 - 1`` ("rows" may be any flat index:
``plane * ny + row``, amplifier blocks …), releases the GIL (``nogil=True``), and
writes only outputs that belong to its own rows, so that the result does not depend on
how the rows are split. Per-row partial results (counts, sums) go to arrays indexed by
row and are reduced by the caller.

No numba import at ``import webbcal`` time: numba is imported on the first call.

Examples
--------
>>> import numpy as np
>>> from webbcal._threads import run_row_bands
>>> out = np.zeros(10)
>>> def kernel(y0, y1, out, value):
...     out[y0:y1] = value
>>> run_row_bands(kernel, 10, out, 2.0, band=3, threads=2)
>>> out.tolist() == [2.0] * 10
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["run_row_bands", "default_threads", "row_bands"]

_POOL: ThreadPoolExecutor | None = None   # shared workers (created on first use)
_POOL_SIZE = 0
_POOL_PID = 0                             # a forked child makes its own pool
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """numba's thread count (``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``), ≥ 1."""
    import numba

    return max(1, int(numba.get_num_threads()))


def row_bands(nrows: int, band: int) -> list[tuple[int, int]]:
    """The contiguous bands ``[(0, band), (band, 2 band), …, (…, nrows)]``.

    Parameters
    ----------
    nrows : int
        Number of rows, ≥ 0.
    band : int
        Rows per band, ≥ 1 (the last band may be shorter).

    Returns
    -------
    list of (int, int)
        ``(y0, y1)`` pairs; empty when ``nrows`` is 0.
    """
    return [(y0, min(y0 + band, nrows)) for y0 in range(0, nrows, band)]


def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool, with at least ``workers`` threads."""
    global _POOL, _POOL_SIZE, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < workers or _POOL_PID != os.getpid():
            old = _POOL if _POOL_PID == os.getpid() else None
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webbcal-rows")
            _POOL_SIZE, _POOL_PID = workers, os.getpid()
            if old is not None:
                old.shutdown(wait=False)    # its running bands finish; no new ones
        return _POOL


def run_row_bands(kernel: Callable[..., object], nrows: int, *args: object,
                  band: int | None = None, threads: int | None = None) -> None:
    """Call ``kernel(y0, y1, *args)`` over contiguous bands covering ``range(nrows)``.

    Each row is in exactly one band. The calling thread and ``threads - 1`` workers of
    a shared pool take the bands in order, one at a time (dynamic load balance), so
    the result is the serial one whenever the kernel follows the contract of this
    module (each band writes only its own rows' outputs).

    Parameters
    ----------
    kernel : callable
        ``kernel(y0, y1, *args)``; a numba ``nogil=True`` function (a Python function
        works too, but then the threads do not run at the same time).
    nrows : int
        Number of rows (or flat indices) to cover, ≥ 0.
    *args
        Passed unchanged after ``y0, y1``.
    band : int, optional
        Rows per band (the last band may be shorter). Default: about four bands per
        thread (``ceil(nrows / (4 threads))``), which balances the load and keeps
        the Python overhead per band (a few µs) negligible even for cheap kernels.
        Kernels whose rows cost very different amounts (ramp fitting) use small bands.
    threads : int, optional
        Threads to use, the calling one included. Default :func:`default_threads`.
        One thread, or a single band, calls ``kernel(0, nrows, *args)`` or the one
        band directly on the calling thread.

    Raises
    ------
    ValueError
        ``band`` or ``threads`` < 1, or ``nrows`` < 0.
    Exception
        The first exception raised by a kernel call (the other threads stop taking
        bands; the bands already running finish first).

    Notes
    -----
    Safe to call from several threads at once and from inside a band (nested calls):
    a worker queued behind busy ones is cancelled once the caller itself has run every
    band, so no call waits for a free worker. A forked child process makes its own pool.
    """
    nrows = int(nrows)
    if nrows < 0:
        raise ValueError(f"run_row_bands: nrows must be >= 0, found {nrows}")
    threads = default_threads() if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"run_row_bands: threads must be >= 1, found {threads}")
    if band is None:
        band = max(1, -(-nrows // (4 * threads)))
    band = int(band)
    if band < 1:
        raise ValueError(f"run_row_bands: band must be >= 1, found {band}")
    if nrows == 0:
        return
    if threads == 1 or nrows <= band:
        kernel(0, nrows, *args)
        return
    bands = row_bands(nrows, band)
    nworkers = min(threads, len(bands)) - 1
    todo = iter(bands)
    take = threading.Lock()
    failed: list[BaseException] = []

    def work() -> None:
        while not failed:
            with take:
                y = next(todo, None)
            if y is None:
                return
            try:
                kernel(y[0], y[1], *args)
            except BaseException as exc:    # noqa: BLE001 (re-raised by the caller)
                failed.append(exc)
                return

    pool = _pool(nworkers)
    futures = [pool.submit(work) for _ in range(nworkers)]
    work()
    for f in futures:
        if not f.cancel():          # started: wait; not started: nothing left to do
            f.result()
    if failed:
        raise failed[0]
