"""Pixel maps from sky nodes: the 4-point stencils (no BLAS) give the Lagrange
interpolation ``Wy @ V @ Wx.T`` and stay exact where the transform is smooth."""

import numpy as np

from webbcal.algorithms.image3.grid import OutputGrid, tan_deproject
from webbcal.algorithms.image3.pixmap import (grid_corner_planes, grid_pixmap,
                                              lagrange_matrix, sky_nodes)

CRVAL = (150.1, 2.2)
SCALE = 0.031 / 3600  # deg per pixel


def _transform(x, y):
    """A rotated TAN detector with a mild quadratic distortion (input pixels → sky)."""
    t = np.radians(12.0)
    u = (x - 200.0) + 2e-5 * (x - 200.0) ** 2
    v = (y - 150.0) - 1e-5 * (x - 200.0) * (y - 150.0)
    xi = SCALE * (np.cos(t) * u - np.sin(t) * v)
    eta = SCALE * (np.sin(t) * u + np.cos(t) * v)
    return tan_deproject(xi, eta, CRVAL)


def _setup():
    shape = (300, 400)
    nodes = sky_nodes(_transform, shape, spacing=32)
    grid = OutputGrid(crval=CRVAL, crpix=(260.0, 260.0), pixel_scale=0.031, rotation=0.0,
                      shape=(520, 520))
    return nodes, grid


def test_corner_map_is_the_dense_lagrange_product():
    nodes, grid = _setup()
    win = (40, 97, 13, 250)
    cx, cy = grid_corner_planes(nodes, grid, window=win)
    rows = np.arange(win[0], win[1] + 1) - 0.5
    cols = np.arange(win[2], win[3] + 1) - 0.5
    xo, yo = grid.world_to_pixel(nodes.ra, nodes.dec)
    wy, wx = lagrange_matrix(nodes.y, rows), lagrange_matrix(nodes.x, cols)
    assert cx.shape == (win[1] - win[0] + 1, win[3] - win[2] + 1)
    np.testing.assert_allclose(cx, wy @ xo @ wx.T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cy, wy @ yo @ wx.T, rtol=0, atol=1e-9)


def test_map_matches_the_exact_transform_between_nodes():
    nodes, grid = _setup()
    pm = grid_pixmap(nodes, grid, window=(0, 300, 0, 400))
    y, x = np.mgrid[0:300:7, 0:400:9].astype(np.float64)
    xe, ye = grid.world_to_pixel(*_transform(x, y))
    np.testing.assert_allclose(pm[0:300:7, 0:400:9, 0], xe, rtol=0, atol=1e-4)
    np.testing.assert_allclose(pm[0:300:7, 0:400:9, 1], ye, rtol=0, atol=1e-4)
    # and the corners of a pixel average to (nearly) its centre
    cx, cy = grid_corner_planes(nodes, grid)
    mx = 0.25 * (cx[:-1, :-1] + cx[1:, :-1] + cx[:-1, 1:] + cx[1:, 1:])
    assert np.abs(mx - pm[..., 0]).max() < 1e-3
