"""Drizzling library members onto one tile, and handing work items to an executor.

Only the block of input pixels that can land on the tile gets a corner map
(:func:`webbcal.algorithms.image3.pixmap.grid_window`, :func:`grid_corners`), so
small tiles cost little.

Executor hook
-------------
The image3 steps hand out independent work items (output tiles; exposures) through
:func:`map_items`. ``executor`` may be anything with ``map(fn, iterable)`` in the
:class:`concurrent.futures.Executor` sense (a ``ProcessPoolExecutor``, a Dask
``distributed.Client.get_executor()``, ...): ``fn`` is a module-level function and
every item is plain picklable data (paths, small arrays, frozen dataclasses).
Without an executor, ``workers > 1`` uses a local process pool ("forkserver": the
numba kernels' OpenMP threads make ``fork`` unsafe); otherwise items run here, and
the numba kernels use this process's threads.
"""

from __future__ import annotations

import numpy as np

from webbcal.algorithms.image3.pixmap import grid_corner_planes, grid_window
from webbcal.algorithms.image3.resample import DrizzleParams, MosaicAccumulator

__all__ = ["add_member", "drizzle_tile", "drizzle_all", "remap_context", "map_items",
           "iter_items", "pending_sky",
           "DrizzleSums", "Ahead"]


def pending_sky(member) -> float:
    """Sky level still in a member's data: skymatch's recorded level when it was not
    subtracted (official ``meta.background.level`` with ``subtracted`` False), else 0.

    Resample removes it before drizzling, as stcal/jwst resample does, so the mosaic
    sky is flat even with skymatch's default ``subtract = False``.
    """
    level = float(getattr(member, "bkglevel", 0.0) or 0.0)
    if getattr(member, "bkgsub", False) or not np.isfinite(level):
        return 0.0
    return level


def add_member(acc: MosaicAccumulator, library, k: int, tile, *, sky: float = 0.0) -> bool:
    """Drizzle member ``k`` of ``library`` (minus ``sky``) onto the accumulator of ``tile``.

    Reads only the block of the member that can land on the tile. The exposure's
    ``ivm-med`` weight is ``library.median_weight(k)`` (the same for every tile).
    """
    nodes = library.nodes(k)
    win = grid_window(nodes, tile, margin=acc.margin + 2)
    if win is None:
        return False
    w = library.window(k, win)
    sci = w.data - np.float32(sky) if sky else w.data
    return acc.add(sci, corners=grid_corner_planes(nodes, tile, window=win), dq=w.dq,
                   var_rnoise=w.var_rnoise, var_poisson=w.var_poisson, var_flat=w.var_flat,
                   exptime=library.members[k].exptime, row0=win[0],
                   median_weight=_median_weight(library, k, acc.params.weight_type))


def _median_weight(library, k: int, weight_type: str):
    return library.median_weight(k) if weight_type == "ivm-med" else None


def drizzle_tile(library, tile, params: DrizzleParams, *, margin: int = 4):
    """Drizzle every member overlapping ``tile`` (minus its :func:`pending_sky`);
    returns (Mosaic, member indices added)."""
    acc = MosaicAccumulator(tile.shape, params, margin=margin)
    added = [k for k in range(len(library))
             if add_member(acc, library, k, tile, sky=pending_sky(library.members[k]))]
    return acc.finalize(), added


def drizzle_all(library, grid, params: DrizzleParams):
    """Square-kernel sums of every member over the whole ``grid`` (:class:`DrizzleSums`).

    Each member is read once (only its block landing on the grid), minus its
    :func:`pending_sky`; memory is the sums (24 bytes per output pixel + context),
    which become the mosaic in place.
    """
    from webbcal.algorithms.image3.resample import (drizzle_square_add, drizzle_weights,
                                                    variance_planes)

    sums = DrizzleSums(grid, params, len(library), sky_subtracted=True)
    for k, m in enumerate(library.members):
        nodes = library.nodes(k)
        win = grid_window(nodes, grid, margin=2)
        if win is None:
            continue
        w = library.window(k, win)
        weights = drizzle_weights(w.dq, w.var_rnoise, weight_type=params.weight_type,
                                  exptime=m.exptime,
                                  median_weight=_median_weight(library, k, params.weight_type))
        var = variance_planes(w.var_rnoise, w.var_poisson, w.var_flat, w.data.shape)
        sky = pending_sky(m)
        data = w.data - np.float32(sky) if sky else w.data
        if drizzle_square_add(sums.num, sums.wht, sums.var, sums.con, data,
                              grid_corner_planes(nodes, grid, window=win), weights, var,
                              pixfrac=params.pixfrac, row0=win[0], con_index=k):
            sums.used.add(k)
    return sums


def remap_context(con, added, n_total: int):
    """Context planes with bit ``b`` (b-th image added) moved to bit ``added[b]``.

    ``con`` (nplanes, ny, nx) int32 from one tile; returns (ceil(n_total/32), ny, nx).
    """
    ny, nx = con.shape[1:]
    out = np.zeros(((n_total + 31) // 32, ny, nx), np.uint32)
    src = con.view(np.uint32)
    for b, k in enumerate(added):
        bit = (src[b // 32] >> np.uint32(b % 32)) & np.uint32(1)
        out[k // 32] |= bit << np.uint32(k % 32)
    return out.view(np.int32)


def iter_items(fn, items, *, executor=None, workers: int = 1):
    """Results of ``fn(item)`` in item order, one at a time (a generator), through
    ``executor`` or ``workers`` processes; see the module docstring.

    Consuming results as they come keeps only one result in memory here (tile sums
    are big: holding them all would double the mosaic's memory). Objects the items
    share (the library, the step, a whole-grid median) should be the *same* object in
    every item: :class:`webbcal.parallel.DaskMap` then sends each to every worker once
    instead of once per item.
    """
    items = list(items)
    if executor is not None:
        yield from executor.map(fn, items)
    elif workers > 1 and len(items) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(min(workers, len(items)), mp_context=ctx) as pool:
            yield from pool.map(fn, items)
    else:
        for item in items:
            yield fn(item)


def map_items(fn, items, *, executor=None, workers: int = 1) -> list:
    """``[fn(item) for item in items]`` through :func:`iter_items`."""
    return list(iter_items(fn, items, executor=executor, workers=workers))


class DrizzleSums:
    """Square-kernel drizzle sums of all members over a whole grid.

    Made by outlier_detection while it drizzles the singles (the same pass), corrected
    by subtracting the contributions of the pixels it then flags, and turned into the
    mosaic by resample (:meth:`finalize`) when its grid and parameters match: each
    exposure is drizzled once in the whole pipeline.

    Arrays: ``num``, ``wht`` (ny, nx) float32 (Σ value·w·f, Σ w·f); ``var`` (3, ny, nx)
    float32 (Σ var·(w·f)² for VAR_RNOISE, VAR_POISSON, VAR_FLAT); ``con``
    (nplanes, ny, nx) int32 (bit k: member k): 24 bytes per pixel + context, turned
    into the mosaic planes in place.

    ``sky_subtracted``: whoever fills the sums declares that each member's
    :func:`pending_sky` was removed from its data (the mosaic's sky is then flat);
    resample does not reuse sums without it when any member has a pending sky level.
    """

    def __init__(self, grid, params: DrizzleParams, n_members: int, *,
                 sky_subtracted: bool = False):
        ny, nx = grid.shape
        self.grid, self.params = grid, params
        self.sky_subtracted = bool(sky_subtracted)
        self.num = np.zeros((ny, nx), np.float32)
        self.wht = np.zeros((ny, nx), np.float32)
        self.var = np.zeros((3, ny, nx), np.float32)
        self.con = np.zeros(((n_members + 31) // 32, ny, nx), np.int32)
        self.used: set[int] = set()

    def matches(self, grid, params: DrizzleParams, library=None) -> bool:
        """True if these sums are what drizzling onto ``grid`` with ``params`` gives
        (and, given ``library``, with its members' pending sky levels removed)."""
        p = self.params
        same = (grid == self.grid and params.kernel == "square" == p.kernel
                and params.pixfrac == p.pixfrac and params.weight_type == p.weight_type)
        if same and library is not None and not self.sky_subtracted:
            same = not any(pending_sky(m) for m in library.members)
        return same

    def add_tile(self, x0: int, y0: int, num, wht, var, con) -> None:
        """Put one tile's sums (see ``outlier_detection``) in place."""
        ny, nx = wht.shape
        sl = (slice(y0, y0 + ny), slice(x0, x0 + nx))
        self.num[sl] = num
        self.wht[sl] = wht
        self.var[(slice(None), *sl)] = var
        self.con[(slice(None), *sl)] = con

    def subtract(self, k: int, contrib) -> None:
        """Remove member ``k``'s ``Contributions`` (pixels flagged after the sum)."""
        if contrib is None or contrib.jj.size == 0:
            return
        at = (contrib.jj, contrib.ii)
        np.subtract.at(self.num, at, contrib.num.astype(np.float32))
        np.subtract.at(self.wht, at, contrib.wht.astype(np.float32))
        for v in range(3):
            np.subtract.at(self.var[v], at, contrib.var[v].astype(np.float32))
        gone = ~contrib.keep
        if gone.any():
            bit = np.uint32(1 << (k % 32)).view(np.int32)
            self.con[k // 32][contrib.jj[gone], contrib.ii[gone]] &= ~bit
            # a pixel left with no input at all: clear rounding residues
            empty = (self.con[:, contrib.jj[gone], contrib.ii[gone]] == 0).all(axis=0)
            jj, ii = contrib.jj[gone][empty], contrib.ii[gone][empty]
            self.num[jj, ii] = self.wht[jj, ii] = 0.0
            self.var[:, jj, ii] = 0.0

    def finalize(self, *, context: bool = True):
        """(planes, con, used) as the resample step assembles them.

        The planes are made in place from the sums (which are gone afterwards), so
        the mosaic costs no memory beyond the sums and ERR.
        """
        wht, num, var = self.wht, self.num, self.var
        self.num = self.wht = self.var = None
        uncovered = ~(wht > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(num, wht, out=num)        # SCI
            num[uncovered] = np.nan
            np.maximum(var, 0, out=var)         # float32 rounding of subtracted outliers
            for v in range(3):
                var[v] /= wht
                var[v] /= wht
                var[v][uncovered] = np.nan
        err = np.sqrt(var[0] + var[1] + var[2])
        planes = {"sci": num, "wht": wht, "var_rnoise": var[0], "var_poisson": var[1],
                  "var_flat": var[2], "err": err}
        con, self.con = (self.con if context else None), None
        return planes, con, set(self.used)


class Ahead:
    """``fn(item)`` for ``items`` in order, each computed in a helper thread while the
    caller works on the previous one (one item ahead: at most two results alive).

    For I/O and pixel maps (numpy, memory maps and nogil numba kernels release the
    GIL) beside the drizzle and blot kernels. Exceptions re-raise in :meth:`next`.
    """

    def __init__(self, fn, items):
        from concurrent.futures import ThreadPoolExecutor

        self._fn, self._items = fn, list(items)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="webbcal-ahead") \
            if len(self._items) > 1 else None
        self._next = 0
        self._future = None
        self._submit()

    def _submit(self):
        if self._pool is not None and self._next < len(self._items):
            self._future = self._pool.submit(self._fn, self._items[self._next])
            self._next += 1

    def next(self):
        """The result for the next item (computed here when there is no helper)."""
        if self._pool is None:
            item = self._items[self._next]
            self._next += 1
            return self._fn(item)
        future, self._future = self._future, None
        self._submit()  # start the following item first, then wait for this one
        if self._future is None:
            self._pool.shutdown(wait=False)
        return future.result()

    def close(self):
        """Stop: drop the item not yet taken (waits for a running one)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
