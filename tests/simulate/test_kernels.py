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


@pytest.mark.parametrize("lam", [0.7, 6.0, 11.9, 12.1, 29.9, 30.0, 40.0, 400.0])
def test_poisson_mean_variance_skewness(lam):
    x = _poissons(200_000, lam, 5)
    assert np.all(x == np.round(x)) and x.min() >= 0
    sd = math.sqrt(lam / x.size)
    assert abs(x.mean() - lam) < 5 * sd
    assert x.var() == pytest.approx(lam, rel=0.02)
    skew = np.mean((x - x.mean()) ** 3) / x.var() ** 1.5
    assert skew == pytest.approx(1 / math.sqrt(lam), abs=0.03)


def test_poisson_total_variation_at_the_threshold():
    """At POISSON_CF_MIN the drawn distribution is within 0.4 % (total variation) of
    Poisson's (0.2 % plus the sampling noise of 400k draws)."""
    lam = k.POISSON_CF_MIN
    x = _poissons(400_000, lam, 13).astype(np.int64)
    ks = np.arange(0, int(lam + 8 * math.sqrt(lam)))
    p = np.exp(-lam + ks * math.log(lam) - np.array([math.lgamma(n + 1.0) for n in ks]))
    emp = np.bincount(x, minlength=ks.size)[:ks.size] / x.size
    assert 0.5 * np.abs(emp - p).sum() < 0.004


@pytest.mark.parametrize("lam", [40.0, 100.0])
def test_poisson_probabilities_large_mean(lam):
    """Above POISSON_CF_MIN (Cornish-Fisher transform of a normal deviate) every
    probability within 4 sigma of the mean is Poisson's to the sampling noise of 400k
    draws (a plain rounded Gaussian, no skewness term, fails at lam=40)."""
    assert lam >= k.POISSON_CF_MIN
    x = _poissons(400_000, lam, 9)
    ks = np.arange(int(lam - 4 * math.sqrt(lam)), int(lam + 4 * math.sqrt(lam)) + 1)
    logp = -lam + ks * math.log(lam) - np.array([math.lgamma(n + 1.0) for n in ks])
    p = np.exp(logp)
    emp = np.array([np.mean(x == n) for n in ks])
    z = (emp - p) / np.sqrt(p / x.size)
    assert np.max(np.abs(z)) < 4.5, ks[np.argmax(np.abs(z))]
    assert np.sum(z ** 2) < len(ks) + 5 * math.sqrt(2 * len(ks))  # chi-square


@pytest.mark.parametrize("lam", [0.4, 3.0, 20.0, 29.5])
def test_poisson_probabilities_exact_below_threshold(lam):
    """Multiplication method / PTRS: every probability within 5 sigma is Poisson's."""
    x = _poissons(400_000, lam, 9)
    for n in range(max(0, int(lam - 5 * math.sqrt(lam))), int(lam + 5 * math.sqrt(lam)) + 2):
        p = math.exp(-lam + n * math.log(lam) - math.lgamma(n + 1.0))
        assert abs(np.mean(x == n) - p) < 5 * math.sqrt(p / x.size) + 1e-6, n


@pytest.mark.parametrize("lam", [0.3, 3.0, 2.0, 30.0])
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
