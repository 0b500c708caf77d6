"""Drizzling library members onto one tile (shared by outlier_detection and resample).

Only the block of input pixels that can land on the tile gets a pixel map
(:func:`webbcal.algorithms.image3.pixmap.grid_window`), so small tiles cost little.
"""

from __future__ import annotations

import numpy as np

from webbcal.algorithms.image3.pixmap import grid_pixmap, grid_window
from webbcal.algorithms.image3.resample import DrizzleParams, MosaicAccumulator

__all__ = ["add_member", "drizzle_tile", "remap_context"]


def add_member(acc: MosaicAccumulator, model, nodes, tile, *, sky: float = 0.0,
               exptime: float = 1.0) -> bool:
    """Drizzle one exposure (minus ``sky``) onto the accumulator of ``tile``."""
    win = grid_window(nodes, tile, margin=acc.margin + 2)
    if win is None:
        return False
    r0, r1, c0, c1 = win
    sl = (slice(r0, r1), slice(c0, c1))
    pm = grid_pixmap(nodes, tile, window=win)
    sci = model.data[sl]
    if sky:
        sci = sci - np.float32(sky)
    var_flat = model.var_flat[sl] if model.var_flat is not None else None
    return acc.add(sci, pm, dq=model.dq[sl], var_rnoise=model.var_rnoise[sl],
                   var_poisson=model.var_poisson[sl], var_flat=var_flat, exptime=exptime)


def drizzle_tile(library, tile, params: DrizzleParams, *, margin: int = 4):
    """Drizzle every member overlapping ``tile``; returns (Mosaic, member indices added)."""
    acc = MosaicAccumulator(tile.shape, params, margin=margin)
    added = []
    for k, m in enumerate(library.members):
        nodes = library.nodes(k)
        if grid_window(nodes, tile, margin=margin + 2) is None:
            continue
        model = library.load(k)
        if add_member(acc, model, nodes, tile, exptime=m.exptime):
            added.append(k)
        del model
    return acc.finalize(), added


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


#: Work shared with forked worker processes (set just before forking, cleared after):
#: children inherit it instead of receiving pickled exposures.
WORK: dict = {}


def fork_map(fn, n_items: int, workers: int, **shared):
    """``[fn(i) for i in range(n_items)]``, in ``workers`` forked processes if > 1.

    ``shared`` is put into :data:`WORK` for ``fn`` to read; results come back pickled.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    WORK.update(shared)
    try:
        if workers > 1 and n_items > 1:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(min(workers, n_items), mp_context=ctx) as pool:
                return list(pool.map(fn, range(n_items)))
        return [fn(i) for i in range(n_items)]
    finally:
        WORK.clear()
