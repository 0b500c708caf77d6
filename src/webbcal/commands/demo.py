"""Simulate an observation, calibrate it, compare it with the truth, build a report.

examples:
  webbcal demo                         # ceers-mini (6 full-frame exposures) into ./webbcal-demo
  webbcal demo --preset tiny --out /tmp/demo      # seconds

Writes the simulated raw exposures, a CRDS cache and the truth into OUT/raw, runs every
stage this version of webbcal has (detector1 -> image2 -> image3, products in
OUT/detector1, OUT/image2, OUT/image3), compares the products with the simulator's
truth, writes the HTML report (OUT/report/index.html) and prints where everything is,
the time each stage took and the validation figures.

The first run on a machine compiles the numba kernels (numba caches them on disk: later
runs skip it). While the main process simulates, a background process compiles them by
running the stages on the tiny world (see webbcal._warmup); the stage table says how
long each stage waited for it, and its 'compile' row how many CPU seconds numba spent
compiling (in the background and in this process; about 0 once cached).

image3's tweakreg aligns the mosaics to the simulator's Gaia-like reference catalog
(OUT/raw/reference_catalog.ecsv): absolute astrometry, checked by the validation table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``demo`` options."""
    parser.add_argument("--preset", default="ceers-mini", choices=["ceers-mini", "tiny"],
                        help="simulated world: ceers-mini (default) or tiny (seconds)")
    parser.add_argument("--out", type=Path, default=Path("webbcal-demo"),
                        help="folder for everything (default ./webbcal-demo)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed")
    parser.add_argument("--no-warmup", action="store_true",
                        help="do not compile the kernels in a background process")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")


def stage_inputs(world, out: Path, stage: str) -> list[Path]:
    """Inputs of ``stage`` for a simulated ``world`` whose products go under
    ``out/<stage>``: the uncal files, detector1's rate files, or the world's level-3
    associations copied into ``out/image2`` (their members are image2 products)."""
    if stage == "detector1":
        return [Path(p) for p in world.uncal_files]
    if stage == "image2":
        return sorted((out / "detector1").glob("*_rate.fits"))
    inputs = []
    for asn in world.associations:
        local = out / "image2" / Path(asn).name
        local.write_bytes(Path(asn).read_bytes())
        inputs.append(local)
    return inputs


def run_stages(world, out: Path, *, stages=("detector1", "image2", "image3"),
               timings: list | None = None, products: dict | None = None, log=print,
               before=None, abs_refcat=None) -> dict:
    """Run the pipeline ``stages`` on a simulated world; products go to ``out/<stage>``.

    Parameters
    ----------
    world : webbcal.simulate.World
    out : Path
    stages : sequence of str
        In order; a stage whose pipeline is not available in this version is skipped.
        Each stage takes the previous stage's products from ``out``.
    timings : list or None
        Receives ``(stage, seconds, note)`` rows.
    products : dict or None
        Receives ``stage -> [paths]``.
    log : callable
        Progress lines.
    before : callable(stage) -> float or None
        Called before a stage; returns seconds waited (for the note).
    abs_refcat : path or None
        Absolute astrometric reference catalog for image3's tweakreg (the simulator's
        ``raw/reference_catalog.ecsv``): the mosaic is aligned to it, not only the
        exposures to each other.  None: relative alignment only.

    Returns
    -------
    dict stage -> list of product paths.
    """
    from webbcal.pipelines import available_stages, pipeline_class

    timings = [] if timings is None else timings
    products = {} if products is None else products
    have = set(available_stages())
    for stage in stages:
        if stage not in have:
            continue
        waited = before(stage) if before is not None else 0.0
        inputs = stage_inputs(world, out, stage)
        if not inputs:
            continue
        steps = {}
        if stage == "image3" and abs_refcat is not None:
            steps = {"tweakreg": {"abs_refcat": str(abs_refcat)}}
        pipe = pipeline_class(stage)(output_dir=out / stage, steps=steps)
        t = time.perf_counter()
        first = None
        for k, path in enumerate(inputs, 1):
            tk = time.perf_counter()
            pipe.run(path)
            first = time.perf_counter() - tk if first is None else first
            products.setdefault(stage, []).extend(pipe.output_paths)
            log(f"  [{k}/{len(inputs)}] {stage} {path.name}: "
                f"{time.perf_counter() - tk:.2f} s", flush=True)
        total = time.perf_counter() - t
        note = f"{len(inputs)} inputs"
        if len(inputs) > 1:
            note += f"; first {first:.1f} s, rest {(total - first) / (len(inputs) - 1):.1f} s each"
        if waited > 0.05:
            note += f"; waited {waited:.1f} s for kernel compilation"
        timings.append((stage, total, note))
    return products


def main(args: argparse.Namespace) -> int:
    """Simulate, calibrate, validate, report, summarise."""
    import shutil

    from webbcal import _warmup
    from webbcal._warmup import CompileTimer

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start, c_start = time.perf_counter(), time.process_time()
    timings: list[tuple[str, float, str]] = []
    proc = None
    warm = out / ".warmup"
    if not args.no_warmup and args.preset != "tiny":
        shutil.rmtree(warm, ignore_errors=True)
        proc = _warmup.start_background(warm / "work", warm / "markers")

    def before(stage):
        if proc is None:
            return 0.0
        return _warmup.wait_for(stage, warm / "markers", proc)

    from webbcal.simulate import simulate_world

    print(f"simulating '{args.preset}' into {out / 'raw'} ...", flush=True)
    t = time.perf_counter()
    t_sim = time.perf_counter()

    def progress(msg, done, total):
        print(f"  [{time.perf_counter() - t_sim:5.1f} s] {msg}", flush=True)

    # no wait for the warm-up here: it marks 'simulate' only once its whole tiny world
    # is written (15 s cold on a loaded machine), while compiling the ramp kernel here
    # too costs ~5 s of one core
    with CompileTimer() as own_compile:
        world = simulate_world(args.preset, out / "raw", seed=args.seed, progress=progress)
    timings.append(("simulate", time.perf_counter() - t,
                    f"{len(world.uncal_files)} exposures"))
    os.environ["CRDS_PATH"] = str(world.crds_path)
    os.environ["CRDS_CONTEXT"] = str(world.context)

    products: dict[str, list[Path]] = {}
    try:
        with own_compile:
            run_stages(world, out, timings=timings, products=products, before=before,
                       abs_refcat=world.reference_catalog)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait()
        background = _warmup.compile_seconds(warm / "markers")
        shutil.rmtree(warm, ignore_errors=True)

    report = None
    if not args.no_report:
        t = time.perf_counter()
        try:
            from webbcal.report.build import build_report

            report = build_report(out, truth_dir=world.truth_dir)
            timings.append(("report", time.perf_counter() - t, "HTML + PNGs"))
        except Exception as exc:  # the report is a convenience: say why and go on
            print(f"report not written: {type(exc).__name__}: {exc}")
    wall, cpu = time.perf_counter() - t_start, time.process_time() - c_start
    timings.append(_compile_row(sum(own_compile.seconds.values()), background))
    timings.append(("total", wall, f"CPU {cpu:.1f} s in this process"))

    print()
    print("products:")
    for stage, paths in products.items():
        folders = sorted({str(p.parent) for p in paths})
        print(f"  {stage:<10} {len(paths)} files in {', '.join(folders)}")
    for label, pattern in (("mosaic", "*_i2d.fits"), ("catalog", "*_cat.ecsv")):
        found = sorted((out / "image3").glob(pattern)) if (out / "image3").is_dir() else []
        for p in found:
            print(f"  {label:<10} {p}")
    if report is not None:
        print(f"  {'report':<10} {report}")
    print(f"  {'truth':<10} {world.truth_dir}")
    print()
    from webbcal.report.summary import format_table

    print(format_table([(n, f"{s:.1f} s", note) for n, s, note in timings],
                       ("stage", "time", "")))
    print()
    _print_validation(out, world)
    return 0


def _compile_row(own: float, background: float | None) -> tuple[str, float, str]:
    """The stage table's row on numba compilation (CPU seconds, not wall: the background
    warm-up compiles while this process works)."""
    if background is None:
        where = "no background warm-up"
    elif background == 0.0 and own < 0.5:
        where = "kernels loaded from numba's cache"
    else:
        where = f"{background:.1f} s in the background warm-up (overlapped)"
    return ("compile", own + (background or 0.0),
            f"numba JIT, CPU: {own:.1f} s in this process, {where}; cached for next runs")


def _print_validation(out: Path, world) -> None:
    """The figures of ``webbcal validate`` for the demo folder."""
    from webbcal.commands import validate
    from webbcal.errors import WebbcalError

    try:
        validate.main(argparse.Namespace(directory=out, truth=world.truth_dir,
                                         per_exposure=False))
    except WebbcalError as exc:
        print(f"validation: {exc}")
