"""Time the NIRCam geometry: SIAF loading and full 2048x2048 pixel <-> sky maps.

Run: ``.venv/bin/python benchmarks/geometry.py``. Prints seconds; the first map call
includes numba compilation/cache loading (its compile CPU seconds per kernel are
printed: cold with ``NUMBA_CACHE_DIR=$(mktemp -d)``), the following ones are warm.

The four kernels of ``webbcal.instrument._kernels`` are serial ``nogil`` kernels run on
row bands by ``webbcal._threads.run_row_bands`` (they were ``parallel=True``).
Measured 2026-11-24 on the shared 2-core machine (load average 4-6), NRCB1, cold
private cache; the outputs on full frames are bit-identical before/after:

    compile CPU (4 kernels)      parallel=True 3.58 s   row bands 1.73 s
    warm 2048² pixel_to_sky      0.54-0.74 s CPU        0.46-0.68 s CPU
    warm 2048² sky_to_pixel      0.85-0.88 s CPU        0.78-0.97 s CPU

The optional 1/f kernels (``webbcal.algorithms.detector1._one_over_f_kernels``, same
conversion) went from 8.39 s to 2.61 s of compile CPU (3 parfor kernels → 5 row
kernels), warm 2048² × 5 groups 0.18-0.20 → 0.16-0.17 s CPU, outputs bit-identical.
"""

import os
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Pointing:
    ra_ref: float = 34.46216220475726
    dec_ref: float = -5.23699444075018
    roll_ref: float = 69.98959542132465
    v2_ref: float = -89.387412
    v3_ref: float = -491.352394
    va_scale: float = 0.9999039861972934


def main() -> None:
    t0 = time.perf_counter()
    from webbcal.instrument import DetectorGeometry, siaf_aperture

    t1 = time.perf_counter()
    siaf_aperture("NRCB5")
    t2 = time.perf_counter()
    print(f"import webbcal.instrument: {t1 - t0:.3f} s")
    print(f"SIAF parse + first aperture: {t2 - t1:.3f} s")
    from webbcal._warmup import CompileTimer

    geo = DetectorGeometry("NRCB5", _Pointing())
    y, x = np.mgrid[0:2048, 0:2048].astype(float)
    for label in ("first (incl. numba load)", "warm", "warm"):
        t, c = time.perf_counter(), time.process_time()
        with CompileTimer() as timer:
            ra, dec = geo.pixel_to_sky(x, y)
        t_fwd, c_fwd = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        with timer:
            xb, yb = geo.sky_to_pixel(ra, dec)
        t_inv, c_inv = time.perf_counter() - t, time.process_time() - c
        if timer.seconds:
            print("compile CPU s: " + ", ".join(f"{k.rsplit('.', 1)[-1]} {v:.2f}"
                                                for k, v in timer.seconds.items())
                  + f"; total {sum(timer.seconds.values()):.2f}")
        print(f"2048x2048 pixel_to_sky {t_fwd:.3f} s (cpu {c_fwd:.3f} s), "
              f"sky_to_pixel {t_inv:.3f} s (cpu {c_inv:.3f} s)  [{label}]")
    err = max(np.abs(xb - x).max(), np.abs(yb - y).max())
    print(f"round trip max error: {err:.2e} px")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (2-core machine)")


if __name__ == "__main__":
    main()
