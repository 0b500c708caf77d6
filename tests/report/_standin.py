"""A stand-in for detector1 while its jump/ramp_fit steps are not importable.

Writes ``<stem>_rate.fits`` files that look like detector1 products made from the
simulator's truth: rate = true rate + Gaussian noise of the stated ERR, JUMP_DET on
most injected cosmic rays, SATURATED on the brightest pixels, reference pixels
flagged, and the HISTORY timing line the real pipeline writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_standin_rates(uncal_files, truth_dir: Path, out_dir: Path, *, seed=0) -> list[Path]:
    from astropy.io import fits
    from webbcal.datamodels import ImageModel, read_uncal
    from webbcal.report.collect import truth_table

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for uncal in uncal_files:
        raw = read_uncal(uncal)
        stem = Path(uncal).name[: -len("_uncal.fits")]
        truth = fits.getdata(truth_dir / f"{stem}_truth_rate.fits", "RATE_DN").astype(np.float32)
        ex = raw.exposure
        tint = ex.effinttm
        err = np.sqrt(np.clip(truth, 0, None) / 2.0 / tint + (12.0 / tint) ** 2).astype(np.float32)
        data = (truth + rng.normal(0, 1, truth.shape) * err).astype(np.float32)
        dq = np.zeros(truth.shape, np.uint32)
        dq[:4, :] = dq[:, :4] = 2**31 | 1
        dq[truth * tint > np.percentile(truth * tint, 99.9)] |= 2
        cr = truth_table(truth_dir, f"{stem}_cosmic_rays")
        keep = rng.random(len(cr)) < 0.9
        dq[np.asarray(cr["y"])[keep], np.asarray(cr["x"])[keep]] |= 4
        header = raw.header.copy()
        header.add_history("webbcal Detector1Pipeline 0.1.0: dq_init=0.010s, saturation=0.020s, "
                           "jump=0.300s, ramp_fit=0.100s")
        sci = raw.sci_header.copy()
        sci["BUNIT"] = "DN/s"
        model = ImageModel(data=data, err=err, dq=dq, var_poisson=err**2, var_rnoise=err * 0,
                           header=header, sci_header=sci)
        path = out_dir / f"{stem}_rate.fits"
        model.write(path)
        paths.append(path)
    return paths
