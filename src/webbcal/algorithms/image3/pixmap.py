"""Fast pixel maps from a coarse grid of exact WCS evaluations ("sky nodes").

An exposure's pixel → sky transform is smooth (degree-5 distortion, rotation, TAN),
so stage 3 evaluates it exactly only on nodes every ~32 pixels (:func:`sky_nodes`,
~4,000 evaluations for a full-frame detector) and keeps those few kilobytes per
exposure. Any map needed later — input pixels → pixels of an output grid or tile
(:func:`grid_pixmap`), or sky positions of a few thousand stars (:func:`sky_at`) — is
exact at the nodes and cubic-Lagrange interpolated between them, ``Wy @ V @ Wx.T``
with 4-point stencils (a gather along x, a numba kernel along y; no BLAS, no per-pixel
trigonometry): a 2048² corner map takes ~0.03 s per coordinate. With 32-pixel node
spacing the interpolation error is < 1e-4 pixel.

Pixels are 0-based ``(x, y)``, ``x`` the column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from webbcal.algorithms.image3.grid import OutputGrid, tan_deproject, tan_project

__all__ = ["SkyNodes", "sky_nodes", "lagrange_matrix", "grid_pixmap", "grid_corners",
           "grid_corner_planes", "grid_points", "grid_window", "sky_at", "footprint",
           "native_scale_rotation"]


@dataclass(frozen=True)
class SkyNodes:
    """Exact sky positions of an image on a coarse node grid.

    Attributes
    ----------
    x : ndarray (kx,) float64
        Node columns, from 0 to nx - 1 (uniform).
    y : ndarray (ky,) float64
        Node rows, from 0 to ny - 1 (uniform).
    ra, dec : ndarray (ky, kx) float64
        Sky position of each node [deg].
    shape : (int, int)
        (ny, nx) of the image.
    """

    x: np.ndarray
    y: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    shape: tuple[int, int]

    def with_sky(self, ra, dec) -> SkyNodes:
        """The same nodes with new sky positions (e.g. after an alignment correction)."""
        return replace(self, ra=np.asarray(ra, np.float64), dec=np.asarray(dec, np.float64))


def _axis_nodes(n: int, spacing: int) -> np.ndarray:
    k = max(int(np.ceil((n - 1) / spacing)), 3)
    return np.linspace(0.0, n - 1.0, k + 1)


def sky_nodes(transform: Callable, shape: tuple[int, int], *, spacing: int = 32) -> SkyNodes:
    """Evaluate ``transform(x, y) -> (ra, dec)`` [deg] on a node grid of ``shape``.

    Parameters
    ----------
    transform : callable
        Exact pixel → sky transform (gwcs ``forward_transform``, ``DetectorGeometry
        .pixel_to_sky``) taking 0-based float arrays.
    shape : (ny, nx)
    spacing : int
        Largest node spacing in pixels (at least 4 nodes per axis).
    """
    ny, nx = (int(n) for n in shape)
    xn, yn = _axis_nodes(nx, spacing), _axis_nodes(ny, spacing)
    gx, gy = np.meshgrid(xn, yn)
    ra, dec = (np.asarray(v, np.float64) for v in transform(gx, gy))
    return SkyNodes(xn, yn, ra, dec, (ny, nx))


def lagrange_matrix(nodes: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Cubic Lagrange interpolation weights on uniform ``nodes`` at ``coords``.

    Returns
    -------
    ndarray (len(coords), len(nodes)) float64
        Row ``i`` has four non-zero weights (the 4-node stencil around ``coords[i]``);
        coordinates outside the nodes are extrapolated from the end stencil.
    """
    coords = np.asarray(coords, np.float64)
    start, wa = _stencil(nodes, coords)
    w = np.zeros((coords.size, nodes.size))
    rows = np.arange(coords.size)
    for a in range(4):
        w[rows, start + a] = wa[:, a]
    return w


def _stencil(nodes: np.ndarray, coords: np.ndarray):
    """:func:`lagrange_matrix` as (start (n,) int64, weights (n, 4) float64): row ``i``
    weighs nodes ``start[i] .. start[i] + 3``."""
    h = nodes[1] - nodes[0]
    u = (coords - nodes[0]) / h
    start = np.clip(np.floor(u).astype(np.int64) - 1, 0, nodes.size - 4)
    t = u - start
    wa = np.empty((coords.size, 4))
    for a in range(4):
        col = np.ones_like(t)
        for b in range(4):
            if b != a:
                col *= (t - b) / (a - b)
        wa[:, a] = col
    return start, wa


def _interp(values, stencil_y, stencil_x):
    """``wy @ values @ wx.T`` for the 4-point stencils ``wy`` and ``wx``: along x a
    4-term gather over the (few) node rows, along y a numba kernel over row bands. No
    BLAS: a matrix product here ran OpenBLAS threads, which spin for a while after
    each call beside the GIL-free kernels that callers run in other threads (and
    cost ~15 ms CPU per plane, the gather < 1 ms)."""
    from webbcal.algorithms.image3._kernels import stencil_rows
    from webbcal.algorithms.image3.outliers import run_rows

    start, wa = stencil_y
    sx, wb = stencil_x
    t = values[:, sx] * wb[:, 0]
    for b in range(1, 4):
        t += values[:, sx + b] * wb[:, b]
    out = np.empty((start.size, t.shape[1]))
    run_rows(stencil_rows, start.size, start, wa, np.ascontiguousarray(t), out)
    return out


def _grid_xy(nodes: SkyNodes, grid: OutputGrid, rows, cols):
    xo, yo = grid.world_to_pixel(nodes.ra, nodes.dec)
    sy = _stencil(nodes.y, np.asarray(rows, np.float64))
    sx = _stencil(nodes.x, np.asarray(cols, np.float64))
    return _interp(xo, sy, sx), _interp(yo, sy, sx)


def grid_pixmap(nodes: SkyNodes, grid: OutputGrid, *, window=None, rows=None,
                cols=None) -> np.ndarray:
    """Drizzle pixel map: every input pixel's position on ``grid`` (or a tile of it).

    Parameters
    ----------
    nodes : SkyNodes
    grid : OutputGrid
    window : (row0, row1, col0, col1), optional
        Only this block of input pixels (half-open ranges); default the whole image.
    rows, cols : ndarray, optional
        Explicit input rows and columns instead of ``window`` (e.g. a subsampling).

    Returns
    -------
    ndarray (n_rows, n_cols, 2) float64
        ``[..., 0]`` output x, ``[..., 1]`` output y.
    """
    ny, nx = nodes.shape
    r0, r1, c0, c1 = (0, ny, 0, nx) if window is None else window
    rows = np.arange(r0, r1, dtype=np.float64) if rows is None else rows
    cols = np.arange(c0, c1, dtype=np.float64) if cols is None else cols
    out = np.empty((len(rows), len(cols), 2))
    out[..., 0], out[..., 1] = _grid_xy(nodes, grid, rows, cols)
    return out


def grid_corners(nodes: SkyNodes, grid: OutputGrid, *, window=None) -> np.ndarray:
    """Corner map for the square drizzle kernel: input pixel corners on ``grid``.

    Parameters
    ----------
    nodes : SkyNodes
    grid : OutputGrid
    window : (row0, row1, col0, col1), optional
        Block of input pixels (half-open); default the whole image.

    Returns
    -------
    ndarray (n_rows + 1, n_cols + 1, 2) float64
        Output (x, y) of the corners: pixel (r, c) of the block has its corners at
        ``[r:r+2, c:c+2]`` (input positions ``col ± ½``, ``row ± ½``). Adjacent
        pixels share corners, so the drops tile the sky exactly.
    """
    cx, cy = grid_corner_planes(nodes, grid, window=window)
    return np.stack([cx, cy], axis=-1)


def grid_corner_planes(nodes: SkyNodes, grid: OutputGrid, *, window=None):
    """:func:`grid_corners` as two C-contiguous (n_rows + 1, n_cols + 1) float64
    planes ``(x, y)``: what the kernels take, without the interleaving copy."""
    ny, nx = nodes.shape
    r0, r1, c0, c1 = (0, ny, 0, nx) if window is None else window
    return _grid_xy(nodes, grid, np.arange(r0, r1 + 1, dtype=np.float64) - 0.5,
                    np.arange(c0, c1 + 1, dtype=np.float64) - 0.5)


def grid_points(nodes: SkyNodes, grid: OutputGrid, x, y):
    """Output-grid (x, y) of arbitrary input pixel positions (e.g. a few flagged pixels).

    ``x``, ``y`` : array-like (n,) input pixel coordinates; returns two (n,) float64 arrays.
    """
    x = np.atleast_1d(np.asarray(x, np.float64))
    y = np.atleast_1d(np.asarray(y, np.float64))
    xo, yo = grid.world_to_pixel(nodes.ra, nodes.dec)
    wy = lagrange_matrix(nodes.y, y)
    wx = lagrange_matrix(nodes.x, x)
    return (np.einsum("pi,ij,pj->p", wy, xo, wx), np.einsum("pi,ij,pj->p", wy, yo, wx))


def grid_window(nodes: SkyNodes, grid: OutputGrid, *, margin: float = 8.0):
    """Block of input pixels that can land on ``grid`` (within ``margin`` output pixels).

    Returns ``(row0, row1, col0, col1)`` (half-open) or None when the image misses the
    grid. The block is widened by one node interval, so it is conservative.
    """
    xo, yo = grid.world_to_pixel(nodes.ra, nodes.dec)
    gny, gnx = grid.shape
    with np.errstate(invalid="ignore"):
        near = ((xo > -margin) & (xo < gnx - 1 + margin)
                & (yo > -margin) & (yo < gny - 1 + margin))
    # a node cell lands if any of its 4 corners does; also catch grids inside one cell
    rows = np.flatnonzero(near.any(axis=1))
    cols = np.flatnonzero(near.any(axis=0))
    if rows.size == 0:
        cx, cy = grid.pixel_to_world(np.array([0.0, gnx - 1.0]), np.array([0.0, gny - 1.0]))
        x, y = _image_xy(nodes, cx, cy)
        ny, nx = nodes.shape
        inside = (x > -1) & (x < nx) & (y > -1) & (y < ny)
        if not inside.any():
            return None
        return 0, ny, 0, nx
    ny, nx = nodes.shape
    r0 = int(np.floor(nodes.y[max(rows[0] - 1, 0)]))
    r1 = int(np.ceil(nodes.y[min(rows[-1] + 1, nodes.y.size - 1)])) + 1
    c0 = int(np.floor(nodes.x[max(cols[0] - 1, 0)]))
    c1 = int(np.ceil(nodes.x[min(cols[-1] + 1, nodes.x.size - 1)])) + 1
    return max(r0, 0), min(r1, ny), max(c0, 0), min(c1, nx)


def _image_xy(nodes: SkyNodes, ra, dec):
    """Approximate image pixel of sky points (affine fit to the nodes; for bounds only)."""
    crval = (float(nodes.ra[nodes.ra.shape[0] // 2, nodes.ra.shape[1] // 2]),
             float(nodes.dec[nodes.dec.shape[0] // 2, nodes.dec.shape[1] // 2]))
    xi, eta = tan_project(nodes.ra, nodes.dec, crval)
    gx, gy = np.meshgrid(nodes.x, nodes.y)
    a = np.column_stack([np.ones(xi.size), xi.ravel(), eta.ravel()])
    cx, *_ = np.linalg.lstsq(a, gx.ravel(), rcond=None)
    cy, *_ = np.linalg.lstsq(a, gy.ravel(), rcond=None)
    pxi, peta = tan_project(ra, dec, crval)
    return cx[0] + cx[1] * pxi + cx[2] * peta, cy[0] + cy[1] * pxi + cy[2] * peta


def sky_at(nodes: SkyNodes, x, y):
    """Sky positions (RA, Dec) [deg] of arbitrary pixel positions (x, y) of the image."""
    x = np.atleast_1d(np.asarray(x, np.float64))
    y = np.atleast_1d(np.asarray(y, np.float64))
    cy, cx = nodes.ra.shape[0] // 2, nodes.ra.shape[1] // 2
    crval = (float(nodes.ra[cy, cx]), float(nodes.dec[cy, cx]))
    xi, eta = tan_project(nodes.ra, nodes.dec, crval)
    wy = lagrange_matrix(nodes.y, y)
    wx = lagrange_matrix(nodes.x, x)
    pxi = np.einsum("pi,ij,pj->p", wy, xi, wx)
    peta = np.einsum("pi,ij,pj->p", wy, eta, wx)
    return tan_deproject(pxi, peta, crval)


def footprint(nodes: SkyNodes, *, n_per_edge: int = 8):
    """(RA, Dec) of points along the image's outer pixel edges (for grid covering)."""
    ny, nx = nodes.shape
    t = np.linspace(0.0, 1.0, n_per_edge)
    xs = np.concatenate([t * nx, np.full_like(t, nx), t * nx, np.zeros_like(t)]) - 0.5
    ys = np.concatenate([np.zeros_like(t), t * ny, np.full_like(t, ny), t * ny]) - 0.5
    return sky_at(nodes, xs, ys)


def native_scale_rotation(nodes: SkyNodes) -> tuple[float, float]:
    """Pixel scale [arcsec] (area-equivalent) and y-axis angle east of north [deg]
    at the image centre."""
    ny, nx = nodes.shape
    xc, yc = (nx - 1) / 2.0, (ny - 1) / 2.0
    ra, dec = sky_at(nodes, [xc, xc + 1.0, xc], [yc, yc, yc + 1.0])
    xi, eta = tan_project(ra, dec, (ra[0], dec[0]))
    xi, eta = xi * 3600.0, eta * 3600.0
    jx = np.array([xi[1] - xi[0], eta[1] - eta[0]])
    jy = np.array([xi[2] - xi[0], eta[2] - eta[0]])
    scale = float(np.sqrt(abs(jx[0] * jy[1] - jx[1] * jy[0])))
    rotation = float(np.degrees(np.arctan2(jy[0], jy[1])))
    return scale, rotation
