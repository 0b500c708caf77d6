"""Snowball (large-event) flagging: hand-made cases, stcal 1.20 parity, injected halos.

Expected numbers marked "stcal 1.20" were produced once by running
``stcal.jump.jump.flag_large_events`` (jwst 3.0's JumpStep scaling: sat_expand 2 -> 4,
max_extended_radius 200 -> 400 full width) on exactly these inputs.
"""

import hashlib

import numpy as np
import pytest

from webbcal.algorithms.detector1.jump import detect_jumps
from webbcal.algorithms.detector1.snowballs import find_ellipses, flag_large_events
from webbcal.datamodels.dqflags import DQ

SAT, JUMP = int(DQ.SATURATED), int(DQ.JUMP_DET)


def disk(shape, cy, cx, radius):
    """Pixels strictly inside a circle of integer radius (skimage.draw convention)."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < radius ** 2


def plus(plane, y, x):
    plane[y, x - 1:x + 2] = JUMP
    plane[y - 1:y + 2, x] = JUMP


# ----------------------------------------------------------------------- ellipses
def test_moment_ellipses_of_hand_checkable_shapes():
    plane = np.zeros((30, 30), np.uint8)
    plus(plane, 5, 5)                 # 5 pixels, variance 2/5 along both axes
    plane[20, 3:8] = JUMP             # a row of 5: variance 2 along columns, 0 across
    plane[12:14, 20:22] = JUMP        # 2x2 block: area 4 < 5
    found = {(e.cy, e.cx): e for e in find_ellipses(plane, None, JUMP, 5.0)}
    assert set(found) == {(5.0, 5.0), (20.0, 5.0)}
    p = found[(5.0, 5.0)]
    assert p.major == pytest.approx(4 * np.sqrt(0.4) - 1) and p.minor == p.major
    assert p.theta == pytest.approx(-np.pi / 4)      # official rule for equal variances
    line = found[(20.0, 5.0)]
    assert line.major == pytest.approx(4 * np.sqrt(2) - 1) and line.minor == -1.0
    assert abs(line.theta) == pytest.approx(np.pi / 2)  # major axis along the columns
    assert len(find_ellipses(plane, None, JUMP, 4.0)) == 3


def test_area_counts_filled_holes_and_new_flags_only():
    plane = np.zeros((12, 12), np.uint8)
    plane[2:5, 2:5] = SAT
    plane[3, 3] = 0                   # a ring of 8 around a hole: filled area 9
    assert len(find_ellipses(plane, None, SAT, 9.0)) == 1
    assert find_ellipses(plane, None, SAT, 10.0) == []
    prev = np.zeros_like(plane)
    prev[2, 2:5] = SAT                # already saturated: 5 newly set pixels remain
    new = find_ellipses(plane, prev, SAT, 1.0)
    assert [e.npix for e in new] == [5]


# ----------------------------------------------------------------------- hand cases
def snowball_cube(nints=1):
    """A core (r <= 2.5) newly saturated in group 2, a jump ring (2.5 < r <= 4.5)."""
    gdq = np.zeros((nints, 5, 80, 80), np.uint8)
    yy, xx = np.mgrid[:80, :80]
    r = np.hypot(yy - 40, xx - 41)
    gdq[0, 2][(r > 2.5) & (r <= 4.5)] = JUMP
    gdq[0, 2:, r <= 2.5] = SAT
    return gdq


def test_saturated_core_with_jump_ring_flags_the_expanded_circle():
    out, n = flag_large_events(snowball_cube())
    assert n == 1
    # the ring's moment ellipse: both axes 4 sqrt(var) - 1 = 9.68, so the expanded
    # semi-axes are round(9.68 * 2 / 2) = 10 (stcal 1.20 draws the same 260 pixels);
    # the core (minor axis 4.09 > 2.5) grows to semi-axes round((4.09 + 4) / 2) = 4
    e, = find_ellipses(snowball_cube()[0, 2], None, JUMP, 5.0)
    assert (e.cy, e.cx) == (40.0, 41.0) and e.major == e.minor
    assert round(e.minor * 2 / 2) == 10
    core = disk((80, 80), 40, 41, 4)
    halo = disk((80, 80), 40, 41, 10)
    assert np.array_equal((out[0, 2] & JUMP) != 0, halo & ~core)
    assert int(((out[0, 2] & JUMP) != 0).sum()) == 260
    for g in (2, 3, 4):               # grown core assigned SATURATED from group 2 on
        assert np.array_equal(out[0, g] == SAT, core) and int(core.sum()) == 45
    assert not out[0, :2].any()
    assert not (out[0, 3:] & JUMP).any()   # the halo is flagged in its group only


def test_large_jump_cluster_without_saturated_core_is_not_a_snowball():
    gdq = np.zeros((1, 5, 80, 80), np.uint8)
    gdq[0, 2][disk((80, 80), 40, 41, 5)] = JUMP
    out, n = flag_large_events(gdq)
    assert n == 0 and np.array_equal(out, gdq)
    out, n = flag_large_events(gdq, sat_required_snowball=False)
    assert n == 1 and int(((out[0, 2] & JUMP) != 0).sum()) > int(disk((80, 80), 40, 41, 5).sum())


def test_near_the_edge_no_core_is_needed_and_ellipses_are_clipped():
    gdq = np.zeros((1, 5, 80, 80), np.uint8)
    for y, x in ((10, 40), (40, 40), (1, 1)):  # top band, centre, corner
        plus(gdq[0, 2], y, x)
    out, n = flag_large_events(gdq)
    assert n == 2                     # stcal 1.20: the two within edge_size = 25
    flagged = (out[0, 2] & JUMP) != 0
    assert np.array_equal(flagged[6:15, 36:45], disk((80, 80), 10, 40, 2)[6:15, 36:45])
    assert flagged[:3, :3].all() and not flagged[3:6, :6].any()
    assert np.array_equal(flagged[35:46, 35:46], (gdq[0, 2] != 0)[35:46, 35:46])
    assert int(flagged.sum()) == 23   # stcal 1.20: 9 + 9 + the untouched 5
    out, n = flag_large_events(gdq, edge_size=0)
    assert n == 0


def test_snowball_core_masks_the_next_integration():
    out, n = flag_large_events(snowball_cube(nints=2), n_groups_masked_next_int=3)
    core = disk((80, 80), 40, 41, 2)   # the ungrown core ellipse
    assert not out[1, 0].any()
    assert all(np.array_equal(out[1, g] == JUMP, core) for g in (1, 2))
    assert not out[1, 3:].any()


# ----------------------------------------------------------------------- stcal parity
def synthetic_cube(seed, ngroups=5, ny=150, nx=140):
    """Random cosmic rays (pluses, elongated blobs), snowballs (new saturated core and
    jump ring, some at the edges) and a star whose saturated core grows every group."""
    rng = np.random.default_rng(seed)
    gdq = np.zeros((1, ngroups, ny, nx), np.uint8)
    yy, xx = np.mgrid[:ny, :nx]
    for g in range(1, ngroups):
        for _ in range(40):
            plus(gdq[0, g], rng.integers(1, ny - 1), rng.integers(1, nx - 1))
        for _ in range(6):
            y, x = rng.uniform(3, ny - 3), rng.uniform(3, nx - 3)
            a, b, t = rng.uniform(1, 4), rng.uniform(0.5, 2), rng.uniform(0, np.pi)
            u = ((xx - x) * np.cos(t) + (yy - y) * np.sin(t)) / a
            v = (-(xx - x) * np.sin(t) + (yy - y) * np.cos(t)) / b
            gdq[0, g][u * u + v * v <= 1] |= JUMP
        for _ in range(2):
            y, x = rng.uniform(0, ny), rng.uniform(0, nx)
            rc, rr = rng.uniform(1, 4), rng.uniform(1.5, 3)
            r = np.hypot(yy - y, xx - x)
            gdq[0, g][(r > rc) & (r <= rc + rr)] |= JUMP
            gdq[0, g:, r <= rc] |= SAT
    r = np.hypot(yy - 75.3, xx - 60.6)
    for g in range(1, ngroups):
        gdq[0, g:, r <= 1.5 * g] |= SAT
    gdq[(gdq & SAT) != 0] &= ~np.uint8(JUMP)
    return np.concatenate([gdq, np.repeat(gdq[:, :1], ngroups, axis=1)])  # + a quiet int


@pytest.mark.parametrize("seed, n_expected, jumps, sats, digest", [
    (1, 98, [0, 1067, 925, 654, 1051], [0, 145, 289, 338, 628],
     "cbafd8933dca238295f5c7995f4c6e2427cb57d0"),
    (2, 89, [0, 1055, 867, 570, 846], [0, 149, 344, 358, 600],
     "5039f156f8f72b56ef577fdd78ff4547dcc217b5"),
])
def test_bitwise_equal_to_stcal_on_a_crowded_field(seed, n_expected, jumps, sats, digest):
    out, n = flag_large_events(synthetic_cube(seed), n_groups_masked_next_int=3)
    assert n == n_expected
    assert [int(((p & JUMP) != 0).sum()) for p in out[0]] == jumps
    assert [int(((p & SAT) != 0).sum()) for p in out[0]] == sats
    assert hashlib.sha1(out.tobytes()).hexdigest() == digest


def test_input_is_left_alone_unless_inplace():
    gdq = synthetic_cube(1)
    before = gdq.copy()
    out, _ = flag_large_events(gdq)
    assert np.array_equal(gdq, before) and not np.array_equal(out, before)
    out2, _ = flag_large_events(gdq, inplace=True)
    assert out2 is gdq and np.array_equal(gdq, out)


# ----------------------------------------------------------------------- on ramps
def make_snowball(ny=80, nx=80, cy=40, cx=41, group=4, ngroups=8):
    """Noiseless ramps (read noise 1 DN => sigma 1): a saturated core (r <= 3), a bright
    ring (3 < r <= 5) and a faint halo (5 < r <= 9, 3 sigma: below the threshold)."""
    yy, xx = np.mgrid[:ny, :nx]
    r = np.hypot(yy - cy, xx - cx)
    data = np.zeros((1, ngroups, ny, nx), np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    core, ring, halo = r <= 3, (r > 3) & (r <= 5), (r > 5) & (r <= 9)
    data[0, group:, ring] += 2000.0
    data[0, group:, halo] += 3.0
    data[0, group:, core] += 60000.0
    gdq[0, group:, core] = SAT
    return data, gdq, halo, core, group


def test_injected_snowball_halo_is_flagged():
    data, gdq, halo, core, group = make_snowball()
    ny, nx = data.shape[2:]
    kwargs = dict(nframes=1)
    args = (data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), 1e9), np.ones((ny, nx)))
    plain = detect_jumps(*args, **kwargs)
    assert (plain.groupdq[0, group][halo] & JUMP).mean() < 0.5   # neighbours only
    res = detect_jumps(*args, expand_large_events=True, **kwargs)
    assert res.n_snowballs == 1
    assert (res.groupdq[0, group][halo] & JUMP).astype(bool).mean() >= 0.9
    # only the snowball's group is flagged; far pixels untouched
    assert not (res.groupdq[0, group + 1][halo] & JUMP).any()
    assert not res.groupdq[0, :, :10, :10].any()
    # the saturated core (minor axis > 2.5) grows in this and later groups
    grown = (res.groupdq[0, -1] & SAT).astype(bool)
    assert grown.sum() > core.sum() and grown[core].all()


def test_snowball_needs_a_saturated_core_unless_disabled():
    data, gdq, halo, core, group = make_snowball()
    gdq[:] = 0                    # no saturation flagged: a large jump cluster only
    data[0, group:, core] = 2000.0
    ny, nx = data.shape[2:]
    args = (data, gdq, np.zeros((ny, nx), np.uint32), np.full((ny, nx), 1e9), np.ones((ny, nx)))
    res = detect_jumps(*args, nframes=1, expand_large_events=True)
    assert res.n_snowballs == 0
    res = detect_jumps(*args, nframes=1, expand_large_events=True, sat_required_snowball=False)
    assert res.n_snowballs == 1
    assert (res.groupdq[0, group][halo] & JUMP).astype(bool).mean() >= 0.9


def test_labelling_window_does_not_change_the_result(monkeypatch):
    """Jump clusters are labelled a window of groups ahead (2 per thread; memory stays
    bounded for long ramps); grown saturated cores clear jumps in later groups that
    may already be labelled. Any window gives the same flags."""
    import numba

    rng = np.random.default_rng(11)
    ng, n = 12, 96
    gdq = np.zeros((2, ng, n, n), np.uint8)
    for i in range(2):
        for g, (cy, cx) in ((2, (30, 30)), (5, (60, 62)), (8, (40, 70))):
            gdq[i, g:][:, disk((n, n), cy, cx, 5)] = SAT
            gdq[i, g][disk((n, n), cy, cx, 12) & ~disk((n, n), cy, cx, 5)] = JUMP
        for g in range(1, ng):      # crosses, some next to cores grown later
            for _ in range(25):
                plus(gdq[i, g], *rng.integers(2, n - 2, 2))
    results = []
    for threads in (1, 8):
        monkeypatch.setattr(numba, "get_num_threads", lambda t=threads: t)
        results.append(flag_large_events(gdq, n_groups_masked_next_int=3))
    assert results[0][1] == results[1][1] > 0
    assert np.array_equal(results[0][0], results[1][0])
    assert (results[0][0] != gdq).any()
