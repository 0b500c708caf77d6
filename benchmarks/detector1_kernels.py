"""Time the per-pixel detector1 corrections on a full-frame random cube.

    .venv/bin/python benchmarks/detector1_kernels.py [--ngroups 9] [--frame-dark]

A 2048×2048 uint16 ramp (1 integration, ``--ngroups`` groups, MEDIUM8 read pattern for
the saturation passes) goes through raw→float32, saturation, superbias, refpix,
linearity (5 coefficients) and dark subtraction, then the optional 1/f stripe removal
(timed, not in the total). The first call of each kernel (JIT
compilation or cache load) is timed separately; then the median of ``--repeat`` warm
runs of each step is printed. By default the dark is already in the exposure's groups
(NFRAMES=8); ``--frame-dark`` uses a one-frame-per-read MEDIUM8 dark (88 frames for 9
groups, 1.5 GB) and averages it on the fly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ngroups", type=int, default=9)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frame-dark", action="store_true")
    args = ap.parse_args()

    import numba

    from webbcal.algorithms.detector1.dark import subtract_dark
    from webbcal.algorithms.detector1.dq_init import initialize_dq, raw_to_float32
    from webbcal.algorithms.detector1.linearity import correct_linearity
    from webbcal.algorithms.detector1.one_over_f import remove_row_stripes
    from webbcal.algorithms.detector1.refpix import correct_reference_pixels, nircam_refpix_layout
    from webbcal.algorithms.detector1.saturation import flag_saturation, read_pattern_frames
    from webbcal.algorithms.detector1.superbias import subtract_superbias
    from webbcal.datamodels.dqflags import DQ

    n, ng = args.size, args.ngroups
    nframes, groupgap = 8, 2
    rng = np.random.default_rng(0)
    bias = rng.normal(12000, 300, (n, n)).astype(np.float32)
    rate = rng.exponential(20.0, (n, n)).astype(np.float32)
    raw = np.empty((1, ng, n, n), np.uint16)
    for g in range(ng):
        plane = bias + rate * (g + 1) * 10 + rng.normal(0, 10, (n, n)).astype(np.float32)
        raw[0, g] = np.clip(plane, 0, 65535).astype(np.uint16)
    mask = np.zeros((n, n), np.uint32)
    sat = np.full((n, n), 60000.0, np.float32)
    sat_dq = np.zeros((n, n), np.uint32)
    coeffs = np.zeros((5, n, n), np.float32)
    coeffs[1], coeffs[2], coeffs[3] = 1.0, 1e-6, 1e-11
    if args.frame_dark:
        dark = rng.normal(0, 1, ((ng - 1) * (nframes + groupgap) + nframes, n, n)).astype(np.float32)
        dark_kw = dict(dark_nframes=1, dark_groupgap=0)
    else:
        dark = rng.normal(0, 1, (ng, n, n)).astype(np.float32)
        dark_kw = dict(dark_nframes=nframes, dark_groupgap=groupgap)
    layout = nircam_refpix_layout(substrt1=1, substrt2=1, nx=n, ny=n)
    rp = read_pattern_frames(ng, nframes, groupgap)
    bits = dict(saturated=int(DQ.SATURATED), do_not_use=int(DQ.DO_NOT_USE),
                ad_floor=int(DQ.AD_FLOOR), no_sat_check=int(DQ.NO_SAT_CHECK))

    def run_all(times):
        state = {}

        def timed(name, fn):
            t0 = time.perf_counter()
            out = fn()
            times.setdefault(name, []).append(time.perf_counter() - t0)
            return out

        data = timed("raw_to_float32", lambda: raw_to_float32(raw))
        dq = timed("dq_init", lambda: initialize_dq(mask, data.shape))
        pdq, gdq = dq.pixeldq, dq.groupdq
        timed("saturation", lambda: flag_saturation(data, gdq, pdq, sat, sat_dq,
                                                    read_pattern=rp, **bits))
        timed("superbias", lambda: subtract_superbias(data, pdq, bias))
        timed("refpix", lambda: correct_reference_pixels(data, pdq, layout,
                                                         do_not_use=int(DQ.DO_NOT_USE)))
        timed("linearity", lambda: correct_linearity(data, gdq, pdq, coeffs,
                                                     saturated=int(DQ.SATURATED),
                                                     no_lin_corr=int(DQ.NO_LIN_CORR)))
        timed("dark_current", lambda: subtract_dark(data, pdq, dark, nframes=nframes,
                                                    groupgap=groupgap, **dark_kw))
        timed("(one_over_f)", lambda: remove_row_stripes(
            data, pdq, layout.amp_edges, bad_bits=int(DQ.DO_NOT_USE | DQ.REFERENCE_PIXEL)))
        state["data"] = data
        return state

    first: dict[str, list[float]] = {}
    run_all(first)
    warm: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        run_all(warm)
    print(f"cube 1x{ng}x{n}x{n}, numba threads {numba.get_num_threads()}, "
          f"dark {'frames (' + str(dark.shape[0]) + ')' if args.frame_dark else 'grouped'}")
    print(f"{'step':16s} {'first call':>10s} {'warm (median)':>14s}")
    total = 0.0
    for name in first:
        med = float(np.median(warm[name]))
        total += med if not name.startswith("(") else 0.0
        print(f"{name:16s} {first[name][0]:10.3f} {med:14.3f}")
    print(f"{'total':16s} {sum(v[0] for k, v in first.items() if k[0] != '('):10.3f} "
          f"{total:14.3f}   (optional steps in parentheses not included)")
    # a memory-bandwidth yardstick measured now (the machine may be shared): one
    # numpy read-modify-write pass over the float32 cube
    cube = np.zeros((1, ng, n, n), np.float32)
    ts = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cube += np.float32(1.0)
        ts.append(time.perf_counter() - t0)
    print(f"yardstick: numpy in-place add over the float32 cube {np.median(ts):.3f} s "
          f"(total = {total / np.median(ts):.1f} such passes)")


if __name__ == "__main__":
    main()
