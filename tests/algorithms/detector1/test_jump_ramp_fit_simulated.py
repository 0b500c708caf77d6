"""Jump detection and ramp fitting on ramps from ``webbcal.simulate.simulate_ramp``
(raw uint16 with bias, Poisson + read noise, cosmic rays and snowballs from its truth)."""

import numpy as np
import pytest

from webbcal.algorithms.detector1.jump import detect_jumps
from webbcal.algorithms.detector1.ramp_fit import fit_ramps
from webbcal.datamodels.dqflags import DQ

simulate = pytest.importorskip("webbcal.simulate.ramps")

TFRAME, NF, GAP, NG = 10.73677, 8, 2, 9
TGROUP = (NF + GAP) * TFRAME
GAIN, RN, BIAS, SATURATION = 2.0, 10.0, 1000.0, 60000.0
SAT, JUMP = int(DQ.SATURATED), int(DQ.JUMP_DET)


def _ramps(rate, **kw):
    sim = simulate.simulate_ramp(rate, ngroups=NG, nframes=NF, groupgap=GAP, tframe=TFRAME,
                                 readnoise_dn=RN, gain=GAIN, superbias_dn=BIAS,
                                 saturation_dn=SATURATION, reference_border=False,
                                 noutputs=1, **kw)
    raw = sim.data
    data = raw.astype(np.float32) - np.float32(BIAS)
    # stand-in for the saturation step: flag at and after the first saturated group
    gdq = (np.maximum.accumulate(raw >= SATURATION, axis=1) * SAT).astype(np.uint8)
    ny, nx = rate.shape
    return sim, data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), GAIN), \
        np.full((ny, nx), RN)


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
def test_errors_are_honest_on_simulated_ramps(algorithm):
    true = np.full((64, 96), 2.5, np.float32)
    _, data, gdq, pdq, gain, rn = _ramps(true, cr_rate=0.0, snowball_rate=0.0, rng=11)
    res = fit_ramps(data, gdq, pdq, gain, rn, frame_time=TFRAME, group_time=TGROUP,
                    nframes=NF, groupgap=GAP, algorithm=algorithm)
    z = (res.rate - true) / res.err
    assert abs(np.median(z)) < 0.05
    assert 0.95 <= np.std(z) <= 1.10


def test_cosmic_rays_and_snowballs_from_truth_are_flagged():
    ny, nx = 128, 128
    sim, data, gdq, pdq, gain, rn = _ramps(np.full((ny, nx), 1.0, np.float32), cr_rate=3.0,
                                           snowball_rate=0.3, rng=3)
    res = detect_jumps(data, gdq, pdq, gain, rn, nframes=NF, expand_large_events=True)
    flags = res.groupdq[0]
    stride = NF + GAP
    sigma = np.sqrt(1.0 * TGROUP / GAIN + RN**2 / NF)
    cr = sim.truth.cosmic_rays
    big = cr[cr["center_electrons"] / GAIN > 10 * sigma]
    assert big.size > 50
    g = np.minimum(big["frame"] // stride, NG - 1)
    hit = [(flags[gi:gi + 2, y, x] & (JUMP | SAT)).any() for gi, y, x in zip(g, big["y"], big["x"])]
    assert np.mean(hit) >= 0.95
    snow = sim.truth.snowballs
    assert snow.size >= 3
    yy, xx = np.mgrid[:ny, :nx]
    for s in snow:
        gi = min(int(s["frame"]) // stride, NG - 1)
        halo = np.hypot(yy + 0.5 - s["y"], xx + 0.5 - s["x"]) <= s["halo_radius"]
        flagged = (flags[gi:gi + 2] & (JUMP | SAT)).any(axis=0)
        assert flagged[halo].mean() >= 0.9
    # away from events, few false jumps from the two-point method (snowball flagging
    # expands real events; near the array edges it needs no saturated core)
    plain = detect_jumps(data, gdq, pdq, gain, rn, nframes=NF).groupdq[0]
    events = np.zeros((ny, nx), bool)
    for y, x in zip(cr["y"], cr["x"]):
        events[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3] = True
    for s in snow:
        events |= np.hypot(yy + 0.5 - s["y"], xx + 0.5 - s["x"]) <= s["halo_radius"] + 2
    false = (plain & JUMP).any(axis=0) & ~events
    assert (~events).sum() > 2000
    assert false.sum() / (~events).sum() <= 0.005
