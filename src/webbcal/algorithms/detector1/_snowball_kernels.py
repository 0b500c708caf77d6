"""numba kernels for snowball (large-event) flagging.

Private: used by :mod:`webbcal.algorithms.detector1.snowballs`.

* :func:`label_set` labels (8-connectivity, run-length union-find, no label image) the
  pixels of a plane carrying a DQ bit (optionally: not carrying it in another plane,
  i.e. newly set) in one scan, and returns per component the pixel count, centroid
  and second central moments: everything the official ellipse
  (``skimage.measure.regionprops``) needs;
* :func:`paint_ellipses` draws filled ellipses exactly as ``skimage.draw.ellipse``
  does (integer centre, integer semi-axes, strict ``< 1``, the same bounding box),
  inside the official sub-image box, on a range of group planes.

Few, plain functions (explicit loops, no slice assignment, one exit per helper): each
numba function and each array-expression overload costs compilation time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: columns of the per-component statistics returned by :func:`label_set`
NPIX, CY, CX, VAR_R, VAR_C, COV_RC, YMIN, YMAX, XMIN, XMAX = range(10)
NSTAT = 10


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


@njit(cache=True, nogil=True)
def label_set(a64, b64, ashift, bshift, use_b, rows):
    """Connected components (8-connectivity) of ``a & abit and not (b & bbit)``.

    One scan of the rows flagged in ``rows`` records runs and joins each run to the
    touching runs of the row above (union-find); no label image is made.

    Parameters
    ----------
    a64, b64 : uint64 (ny, nx // 8)
        uint8 DQ planes viewed as uint64 (width a multiple of 8, padded with 0).
    ashift, bshift : uint64
        Bit numbers of ``abit``, ``bbit`` (single bits).
    use_b : bool
        Exclude pixels with ``bbit`` set in ``b``.
    rows : bool (ny,)
        Rows that may contain set pixels (others are taken as empty).

    Returns
    -------
    run_y, run_x0, run_x1, run_comp : int32 (nruns,)
        Row, inclusive column range and component index of each run.
    stats : float64 (ncomp, 10)
        NPIX, CY, CX (centroid), VAR_R, VAR_C, COV_RC (second central moments over
        NPIX), YMIN, YMAX, XMIN, XMAX.
    """
    ny = a64.shape[0]
    nw = a64.shape[1]
    nx = 8 * nw
    ones = np.uint64(0x0101010101010101)
    eight = np.uint64(8)
    cap = 4096
    runs = np.empty((cap, 3), np.int32)
    parent = np.empty(cap, np.int64)
    n = 0
    prev_start = 0
    prev_end = 0
    prev_y = -2
    for y in range(ny):
        if not rows[y]:
            continue
        if n + nx // 2 + 1 > cap:     # room for the densest possible row
            cap = 2 * cap + nx
            new_runs = np.empty((cap, 3), np.int32)
            new_parent = np.empty(cap, np.int64)
            for i in range(n):      # explicit loops: slice assignment compiles slowly
                new_runs[i, 0] = runs[i, 0]
                new_runs[i, 1] = runs[i, 1]
                new_runs[i, 2] = runs[i, 2]
                new_parent[i] = parent[i]
            runs = new_runs
            parent = new_parent
        row_start = n
        # runs of row y, each joined to the touching runs p … prev_end-1 of the row
        # above. Eight pixels per step: each byte of ``on`` is 0 or 1, and a byte of
        # ``t`` is set where a pixel differs from its left neighbour (run edges are
        # rare, so most words are skipped at once). A virtual empty word after the
        # row closes a run that reaches the right edge.
        p = prev_start if prev_y == y - 1 else prev_end
        carry = np.uint64(0)
        was_on = False
        for k in range(nw + 1):
            on = np.uint64(0)
            if k < nw:
                on = (a64[y, k] >> ashift) & ones
                if use_b:
                    on &= ~(b64[y, k] >> bshift)
            t = on ^ ((on << eight) | carry)
            carry = on >> np.uint64(56)
            if t == 0:
                continue
            for i in range(8):
                if (t >> np.uint64(8 * i)) & np.uint64(1):
                    x = 8 * k + i
                    if not was_on:
                        runs[n, 0] = y
                        runs[n, 1] = x
                        parent[n] = n
                    else:       # close run n at x - 1, join the touching runs above
                        x_end = x - 1
                        runs[n, 2] = x_end
                        x0 = runs[n, 1]
                        while p < prev_end and runs[p, 2] < x0 - 1:
                            p += 1
                        q = p
                        while q < prev_end and runs[q, 1] <= x_end + 1:
                            ra = _find(parent, q)
                            rb = _find(parent, n)
                            if ra < rb:
                                parent[rb] = ra
                            elif rb < ra:
                                parent[ra] = rb
                            q += 1
                        n += 1
                    was_on = not was_on
        if n > row_start:
            prev_start, prev_end, prev_y = row_start, n, y
    out = np.empty((4, n), np.int32)
    ry, rx0, rx1, run_comp = out[0], out[1], out[2], out[3]
    comp_of_root = np.empty(n, np.int64)
    for i in range(n):
        ry[i] = runs[i, 0]
        rx0[i] = runs[i, 1]
        rx1[i] = runs[i, 2]
        comp_of_root[i] = -1
    ncomp = 0
    for i in range(n):
        r = _find(parent, i)
        if comp_of_root[r] < 0:
            comp_of_root[r] = ncomp
            ncomp += 1
        run_comp[i] = comp_of_root[r]
    # sums of integers in float64: exact, as the former int64 sums
    stats = np.zeros((ncomp, NSTAT), np.float64)
    for c in range(ncomp):
        stats[c, YMIN] = ny
        stats[c, XMIN] = nx
        stats[c, YMAX] = -1
        stats[c, XMAX] = -1
    for i in range(n):
        c = run_comp[i]
        w = rx1[i] - rx0[i] + 1
        stats[c, NPIX] += w
        stats[c, CY] += w * ry[i]
        stats[c, CX] += (rx0[i] + rx1[i]) * w // 2
        if ry[i] < stats[c, YMIN]:
            stats[c, YMIN] = ry[i]
        if ry[i] > stats[c, YMAX]:
            stats[c, YMAX] = ry[i]
        if rx0[i] < stats[c, XMIN]:
            stats[c, XMIN] = rx0[i]
        if rx1[i] > stats[c, XMAX]:
            stats[c, XMAX] = rx1[i]
    for c in range(ncomp):
        stats[c, CY] /= stats[c, NPIX]
        stats[c, CX] /= stats[c, NPIX]
    for i in range(n):
        c = run_comp[i]
        dy = ry[i] - stats[c, CY]
        for x in range(rx0[i], rx1[i] + 1):
            dx = x - stats[c, CX]
            stats[c, VAR_R] += dy * dy
            stats[c, VAR_C] += dx * dx
            stats[c, COV_RC] += dy * dx
    for c in range(ncomp):
        stats[c, VAR_R] /= stats[c, NPIX]
        stats[c, VAR_C] /= stats[c, NPIX]
        stats[c, COV_RC] /= stats[c, NPIX]
    return ry, rx0, rx1, run_comp, stats


@njit(cache=True)
def paint_ellipses(cube, g0, g1, rows, cols, rad_r, rad_c, cosr, sinr, half_box, value,
                   assign, skip_bit, watch_bit):
    """Fill ellipses on planes ``cube[g0:g1]`` as ``skimage.draw.ellipse``.

    Parameters
    ----------
    cube : uint8 (ngroups, ny, nx)
        Modified in place.
    g0, g1 : int
        Plane range.
    rows, cols : int64 (k,)
        Integer centres.
    rad_r, rad_c : int64 (k,)
        Semi-axes along the rotated row and column directions (either 0: nothing).
    cosr, sinr : float64 (k,)
        Cosine and sine of the rotation (radians, modulo pi).
    half_box : int64 (k,)
        Half size of the official sub-image box around the centre (pixels outside it
        are never set).
    value : int
        Assigned (``assign``) or OR-ed into the pixels.
    skip_bit : int
        Pixels carrying this bit in a plane are left alone there (0 disables).
    watch_bit : int
        A bit whose removal is counted.

    Returns
    -------
    cleared : int64 (g1 - g0,)
        Pixels per plane that carried ``watch_bit`` and lost it.
    """
    ny, nx = cube.shape[1], cube.shape[2]
    cleared = np.zeros(max(g1 - g0, 0), np.int64)
    for k in range(rows.size):
        rr = rad_r[k]
        cr = rad_c[k]
        if rr == 0 or cr == 0:
            continue
        r0 = rows[k]
        c0 = cols[k]
        co = cosr[k]
        si = sinr[k]
        rrot = abs(rr * co) + cr * si
        crot = rr * si + abs(cr * co)
        y_lo = max(math.ceil(r0 - rrot), max(r0 - half_box[k], 0))
        y_hi = min(math.floor(r0 + rrot), min(r0 + half_box[k] + 1, ny) - 1)
        x_lo = max(math.ceil(c0 - crot), max(c0 - half_box[k], 0))
        x_hi = min(math.floor(c0 + crot), min(c0 + half_box[k] + 1, nx) - 1)
        for y in range(y_lo, y_hi + 1):
            r = float(y - r0)
            for x in range(x_lo, x_hi + 1):
                c = float(x - c0)
                d = ((r * co + c * si) / rr) ** 2 + ((r * si - c * co) / cr) ** 2
                if d < 1.0:
                    for g in range(g0, g1):
                        if skip_bit != 0 and (cube[g, y, x] & skip_bit) != 0:
                            continue
                        old = cube[g, y, x]
                        new = value if assign else old | value
                        if (old & watch_bit) != 0 and (new & watch_bit) == 0:
                            cleared[g - g0] += 1
                        cube[g, y, x] = new
    return cleared
