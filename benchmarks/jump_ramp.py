"""Benchmark: jump detection (with/without snowballs) and ramp fitting on a full frame.

    .venv/bin/python benchmarks/jump_ramp.py [--ngroups 9] [--size 2048] [--threads 2]
        [--memory] [--official-python .venv-official/bin/python]

Synthetic MEDIUM8 ramps (Gaussian approximation of Poisson + read noise, random
cosmic rays, a few saturating stars and snowballs). JIT compilation is done first on
a tiny input and reported separately. Prints wall times per stage. ``--memory``
instead measures how much the jump step (snowballs on, group DQ flagged in place, as
the pipeline runs it) adds to the resident memory over its input, by sampling RSS.
``--official-python`` (a venv with stcal) also runs stcal 1.20's ``detect_jumps_data``
(two-point + neighbours, snowballs off) on the same arrays and counts differing
group-DQ elements (use a small ``--size``: stcal needs ~50 s for a full frame).

Measured 2026-11-24 (2 cores shared, load 6-11; CPU = user+sys of this process):

- jump memory, simulator RAPID 2048x2048x100 groups after linearity (input 1.68 GB
  data + 0.42 GB group DQ; /tmp/h2-style harness, same code path as ``--memory``):
  +1883 MB before (snowball labels of all groups held at once), +181 MB now (labels
  of a window of 2 groups per thread; neighbour-trigger bits 52 MB);
  ``--memory --ngroups 100`` here: see the printed figure;
- ceers-mini NRCA1 (9 groups), jump incl. snowballs, best of 5: 0.42-0.45 s CPU before,
  0.45-0.52 s CPU now (now bit-identical to stcal 1.20's two-point search, which
  needs float32 electrons and absolute differences); snowballs alone 0.15 s CPU;
- cold numba compile of the jump + snowball kernels (private NUMBA_CACHE_DIR, tiny
  world): 31-42 s CPU before, 11-13 s CPU now (no ``parallel=True``: row blocks on a
  thread pool with ``nogil`` kernels; merged helpers; no slice-assignment).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_exposure(size: int, ngroups: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tframe, nframes, groupgap = 10.73677, 8, 2
    tgroup = (nframes + groupgap) * tframe
    gain, rn = 2.0, 10.0
    rate = rng.gamma(2.0, 0.5, (size, size)).astype(np.float32)
    t = np.arange(ngroups, dtype=np.float32) * tgroup
    data = np.empty((1, ngroups, size, size), np.float32)
    sig = np.float32(rn / np.sqrt(2 * nframes))
    for g in range(ngroups):
        data[0, g] = rate * t[g] + rng.standard_normal((size, size), np.float32) * sig
        if g:
            data[0, g] += rng.standard_normal((size, size), np.float32) * np.sqrt(
                rate * tgroup / gain).astype(np.float32) * 0  # keep it cheap: read noise only
    gdq = np.zeros(data.shape, np.uint8)
    # cosmic rays: ~2e-3 of pixels per group
    n_cr = int(2e-3 * size * size * ngroups)
    ys, xs = rng.integers(0, size, n_cr), rng.integers(0, size, n_cr)
    gs = rng.integers(1, ngroups, n_cr)
    for y, x, g, a in zip(ys, xs, gs, rng.uniform(50, 2000, n_cr)):
        data[0, g:, y, x] += a
    # saturating stars and snowballs
    yy, xx = np.mgrid[-12:13, -12:13]
    r = np.hypot(yy, xx)
    for k in range(40):
        cy, cx = rng.integers(20, size - 20, 2)
        g = int(rng.integers(1, ngroups))
        sl = (slice(cy - 12, cy + 13), slice(cx - 12, cx + 13))
        data[0, g:, sl[0], sl[1]] += np.where(r <= 6, 3000.0, np.where(r <= 9, 5.0, 0.0))
        gdq[0, g:, sl[0], sl[1]] |= np.where(r <= 3, 2, 0).astype(np.uint8)
    return dict(data=data, gdq=gdq, pdq=np.zeros((size, size), np.uint32),
                gain=np.full((size, size), gain, np.float32),
                rn=np.full((size, size), rn, np.float32),
                tframe=tframe, tgroup=tgroup, nframes=nframes, groupgap=groupgap)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_during(f):
    """(RSS before, peak RSS while ``f()`` runs, (wall, CPU) s), sampled every 5 ms."""
    import threading

    base = _rss_mb()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            done.wait(0.005)

    th = threading.Thread(target=sample)
    th.start()
    w, c = time.perf_counter(), time.process_time()
    try:
        f()
    finally:
        t = (time.perf_counter() - w, time.process_time() - c)
        done.set()
        th.join()
    return base, max(peak[0], _rss_mb()), t


_OFFICIAL = """
import sys, numpy as np
from stcal.jump.jump_class import JumpData
from stcal.jump.jump import detect_jumps_data
d = sys.argv[1]
a = {k: np.load(f"{d}/{k}.npy") for k in ("data", "gdq", "pdq", "gain", "rn")}
flags = dict(GOOD=0, DO_NOT_USE=1, SATURATED=2, JUMP_DET=4, NO_GAIN_VALUE=2**19,
             REFERENCE_PIXEL=2**31)
jd = JumpData(None, a["gain"], a["rn"], flags)
jd.init_arrays_from_arrays(a["data"], a["gdq"], a["pdq"])
jd.nframes = int(sys.argv[2])
jd.dt_group, jd.n_reads_groupdiff = np.ones(1), np.ones(1) * 2 * jd.nframes
jd.max_cores = "none"
np.save(f"{d}/official.npy", detect_jumps_data(jd)[0])
"""


def _official_gdq(python: str, e: dict):
    """Group DQ from stcal's ``detect_jumps_data`` (JumpStep defaults, snowballs off)
    on the arrays of ``e``, run by ``python`` in a subprocess."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="webbcal-jump-") as d:
        for k in ("data", "gdq", "pdq", "gain", "rn"):
            np.save(f"{d}/{k}.npy", e[k])
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        subprocess.run([python, "-c", _OFFICIAL, d, str(e["nframes"])], check=True, env=env,
                       capture_output=True)
        return np.load(f"{d}/official.npy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--ngroups", type=int, default=9)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--official-python", default=None,
                   help="python of a venv with stcal: compare the group DQ with stcal's")
    p.add_argument("--memory", action="store_true",
                   help="measure the RSS the jump step adds over its input")
    args = p.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    from webbcal.algorithms.detector1.jump import detect_jumps
    from webbcal.algorithms.detector1.ramp_fit import fit_ramps

    def timed(f, repeat=3):
        """Best of ``repeat``: (result, wall s, CPU s of this process)."""
        best = None
        for _ in range(repeat):
            w, c = time.perf_counter(), time.process_time()
            r = f()
            t = (time.perf_counter() - w, time.process_time() - c)
            best = t if best is None or t[0] < best[0] else best
        return r, best

    def run(e, **kw):
        j, t = timed(lambda: detect_jumps(e["data"], e["gdq"], e["pdq"], e["gain"], e["rn"],
                                          nframes=e["nframes"], **kw))
        return j, t

    def fit(e, gdq, algorithm):
        return timed(lambda: fit_ramps(
            e["data"], gdq, e["pdq"], e["gain"], e["rn"], frame_time=e["tframe"],
            group_time=e["tgroup"], nframes=e["nframes"], groupgap=e["groupgap"],
            algorithm=algorithm))[1]

    def fmt(t):
        return f"wall {t[0]:.3f} s, CPU {t[1]:.3f} s"

    t0 = time.perf_counter()
    small = make_exposure(64, args.ngroups)
    j = detect_jumps(small["data"], small["gdq"], small["pdq"], small["gain"], small["rn"],
                     nframes=small["nframes"], expand_large_events=True)
    for algorithm in ("OLS", "likely"):
        fit_ramps(small["data"], j.groupdq, small["pdq"], small["gain"], small["rn"],
                  frame_time=small["tframe"], group_time=small["tgroup"],
                  nframes=small["nframes"], groupgap=small["groupgap"], algorithm=algorithm)
    print(f"JIT compile / cache load: {time.perf_counter() - t0:.2f} s")

    e = make_exposure(args.size, args.ngroups)
    shape = e["data"].shape
    if args.memory:
        base, peak, (wall, cpu) = _rss_during(lambda: detect_jumps(
            e["data"], e["gdq"], e["pdq"], e["gain"], e["rn"], nframes=e["nframes"],
            expand_large_events=True, inplace=True))
        print(f"exposure {shape}: RSS {base:.0f} MB before the jump step, peak {peak:.0f} MB "
              f"during it (+{peak - base:.0f} MB); wall {wall:.1f} s, CPU {cpu:.1f} s")
        return
    print(f"exposure {shape}, {args.threads} threads")
    _, t_plain = run(e, expand_large_events=False)
    j, t_snow = run(e, expand_large_events=True)
    print(f"jump (two-point + neighbours):      {fmt(t_plain)}  ({j.n_primary} primary jumps)")
    print(f"jump (+ snowballs, NIRCam default): {fmt(t_snow)}  ({j.n_snowballs} snowballs)")
    if args.official_python:
        plain = detect_jumps(e["data"], e["gdq"], e["pdq"], e["gain"], e["rn"],
                             nframes=e["nframes"])
        official = _official_gdq(args.official_python, e)
        print(f"stcal 1.20 two-point search on the same input: "
              f"{int((official != plain.groupdq).sum())} of {official.size} group-DQ "
              f"elements differ")
    print(f"ramp_fit OLS:                       {fmt(fit(e, j.groupdq, 'OLS'))}")
    print(f"ramp_fit likely:                    {fmt(fit(e, j.groupdq, 'likely'))}")
    print("(CPU / threads approximates the wall time on an otherwise idle machine)")


if __name__ == "__main__":
    main()
