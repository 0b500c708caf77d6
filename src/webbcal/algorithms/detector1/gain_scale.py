"""gain_scale: rescale count rates by the gain reference's GAINFACT (official step).

The official step only acts when the GAIN reference carries a ``GAINFACT`` keyword
(data taken with a non-standard gain setting); then SCI and ERR are multiplied by the
factor and the variances by its square. Otherwise it does nothing and the step is
recorded as SKIPPED.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GainScaleResult", "apply_gain_scale"]


@dataclass(frozen=True)
class GainScaleResult:
    """Outcome of :func:`apply_gain_scale`.

    Attributes
    ----------
    applied : bool
        False when ``gain_factor`` was None (nothing changed: step SKIPPED).
    gain_factor : float or None
        The factor used.
    """

    applied: bool
    gain_factor: float | None


def apply_gain_scale(
    data: np.ndarray,
    err: np.ndarray | None = None,
    var_poisson: np.ndarray | None = None,
    var_rnoise: np.ndarray | None = None,
    *,
    gain_factor: float | None,
) -> GainScaleResult:
    """Multiply rates by ``gain_factor`` (in place); variances by its square.

    Parameters
    ----------
    data : ndarray, (ny, nx) or (nints, ny, nx) float32
        Count rate (DN/s).
    err, var_poisson, var_rnoise : ndarray, same shape as ``data``, optional
        Uncertainty (DN/s) and variances ((DN/s)²).
    gain_factor : float or None
        ``GAINFACT`` of the gain reference; None → no-op.

    Returns
    -------
    GainScaleResult
    """
    if gain_factor is None:
        return GainScaleResult(applied=False, gain_factor=None)
    f = float(gain_factor)
    if not np.isfinite(f):
        raise ValueError(f"GAINFACT must be finite, found {gain_factor!r}")
    data *= np.float32(f)
    if err is not None:
        err *= np.float32(f)
    for var in (var_poisson, var_rnoise):
        if var is not None:
            var *= np.float32(f * f)
    return GainScaleResult(applied=True, gain_factor=f)
