"""Large-event ("snowball") flagging, as the official jump step's ``expand_large_events``.

For every group of every integration (official ``stcal.jump.flag_large_events``):

1. find clusters of JUMP_DET pixels whose contour area exceeds ``min_jump_area`` and
   clusters of *newly* saturated pixels (saturated in this group, not the previous
   one; also in the next group) whose area exceeds ``min_sat_area``, each summarised
   by its minimum-area enclosing rectangle (the official "ellipse");
2. a jump cluster is a snowball if a saturated cluster's centre lies within its major
   axis of its centre (or, for clusters closer than ``edge_size`` to the detector
   edge, unconditionally); with ``sat_required_snowball=False`` every large jump
   cluster is one;
3. saturated cores whose minor axis exceeds ``min_sat_radius_extend`` are grown by
   ``sat_expand`` pixels (full axis) and flagged SATURATED in this and all later
   groups; the unexpanded core is remembered to mask the first groups of the next
   integration (``mask_snowball_core_next_int``);
4. each snowball's ellipse is enlarged (minor axis × ``expand_factor``, the major axis
   by the same number of pixels, capped at ``max_extended_radius``) and flagged
   JUMP_DET in that group, except on saturated pixels.

Contour areas follow OpenCV's polygon through the boundary pixel centres (Pick's
theorem on the hole-filled cluster); the official code uses ``cv2``, which webbcal
does not need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from webbcal.datamodels.dqflags import DQ

__all__ = ["Ellipse", "find_ellipses", "flag_large_events", "min_area_rect"]


@dataclass(frozen=True)
class Ellipse:
    """A cluster's minimum-area rectangle, used as an ellipse (official convention).

    Attributes
    ----------
    cy, cx : float
        Centre (0-based pixel row, column).
    width, height : float
        Full side lengths (pixels); ``width`` along the unit vector (ux, uy) = (x, y).
    ux, uy : float
    """

    cy: float
    cx: float
    width: float
    height: float
    ux: float
    uy: float

    @property
    def major(self) -> float:
        return max(self.width, self.height)

    @property
    def minor(self) -> float:
        return min(self.width, self.height)


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Monotone-chain convex hull of (N, 2) points; returns hull vertices in order."""
    pts = np.unique(points, axis=0)
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=float)


def min_area_rect(points_xy: np.ndarray) -> Ellipse:
    """Minimum-area enclosing rectangle of (N, 2) points given as (x, y).

    Rotating calipers over the convex hull edges (as OpenCV ``minAreaRect``).
    """
    hull = _convex_hull(np.asarray(points_xy, dtype=float))
    if len(hull) == 1:
        return Ellipse(hull[0, 1], hull[0, 0], 0.0, 0.0, 1.0, 0.0)
    edges = np.roll(hull, -1, axis=0) - hull
    if len(hull) == 2:
        edges = edges[:1]
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    edges, lengths = edges[lengths > 0], lengths[lengths > 0]
    u = edges / lengths[:, None]                   # (nedges, 2) directions
    v = np.column_stack([-u[:, 1], u[:, 0]])
    pu = hull @ u.T                                # (npoints, nedges)
    pv = hull @ v.T
    w = pu.max(axis=0) - pu.min(axis=0)
    h = pv.max(axis=0) - pv.min(axis=0)
    k = int(np.argmin(w * h - 1e-12 * np.arange(len(w))))
    c = 0.5 * (pu[:, k].max() + pu[:, k].min()) * u[k] + 0.5 * (pv[:, k].max() + pv[:, k].min()) * v[k]
    return Ellipse(float(c[1]), float(c[0]), float(w[k]), float(h[k]), float(u[k, 0]),
                   float(u[k, 1]))


def _contour_area(mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Area of the outer contour polygon through boundary pixel centres (Pick's
    theorem on the hole-filled cluster) and the boolean mask of its boundary pixels."""
    filled = ndimage.binary_fill_holes(mask)
    npix = int(filled.sum())
    padded = np.pad(filled, 1)
    inner = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
             & padded[1:-1, :-2] & padded[1:-1, 2:])
    boundary = filled & ~inner
    return max(0.0, npix - boundary.sum() / 2.0 - 1.0), boundary


def find_ellipses(cur: np.ndarray, prev: np.ndarray | None, bit: int, min_area: float,
                  *, near: np.ndarray | None = None, edge: tuple[float, float] | None = None,
                  ) -> list[Ellipse]:
    """Ellipses of the clusters of ``cur & bit`` (newly set vs ``prev`` if given).

    Parameters
    ----------
    cur, prev : ndarray, uint8 (ny, nx)
        Group DQ planes.
    bit : int
    min_area : float
        Clusters whose contour area is not above this are ignored.
    near : ndarray (k, 2) of (y, x), optional
        Only clusters that could contain one of these points within their major axis
        of their centre (judged from the bounding box), or that lie near the edge
        (``edge = (low, high)``), are measured: a pure speed-up for snowball search.
    """
    from webbcal.algorithms.detector1._snowball_kernels import label_runs

    use_prev = prev is not None
    ry, rx0, rx1, comp, npix, border = label_runs(cur, prev if use_prev else cur, int(bit),
                                                  use_prev)
    # the hole-free contour area is a lower bound, close for small clusters (holes in
    # large ones add far more than the margin): only clusters that can pass are
    # measured exactly
    cand = np.nonzero(npix - border / 2.0 - 1.0 > min_area - 1.0)[0]
    if cand.size == 0:
        return []
    sel = np.nonzero(np.isin(comp, cand))[0]
    sel = sel[np.argsort(comp[sel], kind="stable")]
    splits = np.nonzero(np.diff(comp[sel]))[0] + 1
    out = []
    for runs in np.split(sel, splits):
        y, x0, x1 = ry[runs], rx0[runs], rx1[runs]
        ylo, xlo = y.min(), x0.min()
        if near is not None:
            yhi, xhi = y.max(), x1.max()
            reach = np.hypot(yhi - ylo, xhi - xlo)      # >= major axis
            close = (near.size and np.any(
                (near[:, 0] > ylo - reach) & (near[:, 0] < yhi + reach)
                & (near[:, 1] > xlo - reach) & (near[:, 1] < xhi + reach)))
            at_edge = edge is not None and (ylo < edge[0] or xlo < edge[0]
                                            or yhi > edge[1] or xhi > edge[1])
            if not (close or at_edge):
                continue
        mask = np.zeros((y.max() - ylo + 1, x1.max() - xlo + 1), bool)
        for yy, a, b in zip(y - ylo, x0 - xlo, x1 - xlo):
            mask[yy, a:b + 1] = True
        area, boundary = _contour_area(mask)
        if area <= min_area:
            continue
        by, bx = np.nonzero(boundary)
        e = min_area_rect(np.column_stack([bx + xlo, by + ylo]))
        out.append(e)
    return out


def _paint(plane, e: Ellipse, width: float, height: float, value: int, assign: bool,
           skip_bit: int) -> None:
    from webbcal.algorithms.detector1._snowball_kernels import paint_ellipse

    paint_ellipse(plane, int(round(e.cy)), int(round(e.cx)), float(round(width / 2)),
                  float(round(height / 2)), e.ux, e.uy, int(value), assign, int(skip_bit))


def _expanded_axes(e: Ellipse, expansion: float, max_radius: float) -> tuple[float, float]:
    """Official ``compute_axes``: the minor axis scaled, the major grown by as much."""
    if e.height < e.width:
        a1 = e.width + (expansion - 1.0) * e.height
        a2 = e.height * expansion
    else:
        a1 = e.width * expansion
        a2 = e.height + (expansion - 1.0) * e.width
    return min(a1, max_radius), min(a2, max_radius)


def flag_large_events(
    groupdq: np.ndarray,
    *,
    min_sat_area: float = 1.0,
    min_jump_area: float = 5.0,
    expand_factor: float = 2.0,
    sat_required_snowball: bool = True,
    min_sat_radius_extend: float = 2.5,
    sat_expand: int = 2,
    edge_size: int = 25,
    max_extended_radius: int = 200,
    n_groups_masked_next_int: int = 0,
    jump_det: int = int(DQ.JUMP_DET),
    saturated: int = int(DQ.SATURATED),
    inplace: bool = False,
) -> tuple[np.ndarray, int]:
    """Flag snowballs in a group DQ cube.

    Parameters
    ----------
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
        Group DQ after two-point jump detection.
    min_sat_area, min_jump_area : float
        Minimum contour areas (pixels) of saturated cores and jump clusters.
    expand_factor : float
        Enlargement of the snowball ellipse (official default 2).
    sat_required_snowball : bool
        Require a saturated core (except near the edges).
    min_sat_radius_extend, sat_expand, max_extended_radius : float, int, int
        Saturated cores with minor axis above ``min_sat_radius_extend`` grow by
        ``sat_expand`` pixels; no ellipse axis exceeds ``max_extended_radius``.
    edge_size : int
        Distance from the edge within which no saturated core is required.
    n_groups_masked_next_int : int
        Groups 1 … n-1 of the next integration get JUMP_DET on the previous
        integration's saturated cores (0 disables).
    jump_det, saturated : int
        DQ bit values.
    inplace : bool
        Modify ``groupdq`` instead of a copy.

    Returns
    -------
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
    n_snowballs : int
    """
    gdq = groupdq if inplace else groupdq.copy()
    nints, ngroups, ny, nx = gdq.shape
    low, high = edge_size, max(0, ny - edge_size)
    persist = np.zeros((nints, ny, nx), np.uint8)
    total = 0
    for i in range(nints):
        cube = gdq[i]
        next_ell = None
        for g in range(1, ngroups):
            if not sat_required_snowball:
                snowballs = find_ellipses(cube[g], None, jump_det, min_jump_area)
                total += len(snowballs)
                for j in snowballs:
                    w, h = _expanded_axes(j, expand_factor, max_extended_radius)
                    _paint(cube[g], j, w, h, jump_det, False, saturated)
                continue
            # the previous group's look-ahead is this group's answer unless saturation
            # was grown since (which changes what is "new")
            sat_ell = (next_ell if next_ell is not None
                       else find_ellipses(cube[g], cube[g - 1], saturated, min_sat_area))
            next_ell = (find_ellipses(cube[g + 1], cube[g], saturated, min_sat_area)
                        if g < ngroups - 1 else [])
            centres = np.array([(e.cy, e.cx) for e in sat_ell + next_ell]).reshape(-1, 2)
            jump_ell = find_ellipses(cube[g], None, jump_det, min_jump_area,
                                     near=centres, edge=(low, high))
            snowballs = []
            for j in jump_ell:
                near_edge = (j.cx < low or j.cy < low or j.cx > high or j.cy > high)
                if near_edge or any(
                    np.hypot(s.cx - j.cx, s.cy - j.cy) < j.major for s in sat_ell + next_ell
                ):
                    snowballs.append(j)
            for s in sat_ell:
                if s.minor > min_sat_radius_extend:
                    next_ell = None
                    w = min(s.width + sat_expand, max_extended_radius)
                    h = min(s.height + sat_expand, max_extended_radius)
                    for gg in range(g, ngroups):
                        _paint(cube[gg], s, w, h, saturated, True, 0)
                    _paint(persist[i], s, s.width, s.height, jump_det, False, 0)
            total += len(snowballs)
            for j in snowballs:
                w, h = _expanded_axes(j, expand_factor, max_extended_radius)
                _paint(cube[g], j, w, h, jump_det, False, saturated)
    if n_groups_masked_next_int >= 1:
        last = min(n_groups_masked_next_int, ngroups)
        for i in range(1, nints):
            gdq[i, 1:last] |= persist[i - 1][None]
    return gdq, total
