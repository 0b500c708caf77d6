"""Write a simulated NIRCam world: raw uncal exposures, a CRDS cache, associations, truth.

Presets: tiny (256×256, 2 detectors × 2 dithers, seconds), ceers-mini (full frame,
NRCA1/F200W + NRCALONG/F444W, 3 dithers, MEDIUM8 × 9 groups), ceers-pointing (all 10
detectors × 3 dithers). Afterwards set CRDS_PATH and CRDS_CONTEXT as printed.
"""

from __future__ import annotations

import sys
import time


def add_arguments(parser):
    parser.add_argument("--preset", default="tiny",
                        choices=["tiny", "ceers-mini", "ceers-pointing"],
                        help="which world to write (default: tiny)")
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--pointing-error", type=float, default=None, metavar="ARCSEC",
                        help="rms pointing error per axis and dither (default: preset's 0.15)")
    parser.add_argument("--cr-rate", type=float, default=None, metavar="HITS",
                        help="cosmic-ray rate, hits cm^-2 s^-1 (default 5)")


def _size(path) -> int:
    from pathlib import Path

    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main(args) -> int:
    from webbcal.simulate import simulate_world

    t0 = time.perf_counter()

    def progress(msg, done, total):
        print(f"[{time.perf_counter() - t0:6.1f} s] {done:>3}/{total} {msg}", file=sys.stderr,
              flush=True)

    w = simulate_world(args.preset, args.out, seed=args.seed, progress=progress,
                       pointing_error_arcsec=args.pointing_error, cr_rate=args.cr_rate)
    dt = time.perf_counter() - t0
    mb = 1024 * 1024
    print(f"simulated world '{w.preset}' (seed {w.seed}) in {dt:.1f} s -> {w.out_dir}")
    print(f"  {len(w.uncal_files)} uncal files ({sum(_size(p) for p in w.uncal_files) / mb:.0f} MB):")
    for p in w.uncal_files:
        print(f"    {p}")
    print(f"  CRDS cache: {w.crds_path} ({_size(w.crds_path) / mb:.0f} MB), context {w.context}")
    print(f"  associations: {', '.join(str(p) for p in w.associations)}")
    print(f"  reference catalog: {w.reference_catalog}")
    print(f"  truth: {w.truth_dir} ({_size(w.truth_dir) / mb:.0f} MB)")
    print("to use the cache:")
    print(f"  export CRDS_PATH={w.crds_path.resolve()} CRDS_CONTEXT={w.context}")
    print("  unset CRDS_SERVER_URL")
    return 0
