"""Benchmark: the per-exposure parts of image3's outlier_detection on one full-frame
exposure (drizzle square kernel, pixel maps, poly5 blot), in ns per input pixel.

Usage::

    .venv/bin/python benchmarks/outlier_kernels.py [--cache DIR] [--repeat 15]

Input: member 2 of the image3 benchmark's 4 full-frame NRCA1 exposures
(``benchmarks/image3.py`` writes them into ``--cache``; run it once first). Each part
runs on one thread (the calling one) over a band of 48 rows, ``--repeat`` times; the
best time is printed (robust to other load on the machine), with the full-frame cost
it implies. The drizzle part accumulates all planes (SCI, WHT, 3 variances,
context), as the fused outlier/resample pass does.

Measured 2026-11-24 (H2) on the shared 2-core machine at load 6–8 (best of 40,
ns per input pixel; HEAD → now):

- drizzle square kernel: 119–160 → 100–141 (the geometry helpers ``_drop``,
  ``_footprint``, ``_pixel_overlaps`` inlined into the hot loop: no array-argument
  calls per input pixel; ≈ 0.42 s per 2048² exposure on one thread). Tried and
  dropped: branch-free clamped integrals, and the overlaps as differences of
  ``∫ min(h, k) dx`` per column (fewer evaluations): both slower on this
  nearly axis-aligned geometry, where the original branches predict well.
  Also tried: sharing each pixel's right edge as the next pixel's left edge
  (bit-identical, 97 vs 100 ns/px: dropped, not worth the code).
- poly5 blot: 42 → 36 (reciprocal Lagrange denominators, float32 results equal).
- pixel maps: the x-direction Lagrange product is a 4-term gather instead of a
  BLAS matrix product (12 ms wall / 16 ms CPU → 0.7 ms per plane, and no OpenBLAS
  threads spinning beside the kernels); maps change by < 1e-12 px, the mosaic by
  float32 rounding (≤ 1.4e-7 relative), crf DQ identical.
- cold compile (``python -m webbcal._warmup``, private ``NUMBA_CACHE_DIR``, load 6–9):
  ``image3._kernels`` 5.1 → 7.2 s CPU (the inlined helpers are compiled into the
  drizzle loop and, separately, for ``undrizzle_square``; + the small fused
  ``add_single``), ``image3._outlier_kernels`` 2.7 → 2.6 s. drizzle_square +
  undrizzle_square alone, fresh cache, alternated: 4.7–6.1 → 6.7–8.1 s CPU
  (inlining the helpers into ``undrizzle_square`` too: slower still, 7.0 s).
- outlier_detection step alone (4 exposures; 3 runs per process, best wall / best
  CPU; HEAD vs now alternated twice, load 2.3–2.7, other jobs on the machine):
  HEAD 4.37 / 7.05 s and 5.82 / 5.80 s, now 3.38 / 5.51 s and 3.40 / 5.68 s (earlier
  pairs at load 3–8 were within the noise); the lead re-measures idle. Peak RSS of
  the image3 benchmark 697 → 774 MB (one exposure read ahead). Drizzle bands are
  now a few per thread, taken dynamically (``drizzle_square_add``), so a thread
  slowed by the read-ahead thread does fewer; sums bit-identical.
- where the step's time goes now (py-spy, one numba thread, 4 exposures; samples
  of the main thread): drizzle kernel 55 %, poly5 blot 17 %, median 4 %, flagging
  3 %, contributions 3 %; the reads, weights and pixel maps of the next exposure
  (~20 % of the main thread's time before) run in the read-ahead thread.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path(os.environ.get("WEBBCAL_BENCH_CACHE",
                                    Path(tempfile.gettempdir()) / "webbcal-bench")) / "image3"
ROWS = 48


def best_of(fn, repeat: int) -> float:
    """Best wall time [s] of ``fn()`` over ``repeat`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    asn = next(args.cache.glob("**/test_image3_asn.json"), None)
    if asn is None:
        print(f"no image3 benchmark inputs under {args.cache}: run benchmarks/image3.py first")
        return 1

    from webbcal.algorithms.image3._kernels import _drizzle_rows
    from webbcal.algorithms.image3._outlier_kernels import blot_poly5
    from webbcal.algorithms.image3.pixmap import grid_corner_planes, grid_window
    from webbcal.algorithms.image3.resample import (drizzle_weights, drop_geometry,
                                                    variance_planes)
    from webbcal.steps.image3._library import load_library, output_grid

    lib = load_library(asn)
    grid = output_grid(lib)
    k = 1 if len(lib) > 1 else 0
    nodes = lib.nodes(k)
    win = grid_window(nodes, grid, margin=6)
    w = lib.window(k, win)
    weights = drizzle_weights(w.dq, w.var_rnoise, weight_type="ivm-med", exptime=1.0,
                              median_weight=lib.median_weight(k))
    v0, v1, v2 = variance_planes(w.var_rnoise, w.var_poisson, w.var_flat, weights.shape)
    cx, cy = grid_corner_planes(nodes, grid, window=win)
    _, kmax, _ = drop_geometry((cx, cy))
    ny, nx = grid.shape
    num = np.zeros((ny, nx), np.float32)
    wht = np.zeros_like(num)
    var = np.zeros((3, ny, nx), np.float32)
    con = np.zeros((1, ny, nx), np.int32)
    sci = np.ascontiguousarray(w.data, np.float32)
    r0 = sci.shape[0] // 2
    npx = ROWS * sci.shape[1]

    def drizzle():
        _drizzle_rows(cx, cy, sci, weights, v0, v1, v2, 1.0, r0, r0 + ROWS, kmax, 0,
                      np.int32(2), num, wht, var, con)

    median = np.random.default_rng(1).normal(size=(ny, nx)).astype(np.float32)
    out = np.empty(sci.shape, np.float32)

    def blot():
        blot_poly5(median, cx, cy, True, out, r0, r0 + ROWS)

    def maps():
        grid_corner_planes(nodes, grid, window=(r0, r0 + ROWS, win[2], win[3]))

    drizzle(), blot(), maps()  # compile / load the kernels
    print(f"member {k} of {asn.name}: {sci.shape[0]}x{sci.shape[1]} onto {ny}x{nx}, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    full = sci.size
    for name, fn in (("drizzle square (all planes)", drizzle), ("poly5 blot", blot),
                     ("corner pixel maps (x, y)", maps)):
        t = best_of(fn, args.repeat)
        print(f"  {name:<28} {t / npx * 1e9:7.1f} ns/px   "
              f"{t / npx * full:6.3f} s per exposure (one thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
