"""Large-event ("snowball") flagging, as the official jump step's ``expand_large_events``.

Behaviour of ``stcal`` 1.20 (``stcal.jump.jump.flag_large_events``, as called by
``jwst`` 3.0's JumpStep), reproduced pixel for pixel. For every group ``g >= 1`` of
every integration, with the group DQ as it stands when the group is reached:

1. clusters (8-connectivity) of JUMP_DET pixels in ``g`` whose hole-filled area is at
   least ``min_jump_area``, and clusters of pixels newly SATURATED in ``g`` (not in
   ``g-1``) and in ``g+1`` (not in ``g``) whose area is at least ``min_sat_area``, are
   summarised by their moment ellipse (``skimage.measure.regionprops``): centroid,
   axis lengths ``4 sqrt(eigenvalue) - 1`` and orientation. A single cosmic ray with
   its four flagged neighbours (5 pixels) already qualifies as a jump cluster;
2. a jump cluster is a snowball if its centroid lies within ``edge_size`` pixels of
   the detector edge (the row count is used for both axes, as officially), or if the
   centroid of a new saturated cluster of ``g`` or ``g+1`` lies inside its ellipse
   (official ``point_inside_ellipse``, including its rotation convention); with
   ``sat_required_snowball=False`` every qualifying jump cluster is one;
3. every new saturated cluster of ``g`` whose minor axis exceeds
   ``min_sat_radius_extend`` (snowball or not) is redrawn with both axes grown by
   ``2 * sat_expand`` pixels and *assigned* the value SATURATED (other bits cleared)
   in ``g`` and all later groups; the ungrown ellipse is remembered and OR-ed as
   JUMP_DET into groups ``1 … n-1`` of the next integration
   (``n_groups_masked_next_int``);
4. each snowball's ellipse gets the minor axis times ``expand_factor`` and the major
   axis grown by as many pixels (full axes at most ``2 * max_extended_radius``) and is
   OR-ed as JUMP_DET into group ``g`` only, except on pixels SATURATED there.

Ellipses are drawn as ``skimage.draw.ellipse`` draws them (rounded centre and
semi-axes, strict inequality); webbcal does not need scikit-image. Where an ellipse
is drawn as a circle, pixels at exactly its radius are decided by the last bit of the
orientation, so those few ellipses get their moments recomputed in the official
order of operations (:func:`_make_exact`); with that the group DQ equals stcal's
bit for bit (ceers-mini NRCA1: 0 of 37.7 M elements differ, see
``benchmarks/snowballs.py``).

Speed and memory: the JUMP_DET planes are labelled a window of ``2 x threads`` groups
ahead (run-length union-find over 8 pixels per step, numba, one Python thread per
numba thread, GIL released), so only a few groups' labels exist at a time (a 2048²
RAPID ramp of 100 groups: +0.18 GB instead of +1.9 GB); a plane labelled ahead is only
partly relabelled where a grown saturated core later cleared jump pixels. The sparse
saturation planes are scanned only on rows that carry SATURATED
(:mod:`._snowball_kernels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.datamodels.dqflags import DQ

__all__ = ["Ellipse", "find_ellipses", "flag_large_events"]


@dataclass(frozen=True)
class Ellipse:
    """A cluster's moment ellipse (official ``regionprops`` convention).

    Attributes
    ----------
    cy, cx : float
        Centroid (0-based pixel row, column).
    major, minor : float
        Axis lengths ``4 sqrt(eigenvalue) - 1`` of the inertia tensor (pixels).
    theta : float
        Orientation (radians): angle between the row axis and the major axis.
    npix : int
        Pixels in the cluster.
    """

    cy: float
    cx: float
    major: float
    minor: float
    theta: float
    npix: int


def _ellipse_arrays(stats: np.ndarray) -> tuple[np.ndarray, ...]:
    """(cy, cx, major, minor, theta) arrays from component statistics."""
    from webbcal.algorithms.detector1._snowball_kernels import COV_RC, CX, CY, VAR_C, VAR_R

    a, c, b = stats[:, VAR_C], stats[:, VAR_R], -stats[:, COV_RC]
    half_tr = 0.5 * (a + c)
    root = np.sqrt((0.5 * (a - c)) ** 2 + b * b)
    l1 = np.clip(half_tr + root, 0.0, None)
    l2 = np.clip(half_tr - root, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(a - c == 0, np.where(b < 0, np.pi / 4, -np.pi / 4),
                         0.5 * np.arctan2(-2 * b, c - a))
    return stats[:, CY], stats[:, CX], 4 * np.sqrt(l1) - 1, 4 * np.sqrt(l2) - 1, theta


def _moments_skimage_order(image: np.ndarray, center) -> np.ndarray:
    """Moments up to order 3 about ``center`` (row, col), float64 (4, 4), computed
    with the same sequence of numpy operations as ``skimage.measure.moments_central``
    (two einsum contractions), so that the last bits agree with the official values."""
    calc = image.astype(np.float64)
    orders = np.arange(4, dtype=np.float64)
    for dim, labels_in, labels_out in ((0, [2, 1], [3, 1]), (1, [0, 2], [0, 3])):
        delta = np.arange(image.shape[dim], dtype=np.float64) * 1.0 - center[dim]
        calc = np.einsum(calc, labels_in, delta[:, None] ** orders, [2, 3], labels_out,
                         optimize="greedy")
    return calc


def _exact_ellipse(runs: tuple, comp: int) -> tuple[float, float, float, float, float]:
    """(cy, cx, major, minor, theta) of one component, bit for bit as the official
    ``regionprops`` (used where the last bit decides pixels on an ellipse's edge)."""
    import math

    ry, rx0, rx1, rc = runs[:4]
    sel = np.nonzero(rc == comp)[0]
    y0, x0 = int(ry[sel].min()), int(rx0[sel].min())
    img = np.zeros((int(ry[sel].max()) - y0 + 1, int(rx1[sel].max()) - x0 + 1), np.uint8)
    for k in sel:
        img[ry[k] - y0, rx0[k] - x0:rx1[k] - x0 + 1] = 1
    # raw moments of a 0/1 image are integers, exact in any summation order
    rows, cols = np.nonzero(img)
    npix = float(rows.size)
    mu = _moments_skimage_order(img, np.asarray((float(rows.sum()) / npix,
                                                 float(cols.sum()) / npix)))
    both = mu[2, 0] + mu[0, 2]
    a, c, b = (both - mu[2, 0]) / mu[0, 0], (both - mu[0, 2]) / mu[0, 0], -mu[1, 1] / mu[0, 0]
    ev = np.clip(np.linalg.eigvalsh(np.array([[a, b], [b, c]])), 0, None)
    theta = (math.pi / 4 if b < 0 else -math.pi / 4) if a - c == 0 else \
        0.5 * math.atan2(-2 * b, c - a)
    cy, cx = (np.argwhere(img) + (y0, x0)).astype(np.float64).mean(axis=0)
    return (float(cy), float(cx), 4 * math.sqrt(max(ev)) - 1, 4 * math.sqrt(min(ev)) - 1,
            theta)


def _make_exact(lab: tuple, comps: np.ndarray, ell: tuple, ax_of) -> tuple:
    """Make the ellipses ``ell`` = (cy, cx, major, minor, theta) of components ``comps``
    of ``lab`` bitwise equal to the official ones where that can matter: where the
    drawn ellipse is a circle (equal rounded semi-axes), pixels at exactly the radius
    fall in or out by the last bit of the orientation. With a centroid on a half-pixel
    grid all moments are exact, so only the ``atan2`` is redone as the official one
    does it; otherwise the component's moments are recomputed the official way.
    ``ax_of(major, minor)`` gives the drawn full axes."""
    import math

    from webbcal.algorithms.detector1._snowball_kernels import COV_RC, VAR_C, VAR_R

    cy, cx, major, minor, theta = (np.array(v, np.float64) for v in ell)
    ax_r, ax_c = ax_of(major, minor)
    tie = np.round(ax_r / 2) == np.round(ax_c / 2)
    halfgrid = (2 * cy == np.round(2 * cy)) & (2 * cx == np.round(2 * cx))
    stats = lab[4]
    for k in np.nonzero(tie)[0]:
        comp = int(comps[k])
        if not halfgrid[k]:
            cy[k], cx[k], major[k], minor[k], theta[k] = _exact_ellipse(lab, comp)
            continue
        a, c, b = stats[comp, VAR_C], stats[comp, VAR_R], -stats[comp, COV_RC]
        if a - c != 0:
            theta[k] = 0.5 * math.atan2(-2 * b, c - a)
    return cy, cx, major, minor, theta


def _filled_area(runs: tuple, comp: int, stats_row: np.ndarray) -> int:
    """Pixels of one component with its holes filled (8-connected background)."""
    from scipy import ndimage

    from webbcal.algorithms.detector1._snowball_kernels import XMIN, YMIN

    ry, rx0, rx1, rcomp = runs[:4]
    sel = np.nonzero(rcomp == comp)[0]
    y0, x0 = int(stats_row[YMIN]), int(stats_row[XMIN])
    mask = np.zeros((ry[sel].max() - y0 + 1, rx1[sel].max() - x0 + 1), bool)
    for k in sel:
        mask[ry[k] - y0, rx0[k] - x0:rx1[k] - x0 + 1] = True
    return int(ndimage.binary_fill_holes(mask, np.ones((3, 3), bool)).sum())


def _passing(labelled: tuple, min_area: float) -> np.ndarray:
    """Indices of components whose hole-filled area is at least ``min_area``."""
    stats = labelled[4]
    npix = stats[:, 0]
    ok = npix >= min_area
    # a hole needs a closed ring of >= 8 pixels: only then can filling change the answer
    for k in np.nonzero(~ok & (npix >= 8))[0]:
        ok[k] = _filled_area(labelled, k, stats[k]) >= min_area
    return np.nonzero(ok)[0]


def find_ellipses(cur: np.ndarray, prev: np.ndarray | None, bit: int,
                  min_area: float) -> list[Ellipse]:
    """Moment ellipses of the clusters of ``cur & bit`` (newly set vs ``prev`` if given).

    Parameters
    ----------
    cur, prev : ndarray, uint8 (ny, nx)
        Group DQ planes.
    bit : int
        DQ bit.
    min_area : float
        Clusters whose hole-filled area is below this are ignored.

    Returns
    -------
    list of Ellipse
    """
    cur = np.ascontiguousarray(cur, dtype=np.uint8)
    if prev is None:
        lab = _label(cur, cur, int(bit), 0)
    else:
        lab = _label(cur, np.ascontiguousarray(prev, dtype=np.uint8), int(bit), int(bit))
    keep = _passing(lab, min_area)
    cy, cx, major, minor, theta = (v[keep] for v in _ellipse_arrays(lab[4]))
    return [Ellipse(float(cy[k]), float(cx[k]), float(major[k]), float(minor[k]),
                    float(theta[k]), int(lab[4][keep[k], 0])) for k in range(keep.size)]


def _contains_any(py, px, cy, cx, major, minor, theta) -> np.ndarray:
    """Official ``point_inside_ellipse``: does ellipse j (of m) contain any of the k
    points? bool (m,). The exact test runs only on ellipses whose enclosing circle
    (radius: the larger semi-axis) comes near a point."""
    reach = 0.5 * np.maximum(np.abs(major), np.abs(minor)) + 1e-6
    near = np.zeros(cy.size, bool)
    for y, x in zip(py, px):
        near |= (cy - y) ** 2 + (cx - x) ** 2 <= reach ** 2
    out = np.zeros(cy.size, bool)
    j = np.nonzero(near)[0]
    if j.size == 0:
        return out
    angle = np.radians(180 - np.degrees(theta[j]))[:, None]
    cos_a, sin_a = np.cos(angle), np.sin(angle)
    xc = px[None, :] - cx[j, None]
    yc = py[None, :] - cy[j, None]
    xct = xc * cos_a - yc * sin_a
    yct = xc * sin_a + yc * cos_a
    semi_major = (0.5 * major[j])[:, None]
    semi_minor = (0.5 * minor[j])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = xct ** 2 / semi_major ** 2 + yct ** 2 / semi_minor ** 2 <= 1
    out[j] = inside.any(axis=1)
    return out


def _draw(cube, g0, g1, cy, cx, ax_r, ax_c, theta, value, assign, skip_bit, watch_bit=0):
    """Draw ellipses with full axes ``ax_r`` (major) / ``ax_c`` (minor) as the official
    ``ellipse_subim``: rounded centre and semi-axes, the sub-image box around it.
    Returns the pixels per plane that lost ``watch_bit``."""
    from webbcal.algorithms.detector1._snowball_kernels import paint_ellipses

    if cy.size == 0 or g0 >= g1:
        return np.zeros(max(g1 - g0, 0), np.int64)
    rad_r = np.round(ax_r / 2).astype(np.int64)
    rad_c = np.round(ax_c / 2).astype(np.int64)
    rot = np.radians(np.degrees(theta)) % np.pi
    return paint_ellipses(cube, int(g0), int(g1), np.round(cy).astype(np.int64),
                          np.round(cx).astype(np.int64), rad_r, rad_c, np.cos(rot),
                          np.sin(rot), np.maximum(rad_r, rad_c) + 2, int(value),
                          bool(assign), int(skip_bit), int(watch_bit))


def _row_bits(cube: np.ndarray) -> np.ndarray:
    """OR of every row of every plane of ``cube`` (ngroups, ny, nx) uint8: uint8
    (ngroups, ny), a hint of which rows carry which DQ bits (numpy on uint64 words:
    no kernel to compile)."""
    if cube.shape[2] % 8 or not cube.flags.c_contiguous:
        return np.bitwise_or.reduce(cube, axis=2)
    r = np.bitwise_or.reduce(cube.view(np.uint64), axis=2)
    for shift in (32, 16, 8):
        r |= r >> np.uint64(shift)
    return (r & np.uint64(0xFF)).astype(np.uint8)


def _words(plane: np.ndarray) -> np.ndarray:
    """A uint8 plane as uint64 words (8 pixels each), zero-padded to a width of 8k."""
    ny, nx = plane.shape
    if nx % 8 or not plane.flags.c_contiguous:
        padded = np.zeros((ny, -(-nx // 8) * 8), np.uint8)
        padded[:, :nx] = plane
        plane = padded
    return plane.view(np.uint64)


def _label(a, b, abit, bbit, rowor=None):
    """Components of ``a & abit`` (and not ``b & bbit`` unless ``bbit`` is 0), on the
    rows whose OR (``rowor``) carries ``abit``; see ``_snowball_kernels.label_set``."""
    from webbcal.algorithms.detector1._snowball_kernels import label_set

    rows = np.ones(a.shape[0], bool) if rowor is None else (rowor & abit) != 0
    a64 = _words(a)
    b64 = _words(b) if bbit else a64
    return label_set(a64, b64, np.uint64(int(abit).bit_length() - 1),
                     np.uint64(max(int(bbit).bit_length() - 1, 0)), bool(bbit), rows)


def _relabel_boxes(old: tuple, plane, jbit: int, boxes: list) -> tuple:
    """Components of ``plane`` after pixels were cleared inside ``boxes``.

    ``old`` labels the plane before (runs sorted by row); ``boxes`` are (y0, y1, x0,
    x1), inclusive. Each
    box grows to the bounding boxes of the old components coming within a pixel of it
    (and boxes that meet merge) until stable; the components inside are relabelled on
    a copy of the box, the others kept, so the result equals a full relabel.
    """
    from webbcal.algorithms.detector1._snowball_kernels import XMAX, XMIN, YMAX, YMIN

    ry, rx0, rx1, rc, stats = old
    boxes = [list(b) for b in boxes]
    touched = np.zeros(stats.shape[0], bool)
    changed = True
    while changed:
        changed = False
        for b in boxes:
            lo, hi = np.searchsorted(ry, [b[0] - 1, b[1] + 2])   # runs are row-sorted
            hit = (rx1[lo:hi] >= b[2] - 1) & (rx0[lo:hi] <= b[3] + 1)
            comps = np.unique(rc[lo:hi][hit])
            touched[comps] = True
            if comps.size:
                grown = [min(b[0], int(stats[comps, YMIN].min())),
                         max(b[1], int(stats[comps, YMAX].max())),
                         min(b[2], int(stats[comps, XMIN].min())),
                         max(b[3], int(stats[comps, XMAX].max()))]
                if grown != b:
                    b[:] = grown
                    changed = True
        merged = []
        for b in boxes:
            for m in merged:
                if b[0] <= m[1] + 1 and m[0] <= b[1] + 1 and b[2] <= m[3] + 1 \
                        and m[2] <= b[3] + 1:
                    m[:] = [min(m[0], b[0]), max(m[1], b[1]), min(m[2], b[2]),
                            max(m[3], b[3])]
                    changed = True
                    break
            else:
                merged.append(b)
        boxes = merged
    keep_runs = ~touched[rc]
    renumber = np.cumsum(~touched) - 1
    parts_runs = [(ry[keep_runs], rx0[keep_runs], rx1[keep_runs],
                   renumber[rc[keep_runs]].astype(np.int32))]
    parts_stats = [stats[~touched]]
    offset = int((~touched).sum())
    for y0, y1, x0, x1 in boxes:
        sub = plane[y0:y1 + 1, x0:x1 + 1]
        nry, nrx0, nrx1, nrc, nst = _label(sub, sub, jbit, 0)
        nst[:, [1, YMIN, YMAX]] += y0
        nst[:, [2, XMIN, XMAX]] += x0
        parts_runs.append((nry + y0, nrx0 + x0, nrx1 + x0, (nrc + offset).astype(np.int32)))
        parts_stats.append(nst)
        offset += nst.shape[0]
    cols = [np.concatenate([p[k] for p in parts_runs]).astype(np.int32) for k in range(4)]
    return (*cols, np.concatenate(parts_stats))


def _label_jumps(cube, rowor, jbit, groups, threads) -> list:
    """Jump components of ``groups`` (a list, in that order), one group per band on
    ``threads`` threads (:func:`webbcal._threads.run_row_bands`; the labelling kernel
    releases the GIL)."""
    from webbcal._threads import run_row_bands

    out = [None] * len(groups)

    def work(i0, i1):
        for i in range(i0, i1):
            out[i] = _label(cube[groups[i]], cube[groups[i]], jbit, 0, rowor[groups[i]])

    run_row_bands(work, len(groups), band=1, threads=threads)
    return out


def _grow_cores(cube, g, sat_l, comps, ell, grow_by, max_width, sbit, jbit, rowor, dirty,
                persist) -> None:
    """Official ``extend_saturation``: new saturated cores ``ell`` of group ``g`` are
    drawn with both axes ``+ grow_by`` and assigned SATURATED in ``g`` and later groups;
    the ungrown ellipses are assigned JUMP_DET in ``persist`` (1, ny, nx). Updates the
    row hints ``rowor`` and, for later groups that lost jump pixels, ``dirty`` boxes."""
    ny, nx = cube.shape[1:]

    def sat_axes(major, minor):
        return np.minimum(major + grow_by, max_width), np.minimum(minor + grow_by, max_width)

    e = _make_exact(sat_l, comps, ell, sat_axes)
    ax_r, ax_c = sat_axes(e[2], e[3])
    cleared = _draw(cube, g, cube.shape[0], e[0], e[1], ax_r, ax_c, e[4], sbit, True, 0, jbit)
    half = np.maximum(np.round(ax_r / 2), np.round(ax_c / 2)) + 2
    later = np.nonzero(cleared[1:])[0] + g + 1
    for yc, xc, hb in zip(np.round(e[0]).astype(int), np.round(e[1]).astype(int),
                          half.astype(int)):
        rowor[g:, max(0, yc - hb):yc + hb + 1] |= np.uint8(sbit)
        for gg in later:
            dirty[gg].append((max(0, yc - hb), min(ny - 1, yc + hb), max(0, xc - hb),
                              min(nx - 1, xc + hb)))
    _draw(persist, 0, 1, e[0], e[1], e[2], e[3], e[4], jbit, True, 0)


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
    """Flag snowballs in a group DQ cube (official JumpStep parameter meanings).

    Parameters
    ----------
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
        Group DQ after two-point jump detection.
    min_sat_area, min_jump_area : float
        Minimum hole-filled areas (pixels) of saturated cores and jump clusters.
    expand_factor : float
        Enlargement of the snowball ellipse (official default 2).
    sat_required_snowball : bool
        Require a saturated core (except near the edges); also enables step 3.
    min_sat_radius_extend : float
        Saturated cores with a larger minor axis (pixels) are grown.
    sat_expand : int
        Pixels added to the *radius* of grown cores (both full axes grow by twice this).
    edge_size : int
        Distance from the edge within which no saturated core is required.
    max_extended_radius : int
        Largest semi-axis of a flagged ellipse (pixels).
    n_groups_masked_next_int : int
        Groups 1 … n-1 of the next integration get JUMP_DET on the previous
        integration's saturated cores that were grown (their ungrown ellipses; 0
        disables).
    jump_det, saturated : int
        DQ bit values.
    inplace : bool
        Modify ``groupdq`` instead of a copy.

    Returns
    -------
    groupdq : ndarray, uint8 (nints, ngroups, ny, nx)
    n_snowballs : int
    """
    import numba

    gdq = groupdq if inplace else groupdq.copy()
    nints, ngroups, ny, nx = gdq.shape
    low, high = edge_size, max(0, ny - edge_size)
    max_width = 2.0 * max_extended_radius
    persist = np.zeros((nints, 1, ny, nx), np.uint8)
    jbit, sbit = int(jump_det), int(saturated)
    nthreads = max(1, min(numba.get_num_threads(), ngroups - 1))
    window = 2 * nthreads
    total = _flag_integrations(gdq, nthreads, window, persist, low, high, max_width, jbit,
                               sbit, min_sat_area, min_jump_area, expand_factor,
                               sat_required_snowball, min_sat_radius_extend, sat_expand)
    if n_groups_masked_next_int >= 1:
        last = min(n_groups_masked_next_int, ngroups)
        for i in range(1, nints):
            gdq[i, 1:last] |= persist[i - 1]
    return gdq, total


def _flag_integrations(gdq, threads, window, persist, low, high, max_width, jbit, sbit,
                       min_sat_area, min_jump_area, expand_factor, sat_required_snowball,
                       min_sat_radius_extend, sat_expand) -> int:
    """The group-by-group loop of :func:`flag_large_events` (in place); returns the
    number of snowballs."""
    nints, ngroups = gdq.shape[:2]
    total = 0
    for i in range(nints):
        cube = gdq[i]
        rowor = _row_bits(cube)         # which rows carry which bits (a skip hint)
        dirty = [[] for _ in range(ngroups)]    # boxes where jumps were cleared since
        jump_labels = {}
        for g in range(1, ngroups):
            if g not in jump_labels:
                # label a window of groups ahead on the current cube (memory: labels
                # of ``window`` groups, not of all); later changes go to ``dirty``
                ahead = list(range(g, min(g + window, ngroups)))
                jump_labels = dict(zip(ahead, _label_jumps(cube, rowor, jbit, ahead, threads)))
                for gg in ahead:
                    dirty[gg] = []
            jump_l = jump_labels.pop(g)
            if dirty[g]:                # grown saturated cores cleared jumps here
                jump_l = _relabel_boxes(jump_l, cube[g], jbit, dirty[g])
            jk = _passing(jump_l, min_jump_area)
            jcy, jcx, jmaj, jmin, jth = _ellipse_arrays(jump_l[4][jk])
            if sat_required_snowball:
                sat_l = _label(cube[g], cube[g - 1], sbit, sbit, rowor[g])
                sk = _passing(sat_l, min_sat_area)
                scy, scx, smaj, smin, sth = _ellipse_arrays(sat_l[4][sk])
                py, px = scy, scx
                if g < ngroups - 1:
                    next_l = _label(cube[g + 1], cube[g], sbit, sbit, rowor[g + 1])
                    ncy, ncx = _ellipse_arrays(next_l[4][_passing(next_l, min_sat_area)])[:2]
                    py, px = np.concatenate([scy, ncy]), np.concatenate([scx, ncx])
                snow = (jcx < low) | (jcy < low) | (jcx > high) | (jcy > high)
                if py.size and not snow.all():
                    rest = np.nonzero(~snow)[0]
                    snow[rest] = _contains_any(py, px, jcy[rest], jcx[rest], jmaj[rest],
                                               jmin[rest], jth[rest])
                grow = np.nonzero(smin > min_sat_radius_extend)[0]
                if grow.size:
                    _grow_cores(cube, g, sat_l, sk[grow], (scy[grow], scx[grow], smaj[grow],
                                smin[grow], sth[grow]), 2 * sat_expand, max_width, sbit, jbit,
                                rowor, dirty, persist[i])
            else:
                snow = np.ones(jk.size, bool)
            total += int(snow.sum())
            if snow.any():
                def jump_axes(major, minor):
                    # official compute_axes rounds the semi-axes before drawing
                    ax_r = np.minimum(major + (expand_factor - 1.0) * minor, max_width)
                    ax_c = np.minimum(minor * expand_factor, max_width)
                    return 2 * np.round(ax_r / 2), 2 * np.round(ax_c / 2)
                k = np.nonzero(snow)[0]
                e = _make_exact(jump_l, jk[k], (jcy[k], jcx[k], jmaj[k], jmin[k], jth[k]),
                                jump_axes)
                _draw(cube, g, g + 1, e[0], e[1], *jump_axes(e[2], e[3]), e[4], jbit, False,
                      sbit)
    return total
