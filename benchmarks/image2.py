"""Benchmark: full-frame image2 (rate -> cal) including reading and writing.

Usage: ``python benchmarks/image2.py [--repeat N]``. Builds a synthetic full-frame
NRCBLONG rate file and in-memory references (no CRDS), runs ``Image2Pipeline`` once to
warm up (imports, numba cache), then times ``--repeat`` runs and prints the per-step
times. Also times the full-detector pixel→sky map that stage 3 uses. Target on 2 cores:
cal ≤ 0.5 s including I/O.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "_image2_data", HERE.parent / "tests" / "steps" / "image2" / "_image2_data.py")
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from webbcal.algorithms.image2 import pixel_to_sky_map
    from webbcal.pipelines.image2 import Image2Pipeline

    exp = data.make_exposure(shape=(2048, 2048), substrt=(1, 1), subarray="FULL")
    refs = data.make_references(exp)
    with tempfile.TemporaryDirectory() as tmp:
        rate_path = Path(tmp) / "bench_nrcblong_rate.fits"
        data.make_rate(exp).write(rate_path)
        Image2Pipeline(references=refs).run(rate_path)  # warm-up
        best = None
        for _ in range(args.repeat):
            pipe = Image2Pipeline(references=refs)
            t0 = time.perf_counter()
            pipe.run(rate_path)
            total = time.perf_counter() - t0
            if best is None or total < best[0]:
                best = (total, dict(pipe.timings))
            os.remove(pipe.output_paths[0])
        total, timings = best
        parts = "  ".join(f"{k} {v:.3f}" for k, v in timings.items() if k != "total")
        print(f"image2 full frame (cal, incl. I/O): {total:.3f} s   [{parts}]")

        cal = Image2Pipeline(references=refs)
        model = cal.run(rate_path)
        best_map = min(_time(lambda: pixel_to_sky_map(model.wcs.forward_transform, (2048, 2048)))
                       for _ in range(args.repeat))
        print(f"full-detector pixel->sky map (2048x2048): {best_map:.3f} s")


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
