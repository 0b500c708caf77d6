"""Two-dimensional polynomials in the SIAF convention, evaluated with numpy.

A coefficient matrix ``C`` of shape (deg+1, deg+1) holds ``C[p, q]``, the coefficient of
``x**p * y**q`` (only ``p + q <= deg`` are non-zero). SIAF names coefficient
``Sci2IdlX{i}{j}`` for the term ``x**(i-j) * y**j``, i.e. ``C[i-j, j]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["polyval2d", "derivative_matrices", "siaf_matrix", "LARGE"]

LARGE = 65536
"""Arrays at least this long go to the numba kernels instead of numpy."""


def siaf_matrix(coeffs: dict[str, float], prefix: str, degree: int) -> np.ndarray:
    """Coefficient matrix from SIAF entries named ``{prefix}{i}{j}``.

    Parameters
    ----------
    coeffs : dict
        SIAF field name → value.
    prefix : str
        e.g. 'Sci2IdlX'.
    degree : int
        Polynomial degree (Sci2IdlDeg).

    Returns
    -------
    ndarray, shape (6, 6), float64
        Zero-padded beyond `degree`.
    """
    if not 1 <= degree <= 5:
        raise ValueError(f"{prefix}: polynomial degree expected 1..5, found {degree}")
    mat = np.zeros((6, 6))  # always 6×6: the kernels are written out for degree 5
    for i in range(degree + 1):
        for j in range(i + 1):
            mat[i - j, j] = coeffs[f"{prefix}{i}{j}"]
    return mat


def polyval2d(mat: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Evaluate ``sum C[p, q] x**p y**q`` by nested Horner's rule.

    Parameters
    ----------
    mat : ndarray, shape (n, n)
    x, y : ndarray
        Broadcastable float arrays.

    Returns
    -------
    ndarray
        float64, broadcast shape of `x` and `y`.
    """
    deg = mat.shape[0] - 1
    result = np.zeros(np.broadcast(x, y).shape)
    for q in range(deg, -1, -1):
        inner = np.full(np.shape(x), mat[deg - q, q], dtype=float)
        for p in range(deg - q - 1, -1, -1):
            inner *= x
            inner += mat[p, q]
        result *= y
        result += inner
    return result


def derivative_matrices(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient matrices of ∂/∂x and ∂/∂y of a polynomial (same shape)."""
    n = mat.shape[0]
    dx = np.zeros_like(mat)
    dy = np.zeros_like(mat)
    for p in range(1, n):
        dx[p - 1, :] = p * mat[p, :]
        dy[:, p - 1] = p * mat[:, p]
    return dx, dy
