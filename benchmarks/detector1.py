"""Benchmark: detector1 on a full-frame NIRCam exposure, and scaling with groups.

Usage::

    .venv/bin/python benchmarks/detector1.py [--cache DIR] [--repeat 3]
        [--rapid-groups 10,25,50,100 | --no-rapid]

1. The simulator's ``ceers-mini`` NRCA1 exposure (2048x2048, 9 groups, MEDIUM8,
   snowball flagging on as in the step defaults), simulated into ``--cache`` when
   missing. Timed in fresh processes so that peak RSS is the pipeline's own:
   - *compile*: first run with an empty numba cache (JIT compilation included);
   - *first*: first run with a warm numba cache (cache loading included);
   - *warm*: best of ``--repeat`` further runs, each reading the uncal and writing
     the rate/rateints files (warm file cache); per-step times of the best run.
   Peak RSS of the warm runs (Linux VmHWM, reset after the first run), of the whole
   process (``ru_maxrss``, JIT included), and the tracemalloc peak of one extra run.
2. RAPID exposures (NFRAMES=1, GROUPGAP=0) of 2048x2048 with 10…100 groups, made from
   the same world's bias/saturation and a smooth sky plus stars (no dark reference
   exists for RAPID full frames in the simulated cache, so ``dark_current`` is skipped
   there: a 100-frame full-frame dark is 1.6 GB). Each in a fresh process, after an
   untimed warm-up run on the ceers-mini exposure: wall time and the peak RSS of the
   timed run (VmHWM reset before it) against the number of groups.

Targets (issue 4): ceers-mini warm ≤ 1 s, peak RSS ≤ 1 GB on 2 cores.

Measured (engineer A2, 2026-11-24, shared 2-core machine at load average 7–12, so
CPU seconds are the comparable figure; the lead re-measures on an idle machine):

* jump two-point + neighbour pass (no snowballs) on the ceers-mini cube, 2 threads:
  0.73–0.80 s CPU before → 0.32–0.34 s CPU after (identical group DQ);
  ramp_fit (OLS): 1.08–1.31 s CPU before → 0.39 s CPU after (identical rates).
  How: rows of differences sorted by a sorting network and screened in one
  vectorised pass (exact per-pixel search only for the ~10 % candidates); clean
  pixels fitted a row at a time with precomputed Fixsen slope coefficients; JUMP
  flagged in place with one trigger bit per pixel instead of a uint8 cube.
* cold numba cache, compile CPU (load ~10): jump 14 → 18 s, ramp_fit 9 → 29 s.
* memory, per step after a warm-up run (VmHWM reset): the uncal is read straight into
  float32 (no uint16 cube, file pages released chunk by chunk); jump adds +5 MB
  (ceers-mini) / +37 MB (RAPID 100 groups) without snowballs; ramp_fit adds its
  output planes (160 MB full frame). RAPID 100 groups: peak 2.6 GB with
  ``expand_large_events=False`` (= base 0.45 + float32 cube 1.68 + group DQ 0.42 +
  outputs), 4.4 GB with snowball flagging on (snowballs.py's transient +1.9 GB).
  RAPID 100 total CPU 39–41 s at load ~9 (jump 24–43 s wall, ramp_fit 31–35 s wall).

Measured (engineer H3, 2026-11-24, load average 4–10; the lead re-measures idle):

* peak RSS, ceers-mini warm runs (VmHWM, kernels loaded from the numba cache):
  1129 MB → 973–976 MB (937 MB with ``MALLOC_MMAP_THRESHOLD_=1048576``, which stops
  glibc from keeping freed 16 MB blocks on its heap). RSS timeline of one warm run:
  base after the warm-up 780 → 639 MB (cached references 512 → 368 MB: the dark is
  kept without its unused ERR and cut to the planes the readout uses), read +144
  (float32 cube), dq_init +24 (group DQ), saturation +52 transient, jump +38,
  ramp_fit +140 (rate + rateints planes) = peak 997 MB in ramp_fit, 817 MB after it.
  In a process that compiled the kernels itself the base is ~50 MB higher (1032 MB).
* timed runs now start with the previous run's products deleted (untimed): replacing
  two 80 MB files cost 15–60 ms of "write" that a fresh run does not pay.
* write: the image extensions of each product are written by two threads at their
  precomputed offsets (``os.pwrite``), byte-identical files; CPU 0.09–0.13 s for
  rate + rateints before and after (the wall-clock gain needs an idle machine).
* compile CPU of the per-pixel kernels, empty cache, tiny run + what the first full
  frame adds (load ~10): see the H3 report / benchmarks/README.md; the kernels are now
  serial ``nogil`` functions run on row bands by two threads (no parfor lowering),
  refpix's two level kernels are one, and sat_grow_candidates is always called, so
  the tiny warm-up compiles it. Outputs bitwise identical on tiny and ceers-mini.
* RAPID 2048² (dark skipped, snowballs off), VmHWM of the timed run: 10 groups
  902 MB, 50 groups 1659 MB, 100 groups 2666 MB = base ~500 + float32 cube + group DQ
  (1.0× each, no other copy) + 160 MB of outputs + ≤ 64 MB transients.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path(os.environ.get("WEBBCAL_BENCH_CACHE",
                                    Path(tempfile.gettempdir()) / "webbcal-bench"))


# --------------------------------------------------------------------- worker side
def _worker(opts: argparse.Namespace) -> None:
    """Run the pipeline ``repeat`` times in this process and print a RESULT json line."""
    import resource
    import tracemalloc

    os.environ["CRDS_PATH"] = opts.crds_path
    if opts.context:
        os.environ["CRDS_CONTEXT"] = opts.context
    t0 = time.perf_counter()
    from webbcal.pipelines.detector1 import Detector1Pipeline
    import_s = time.perf_counter() - t0
    steps = json.loads(opts.steps) if opts.steps else {}
    runs = []
    with tempfile.TemporaryDirectory(dir=opts.out_parent) as out:
        warmup_s = None
        if opts.warmup:  # JIT / numba-cache loading / reference cache, untimed
            t = time.perf_counter()
            Detector1Pipeline(steps=steps, output_dir=out).run(opts.warmup)
            warmup_s = time.perf_counter() - t
        for k in range(opts.repeat):
            for old in Path(out).iterdir():  # a fresh run writes new files (untimed)
                old.unlink()
            if k == 1 or (k == 0 and opts.warmup):
                _reset_peak_rss()  # the peak of the timed (warm) runs only
            pipe = Detector1Pipeline(steps=steps, output_dir=out)
            t, c = time.perf_counter(), _cpu_s()
            pipe.run(opts.uncal)
            runs.append({"total": time.perf_counter() - t, "cpu": _cpu_s() - c,
                         **pipe.timings})
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        warm_peak_mb = _peak_rss_mb()
        traced = None
        if opts.tracemalloc:
            tracemalloc.start()
            Detector1Pipeline(steps=steps, output_dir=out).run(opts.uncal)
            traced = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        jump = Detector1Pipeline(steps=steps).steps["jump"].params
    print("RESULT " + json.dumps({"import_s": import_s, "runs": runs, "rss_mb": rss_mb,
                                  "warm_peak_mb": warm_peak_mb, "warmup_s": warmup_s,
                                  "tracemalloc_mb": traced, "jump": repr(jump)}))


def _cpu_s() -> float:
    """User + system CPU seconds of this process (all threads)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float | None:
    """VmHWM of this process (MB): the peak since start or the last reset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _spawn(uncal: Path, world, *, repeat: int, fresh_numba: bool = False,
           tracemalloc: bool = False, steps: dict | None = None,
           warmup: Path | None = None) -> dict:
    env = dict(os.environ)
    tmp = None
    if fresh_numba:
        tmp = tempfile.TemporaryDirectory()
        env["NUMBA_CACHE_DIR"] = tmp.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--uncal", str(uncal),
           "--crds-path", str(world["crds_path"]), "--context", world["context"] or "",
           "--repeat", str(repeat), "--out-parent", str(uncal.parent),
           "--steps", json.dumps(steps or {})]
    if tracemalloc:
        cmd.append("--tracemalloc")
    if warmup is not None:
        cmd += ["--warmup", str(warmup)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if tmp is not None:
        tmp.cleanup()
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


# --------------------------------------------------------------------- inputs
def ensure_world(cache: Path, preset: str = "ceers-mini") -> dict:
    """Simulate ``preset`` into ``cache/preset`` once; return paths as plain data."""
    root = cache / preset
    marker = root / "world.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from webbcal.simulate import simulate_world

    print(f"simulating {preset} into {root} (once) ...", flush=True)
    t = time.perf_counter()
    world = simulate_world(preset, root, seed=0)
    info = {"uncal_files": [str(p) for p in world.uncal_files],
            "crds_path": str(world.crds_path), "context": getattr(world, "context", None),
            "truth_dir": str(world.truth_dir)}
    marker.write_text(json.dumps(info, indent=1))
    print(f"  done in {time.perf_counter() - t:.1f} s")
    return info


def pick_exposure(world: dict, detector: str = "nrca1") -> Path:
    """The first uncal file of ``detector`` (case-insensitive match in the name)."""
    for name in world["uncal_files"]:
        if detector in Path(name).name.lower():
            return Path(name)
    raise SystemExit(f"no {detector} exposure among {world['uncal_files']}")


def make_rapid(template: Path, ngroups: int, out: Path) -> Path:
    """A full-frame RAPID exposure with ``ngroups`` groups, built from ``template``.

    Signal: the template's first group as the bias level plus sky (0.5 DN/s) and a grid
    of stars (20–2000 DN/s, some saturating), Gaussian photon noise (at NRCA1's gain)
    and read noise per read of CDS/√2 (the readnoise reference is the CDS noise, as in
    CRDS; a per-read noise above that would make jump flag ~6 % of all groups). Written
    once; reused when present.
    """
    import numpy as np

    from webbcal.datamodels import make_group_table, make_int_times_table, read_uncal
    from webbcal.instrument import DETECTORS

    path = out / f"jw09999001001_01101_{ngroups:05d}_nrca1_uncal.fits"
    if path.exists():
        return path
    model = read_uncal(template)
    header = model.header.copy()
    header["READPATT"], header["NFRAMES"], header["GROUPGAP"] = "RAPID", 1, 0
    header["NGROUPS"], header["NINTS"] = ngroups, 1
    header["TGROUP"] = header["TFRAME"]
    ny, nx = model.data.shape[-2:]
    rng = np.random.default_rng(ngroups)
    bias = model.data[0, 0].astype(np.float32)
    rate = np.full((ny, nx), 0.5, np.float32)
    rate[100:-100:64, 100:-100:64] = rng.uniform(20, 2000, rate[100:-100:64, 100:-100:64].shape)
    rate[:4], rate[-4:], rate[:, :4], rate[:, -4:] = 0, 0, 0, 0
    tframe = float(header["TFRAME"])
    det = DETECTORS["NRCA1"]
    gain, rn_read = det.gain_e_per_dn, det.readnoise_dn / np.sqrt(2.0)
    data = np.empty((1, ngroups, ny, nx), np.uint16)
    counts = np.zeros((ny, nx), np.float32)
    for g in range(ngroups):
        mean = rate * tframe
        counts += mean + np.sqrt(mean / gain) * rng.standard_normal((ny, nx), dtype=np.float32)
        frame = bias + counts + rn_read * rng.standard_normal((ny, nx), dtype=np.float32)
        data[0, g] = np.clip(np.rint(frame), 0, 65535).astype(np.uint16)
    model.data, model.header, model.zeroframe = data, header, None
    exposure = model.exposure
    model.group = make_group_table(exposure)
    model.int_times = make_int_times_table(exposure)
    out.mkdir(parents=True, exist_ok=True)
    model.write(path)
    return path


# --------------------------------------------------------------------- report
def _table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*["-" * w for w in widths]),
                      *(fmt.format(*map(str, r)) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rapid-groups", default="10,25,50,100")
    ap.add_argument("--no-rapid", action="store_true")
    ap.add_argument("--no-compile", action="store_true", help="skip the empty-numba-cache run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--uncal", help=argparse.SUPPRESS)
    ap.add_argument("--crds-path", help=argparse.SUPPRESS)
    ap.add_argument("--context", help=argparse.SUPPRESS)
    ap.add_argument("--out-parent", help=argparse.SUPPRESS)
    ap.add_argument("--steps", help=argparse.SUPPRESS)
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warmup", help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.worker:
        _worker(opts)
        return 0

    world = ensure_world(opts.cache)
    uncal = pick_exposure(world)
    size_mb = uncal.stat().st_size / 2**20
    print(f"exposure: {uncal.name} ({size_mb:.0f} MB), {os.cpu_count()} CPUs")
    compile_s = None
    if not opts.no_compile:
        compile_s = _spawn(uncal, world, repeat=1, fresh_numba=True)["runs"][0]["total"]
    res = _spawn(uncal, world, repeat=1 + opts.repeat, tracemalloc=True)
    first, warm = res["runs"][0], res["runs"][1:]
    best = min(warm, key=lambda r: r["total"])
    print(f"jump parameters: {res['jump']}")
    rows = [[k, f"{v:.3f}"] for k, v in best.items() if k not in ("total", "cpu")]
    print(_table(rows, ["step (best warm run)", "s"]))
    summary = [
        ["import webbcal.pipelines.detector1", f"{res['import_s']:.2f} s", ""],
        ["first run, empty numba cache (JIT)", "n/a" if compile_s is None
         else f"{compile_s:.2f} s", ""],
        ["first run, warm numba cache", f"{first['total']:.2f} s", ""],
        [f"warm run (best of {len(warm)}), read+write incl.", f"{best['total']:.3f} s",
         "target <= 1 s"],
        ["warm runs, all", " ".join(f"{r['total']:.2f}" for r in warm), ""],
        ["CPU s (user+sys) of those runs", " ".join(f"{r['cpu']:.2f}" for r in warm), ""],
        ["load average (1, 5, 15 min)", " ".join(Path("/proc/loadavg").read_text().split()[:3])
         if Path("/proc/loadavg").exists() else "n/a", ""],
        ["peak RSS during the warm runs (VmHWM)", f"{res['warm_peak_mb']:.0f} MB",
         "target <= 1024 MB"],
        ["peak RSS of the process (ru_maxrss)", f"{res['rss_mb']:.0f} MB", "incl. JIT"],
        ["tracemalloc peak, one run", f"{res['tracemalloc_mb']:.0f} MB", ""],
    ]
    print()
    print(_table(summary, ["ceers-mini NRCA1 detector1", "value", ""]))

    if not opts.no_rapid:
        rapid_rows = []
        for n in [int(x) for x in opts.rapid_groups.split(",") if x]:
            path = make_rapid(uncal, n, opts.cache / "rapid-cds")  # CDS read-noise convention
            r = _spawn(path, world, repeat=1, steps={"dark_current": {"skip": True}},
                       warmup=uncal)
            run = r["runs"][0]
            slow = sorted(((k, v) for k, v in run.items()
                           if k not in ("total", "cpu", "read", "write")),
                          key=lambda kv: -kv[1])[:3]
            rapid_rows.append([n, f"{path.stat().st_size / 2**20:.0f}", f"{run['total']:.2f}",
                               f"{run['cpu']:.2f}", f"{run['total'] / n * 1000:.0f}",
                               f"{run['read']:.2f}", f"{run['write']:.2f}",
                               f"{r['warm_peak_mb']:.0f}",
                               " ".join(f"{k}={v:.2f}" for k, v in slow)])
        print()
        print(_table(rapid_rows, ["RAPID ngroups", "MB in", "total s", "CPU s", "ms/group",
                                  "read s", "write s", "peak RSS MB (run)", "slowest steps"]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    sys.exit(main())
