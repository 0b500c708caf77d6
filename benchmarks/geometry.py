"""Time the NIRCam geometry: SIAF loading and full 2048x2048 pixel <-> sky maps.

Run: ``.venv/bin/python benchmarks/geometry.py``. Prints seconds; the first map call
includes numba compilation/cache loading, the following ones are warm.
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
    geo = DetectorGeometry("NRCB5", _Pointing())
    y, x = np.mgrid[0:2048, 0:2048].astype(float)
    for label in ("first (incl. numba load)", "warm", "warm"):
        t, c = time.perf_counter(), time.process_time()
        ra, dec = geo.pixel_to_sky(x, y)
        t_fwd, c_fwd = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        xb, yb = geo.sky_to_pixel(ra, dec)
        t_inv, c_inv = time.perf_counter() - t, time.process_time() - c
        print(f"2048x2048 pixel_to_sky {t_fwd:.3f} s (cpu {c_fwd:.3f} s), "
              f"sky_to_pixel {t_inv:.3f} s (cpu {c_inv:.3f} s)  [{label}]")
    err = max(np.abs(xb - x).max(), np.abs(yb - y).max())
    print(f"round trip max error: {err:.2e} px")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (2-core machine)")


if __name__ == "__main__":
    main()
