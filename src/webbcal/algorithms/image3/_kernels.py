"""numba kernels of the drizzle square kernel (and its inverse bookkeeping), and the
pixel maps' 4-point stencil interpolation (:func:`stencil_rows`).

Wrapped by :mod:`webbcal.algorithms.image3.resample` (``MosaicAccumulator``,
``drizzle_square_add``, ``contributions``); the wrappers validate and cast inputs.

The drizzle kernel is race-free under ``prange``: input rows are cut into chunks
of ``chunk`` rows at absolute row numbers (multiples of ``chunk``); chunks of even
index run in parallel first, then odd ones (bands of chunks in threads, see
:func:`drizzle_square`: serial kernels releasing the GIL compile far faster than
``parallel=True``). Two chunks of the same parity are
separated by a whole chunk, so they never touch the same output pixel (the caller
makes ``chunk`` large enough for the pixel-scale ratio). The order in which an
output pixel receives its contributions therefore depends neither on the number
of threads nor on tiling: tiles reproduce the untiled mosaic bit for bit.

Speed: the drop geometry (:func:`_drop`, :func:`_footprint`, :func:`_pixel_overlaps`)
is inlined into the drizzle loop (``*_hot``, ~20 % faster per input pixel, same
arithmetic, bit-identical sums) and compiled separately for
:func:`undrizzle_square`, which runs only on flagged pixels (inlining there too
compiles slower still).
``benchmarks/outlier_kernels.py`` times the kernels per input pixel.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")  # tiny, one caller (_pixel_overlaps): the hot loop
def _clamped_integral(xa, ya, xb, yb):
    """∫ clamp(y, 0, 1) dx along the straight segment (xa, ya)–(xb, yb), xa < xb."""
    lo = min(ya, yb)
    hi = max(ya, yb)
    dx = xb - xa
    if hi <= 0.0:
        return 0.0
    if lo >= 1.0:
        return dx
    if lo >= 0.0 and hi <= 1.0:
        return 0.5 * dx * (ya + yb)
    # straddles 0 or 1: dx · (G(yb) − G(ya)) / (yb − ya), G the antiderivative of clamp
    return dx * (_g(yb) - _g(ya)) / (yb - ya)


@njit(cache=True, inline="always")
def _g(y):
    """∫_0^y clamp(s, 0, 1) ds."""
    if y <= 0.0:
        return 0.0
    if y >= 1.0:
        return y - 0.5
    return 0.5 * y * y


def _pixel_overlaps_py(xs, ys, jj0, ii0, nj, ni, area):
    """Overlap of quadrilateral (xs, ys) with output pixels [jj0, jj0+nj) × [ii0, ii0+ni).

    ``area[:nj, :ni]`` receives the signed sums Σ_edges ∫ clamp(y − (jj − ½), 0, 1) dx
    (restricted to each pixel's column): minus the overlap area for a counter-clockwise
    quadrilateral.
    """
    for a in range(nj):
        for b in range(ni):
            area[a, b] = 0.0
    for e in range(4):
        x1 = xs[e]
        y1 = ys[e]
        x2 = xs[(e + 1) % 4]
        y2 = ys[(e + 1) % 4]
        if x1 == x2:
            continue
        sign = 1.0
        if x1 > x2:
            x1, x2 = x2, x1
            y1, y2 = y2, y1
            sign = -1.0
        slope = (y2 - y1) / (x2 - x1)
        for b in range(ni):
            left = ii0 + b - 0.5
            xa = max(x1, left)
            xb = min(x2, left + 1.0)
            if xb <= xa:
                continue
            ya = y1 + slope * (xa - x1)
            yb = y1 + slope * (xb - x1)
            for a in range(nj):
                low = jj0 + a - 0.5
                v = _clamped_integral(xa, ya - low, xb, yb - low)
                if v == 0.0:
                    break  # rows further up are above the edge
                area[a, b] += sign * v


# The drizzle hot loop (_drizzle_rows) takes the geometry helpers inlined at the numba
# level (about 20 % faster: no array-argument calls per input pixel); the rarely run
# undrizzle_square takes the plain compiled ones.
_pixel_overlaps = njit(cache=True)(_pixel_overlaps_py)
_pixel_overlaps_hot = njit(cache=True, inline="always")(_pixel_overlaps_py)


@njit(cache=True, nogil=True)
def drizzle_square(cx, cy, sci, wgt, v0, v1, v2, pixfrac, row0, chunk, kmax, con_plane,
                   con_bit, out_num, out_wht, out_var, out_con, parity, lo, hi):
    """Accumulate one image with the square kernel (Fruchter & Hook 2002).

    Parameters
    ----------
    cx, cy : ndarray (nr + 1, nc + 1) float64
        Output-pixel coordinates of the input pixels' corners: pixel (r, c) has
        corners ``[r:r+2, c:c+2]``.
    sci, wgt : ndarray (nr, nc) float32
        Input values and weights; pixels with weight <= 0 or NaN values are skipped.
    v0, v1, v2 : ndarray (nr, nc) float32
        Input variances (VAR_RNOISE, VAR_POISSON, VAR_FLAT), accumulated with squared
        weights into ``out_var[0..2]`` when it has 3 planes (NaN counts as 0).
    pixfrac : float
        Drop size relative to the pixel (corners shrunk towards the pixel centre).
    row0 : int
        Absolute row number of ``sci[0]`` (fixes the chunk boundaries).
    chunk, kmax : int
        Rows per parallel chunk; largest output extent of one drop + 2 (pixels).
    con_plane, con_bit : int
        Context plane and bit value (int32) of this image; ``out_con`` may have 0 planes.
    parity : int
        Which chunks (0: even, 1: odd); call with 0, then with 1.
    lo, hi : int
        Band of the chunks of that parity to do (``q`` in ``[lo, hi)``, of
        :func:`n_parity_chunks`): bands may run in concurrent threads.
    out_num, out_wht : ndarray (ny, nx) float32
        Σ value·w·f and Σ w·f, f = fraction of the drop landing on the output pixel.
    out_var : ndarray (nv, ny, nx) float32
        Σ var·(w·f)².
    out_con : ndarray (nplanes, ny, nx) int32
    """
    nr = sci.shape[0]
    first = row0 // chunk
    start = first + ((parity - first) % 2)
    for q in range(lo, hi):
        k = start + 2 * q
        _drizzle_rows(cx, cy, sci, wgt, v0, v1, v2, pixfrac, max(k * chunk - row0, 0),
                      min((k + 1) * chunk - row0, nr), kmax, con_plane, con_bit, out_num,
                      out_wht, out_var, out_con)


def n_parity_chunks(nr: int, row0: int, chunk: int, parity: int) -> int:
    """How many chunks of ``parity`` the rows ``row0 .. row0 + nr - 1`` span."""
    first = row0 // chunk
    last = (row0 + nr - 1) // chunk
    start = first + ((parity - first) % 2)
    return max((last - start) // 2 + 1, 0)


@njit(cache=True)
def _drizzle_rows(cx, cy, sci, wgt, v0, v1, v2, pixfrac, r_lo, r_hi, kmax, con_plane,
                  con_bit, out_num, out_wht, out_var, out_con):
    """Input rows [r_lo, r_hi) of :func:`drizzle_square` (one chunk, serial)."""
    nc = sci.shape[1]
    ny, nx = out_num.shape
    nv = out_var.shape[0]
    area = np.empty((kmax, kmax))
    xs = np.empty(4)
    ys = np.empty(4)
    a0 = a1 = a2 = 0.0
    for r in range(r_lo, r_hi):
        for c in range(nc):
            w = wgt[r, c]
            d = sci[r, c]
            if not (w > 0.0) or not np.isfinite(d):
                continue
            if nv:
                a0 = v0[r, c]
                a1 = v1[r, c]
                a2 = v2[r, c]
                a0 = a0 if np.isfinite(a0) else 0.0
                a1 = a1 if np.isfinite(a1) else 0.0
                a2 = a2 if np.isfinite(a2) else 0.0
            # corners counter-clockwise (y up) and shoelace area (positive)
            jaco = _drop_hot(cx, cy, r, c, pixfrac, xs, ys)
            inside, ii0, jj0, ni, nj = _footprint_hot(xs, ys, nx, ny)
            if not inside:
                continue  # off the output (NaN corners too)
            if ni > kmax or nj > kmax:
                continue  # degenerate drop (caller sized kmax from the map)
            if jaco == 0.0:
                continue
            _pixel_overlaps_hot(xs, ys, jj0, ii0, nj, ni, area)
            norm = -w / jaco
            for a in range(nj):
                jj = jj0 + a
                if jj < 0 or jj >= ny:
                    continue
                for b in range(ni):
                    ii = ii0 + b
                    if ii < 0 or ii >= nx:
                        continue
                    dow = area[a, b] * norm
                    if dow <= 0.0:
                        continue
                    out_num[jj, ii] += d * dow
                    out_wht[jj, ii] += dow
                    if nv:
                        dow2 = dow * dow
                        out_var[0, jj, ii] += a0 * dow2
                        out_var[1, jj, ii] += a1 * dow2
                        out_var[2, jj, ii] += a2 * dow2
                    if out_con.shape[0] > 0:
                        out_con[con_plane, jj, ii] |= con_bit


def _footprint_py(xs, ys, nx, ny):
    """Output pixels a drop with corners (xs, ys) can touch: (inside, ii0, jj0, ni, nj),
    the first column/row and the counts; ``inside`` False when the drop's bounding
    box misses the (ny, nx) output or a corner is NaN."""
    xlo = min(min(xs[0], xs[1]), min(xs[2], xs[3]))
    xhi = max(max(xs[0], xs[1]), max(xs[2], xs[3]))
    ylo = min(min(ys[0], ys[1]), min(ys[2], ys[3]))
    yhi = max(max(ys[0], ys[1]), max(ys[2], ys[3]))
    if not (xhi > -0.5 and xlo < nx - 0.5 and yhi > -0.5 and ylo < ny - 0.5):
        return False, 0, 0, 0, 0
    ii0 = int(np.floor(xlo + 0.5))
    jj0 = int(np.floor(ylo + 0.5))
    return (True, ii0, jj0, int(np.floor(xhi + 0.5)) - ii0 + 1,
            int(np.floor(yhi + 0.5)) - jj0 + 1)


def _drop_py(cx, cy, r, c, pixfrac, xs, ys):
    """Corners (counter-clockwise in the input) of pixel (r, c)'s drop into xs, ys."""
    xs[0] = cx[r, c]
    ys[0] = cy[r, c]
    xs[1] = cx[r, c + 1]
    ys[1] = cy[r, c + 1]
    xs[2] = cx[r + 1, c + 1]
    ys[2] = cy[r + 1, c + 1]
    xs[3] = cx[r + 1, c]
    ys[3] = cy[r + 1, c]
    if pixfrac != 1.0:
        mx = 0.25 * (xs[0] + xs[1] + xs[2] + xs[3])
        my = 0.25 * (ys[0] + ys[1] + ys[2] + ys[3])
        for e in range(4):
            xs[e] = mx + pixfrac * (xs[e] - mx)
            ys[e] = my + pixfrac * (ys[e] - my)
    return 0.5 * ((xs[0] - xs[2]) * (ys[1] - ys[3]) - (xs[1] - xs[3]) * (ys[0] - ys[2]))


_footprint = njit(cache=True)(_footprint_py)
_footprint_hot = njit(cache=True, inline="always")(_footprint_py)
_drop = njit(cache=True)(_drop_py)
_drop_hot = njit(cache=True, inline="always")(_drop_py)



@njit(cache=True, nogil=True)  # beside the next exposure's reads (Ahead thread)
def undrizzle_square(cx, cy, sci, wgt, v0, v1, v2, flagged, rows, cols, pixfrac, kmax,
                     off_r, off_c, ny, nx):
    """Contributions of the pixels (rows, cols) to a square-kernel drizzle sum.

    What :func:`drizzle_square` added for those input pixels, as sparse lists, so a
    caller can subtract them (pixels flagged after the sum was made). Also says, for
    each output pixel touched, whether any *other* usable input pixel (not
    ``flagged``, weight > 0, at one of the offsets ``(off_r, off_c)``, nearest first)
    still lands there, i.e. whether this image's context bit stays set.

    Parameters
    ----------
    cx, cy : ndarray (nr + 1, nc + 1) float64
        Corner map of the whole image (see :func:`drizzle_square`).
    sci, wgt : ndarray (nr, nc) float32
    v0, v1, v2 : ndarray (nr, nc) float32
        Variances (NaN counts as 0).
    flagged : ndarray (nr, nc) bool
    rows, cols : ndarray (n,) int64
        The input pixels whose contributions are wanted.
    ny, nx : int
        Output shape.

    Returns
    -------
    jj, ii : ndarray (m,) int64
        Output pixels.
    dnum, dwht : ndarray (m,) float64
        value·w·f and w·f.
    dvar : ndarray (3, m) float64
        var·(w·f)².
    keep : ndarray (m,) bool
        Another input pixel still contributes to (jj, ii).
    """
    nr, nc = sci.shape
    cap = rows.size * kmax * kmax
    out_j = np.empty(cap, np.int64)
    out_i = np.empty(cap, np.int64)
    dnum = np.empty(cap)
    dwht = np.empty(cap)
    dvar = np.empty((3, cap))
    keep = np.zeros(cap, np.bool_)
    area = np.empty((kmax, kmax))
    one = np.empty((1, 1))
    xs = np.empty(4)
    ys = np.empty(4)
    qx = np.empty(4)
    qy = np.empty(4)
    m = 0
    for n in range(rows.size):
        r = rows[n]
        c = cols[n]
        w = wgt[r, c]
        d = sci[r, c]
        if not (w > 0.0) or not np.isfinite(d):
            continue
        jaco = _drop(cx, cy, r, c, pixfrac, xs, ys)
        if jaco == 0.0 or not np.isfinite(jaco):
            continue
        inside, ii0, jj0, ni, nj = _footprint(xs, ys, nx, ny)
        if not inside or ni > kmax or nj > kmax:
            continue
        _pixel_overlaps(xs, ys, jj0, ii0, nj, ni, area)
        for a in range(nj):
            jj = jj0 + a
            if jj < 0 or jj >= ny:
                continue
            for b in range(ni):
                ii = ii0 + b
                if ii < 0 or ii >= nx:
                    continue
                dow = area[a, b] * (-w / jaco)  # as drizzle_square_add
                if dow <= 0.0:
                    continue
                out_j[m] = jj
                out_i[m] = ii
                dnum[m] = d * dow
                dwht[m] = dow
                x0 = v0[r, c]
                x1 = v1[r, c]
                x2 = v2[r, c]
                dvar[0, m] = (x0 if np.isfinite(x0) else 0.0) * dow * dow
                dvar[1, m] = (x1 if np.isfinite(x1) else 0.0) * dow * dow
                dvar[2, m] = (x2 if np.isfinite(x2) else 0.0) * dow * dow
                # does another usable pixel of this image still land on (jj, ii)?
                still = False
                for q in range(off_r.size):
                    r2 = r + off_r[q]
                    c2 = c + off_c[q]
                    if r2 < 0 or r2 >= nr or c2 < 0 or c2 >= nc:
                        continue
                    if flagged[r2, c2] or not (wgt[r2, c2] > 0.0) \
                            or not np.isfinite(sci[r2, c2]):
                        continue
                    jq = _drop(cx, cy, r2, c2, pixfrac, qx, qy)
                    if jq == 0.0:
                        continue
                    # the fraction of that drop on (jj, ii): -overlap / jaco
                    _pixel_overlaps(qx, qy, jj, ii, 1, 1, one)
                    if -one[0, 0] / jq > 0.0:
                        still = True
                        break
                keep[m] = still
                m += 1
    return out_j[:m], out_i[:m], dnum[:m], dwht[:m], dvar[:, :m], keep[:m]


@njit(cache=True, nogil=True)
def stencil_rows(start, w, t, out, lo, hi):
    """``out[r] = Σ_a w[r, a]·t[start[r] + a]`` (a = 0..3) for rows ``lo`` to ``hi``:
    the pixel maps' 4-point Lagrange interpolation along rows (``start`` (n,) int64,
    ``w`` (n, 4), ``t`` (m, nc), ``out`` (n, nc) float64)."""
    nc = t.shape[1]
    for r in range(lo, hi):
        s = start[r]
        w0 = w[r, 0]
        w1 = w[r, 1]
        w2 = w[r, 2]
        w3 = w[r, 3]
        for c in range(nc):
            out[r, c] = w0 * t[s, c] + w1 * t[s + 1, c] + w2 * t[s + 2, c] + w3 * t[s + 3, c]


@njit(cache=True, nogil=True)
def add_single(num_k, wht_k, num, wht, single, lo, hi):
    """Fold one drizzled single into the sums, rows ``lo`` to ``hi`` (one pass):
    ``num += num_k``, ``wht += wht_k``, ``single = num_k / wht_k`` where
    ``wht_k > 0`` (left as is elsewhere), and ``num_k`` zeroed for the next member.
    All (ny, nx) float32; float32 arithmetic, as the numpy expressions it replaces."""
    nx = num.shape[1]
    for r in range(lo, hi):
        for c in range(nx):
            a = num_k[r, c]
            w = wht_k[r, c]
            num[r, c] += a
            wht[r, c] += w
            if w > 0:
                single[r, c] = a / w
            num_k[r, c] = 0
