"""Benchmark: webbcal detector1 against the official ``jwst`` Detector1Pipeline.

Usage::

    .venv/bin/python benchmarks/compare_official.py [--preset tiny|ceers-mini]
        [--detector nrca1] [--official-python .venv-official/bin/python]
        [--rejection-threshold 4] [--expand-large-events true|false]
    .venv/bin/python benchmarks/compare_official.py --stage image2 [options]   # see
    .venv/bin/python benchmarks/compare_official.py --stage image3 [options]   # their --help

``--stage image2|image3`` hands the remaining arguments to
``compare_official_image2.main`` / ``compare_official_image3.main``.

The official package lives in its own virtual environment (it pins other versions of
numpy/astropy)::

    python3 -m venv .venv-official && .venv-official/bin/pip install jwst

Both pipelines read the same uncal file and the same reference files: the official
one through the simulated CRDS cache (``CRDS_PATH``, ``CRDS_CONTEXT``, no server),
ours through the same cache. The official run happens in a subprocess of that venv and
writes its rate file; this script then compares the two rate files:

- wall times (ours: a warm run, reading the uncal and writing the products; official:
  ``Pipeline.run`` without the ``import jwst``) and their ratio;
- *rate agreement*: among pixels good in both (no DO_NOT_USE, finite), the fraction
  with ``|rate_ours - rate_official| < 0.1 * ERR_official`` (target ≥ 99.9 %);
- *DQ agreement*: fraction of pixels with identical DQ, and the same when a difference
  that is only the JUMP_DET bit next to a pixel flagged as a jump in either product is
  forgiven (target ≥ 99.5 %); pixels with JUMP_DET in one product only, each way.

Snowball flagging alone is compared group by group in ``benchmarks/snowballs.py``.

Steps the official pipeline has but NIRCam imaging in the simulated cache cannot use
(persistence: no trap reference files) are skipped there; webbcal has no such steps.

Measured (engineer H1, 2026-11-24, shared 2-core machine at load average ~9;
``--preset ceers-mini --reuse-official``, jump 4σ with snowball flagging on):

* before (HEAD 6e9fc85): rate within 0.1σ 93.76 % of good pixels;
* after the ramp-fit fix (segments and integrations combined with inverse *read-noise*
  variance weights, stcal ≥ 1.15 / JP-4318; SATURATED kept on partially saturated
  ramps): rate within 0.1σ 100.000 % of 4 155 133 good pixels, DQ identical 100.000 %.
* ramp fit alone, both fits on the same official post-jump RampModel (official
  Detector1 through ``jump``, then stcal's ``RampFitStep`` vs ``fit_ramps``):
  94.29 → 100.000 % within 0.1σ (clean ramps 100 → 100 %, with jumps
  60.03 → 100 %, saturated 98.18 → 100 %), rate DQ identical 99.979 → 100 %;
  VAR_POISSON/VAR_RNOISE/ERR agree to < 3e-7 relative everywhere (before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _official import official_available, run_official_worker  # noqa: E402
from detector1 import DEFAULT_CACHE, ensure_world, pick_exposure  # noqa: E402

OFFICIAL_SKIPS = ("persistence", "emicorr", "charge_migration", "clean_flicker_noise",
                  "picture_frame", "ipc", "group_scale")

SIMULATED_TYPES = ("mask", "saturation", "superbias", "linearity", "dark", "gain", "readnoise")


def _official_worker(opts: argparse.Namespace) -> None:
    """Runs inside the official venv: jwst Detector1Pipeline on one file."""
    t0 = time.perf_counter()
    from jwst.pipeline import Detector1Pipeline
    import_s = time.perf_counter() - t0
    jump = json.loads(opts.jump)
    steps = {"jump": jump}
    for name in OFFICIAL_SKIPS:
        steps[name] = {"skip": True}
    pipe = Detector1Pipeline(steps={k: v for k, v in steps.items()
                                    if k in Detector1Pipeline.step_defs})
    # reference types the simulated cache does not have (IRS2/SIRS kernels, …): "N/A",
    # as CRDS answers for types that do not apply
    for step_name in pipe.step_defs:
        step = getattr(pipe, step_name)
        if step.skip:
            continue
        for reftype in step.reference_file_types:
            if reftype not in SIMULATED_TYPES:
                setattr(step, f"override_{reftype}", "N/A")
    pipe.output_dir = opts.out
    pipe.save_results = True
    pipe.save_calibrated_ramp = False
    from stdatamodels.jwst import datamodels

    t = time.perf_counter()
    # a model, not the path: jwst 3.0 reads CRDS parameters of a path from its ASDF
    # extension, which level-1b files without a WCS need not have
    with datamodels.RampModel(opts.uncal) as model:
        pipe.run(model)
    run_s = time.perf_counter() - t
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"import_s": import_s, "run_s": run_s, "rss_mb": rss}))


def run_official(python: Path, uncal: Path, out: Path, world: dict, jump: dict) -> dict:
    return run_official_worker(python, __file__, ["--uncal", str(uncal), "--out", str(out),
                                                  "--jump", json.dumps(jump)], world)


def run_ours(uncal: Path, out: Path, world: dict, jump: dict) -> dict:
    os.environ["CRDS_PATH"] = world["crds_path"]
    if world.get("context"):
        os.environ["CRDS_CONTEXT"] = world["context"]
    from webbcal.pipelines.detector1 import Detector1Pipeline

    with tempfile.TemporaryDirectory() as warm_dir:  # JIT / numba cache load
        t = time.perf_counter()
        Detector1Pipeline(steps={"jump": jump}, output_dir=warm_dir).run(uncal)
        first = time.perf_counter() - t
    pipe = Detector1Pipeline(steps={"jump": jump}, output_dir=out)
    t = time.perf_counter()
    pipe.run(uncal)
    return {"first_s": first, "run_s": time.perf_counter() - t, "steps": pipe.timings}


def compare(ours_path: Path, official_path: Path) -> dict:
    """Agreement figures between two rate files (see module docstring)."""
    import numpy as np
    from astropy.io import fits
    from scipy.ndimage import binary_dilation

    with fits.open(ours_path) as a, fits.open(official_path) as b:
        ra, rb = a["SCI"].data.astype(np.float64), b["SCI"].data.astype(np.float64)
        eb = b["ERR"].data.astype(np.float64)
        da, db = a["DQ"].data.astype(np.uint32), b["DQ"].data.astype(np.uint32)
    do_not_use, jump = np.uint32(1), np.uint32(4)
    good = ((da & do_not_use) == 0) & ((db & do_not_use) == 0) & np.isfinite(ra) \
        & np.isfinite(rb) & np.isfinite(eb) & (eb > 0)
    close = np.abs(ra - rb) < 0.1 * eb
    same_dq = da == db
    near_jump = binary_dilation(((da | db) & jump) != 0, structure=np.ones((3, 3), bool))
    forgiven = same_dq | (((da ^ db) == jump) & near_jump)
    diff_bits = np.bitwise_or.reduce((da ^ db).ravel()) if da.size else 0
    ja, jb = (da & jump) != 0, (db & jump) != 0
    z = (ra - rb)[good] / eb[good]
    return {
        "n_pixels": int(da.size), "n_good": int(good.sum()),
        "rate_within_0.1sigma": float(close[good].mean()),
        "rate_within_0.1sigma_where_dq_identical": float(close[good & same_dq].mean()),
        "median_abs_dz": float(np.median(np.abs(z))), "p99_abs_dz": float(np.quantile(np.abs(z), 0.99)),
        "dq_identical": float(same_dq.mean()), "dq_identical_forgiving_jump_neighbours":
            float(forgiven.mean()), "dq_bits_that_differ": int(diff_bits),
        "dq_bits_differing_counts": {str(1 << k): int((((da ^ db) >> k) & 1).sum())
                                     for k in range(32) if (int(diff_bits) >> k) & 1},
        "jump_pixels_webbcal_only": int((ja & ~jb).sum()),
        "jump_pixels_official_only": int((jb & ~ja).sum()),
        "rate_within_0.1sigma_where_no_jump_in_either": float(close[good & ~ja & ~jb].mean()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--detector", default="nrca1")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--official-python", type=Path,
                    default=REPO / ".venv-official" / "bin" / "python")
    ap.add_argument("--rejection-threshold", type=float, default=4.0)
    ap.add_argument("--expand-large-events", default="true")
    ap.add_argument("--official-only", action="store_true",
                    help="only run the official pipeline (and record it for --reuse-official)")
    ap.add_argument("--reuse-official", action="store_true",
                    help="reuse the official products of a previous run with the same settings")
    ap.add_argument("--official-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--uncal", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--jump", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.official_worker:
        _official_worker(opts)
        return 0
    if not official_available(opts.official_python):
        return 0
    jump = {"rejection_threshold": opts.rejection_threshold,
            "expand_large_events": opts.expand_large_events.lower() == "true"}
    world = ensure_world(opts.cache, opts.preset)
    try:
        uncal = pick_exposure(world, opts.detector)
    except SystemExit:
        uncal = Path(world["uncal_files"][0])
    out = opts.cache / "compare" / opts.preset
    (out / "webbcal").mkdir(parents=True, exist_ok=True)
    (out / "official").mkdir(parents=True, exist_ok=True)
    print(f"exposure {uncal.name}; jump settings {jump}")
    ours = run_ours(uncal, out / "webbcal", world, jump) if not opts.official_only else None
    record = out / "official" / "official_run.json"
    previous = json.loads(record.read_text()) if record.exists() else {}
    if opts.reuse_official and previous.get("jump") == jump and previous.get("uncal") == str(uncal):
        official = previous["result"]
        print("official : reusing the previous run's products and timing")
    else:
        official = run_official(opts.official_python, uncal, out / "official", world, jump)
        record.write_text(json.dumps({"jump": jump, "uncal": str(uncal), "result": official}))
    if ours is None:
        print(f"official : {official['run_s']:.2f} s, peak RSS {official['rss_mb']:.0f} MB")
        return 0
    name = uncal.name.replace("_uncal.fits", "_rate.fits")
    agree = compare(out / "webbcal" / name, out / "official" / name)
    print(f"webbcal  : {ours['run_s']:.3f} s warm (first run {ours['first_s']:.2f} s)")
    print("           " + " ".join(f"{k}={v:.3f}" for k, v in ours["steps"].items()))
    print(f"official : {official['run_s']:.2f} s (+ import {official['import_s']:.1f} s), "
          f"peak RSS {official['rss_mb']:.0f} MB")
    print(f"ratio    : {official['run_s'] / ours['run_s']:.1f}x")
    for key, value in agree.items():
        print(f"  {key}: {value if not isinstance(value, float) else f'{value:.5f}'}")
    return 0


def dispatch(argv: list[str] | None = None) -> int:
    """``--stage detector1|image2|image3`` (default detector1) picks the comparison."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stage = "detector1"
    if "--stage" in argv:
        i = argv.index("--stage")
        stage = argv[i + 1] if i + 1 < len(argv) else ""
        del argv[i:i + 2]
    if stage == "detector1":
        return main(argv)
    if stage in ("image2", "image3"):
        from importlib import import_module
        return import_module(f"compare_official_{stage}").main(argv)
    print(f"--stage must be detector1, image2 or image3, found {stage!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(dispatch())
