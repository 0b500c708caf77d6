"""The CR-free twin (``deposit_cosmic_rays=False``): only the cosmic-ray deposits change."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from webbcal.simulate import simulate_world
from webbcal.simulate.ramps import make_events, simulate_ramp


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The ``tiny`` world (NRCA1 only, to halve the time) and its CR-free twin."""
    import dataclasses

    from webbcal.simulate.world import PRESETS

    preset = dataclasses.replace(PRESETS["tiny"], detectors=(("NRCA1", "F200W"),))
    root = tmp_path_factory.mktemp("twin")
    return (simulate_world(preset, root / "world", seed=2),
            simulate_world(preset, root / "twin", seed=2, deposit_cosmic_rays=False))


def _sci(path):
    with fits.open(path) as h:
        return h["SCI"].data.astype(np.int32)


def test_twin_differs_only_at_cosmic_ray_deposits(pair):
    world, twin = pair
    n_hits = 0
    for e, u_world, u_twin in zip(world.exposures, world.uncal_files, twin.uncal_files):
        a, b = _sci(u_world), _sci(u_twin)
        crs = Table.read(world.truth_dir / f"{e['name']}_cosmic_rays.fits")
        crs_twin = Table.read(twin.truth_dir / f"{e['name']}_cosmic_rays.fits")
        # the same hits are drawn (and listed) in both; the twin says they are not deposited
        assert len(crs) > 20
        assert np.array_equal(crs.as_array(), crs_twin.as_array())
        assert crs_twin.meta.get("DEPOSIT") is False and "DEPOSIT" not in crs.meta
        ny, nx = a.shape[-2:]
        footprint = np.zeros((ny, nx), bool)
        for dy, dx in ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)):
            yy, xx = crs["y"] + dy, crs["x"] + dx
            ok = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
            footprint[yy[ok], xx[ok]] = True
        changed = np.any(a != b, axis=(0, 1))
        # nothing changes off the hits' pixels (noise, snowballs, bias all identical) ...
        assert not np.any(changed & ~footprint)
        # ... and every hit adds charge to the last group (>= 180 e-) unless saturated
        last_a, last_b = a[0, -1][crs["y"], crs["x"]], b[0, -1][crs["y"], crs["x"]]
        unsat = last_a < 40000
        assert unsat.mean() > 0.9
        assert np.all(last_a[unsat] > last_b[unsat])
        # groups before a hit's frame interval are untouched at its centre
        first_a, first_b = a[0, 0][crs["y"], crs["x"]], b[0, 0][crs["y"], crs["x"]]
        late = crs["frame"] >= 8  # after the first group's 8 frames (MEDIUM8)
        assert np.array_equal(first_a[late], first_b[late])
        n_hits += len(crs)
    assert n_hits > 50
    # everything else written is the same: truth rates, snowballs, references
    for e in world.exposures:
        for suffix in ("_truth_rate.fits", "_snowballs.ecsv"):
            p, q = world.truth_dir / f"{e['name']}{suffix}", twin.truth_dir / f"{e['name']}{suffix}"
            assert p.read_bytes() == q.read_bytes()
    for name in ("sources.ecsv", "pointing_errors.ecsv"):
        assert (world.truth_dir / name).read_bytes() == (twin.truth_dir / name).read_bytes()


def test_make_events_twin_draws_the_same_events():
    kw = dict(nints=2, nframes_total=40, tframe=10.0, cr_rate=50.0, snowball_rate=0.5)
    cr1, sb1, dep1 = make_events((64, 64), rng=np.random.default_rng(5), **kw)
    cr0, sb0, dep0 = make_events((64, 64), rng=np.random.default_rng(5),
                                 deposit_cosmic_rays=False, **kw)
    assert len(cr1) > 10 and len(sb1) > 0
    assert np.array_equal(cr1, cr0) and np.array_equal(sb1, sb0)
    # the twin keeps exactly the snowball deposits: the full list minus 5 per hit
    # (centre + 4 neighbours, fewer at the edge)
    assert dep0["electrons"].size < dep1["electrons"].size
    assert np.isclose(dep0["electrons"].sum(),
                      dep1["electrons"].sum() - _cr_electrons_inside(cr1, (64, 64)))


def _cr_electrons_inside(cr, shape):
    ny, nx = shape
    total = cr["center_electrons"].sum()
    side = (cr["electrons"] - cr["center_electrons"]) / 4
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        yy, xx = cr["y"] + dy, cr["x"] + dx
        total += side[(yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)].sum()
    return total


def test_simulate_ramp_default_deposits():
    kw = dict(ngroups=4, tframe=10.0, readnoise_dn=5.0, nframes=2, cr_rate=200.0,
              snowball_rate=0.0, rng=3, reference_border=False)
    rate = np.full((48, 40), 3.0, np.float32)
    default = simulate_ramp(rate, **kw)
    explicit = simulate_ramp(rate, deposit_cosmic_rays=True, **kw)
    twin = simulate_ramp(rate, deposit_cosmic_rays=False, **kw)
    assert np.array_equal(default.data, explicit.data)
    assert np.array_equal(default.truth.cosmic_rays, twin.truth.cosmic_rays)
    cr = default.truth.cosmic_rays
    assert len(cr) > 5
    # at each hit's centre the last group holds its centre charge / gain (2 e-/DN)
    d = default.data[0, -1].astype(float) - twin.data[0, -1].astype(float)
    expect = np.zeros_like(d)
    # (a hit during the last group's 2 averaged frames counts in part; 8 frame intervals)
    part = np.clip((8 - cr["frame"]) / 2.0, 0.0, 1.0)
    np.add.at(expect, (cr["y"], cr["x"]), part * cr["center_electrons"] / 2.0)
    # (rounding: ±1 DN; a neighbouring hit's side deposit only adds)
    hit = expect > 0
    assert np.all(d[hit] >= expect[hit] - 1.0)
    near = np.zeros(d.shape, int)
    for dy, dx in ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)):
        np.add.at(near, (np.clip(cr["y"] + dy, 0, 47), np.clip(cr["x"] + dx, 0, 39)), 1)
    alone = np.zeros(d.shape, bool)
    alone[cr["y"], cr["x"]] = near[cr["y"], cr["x"]] == 1
    assert alone.sum() > 3
    assert np.all(np.abs(d[alone] - expect[alone]) <= 1.0)
    assert np.array_equal(d[~(near > 0)], np.zeros((~(near > 0)).sum()))
