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


@njit(cache=True)
def label_runs(cur, prev, bit, use_prev):
    """Connected components (8-connectivity) of a DQ condition on a plane.

    A pixel is set where ``cur & bit`` and, if ``use_prev``, not ``prev & bit``
    (i.e. newly flagged in this group).

    Parameters
    ----------
    cur, prev : uint8 (ny, nx)
    bit : int
    use_prev : bool

    Returns
    -------
    run_y, run_x0, run_x1 : int32 (nruns,)
        Row and inclusive column range of each run.
    run_comp : int32 (nruns,)
        Component index (0 … ncomp-1) of each run.
    comp_npix : int64 (ncomp,)
        Pixels per component.
    """
    ny, nx = cur.shape
    cap = 1024
    ry = np.empty(cap, np.int32)
    rx0 = np.empty(cap, np.int32)
    rx1 = np.empty(cap, np.int32)
    parent = np.empty(cap, np.int64)
    n = 0
    prev_start = 0
    prev_end = 0
    for y in range(ny):
        row_start = n
        x = 0
        p = prev_start
        while x < nx:
            on = (cur[y, x] & bit) != 0
            if on and use_prev:
                on = (prev[y, x] & bit) == 0
            if not on:
                x += 1
                continue
            x0 = x
            while x < nx:
                on = (cur[y, x] & bit) != 0
                if on and use_prev:
                    on = (prev[y, x] & bit) == 0
                if not on:
                    break
                x += 1
            x1 = x - 1
            if n == cap:
                cap *= 2
                ry2 = np.empty(cap, np.int32)
                rx02 = np.empty(cap, np.int32)
                rx12 = np.empty(cap, np.int32)
                parent2 = np.empty(cap, np.int64)
                ry2[:n] = ry[:n]
                rx02[:n] = rx0[:n]
                rx12[:n] = rx1[:n]
                parent2[:n] = parent[:n]
                ry, rx0, rx1, parent = ry2, rx02, rx12, parent2
            ry[n] = y
            rx0[n] = x0
            rx1[n] = x1
            parent[n] = n
            # join with runs of the previous row touching [x0-1, x1+1]
            while p < prev_end and rx1[p] < x0 - 1:
                p += 1
            q = p
            while q < prev_end and rx0[q] <= x1 + 1:
                a = _find(parent, q)
                b = _find(parent, n)
                if a != b:
                    if a < b:
                        parent[b] = a
                    else:
                        parent[a] = b
                q += 1
            n += 1
        prev_start = row_start
        prev_end = n
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
    for i in range(n):
        comp_npix[run_comp[i]] += rx1[i] - rx0[i] + 1
    return ry[:n], rx0[:n], rx1[:n], run_comp, comp_npix


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
