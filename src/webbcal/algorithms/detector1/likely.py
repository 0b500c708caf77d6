"""The likelihood ramp fit of Brandt (2024, PASP 136, 045004 and 045005).

Optimal and unbiased for any number of groups: the resultant differences are fitted
with their full (tridiagonal) read-noise + Poisson covariance, so averaging of
``nframes`` reads into a group and the correlation between adjacent differences are
modelled exactly (the OLS/Fixsen weighting approximates both). Differences that
touch SATURATED / DO_NOT_USE groups or contain a JUMP_DET group are dropped from the
likelihood (sub-matrix of the covariance). Jumps are taken from the group DQ; the
likelihood jump search of Brandt (2024b) is not repeated here.

Use through :func:`webbcal.algorithms.detector1.ramp_fit.fit_ramps` with
``algorithm="likely"``; the result has the same layout as the OLS fit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["resultant_times"]


def resultant_times(ngroups: int, nframes: int, groupgap: int,
                    frame_time: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean read time and mean pairwise-earlier read time of each group.

    Group ``k`` averages frames ``k (nframes + groupgap) + 1 … + nframes`` read at
    ``frame_time`` intervals.

    Returns
    -------
    tbar : ndarray, float64 (ngroups,)
        Mean read time of each group, s.
    tau : ndarray, float64 (ngroups,)
        ``mean_{a,b} min(t_a, t_b)`` over the group's read pairs, s (Poisson variance
        of the group average is ``tau * rate / gain``).
    """
    k = np.arange(ngroups, dtype=np.float64) * (nframes + groupgap)
    n = float(nframes)
    tbar = frame_time * (k + (n + 1.0) / 2.0)
    tau = frame_time * (k + (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n))
    return tbar, tau


def _fit_likely_into(data, groupdq, pixeldq, gain, readnoise, out, *, frame_time, group_time,
                     nframes, groupgap, do_not_use, saturated, jump_det, no_gain_value):
    """Run the likelihood kernel into the pre-allocated ``out`` dict of arrays."""
    from webbcal._threads import run_row_bands
    from webbcal.algorithms.detector1._likely_kernels import likely_rows
    from webbcal.algorithms.detector1.ramp_fit import _BAND_ROWS

    ngroups = data.shape[1]
    tbar, tau = resultant_times(ngroups, nframes, groupgap, frame_time)
    run_row_bands(
        likely_rows, data.shape[2],
        data, groupdq, pixeldq, gain, readnoise, tbar, tau, int(nframes),
        int(do_not_use), int(saturated), int(jump_det), int(no_gain_value),
        out["rate"], out["dq"], out["var_poisson"], out["var_rnoise"], out["err"],
        out["rateints"], out["dq_ints"], out["var_poisson_ints"], out["var_rnoise_ints"],
        out["err_ints"], band=_BAND_ROWS,
    )
