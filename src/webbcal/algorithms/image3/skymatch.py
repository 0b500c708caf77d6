"""Sky levels of overlapping exposures: measured, matched, and made consistent.

The official ``skymatch`` step (``skymethod='global+match'`` by default) measures a
clipped sky statistic in each image and the sky *differences* between overlapping
images, then finds per-image offsets that make the overlaps agree. Here that is split
into pure pieces: :func:`sky_statistic` on pixel values, and :func:`match_levels`, a
weighted least-squares solve over the pairwise differences (the caller measures the
differences on the common grid, tile by tile).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["SkyResult", "sky_statistic", "match_levels", "solve_skies"]


def sky_statistic(values, *, stat: Literal["mode", "median", "mean", "midpt"] = "mode",
                  nclip: int = 5, lsigma: float = 4.0, usigma: float = 4.0) -> float:
    """Clipped sky level of a set of pixel values (NaNs ignored).

    ``mode`` is the official skymatch estimate ``3·median − 2·mean`` of the clipped
    values (robust against the positive tail of sources). Returns NaN for no data.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    for _ in range(nclip):
        if v.size < 3:
            break
        med, std = np.median(v), np.std(v)
        keep = (v >= med - lsigma * std) & (v <= med + usigma * std)
        if keep.all():
            break
        v = v[keep]
    if v.size == 0:
        return float("nan")
    med, mean = float(np.median(v)), float(np.mean(v))
    return {"mode": 3.0 * med - 2.0 * mean, "median": med, "mean": mean, "midpt": med}[stat]


def match_levels(n_images: int, pairs) -> np.ndarray:
    """Offsets ``d`` (n_images,) that best explain the measured overlap differences.

    Parameters
    ----------
    n_images : int
    pairs : iterable of (i, j, delta, weight)
        ``delta`` = sky(i) − sky(j) measured in their overlap; ``weight`` ≥ 0 (e.g. the
        number of overlap pixels).

    Returns
    -------
    ndarray (n_images,) float64
        Offsets with ``d[i] − d[j] ≈ delta``, the smallest offset of each connected
        group of images set to 0 (as the official ``match`` does). Images that
        overlap nothing get 0.
    """
    pairs = [(int(i), int(j), float(dl), float(w)) for i, j, dl, w in pairs
             if w > 0 and np.isfinite(dl)]
    d = np.zeros(n_images)
    if not pairs:
        return d
    rows = np.zeros((len(pairs), n_images))
    rhs = np.zeros(len(pairs))
    for k, (i, j, delta, w) in enumerate(pairs):
        sw = np.sqrt(w)
        rows[k, i], rows[k, j], rhs[k] = sw, -sw, sw * delta
    sol, *_ = np.linalg.lstsq(rows, rhs, rcond=None)  # minimum-norm within each group
    for group in _groups(n_images, pairs):
        g = np.array(sorted(group))
        d[g] = sol[g] - sol[g].min()
    return d


def _groups(n, pairs):
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j, *_ in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, set[int]] = {}
    for k in range(n):
        groups.setdefault(find(k), set()).add(k)
    return list(groups.values())


@dataclass(frozen=True)
class SkyResult:
    """Per-image sky levels (input units). ``sky`` is what skymatch subtracts."""

    sky: np.ndarray
    method: str


def solve_skies(global_skies, pairs=(), *,
                method: Literal["local", "global", "match", "global+match"] = "global+match"
                ) -> SkyResult:
    """Combine per-image clipped skies and overlap differences into sky levels.

    - ``local``: each image's own sky.
    - ``global``: the minimum of the images' skies, for all.
    - ``match``: the matched offsets only (lowest image 0).
    - ``global+match``: matched offsets plus the global level common to all images,
      ``min_i(sky_i − d_i)``.
    """
    skies = np.asarray(global_skies, dtype=np.float64)
    n = skies.size
    if method == "local":
        return SkyResult(skies.copy(), method)
    if method == "global":
        return SkyResult(np.full(n, np.nanmin(skies)), method)
    d = match_levels(n, pairs)
    if method == "match":
        return SkyResult(d, method)
    if method == "global+match":
        return SkyResult(d + np.nanmin(skies - d), method)
    raise ValueError(f"skymethod must be local, global, match or global+match; found {method!r}")
