"""numba kernels for snowball (large-event) flagging: run-length connected components.

Private: used by :mod:`webbcal.algorithms.detector1.snowballs`. A DQ plane is
scanned once row by row; runs of set pixels are joined (8-connectivity) with a
union-find, so the cost is one pass over the plane plus the number of runs — a
2048² plane in a few milliseconds, with no label image allocated.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, inline="always")
def _on(cur, prev, y, x, bit, use_prev):
    if (cur[y, x] & bit) == 0:
        return False
    return not (use_prev and (prev[y, x] & bit) != 0)


@njit(cache=True)
def label_runs(cur, prev, bit, use_prev):
    """Connected components (8-connectivity) of a DQ condition on a plane.

    A pixel is set where ``cur & bit`` and, if ``use_prev``, not ``prev & bit``
    (i.e. newly flagged in this group). Single-threaded: one scan to count runs,
    one to record them, then a union of touching runs (the threaded version was slower).

    Parameters
    ----------
    cur, prev : uint8 (ny, nx)
    bit : int
    use_prev : bool

    Returns
    -------
    run_y, run_x0, run_x1 : int32 (nruns,)
        Row and inclusive column range of each run (ordered by row, then column).
    run_comp : int32 (nruns,)
        Component index (0 … ncomp-1) of each run.
    comp_npix : int64 (ncomp,)
        Pixels per component.
    comp_border : int64 (ncomp,)
        Pixels per component with a 4-neighbour outside it (or off the plane);
        ``npix - border / 2 - 1`` is the contour area when the cluster has no hole.
    """
    ny, nx = cur.shape
    row_count = np.zeros(ny + 1, np.int64)
    for y in range(ny):
        c = 0
        was_on = False
        for x in range(nx):
            on = _on(cur, prev, y, x, bit, use_prev)
            if on and not was_on:
                c += 1
            was_on = on
        row_count[y + 1] = c
    offs = np.cumsum(row_count)
    n = offs[ny]
    ry = np.empty(n, np.int32)
    rx0 = np.empty(n, np.int32)
    rx1 = np.empty(n, np.int32)
    for y in range(ny):
        if row_count[y + 1] == 0:
            continue
        k = offs[y]
        was_on = False
        for x in range(nx + 1):
            on = x < nx and _on(cur, prev, y, x, bit, use_prev)
            if on and not was_on:
                ry[k] = y
                rx0[k] = x
            elif was_on and not on:
                rx1[k] = x - 1
                k += 1
            was_on = on
    # union of runs touching runs of the previous row (8-connectivity)
    parent = np.arange(n)
    for y in range(1, ny):
        p = offs[y - 1]
        p_end = offs[y]
        for r in range(offs[y], offs[y + 1]):
            while p < p_end and rx1[p] < rx0[r] - 1:
                p += 1
            q = p
            while q < p_end and rx0[q] <= rx1[r] + 1:
                a = _find(parent, q)
                b = _find(parent, r)
                if a != b:
                    if a < b:
                        parent[b] = a
                    else:
                        parent[a] = b
                q += 1
    run_border = np.zeros(n, np.int64)
    for i in range(n):
        y = ry[i]
        nb = 0
        for x in range(rx0[i], rx1[i] + 1):
            if x == rx0[i] or x == rx1[i] or y == 0 or y == ny - 1:
                nb += 1
            elif not (_on(cur, prev, y - 1, x, bit, use_prev)
                      and _on(cur, prev, y + 1, x, bit, use_prev)):
                nb += 1
        run_border[i] = nb
    comp_of_root = np.full(n, -1, np.int64)
    run_comp = np.empty(n, np.int32)
    ncomp = 0
    for i in range(n):
        r = _find(parent, i)
        if comp_of_root[r] < 0:
            comp_of_root[r] = ncomp
            ncomp += 1
        run_comp[i] = comp_of_root[r]
    comp_npix = np.zeros(ncomp, np.int64)
    comp_border = np.zeros(ncomp, np.int64)
    for i in range(n):
        c = run_comp[i]
        comp_npix[c] += rx1[i] - rx0[i] + 1
        comp_border[c] += run_border[i]
    return ry, rx0, rx1, run_comp, comp_npix, comp_border


@njit(cache=True)
def paint_ellipse(plane, cy, cx, a, b, ux, uy, value, assign, skip_bit):
    """Set ``value`` in pixels of a filled ellipse on a uint8 plane.

    Centre (cy, cx); semi-axes ``a`` along the unit vector (ux, uy) and ``b`` across.
    ``assign`` replaces the pixel value, otherwise it is OR-ed; pixels carrying
    ``skip_bit`` are left alone (0 disables).
    """
    ny, nx = plane.shape
    a = max(a, 0.5)
    b = max(b, 0.5)
    r = int(max(a, b)) + 1
    for y in range(max(0, cy - r), min(ny, cy + r + 1)):
        dy = y - cy
        for x in range(max(0, cx - r), min(nx, cx + r + 1)):
            dx = x - cx
            s = (dx * ux + dy * uy) / a
            t = (-dx * uy + dy * ux) / b
            if s * s + t * t <= 1.0:
                if skip_bit and (plane[y, x] & skip_bit):
                    continue
                if assign:
                    plane[y, x] = value
                else:
                    plane[y, x] |= value
