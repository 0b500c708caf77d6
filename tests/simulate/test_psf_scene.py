"""PSF and scene rendering: normalisation, centring, diffraction scaling."""

import numpy as np
import pytest

from webbcal.simulate.psf import psf_model


def _fwhm_pix(stamp):
    c = stamp.shape[0] // 2
    row = stamp[c]
    half = row.max() / 2
    above = np.flatnonzero(row >= half)
    return above[-1] - above[0] + 1


def test_psf_unit_sum_and_centroid():
    p = psf_model("F200W", 0.0312, 1.99)
    r = p.radius
    k = np.arange(-r, r + 1)
    for dx, dy in ((0.0, 0.0), (0.3, -0.2), (-0.45, 0.25)):
        s = p.stamp(dx, dy)
        assert s.sum() == pytest.approx(1.0, abs=2e-3)
        core = np.s_[r - 6:r + 7, r - 6:r + 7]
        cx = (s[core] * k[None, r - 6:r + 7]).sum() / s[core].sum()
        cy = (s[core] * k[r - 6:r + 7, None]).sum() / s[core].sum()
        assert cx == pytest.approx(dx, abs=0.03) and cy == pytest.approx(dy, abs=0.03)


def test_psf_scales_with_wavelength():
    # same angular pixel: the 4.4 µm core is ~2.2x wider than the 2 µm core
    a = psf_model("F200W", 0.0312, 2.0, radius_pix=30).stamp(0, 0)
    b = psf_model("F444W", 0.0312, 4.4, radius_pix=30).stamp(0, 0)
    assert a.max() / b.max() == pytest.approx(2.2 ** 2, rel=0.35)
    assert _fwhm_pix(b) > _fwhm_pix(a)


def test_scene_render_conserves_flux():
    from webbcal.datamodels import Pointing
    from webbcal.instrument import DetectorGeometry, siaf_aperture
    from webbcal.simulate.scene import SOURCE_DTYPE, Scene, render_rate

    ap = siaf_aperture("NRCA1")
    pt = Pointing(10.0, 20.0, 0.0, ap.v2_ref, ap.v3_ref, ap.v3_idl_yang, ap.vidl_parity)
    g = DetectorGeometry("NRCA1", pt, substrt=(900, 900), shape=(200, 200))
    ra, dec = g.pixel_to_sky(np.array([60.3, 140.7]), np.array([80.2, 120.9]))
    src = np.zeros(2, SOURCE_DTYPE)
    src["ra"], src["dec"], src["kind"] = ra, dec, ["star", "galaxy"]
    src["n"], src["r_eff"], src["q"], src["pa"] = 1.0, 0.2, 0.6, 30.0
    scene = Scene(sources=src, flux={"F200W": np.array([2.0, 3.0])}, sky={"F200W": 0.0})
    p = psf_model("F200W", 0.0312, 1.99)
    ones = np.ones((200, 200), np.float32)
    rate, x, y = render_rate(scene, "F200W", g, p, photmjsr=2.0, pixar_sr=2.3e-14, qe=ones,
                             area=ones)
    np.testing.assert_allclose(x, [60.3, 140.7], atol=1e-3)
    total = 5.0 * 1e-12 / (2.0 * 2.3e-14)
    assert rate.sum() == pytest.approx(total, rel=0.01)
