"""Throughput of a simulated world through the available stages with 1 and 2 Dask workers.

    .venv/bin/python benchmarks/scaling.py                    # ceers-pointing (30 full frames)
    .venv/bin/python benchmarks/scaling.py --preset tiny      # seconds
    .venv/bin/python benchmarks/scaling.py --world /tmp/w     # reuse a simulated world

Each stage runs through ``webbcal.parallel.run_many`` on a fresh LocalCluster of N
single-threaded worker processes (numba gets cores // N threads per worker), with
``overwrite=True``; the cluster start-up is timed separately. Prints seconds,
exposures/s and the speedup of 2 workers over 1 per stage. The first run includes
numba JIT compilation in each worker unless the on-disk cache is warm, so a warm-up
pass (1 worker, first exposure only) runs first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def usable_stages() -> list[str]:
    from importlib import import_module

    from webbcal.pipelines import STAGES

    out = []
    for stage, (target, _, _) in STAGES.items():
        try:
            import_module(target.split(":")[0])
            out.append(stage)
        except ImportError as exc:
            print(f"# stage {stage} not usable here: {exc}")
    return out


def run_chain(world, stages, workers, out: Path) -> dict[str, tuple[float, int, int]]:
    """{stage: (seconds, n_items, n_failed)} for one worker count."""
    from webbcal.parallel import run_many, start_client

    t0 = time.perf_counter()
    client = start_client(workers=workers)
    startup = time.perf_counter() - t0
    res = {"cluster start": (startup, 0, 0)}
    inputs = [Path(p) for p in world.uncal_files]
    try:
        for stage in stages:
            if stage == "image3":
                inputs = [Path(a) for a in world.associations]  # members resolve to cal files
            s = run_many(stage, inputs, client=client, overwrite=True,
                         pipeline_kwargs={"output_dir": out / stage})
            res[stage] = (s.seconds, len(s.results), len(s.failed))
            for line in s.lines()[1:4]:
                print("#", line)
            suffix = {"detector1": "_rate.fits", "image2": "_cal.fits"}.get(stage)
            if suffix:
                inputs = sorted(p for r in s.done for p in map(Path, r.outputs)
                                if p.name.endswith(suffix))
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ceers-pointing")
    ap.add_argument("--world", type=Path, default=None, help="existing/target world folder")
    ap.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    args = ap.parse_args(argv)

    from webbcal.simulate import simulate_world

    root = args.world or Path(tempfile.mkdtemp(prefix=f"webbcal-scaling-{args.preset}-"))
    t = time.perf_counter()
    world = simulate_world(args.preset, root, seed=0)
    print(f"# simulated {args.preset}: {len(world.uncal_files)} exposures in "
          f"{time.perf_counter() - t:.1f} s -> {root}")
    os.environ["CRDS_PATH"] = str(world.crds_path)
    os.environ["CRDS_CONTEXT"] = str(world.context)
    stages = usable_stages()
    if not stages:
        print("no stage usable: nothing to measure")
        return 1
    if "image3" in stages and "image2" not in stages:
        stages.remove("image3")
    if stages[0] != "detector1":
        print(f"# chain must start at detector1; usable: {stages}")
        return 1
    from webbcal.parallel import run_many

    t = time.perf_counter()
    run_many("detector1", world.uncal_files[:1], overwrite=True,
             pipeline_kwargs={"output_dir": root / "warmup"})
    print(f"# warm-up (JIT / cache) detector1 on one exposure: {time.perf_counter() - t:.1f} s")
    counts = [int(n) for n in args.workers.split(",")]
    table = {n: run_chain(world, stages, n, root / f"w{n}") for n in counts}
    base = table[counts[0]]
    print(f"{'stage':<14}" + "".join(f"{f'{n} worker(s)':>26}" for n in counts) + "   speedup")
    for stage in base:
        cells = []
        for n in counts:
            sec, items, failed = table[n][stage]
            rate = f"{items / sec:6.2f}/s" if items and sec > 0 else ""
            cells.append(f"{sec:8.2f} s {rate:>10}" + (f" ({failed} failed)" if failed else ""))
        speed = base[stage][0] / table[counts[-1]][stage][0] if table[counts[-1]][stage][0] else 0
        print(f"{stage:<14}" + "".join(f"{c:>26}" for c in cells) +
              (f"   {speed:5.2f}x" if stage != "cluster start" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
