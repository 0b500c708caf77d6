"""Time and size of the simulator presets and of one full-frame simulate_ramp.

    python benchmarks/simulate.py [PRESET ...] [--out DIR]

CPU time is printed beside wall time: on a shared machine wall time measures the
neighbours as much as the code.  Prints seconds per preset (first call includes numba JIT load / imports, reported
separately by a warm-up on `tiny`) and the bytes written.

Measured 2026-11-24 (shared 2-core machine, load 8-10: wall figures inflated 3-5x):
  ramp kernel, 256x2048 pixels x 9 groups (MEDIUM8), rate 0.5 DN/s, 1 thread, min CPU:
    before 0.99 s (230 ns per pixel-group), after 0.31 s (~70 ns): one Poisson draw per
    group (gap + group arrivals together, exact compound-Poisson mean/variance for the
    group-average weights), ziggurat normals (5 ns vs 22 ns Box-Muller), PTRS constants
    once per pixel, series-reversion start for the nonlinearity (one Newton step).
  render_rate, full-frame NRCA1 / NRCALONG: 3.9 / 3.1 s -> 1.0 / 1.3 s CPU (float32
    galaxy stamps, one float32 FFT convolution instead of oaconvolve in float64).
  ramp kernel cold compile: 18 s CPU (was 29 s with inline="always" everywhere — the
    first version of the new kernel; numba IR inlining is what costs compile time).
  simulate ceers-mini end to end (this script, same load ~10, back to back):
    before 55.1 s CPU / 246 s wall, after 32.6 s CPU / 237 s wall (wall = the load).
    Full-frame simulate_ramp: 7.3 -> 3.7 s CPU. CRDS cache 864 -> 768 MB (superbias
    ERR/DQ and saturation DQ, all zero, no longer written).

Measured 2026-11-24 05:00 (shared 2-core machine, load 3.3-4.0), HEAD vs this version,
same load, back to back (HEAD in a git-archive copy):
  ceers-mini end to end: HEAD 27.2 s wall / 27.7 s CPU -> 22.6 s wall / 24.3 s CPU.
  simulate_ramp full frame, 0.5 DN/s: HEAD 2.81 s wall / 3.09 s CPU -> 1.46 / 2.33;
  at 0.066 DN/s (the F200W sky, 11-14 e- per group: exact Poisson draws) 1.70 / 3.14.
  Ramp kernel, 1 thread, ns per pixel-group (256x2048, MEDIUM8 x 9, load ~5, ±15 %):
    0.25 DN/s (54 e-/group, Cornish-Fisher regime) 80-90 -> 40-46; F200W sky 83-90 ->
    73-91 (PTRS + multiplication method, exact); zero rate 31-46 -> 19.
  Ramp kernel cold compile (empty NUMBA_CACHE_DIR, first simulate_ramp call): 12-18 s ->
    5.5 s CPU: no parallel=True (row bands on threads, nogil), the nonlinearity's
    Newton step written out, the ziggurat's rare branches and the exact Poisson paths
    out of the inlined code.
  What is left (CPU per ceers-mini): ramps ~14 s (F200W ~3.1 s each: exact Poisson
  draws at 11-14 e-; a Cornish-Fisher threshold of 10 halves it but moved the
  aperture photometry of tests/pipelines/test_image2_tiny.py by 1 %), detectors and
  references ~2.3 s per detector (now 2 threads), CRDS cache writing ~2 s per
  detector (on a writer thread, overlapped with the exposures), rendering ~0.4 s per
  exposure (galaxy stamps 2x faster: float32 log/exp instead of pow, strided 3x3 sums).
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def size_mb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["tiny", "ceers-mini"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    from webbcal.simulate import simulate_ramp, simulate_world

    root = Path(a.out or tempfile.mkdtemp(prefix="webbcal_bench_"))
    t = time.perf_counter()
    simulate_world("tiny", root / "warmup")
    print(f"warm-up (imports, JIT cache load, tiny): {time.perf_counter() - t:.2f} s")
    # 0.5 DN/s (earlier figures), 0.066 DN/s = the F200W sky of ceers-mini (1.4 e-/frame)
    for level in (0.5, 0.066):
        rate = np.full((2048, 2048), level, np.float32)
        t, c = time.perf_counter(), time.process_time()
        r = simulate_ramp(rate, ngroups=9, nframes=8, groupgap=2, tframe=10.73677,
                          readnoise_dn=6.6, superbias_dn=12000.0,
                          linearity_coeffs=[0, 1, 1e-6, 3e-12], saturation_dn=52000.0,
                          one_over_f_dn=2.0, bias_drift_dn=1.0, rng=0)
        print(f"simulate_ramp full frame MEDIUM8 x 9 groups, {level} DN/s: "
              f"{time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU "
              f"({r.data.nbytes / 2**20:.0f} MB out, {len(r.truth.cosmic_rays)} CRs)")
    for name in a.presets:
        out = root / name
        t, c = time.perf_counter(), time.process_time()
        w = simulate_world(name, out)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"{name}: {dt:.1f} s wall, {dc:.1f} s CPU, {len(w.uncal_files)} exposures, {size_mb(out):.0f} MB "
              f"(uncal {sum(p.stat().st_size for p in w.uncal_files) / 2**20:.0f} MB, "
              f"crds {size_mb(w.crds_path):.0f} MB, truth {size_mb(w.truth_dir):.0f} MB)")
    if not a.keep and a.out is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
