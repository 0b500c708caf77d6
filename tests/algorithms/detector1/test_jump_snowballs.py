"""Snowball (large-event) flagging: geometry helpers and an injected snowball."""

import numpy as np

from webbcal.algorithms.detector1.jump import detect_jumps
from webbcal.algorithms.detector1.snowballs import find_ellipses, flag_large_events, min_area_rect
from webbcal.datamodels.dqflags import DQ

SAT, JUMP = int(DQ.SATURATED), int(DQ.JUMP_DET)


def test_min_area_rect_of_rotated_and_axis_aligned_points():
    xs, ys = np.meshgrid(np.arange(5), np.arange(3))
    e = min_area_rect(np.column_stack([xs.ravel() + 10, ys.ravel() + 20]))
    assert (e.cx, e.cy) == (12.0, 21.0)
    assert sorted([e.width, e.height]) == [2.0, 4.0]
    # a diagonal line of 5 pixels: length 4*sqrt(2), zero width
    d = min_area_rect(np.column_stack([np.arange(5), np.arange(5)]))
    np.testing.assert_allclose(sorted([d.width, d.height]), [0, 4 * np.sqrt(2)], atol=1e-9)


def test_find_ellipses_uses_contour_area_and_new_flags_only():
    plane = np.zeros((20, 20), np.uint8)
    plane[2:5, 2:5] = JUMP      # 3x3 block: contour area 4
    plane[10:14, 10:14] = JUMP  # 4x4 block: contour area 9
    plane[17, 2:9] = JUMP       # a line: area 0
    found = find_ellipses(plane, None, JUMP, 5.0)
    assert len(found) == 1 and (found[0].cy, found[0].cx) == (11.5, 11.5)
    assert len(find_ellipses(plane, None, JUMP, 3.0)) == 2
    assert find_ellipses(plane, plane, JUMP, 0.0) == []   # nothing newly flagged


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
    # the saturated core (minor axis > 2.5) grows by one pixel in this and later groups
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


def test_snowball_core_masks_next_integration():
    data, gdq, halo, core, group = make_snowball()
    gdq2 = np.concatenate([gdq, np.zeros_like(gdq)])
    out, n = flag_large_events(np.where(gdq2 == 0, 0, gdq2).astype(np.uint8),
                               n_groups_masked_next_int=3)
    assert not (out[1, 0] & JUMP).any()
    assert (out[1, 1:3][:, core] & JUMP).all() and not (out[1, 3:] & JUMP).any()
