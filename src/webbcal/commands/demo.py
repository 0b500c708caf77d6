"""Simulate an observation and run the calibration stages on it.

examples:
  webbcal demo                         # ceers-mini into ./webbcal-demo
  webbcal demo --preset tiny --out /tmp/demo

Writes the simulated raw exposures, a CRDS cache and the truth into the folder, runs
every stage this version of webbcal has (detector1 → image2 → image3), and prints
where the products are, the time each stage took and how the products compare with
the simulator's truth.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``demo`` options."""
    parser.add_argument("--preset", default="ceers-mini",
                        help="simulated world: ceers-mini (default) or tiny (seconds)")
    parser.add_argument("--out", type=Path, default=Path("webbcal-demo"),
                        help="folder for everything (default ./webbcal-demo)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed")


def main(args: argparse.Namespace) -> int:
    """Simulate, calibrate, validate, summarise."""
    from webbcal.simulate import simulate_world

    out: Path = args.out
    timings: list[tuple[str, float, str]] = []
    t0 = time.perf_counter()
    print(f"simulating '{args.preset}' into {out} ...", flush=True)
    world = simulate_world(args.preset, out / "raw", seed=args.seed)
    timings.append(("simulate", time.perf_counter() - t0,
                    f"{len(world.uncal_files)} exposures"))
    os.environ["CRDS_PATH"] = str(world.crds_path)
    if getattr(world, "context", None):
        os.environ["CRDS_CONTEXT"] = str(world.context)

    validation: list[tuple[str, str, str]] = []
    products: dict[str, list[Path]] = {}
    rate_files = run_detector1(world, out / "detector1", timings, products)
    validation += validate_rates(world, rate_files)
    # image2 / image3 join here as their pipelines land (webbcal.pipelines.STAGES)
    from webbcal.pipelines import available_stages, pipeline_class

    if "image2" in available_stages() and rate_files:
        cls = pipeline_class("image2")
        t = time.perf_counter()
        pipe = cls(output_dir=out / "image2")
        for path in rate_files:
            pipe.run(path)
            products.setdefault("image2", []).extend(pipe.output_paths)
        timings.append(("image2", time.perf_counter() - t, f"{len(rate_files)} exposures"))
    if "image3" in available_stages() and getattr(world, "associations", None):
        cls = pipeline_class("image3")
        t = time.perf_counter()
        pipe = cls(output_dir=out / "image3")
        for asn in world.associations:
            # members are the image2 products: the association goes beside them
            local = out / "image2" / Path(asn).name
            local.write_bytes(Path(asn).read_bytes())
            pipe.run(local)
            products.setdefault("image3", []).extend(pipe.output_paths)
        timings.append(("image3", time.perf_counter() - t,
                        f"{len(world.associations)} associations"))

    print()
    print("products:")
    for stage, paths in products.items():
        folders = sorted({str(p.parent) for p in paths})
        print(f"  {stage:<10} {len(paths)} files in {', '.join(folders)}")
    print(f"  {'truth':<10} {world.truth_dir}")
    print()
    print(_table([(n, f"{s:.2f} s", note) for n, s, note in timings],
                 ("stage", "time", "")))
    if validation:
        print()
        print(_table(validation, ("validation", "value", "target")))
    return 0


def run_detector1(world, out: Path, timings: list, products: dict) -> list[Path]:
    """detector1 on every uncal file; returns the rate files."""
    from webbcal.pipelines.detector1 import Detector1Pipeline

    pipe = Detector1Pipeline(output_dir=out)
    files = [Path(p) for p in world.uncal_files]
    t = time.perf_counter()
    first = None
    rates = []
    for k, path in enumerate(files, 1):
        tk = time.perf_counter()
        pipe.run(path)
        if first is None:
            first = time.perf_counter() - tk
        print(f"  [{k}/{len(files)}] detector1 {path.name}: {pipe.timings['total']:.2f} s",
              flush=True)
        products.setdefault("detector1", []).extend(pipe.output_paths)
        rates += [p for p in pipe.output_paths if p.name.endswith("_rate.fits")]
    total = time.perf_counter() - t
    note = f"{len(files)} exposures"
    if len(files) > 1 and first is not None:
        note += f"; first (incl. JIT) {first:.2f} s, others {(total - first) / (len(files) - 1):.2f} s each"
    timings.append(("detector1", total, note))
    return rates


def validate_rates(world, rate_files: list[Path]) -> list[tuple[str, str, str]]:
    """z = (rate - truth) / ERR statistics over unflagged pixels, all exposures."""
    import numpy as np

    from webbcal.pipelines.validation import load_true_rate, rate_zscores

    zs = []
    for path in rate_files:
        truth = load_true_rate(world, path)
        if truth is None:
            continue
        zs.append(rate_zscores(path, truth).z)
    if not zs:
        return []
    z = np.concatenate(zs)
    return [("detector1 median z (rate - truth)/ERR", f"{np.median(z):+.3f}", "|.| < 0.05"),
            ("detector1 std z", f"{np.std(z):.3f}", "0.95 - 1.10"),
            ("detector1 pixels compared", f"{z.size}", "")]


def _table(rows, head) -> str:
    rows = [tuple(map(str, r)) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([line.format(*head), line.format(*("-" * w for w in widths)),
                      *(line.format(*r) for r in rows)])
