"""Throughput of ``webbcal run all`` (detector1 → image2 → image3 per filter) on a
simulated world with 1 and 2 Dask workers.

    .venv/bin/python benchmarks/scaling.py                        # /tmp/bench-pointing
    .venv/bin/python benchmarks/scaling.py --world /tmp/w --preset tiny   # seconds
    .venv/bin/python benchmarks/scaling.py --workers 2            # one count only

The world folder is reused when it holds ``*_uncal.fits`` (else the preset is simulated
into it). For each worker count a fresh LocalCluster of N single-threaded worker
processes is started (numba gets cores // N threads per worker; start-up timed
separately) and :func:`webbcal.commands._runall.run_all` runs the whole chain with
``overwrite=True``: exposures are the work items of stages 1-2, mosaic tiles (the
image3 executor hook) those of stage 3. Products go to a temporary folder that is
deleted afterwards (30 full frames make ~8 GB). A warm-up (detector1 + image2 on one
exposure, in this process) loads the numba cache first. Prints wall seconds,
exposures/s, speedup, the CPU seconds (user+sys) of this process and its reaped
children (the workers), and the load average.

Measured 2026-11-24 on the shared 2-core machine (8 engineers; load average 7-9, so
noisy; the lead re-measures idle), ceers-pointing (30 full-frame exposures, 10
detectors × 3 dithers, MEDIUM8 × 9 groups; 2 mosaics):

    stage           1 worker             2 workers          speedup
    cluster start     2.7 s                4.1 s
    detector1       267.4 s (0.11 exp/s) 221.6 s (0.14 exp/s)  1.21x
    image2           50.3 s (0.60 exp/s)  31.5 s (0.95 exp/s)  1.60x
    image3 (2 mos.) 539.5 s              230.2 s               2.34x
    all stages      857.4 s (0.03 exp/s) 483.4 s (0.06 exp/s)  1.77x
    CPU user+sys    345.2 s              361.5 s
    load average    7-12 during the 1-worker run, 5-9 during the 2-worker run (so the
                    speedup is inflated by the load falling; CPU time is the fairer
                    figure: wall >> CPU means the machine was shared)
    warm-up (detector1 + image2, one exposure, warm numba cache): 10.7 s

image3 on Dask ships each tile job its whole ExposureLibrary (all member arrays) by
pickle, so stage 3 moves far more than paths; see the image3 executor hook.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    """User+sys CPU seconds of this process and its terminated, reaped children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_chain(uncal: list[Path], workers: int, out: Path) -> dict[str, tuple[float, int, int]]:
    """``{stage: (seconds, n_items, n_failed)}`` of one ``run all`` on ``workers``."""
    from webbcal.commands._runall import run_all
    from webbcal.parallel import start_client

    t0 = time.perf_counter()
    client = start_client(workers=workers)
    res = {"cluster start": (time.perf_counter() - t0, 0, 0)}
    try:
        t0 = time.perf_counter()
        summary = run_all(uncal, out, client=client, overwrite=True)
        total = time.perf_counter() - t0
        for s in summary.summaries:
            res[s.stage] = (s.seconds, len(s.results), len(s.failed))
            print(f"#   {s.lines()[0]}", flush=True)
            for line in s.lines()[1:4]:
                print("#  ", line)
        res["all stages"] = (total, len(uncal), sum(len(s.failed) for s in summary.summaries))
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, default=Path("/tmp/bench-pointing"),
                    help="world folder (reused when it holds uncal files)")
    ap.add_argument("--preset", default="ceers-pointing", help="simulated if the world is empty")
    ap.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    ap.add_argument("--keep", action="store_true", help="keep the products")
    args = ap.parse_args(argv)

    root = args.world
    uncal = sorted(root.glob("*_uncal.fits")) if root.is_dir() else []
    if not uncal:
        from webbcal.simulate import simulate_world

        t = time.perf_counter()
        world = simulate_world(args.preset, root, seed=0)
        uncal = [Path(p) for p in world.uncal_files]
        print(f"# simulated {args.preset}: {len(uncal)} exposures in "
              f"{time.perf_counter() - t:.1f} s -> {root}")
    os.environ.setdefault("CRDS_PATH", str(root / "crds_cache"))
    print(f"# {len(uncal)} exposures in {root}; CRDS_PATH={os.environ['CRDS_PATH']}")
    print(f"# load average before: {open('/proc/loadavg').read().strip()}")

    from webbcal.parallel import run_many

    scratch = Path(tempfile.mkdtemp(prefix="webbcal-scaling-"))
    t = time.perf_counter()
    warm = run_many("detector1", uncal[:1], overwrite=True,
                    pipeline_kwargs={"output_dir": scratch / "warmup"})
    rates = [o for r in warm.done for o in r.outputs if o.endswith("_rate.fits")]
    run_many("image2", rates, overwrite=True, pipeline_kwargs={"output_dir": scratch / "warmup"})
    print(f"# warm-up detector1 + image2 on one exposure (JIT / cache): "
          f"{time.perf_counter() - t:.1f} s")
    counts = [int(n) for n in args.workers.split(",")]
    table, cpu = {}, {}
    try:
        for n in counts:
            print(f"# {n} worker(s) ...", flush=True)
            c0 = cpu_seconds()
            table[n] = run_chain(uncal, n, scratch / f"w{n}")
            cpu[n] = cpu_seconds() - c0
            print(f"# {n} worker(s): CPU {cpu[n]:.1f} s (user+sys, incl. workers); "
                  f"load average {open('/proc/loadavg').read().strip()}", flush=True)
            if not args.keep:
                shutil.rmtree(scratch / f"w{n}", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    base = table[counts[0]]
    print(f"{'stage':<14}" + "".join(f"{f'{n} worker(s)':>24}" for n in counts) + "   speedup")
    for stage in base:
        cells = []
        for n in counts:
            sec, items, failed = table[n][stage]
            rate = f"{items / sec:5.2f}/s" if items and sec > 0 else ""
            cells.append(f"{sec:8.1f} s {rate:>9}" + (f" ({failed} failed)" if failed else ""))
        last = table[counts[-1]][stage][0]
        speed = f"   {base[stage][0] / last:5.2f}x" if stage != "cluster start" and last else ""
        print(f"{stage:<14}" + "".join(f"{c:>24}" for c in cells) + speed)
    print("CPU (s)       " + "".join(f"{cpu[n]:>22.1f} s" for n in counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
