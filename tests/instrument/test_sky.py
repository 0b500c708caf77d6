"""V2/V3 <-> sky: attitude convention, velocity aberration, agreement with jwst's gwcs."""

import numpy as np
import pytest

from webbcal.instrument import attitude_matrix, sky_to_v2v3, v2v3_to_sky

from .conftest import StandInPointing

P = StandInPointing(ra_ref=150.1, dec_ref=2.2, roll_ref=123.4, v2_ref=120.6, v3_ref=-527.5)


def _pa_deg(ra0, dec0, ra1, dec1):
    """Position angle (east of north) of point 1 seen from point 0."""
    ra0, dec0, ra1, dec1 = map(np.radians, (ra0, dec0, ra1, dec1))
    y = np.sin(ra1 - ra0) * np.cos(dec1)
    x = np.cos(dec0) * np.sin(dec1) - np.sin(dec0) * np.cos(dec1) * np.cos(ra1 - ra0)
    return np.degrees(np.arctan2(y, x)) % 360


def test_reference_point_lands_on_ra_dec_ref():
    ra, dec = v2v3_to_sky(P.v2_ref, P.v3_ref, P)
    assert float(ra) == pytest.approx(P.ra_ref, abs=1e-10)
    assert float(dec) == pytest.approx(P.dec_ref, abs=1e-10)


def test_roll_ref_is_the_position_angle_of_v3():
    ra, dec = v2v3_to_sky(P.v2_ref, P.v3_ref + 5.0, P)
    assert _pa_deg(P.ra_ref, P.dec_ref, ra, dec) == pytest.approx(P.roll_ref, abs=1e-3)
    # +V2 points 90° away from +V3 (V3PA + 90° for the JWST V-frame handedness)
    ra2, dec2 = v2v3_to_sky(P.v2_ref + 5.0, P.v3_ref, P)
    pa2 = _pa_deg(P.ra_ref, P.dec_ref, ra2, dec2)
    assert min(abs(pa2 - P.roll_ref) % 360, 360 - abs(pa2 - P.roll_ref) % 360) == \
        pytest.approx(90, abs=0.01)


def test_attitude_matrix_equals_astropy_rotation_sequence():
    from astropy.modeling.rotations import RotationSequence3D

    angles = [P.v2_ref / 3600, -P.v3_ref / 3600, P.roll_ref, P.dec_ref, -P.ra_ref]
    model = RotationSequence3D(angles, axes_order="zyxyz")
    vec = np.array([[0.3, -0.2, 0.9], [0.99, 0.01, 0.02]]).T
    vec /= np.linalg.norm(vec, axis=0)
    expect = np.array(model(*vec))
    assert np.allclose(attitude_matrix(P) @ vec, expect, atol=1e-14)
    assert np.allclose(attitude_matrix(P) @ attitude_matrix(P).T, np.eye(3), atol=1e-14)


def test_round_trip_and_velocity_aberration_scale():
    v2 = P.v2_ref + np.array([-60.0, 0.0, 30.0, 65.0])
    v3 = P.v3_ref + np.array([40.0, 0.0, -65.0, 10.0])
    scaled = StandInPointing(**{**P.__dict__, "va_scale": 1.0001})
    for p in (P, scaled):
        ra, dec = v2v3_to_sky(v2, v3, p)
        b2, b3 = sky_to_v2v3(ra, dec, p)
        assert np.abs(b2 - v2).max() < 1e-8 and np.abs(b3 - v3).max() < 1e-8
    # VA_SCALE stretches the field about the reference point
    ra0, dec0 = v2v3_to_sky(v2, v3, P)
    ra1, dec1 = v2v3_to_sky(v2, v3, scaled)
    d0 = np.hypot((ra0 - P.ra_ref) * np.cos(np.radians(P.dec_ref)), dec0 - P.dec_ref)
    d1 = np.hypot((ra1 - P.ra_ref) * np.cos(np.radians(P.dec_ref)), dec1 - P.dec_ref)
    assert np.allclose(d1[d0 > 0] / d0[d0 > 0], 1.0001, rtol=2e-6)


def test_large_arrays_match_numpy_path():
    rng = np.random.default_rng(1)
    v2 = P.v2_ref + rng.uniform(-100, 100, 70000)
    v3 = P.v3_ref + rng.uniform(-100, 100, 70000)
    ra, dec = v2v3_to_sky(v2, v3, P)                    # numba path
    ra_s, dec_s = v2v3_to_sky(v2[:500], v3[:500], P)    # numpy path
    assert np.abs(ra[:500] - ra_s).max() * 3.6e6 < 1e-3   # < 1 µas
    assert np.abs(dec[:500] - dec_s).max() * 3.6e6 < 1e-3
    b2, b3 = sky_to_v2v3(ra, dec, P)
    assert np.abs(b2 - v2).max() < 1e-7 and np.abs(b3 - v3).max() < 1e-7


def test_matches_flight_gwcs_v2v3corr_to_world(flight_nrcb5):
    wcs, info, pointing = flight_nrcb5
    nova = StandInPointing(**{**pointing.__dict__, "va_scale": 1.0})
    v2 = np.linspace(-150, -30, 9)
    v3 = np.linspace(-550, -430, 9)
    ra_f, dec_f = wcs.get_transform("v2v3corr", "world")(v2, v3)
    ra, dec = v2v3_to_sky(v2, v3, nova)
    assert np.abs((ra - ra_f) * np.cos(np.radians(dec_f))).max() * 3.6e6 < 0.01  # mas
    assert np.abs(dec - dec_f).max() * 3.6e6 < 0.01
