"""The random-number kernels of the ramp simulator against their exact distributions."""

import math

import numpy as np
import pytest
from numba import njit

from webbcal.simulate import _kernels as k


@njit(cache=True)
def _normals(n, seed):
    s = np.empty(1, np.uint64)
    s[0] = seed
    out = np.empty(n)
    for i in range(n):
        out[i] = k._normal(s)
    return out


@njit(cache=True)
def _poissons(n, lam, seed):
    s = np.empty(1, np.uint64)
    s[0] = seed
    prm = k._poisson_params(lam)
    out = np.empty(n)
    for i in range(n):
        out[i] = k._poisson(s, prm)
    return out


@njit(cache=True)
def _charges(n, lam, ngap, nframes, seed):
    s = np.empty(1, np.uint64)
    s[0] = seed
    prm = k._poisson_params(lam * (ngap + nframes))
    wm, ws = k.weight_moments(ngap, nframes)
    m = np.empty(n)
    w = np.empty(n)
    for i in range(n):
        m[i], w[i] = k._group_charge(s, prm, ngap, nframes, wm, ws)
    return m, w


def test_ziggurat_normal_moments_and_tails():
    z = _normals(1_000_000, 11)
    assert abs(z.mean()) < 0.003 and z.var() == pytest.approx(1.0, abs=0.003)
    assert abs(np.mean(z ** 3)) < 0.01 and np.mean(z ** 4) == pytest.approx(3.0, abs=0.03)
    for t, p in ((1.0, 0.3173105), (2.0, 0.0455003), (3.0, 0.0026998), (3.6, 0.00031822)):
        frac = np.mean(np.abs(z) > t)  # 3.6 sigma: beyond the ziggurat's base layer
        assert abs(frac - p) < 5 * math.sqrt(p / z.size), (t, frac, p)


@pytest.mark.parametrize("lam", [0.7, 6.0, 11.9, 12.1, 40.0, 400.0])
def test_poisson_mean_variance_skewness(lam):
    x = _poissons(200_000, lam, 5)
    assert np.all(x == np.round(x)) and x.min() >= 0
    sd = math.sqrt(lam / x.size)
    assert abs(x.mean() - lam) < 5 * sd
    assert x.var() == pytest.approx(lam, rel=0.02)
    skew = np.mean((x - x.mean()) ** 3) / x.var() ** 1.5
    assert skew == pytest.approx(1 / math.sqrt(lam), abs=0.03)


def test_poisson_probabilities_small_mean():
    x = _poissons(400_000, 3.0, 9)
    for n in range(7):
        p = math.exp(-3.0) * 3.0 ** n / math.factorial(n)
        assert abs(np.mean(x == n) - p) < 5 * math.sqrt(p / x.size)


@pytest.mark.parametrize("lam", [0.3, 3.0, 30.0])
def test_group_charge_moments_exact(lam):
    """(arrivals m, group-seen charge s) between two groups: compound-Poisson moments."""
    ngap, nframes = 2, 8
    m, s = _charges(200_000, lam, ngap, nframes, 3)
    # brute force: weight 1 in a dropped interval, (nframes - j)/nframes in interval j
    wts = np.r_[np.ones(ngap), (nframes - np.arange(nframes)) / nframes]
    mu_tot = lam * (ngap + nframes)
    e_w, e_w2 = wts.mean(), np.mean(wts ** 2)
    assert m.mean() == pytest.approx(mu_tot, rel=0.01)
    assert s.mean() == pytest.approx(mu_tot * e_w, rel=0.01)
    assert s.var() == pytest.approx(mu_tot * e_w2, rel=0.02)
    assert np.cov(m, s)[0, 1] == pytest.approx(mu_tot * e_w, rel=0.02)
    exact = m < 8  # drawn arrival by arrival: the seen charge never exceeds the arrivals
    assert np.all(s[exact] <= m[exact] + 1e-9) and np.all(s[exact] >= m[exact] / nframes - 1e-9)


def test_weight_moments_match_enumeration():
    for ngap, nframes in ((0, 1), (0, 8), (2, 8), (1, 4)):
        wts = np.r_[np.ones(ngap), (nframes - np.arange(nframes)) / nframes]
        mean, sd = k.weight_moments(ngap, nframes)
        assert mean == pytest.approx(wts.mean()) and sd == pytest.approx(wts.std(), abs=1e-12)
