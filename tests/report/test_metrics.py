"""Figures of merit on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pytest

from webbcal.report import metrics as M


def test_z_statistics_ignores_flagged_and_matches_hand_values():
    truth = np.zeros((2, 3))
    data = np.array([[1.0, -1.0, 2.0], [100.0, np.nan, 0.0]])
    err = np.array([[1.0, 1.0, 2.0], [1.0, 1.0, 0.0]])
    dq = np.array([[0, 0, 0], [4, 0, 0]], np.uint32)  # flagged 100, NaN, err=0 all left out
    z = M.z_statistics(data, err, dq, truth)
    assert z.n == 3
    assert z.median == pytest.approx(1.0)
    assert z.std == pytest.approx(np.std([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="shapes differ"):
        M.z_statistics(data, err, dq, np.zeros((3, 3)))


def test_gaussian_z_has_unit_width():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 10, (200, 200))
    err = rng.uniform(0.5, 2.0, truth.shape)
    z = M.z_statistics(truth + rng.normal(size=truth.shape) * err, err,
                       np.zeros(truth.shape, np.uint32), truth)
    assert abs(z.median) < 0.02 and abs(z.std - 1) < 0.02 and abs(z.robust_std - 1) < 0.03


def test_jump_completeness_counts_flagged_hits():
    dq = np.zeros((10, 10), np.uint32)
    dq[1, 1] = dq[2, 2] = 4          # found
    dq[3, 3] = 2                     # saturated: not searched, left out
    dq[8, 8] = 4                     # a flag with no hit
    x = np.array([1, 2, 3, 5, 1])   # (1,1) hit twice counts once
    y = np.array([1, 2, 3, 5, 1])
    e = np.array([2000.0, 100.0, 5000.0, 3000.0, 10.0])
    j = M.jump_completeness(dq, x, y, e)
    assert (j.n_injected, j.n_found) == (3, 2)
    assert j.completeness == pytest.approx(2 / 3)
    assert (j.n_bright, j.completeness_bright) == (2, 0.5)
    assert j.flagged_per_hit == pytest.approx(3 / 3)


def test_detectable_cr_mask():
    # nframes=8, groupgap=2, ngroups=3: group reads end at frames 7, 17, 27
    frame = np.array([0, 7, 8, 27, 28, 10])
    x = np.array([5, 5, 5, 5, 5, 0])
    ok = M.detectable_cr_mask(frame, x, x, nframes=8, groupgap=2, ngroups=3, shape=(10, 10),
                              border=1)
    assert ok.tolist() == [False, False, True, True, False, False]


def test_match_catalogs_recovers_offsets():
    rng = np.random.default_rng(2)
    ra0, dec0 = 214.86, 52.88
    ra_t = ra0 + rng.uniform(-0.01, 0.01, 50)
    dec_t = dec0 + rng.uniform(-0.01, 0.01, 50)
    dra, ddec = 20.0, -10.0  # mas
    ra = ra_t[:40] + dra / 3.6e6 / np.cos(np.deg2rad(dec0))
    dec = dec_t[:40] + ddec / 3.6e6
    ra = np.append(ra, ra0 + 0.5)  # a spurious detection far from everything
    dec = np.append(dec, dec0)
    m = M.match_catalogs(ra, dec, ra_t, dec_t, radius_arcsec=0.2)
    assert m.n == 40
    assert np.all(m.index_measured == m.index_truth)
    assert np.median(m.dra_mas) == pytest.approx(dra, abs=0.5)
    assert np.median(m.ddec_mas) == pytest.approx(ddec, abs=0.1)


def test_pick_example_pixels_and_timings():
    rate = np.zeros((20, 20), np.float32)
    dq = np.zeros((20, 20), np.uint32)
    rate[3, 4] = 50.0
    rate[10, 10] = 900.0
    dq[10, 10] = 2                   # brightest pixel saturated
    dq[15, 6] = dq[12, 2] = 4
    picks = M.pick_example_pixels(rate, dq, cr_xy=(np.array([6, 2]), np.array([15, 12])),
                                  cr_electrons=np.array([500.0, 4000.0]))
    assert picks.bright == (3, 4) and picks.saturated == (10, 10)
    assert picks.cosmic_ray == (12, 2)  # the stronger hit
    history = ["webbcal Detector1Pipeline 0.1.0: dq_init=0.010s, jump=1.5",
               "00s, ramp_fit=0.2s", "webbcal Image2Pipeline 0.1.0: photom=0.05s"]
    assert M.parse_step_timings(history) == {
        "Detector1Pipeline": {"dq_init": 0.01, "jump": 1.5, "ramp_fit": 0.2},
        "Image2Pipeline": {"photom": 0.05}}
    t = M.group_times(ngroups=3, nframes=8, groupgap=2, tframe=10.0)
    assert t.tolist() == [45.0, 145.0, 245.0]


def test_step_lines_are_not_pipelines():
    """Steps write ``webbcal <step> COMPLETE: …`` cards; only pipelines carry timings."""
    history = ["webbcal assign_wcs COMPLETE: skip=False, sip_max_pix_er",
               "ror=0.01s", "webbcal refpix skipped: no valid reference pixels",
               "webbcal Image2Pipeline 0.1.0: assign_wcs=3.940s, flat_field=0.036s, phot",
               "om=0.034s"]
    assert M.parse_step_timings(history) == {
        "Image2Pipeline": {"assign_wcs": 3.94, "flat_field": 0.036, "photom": 0.034}}


def test_saturating_pixel_takes_a_levelling_ramp_not_a_cosmic_ray():
    from webbcal.report.build import saturating_pixel

    t = np.arange(6, dtype=np.float32)
    groups = np.full((6, 20, 20), 1000.0, np.float32) + 10 * t[:, None, None]
    groups[:, 10, 12] = np.minimum(1000 + 4000 * t, 12000)   # star: rises, then flat
    groups[:, 5, 5] = 1000 + 10 * t + 9000 * (t >= 1)          # CR: one step, then flat
    groups[:, 1, 1] = np.minimum(1000 + 9000 * t, 30000)       # in the border: ignored
    assert saturating_pixel(groups) == (10, 12)
    assert saturating_pixel(groups[:3]) is None                # too few groups to tell
