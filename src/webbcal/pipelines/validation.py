"""detector1 products against the simulator's truth (used by the demo and the tests).

The simulator writes ``truth/<exposure>_truth_rate.fits`` with the noiseless rate in
linear DN/s (``RATE_DN`` extension, QE and flat applied, no dark current), which is
what a rate product should measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RateZ", "rate_zscores", "load_true_rate", "truth_rate_path"]


@dataclass(frozen=True)
class RateZ:
    """``z = (rate - true rate) / ERR`` over the compared pixels.

    Attributes
    ----------
    z : ndarray, float64 (n,)
        The z values of the compared pixels.
    mask : ndarray, bool (ny, nx)
        Which pixels were compared: DQ == 0, finite rate, ERR > 0.
    median, std : float
        ``median(z)`` and ``std(z)``.
    """

    z: np.ndarray
    mask: np.ndarray
    median: float
    std: float


def rate_zscores(rate: Any, true_rate: np.ndarray) -> RateZ:
    """Compare a rate product (path or ``ImageModel``) with the true rate (DN/s).

    Only unflagged pixels (DQ == 0) with a finite rate and a positive ERR are used.
    """
    if isinstance(rate, (str, Path)):
        from webbcal.datamodels import read_image

        rate = read_image(rate)
    data = np.asarray(rate.data, np.float64)
    err = np.asarray(rate.err, np.float64)
    true_rate = np.asarray(true_rate, np.float64)
    if true_rate.shape != data.shape:
        raise ValueError(f"true rate shape {true_rate.shape} != rate shape {data.shape}")
    mask = (np.asarray(rate.dq) == 0) & np.isfinite(data) & np.isfinite(err) & (err > 0)
    z = (data[mask] - true_rate[mask]) / err[mask]
    return RateZ(z=z, mask=mask, median=float(np.median(z)) if z.size else float("nan"),
                 std=float(np.std(z)) if z.size else float("nan"))


def truth_rate_path(truth_dir: str | Path, product: str | Path) -> Path:
    """``truth/<stem>_truth_rate.fits`` for a product ``<stem>_<suffix>.fits``."""
    from webbcal.pipelines.base import product_stem

    return Path(truth_dir) / f"{product_stem(product)}_truth_rate.fits"


def load_true_rate(world: Any, product: str | Path) -> np.ndarray | None:
    """The true rate (linear DN/s) of ``product`` from ``world.truth_dir``; None if absent."""
    path = truth_rate_path(world.truth_dir, product)
    if not path.exists():
        return None
    from astropy.io import fits

    return np.asarray(fits.getdata(path, "RATE_DN"), np.float32)
