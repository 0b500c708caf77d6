"""Example ramps for the report: a bright pixel, a cosmic-ray hit, a saturating star.

Only the chosen pixels' ramps are read from the uncal file (memory-mapped): the
candidates come from the rate image, the truth's cosmic rays and the DQ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webbcal.report import metrics as M
from webbcal.report._io import ramp_pixels
from webbcal.report.collect import truth_table
from webbcal.report.products import Exposure

__all__ = ["ramp_examples", "saturating_pixel"]


def ramp_examples(exp: Exposure, rate: np.ndarray, dq: np.ndarray, m,
                  truth_dir: Path | None) -> list[dict]:
    """The example ramps of one exposure: raw groups of the chosen pixels + fitted line.

    ``rate`` (ny, nx) and ``dq`` are the rate product's SCI and DQ, ``m`` its
    :class:`~webbcal.report.collect.ExposureMetrics` (readout). Among the highest-rate
    pixels, the bright example is the brightest unflagged ramp that does not level off
    and the saturating star one that rises and then levels off
    (:func:`_ramp_candidates`); the cosmic ray is the strongest injected hit that was
    flagged (truth), else a JUMP_DET pixel (:func:`~webbcal.report.metrics.
    pick_example_pixels`, which also stands in for bright/saturated when the ramps
    give none). Only the chosen pixels' ramps are read from the uncal file
    (memory-mapped). The line's slope is the rate product's value; its intercept puts
    it through the mean of each ramp segment.
    """
    ex = m.info
    if ex is None:
        return []
    bright, sat = _ramp_candidates(exp.uncal, rate, dq)
    cr = truth_table(truth_dir, f"{exp.stem}_cosmic_rays")
    cr_xy = cr_e = None
    if cr is not None:
        if "integration" in cr.colnames:
            cr = cr[np.asarray(cr["integration"]) == 0]
        cr_xy = (np.asarray(cr["x"]), np.asarray(cr["y"]))
        cr_e = np.asarray(cr["center_electrons"] if "center_electrons" in cr.colnames
                          else cr["electrons"])
    need = ("cosmic_ray",) + (() if bright else ("bright",)) + (() if sat else ("saturated",))
    picks = M.pick_example_pixels(rate, dq, cr_xy=cr_xy, cr_electrons=cr_e, which=need)
    picks = type(picks)(bright or picks.bright, picks.cosmic_ray, sat or picks.saturated)
    t = M.group_times(ngroups=ex.ngroups, nframes=ex.nframes, groupgap=ex.groupgap,
                      tframe=ex.tframe)
    items = picks.items()
    ramps = ramp_pixels(exp.uncal, [p for _, p in items])
    out = []
    for (label, (y, x)), counts in zip(items, ramps):
        slope = float(rate[y, x])
        flagged = np.zeros(counts.size, bool)
        cuts = [0, counts.size]
        if label == "saturating star":  # groups on the plateau
            flagged = counts >= 0.97 * counts.max()
            flagged[: max(1, int(np.argmax(flagged)))] = False
        elif label == "cosmic-ray hit" and counts.size > 2:  # the jump splits the ramp
            k = int(np.argmax(np.diff(counts))) + 1
            cuts = [0, k, counts.size]
            flagged[k] = True
        segments = []
        for i0, i1 in zip(cuts[:-1], cuts[1:]):
            good = ~flagged[i0:i1] if label == "saturating star" else np.ones(i1 - i0, bool)
            if not good.any():
                continue
            seg_t, seg_c = t[i0:i1][good], counts[i0:i1][good]
            segments.append((float(seg_t[0]), float(seg_t[-1]),
                             float(np.mean(seg_c - slope * seg_t))))
        out.append({"label": f"{label} (x={x}, y={y})", "t": t, "counts": counts,
                    "slope": slope, "intercept": segments[0][2] if segments else counts[0],
                    "segments": segments, "flagged": flagged})
    return out


def _ramp_candidates(uncal: Path, rate: np.ndarray, dq: np.ndarray | None, *, n: int = 96,
                     border: int = 4) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """``(bright, saturating)`` among the ``n`` highest-rate pixels, reading only their
    ramps: bright = the highest rate with DQ == 0 whose ramp still rises at the end
    (last group difference > half the first); saturating = :func:`saturating_pixel`."""
    r = np.asarray(rate, np.float32)
    ny, nx = r.shape
    # a threshold from a 1/16 subsample, then one pass over the image (no full sort)
    sample = r[::4, ::4].ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None, None
    k = min(sample.size, max(4, (2 * n) // 16))
    threshold = np.partition(sample, sample.size - k)[sample.size - k]
    flat = np.flatnonzero(r >= threshold)  # NaN compares False
    ys, xs = np.unravel_index(flat, r.shape)
    inside = (ys >= border) & (ys < ny - border) & (xs >= border) & (xs < nx - border)
    flat, ys, xs = flat[inside], ys[inside], xs[inside]
    order = np.argsort(-r.ravel()[flat], kind="stable")[:n]
    flat, ys, xs = flat[order], ys[order], xs[order]
    if flat.size == 0:
        return None, None
    ramps = np.stack(ramp_pixels(uncal, list(zip(ys.tolist(), xs.tolist()))), axis=1)
    hit = saturating_pixel(ramps[:, None, :], border=0)
    sat = None if hit is None else (int(ys[hit[1]]), int(xs[hit[1]]))
    bright = None
    if ramps.shape[0] >= 3:
        d = np.diff(ramps, axis=0)
        ok = (d[-1] > 0.5 * d[0]) & np.isfinite(r.ravel()[flat])
        if dq is not None:
            ok &= np.asarray(dq)[ys, xs] == 0
        if ok.any():
            k = int(np.argmax(ok))  # sorted by rate: the first is the brightest
            bright = (int(ys[k]), int(xs[k]))
    return bright, sat


def saturating_pixel(groups: np.ndarray, *, border: int = 4) -> tuple[int, int] | None:
    """``(y, x)`` of the brightest pixel whose ramp rises over at least two group
    differences and then levels off (a star reaching saturation), or None.

    ``groups`` (ngroups, ny, nx) raw DN of one integration. A cosmic ray makes one step,
    not a steady rise, so it is not taken.
    """
    g = np.asarray(groups, np.float32)
    if g.shape[0] < 4:
        return None
    d = np.diff(g, axis=0)
    rising = (d[0] > 200) & (d[1] > 0.5 * d[0])
    flat = d[-1] < 0.1 * d[0]
    cand = rising & flat
    if border:
        cand[:border] = cand[-border:] = False
        cand[:, :border] = cand[:, -border:] = False
    if not cand.any():
        return None
    y, x = np.unravel_index(int(np.argmax(np.where(cand, g[-1], -np.inf))), cand.shape)
    return int(y), int(x)
