"""Filters: pivot wavelengths, zero points, PHOTMJSR."""

import numpy as np
import pytest

from webbcal.errors import WebbcalError
from webbcal.instrument import DETECTORS, FILTERS, filter_info


def test_values_come_from_the_zero_point_list(realdata):
    line = next(ln for ln in (realdata / "throughput" / "NIRCam_zeropoints.list")
                .read_text().splitlines() if ln.startswith("F200W CLEAR A NRCA1 "))
    vega, ab, st, flam, fnu, pivot = map(float, line.split()[4:])
    info = filter_info("F200W", detector="NRCA1")
    assert (info.vegamag_zp, info.abmag_zp, info.stmag_zp) == (vega, ab, st)
    assert (info.photflam, info.photfnu, info.pivot_um) == (flam, fnu, pivot)


def test_photmjsr_by_hand():
    info = filter_info("F200W", "CLEAR", "NRCA1")
    scale = DETECTORS["NRCA1"].pixel_scale_arcsec
    pixar = scale ** 2 * (np.pi / 180 / 3600) ** 2
    assert info.pixar_sr == pytest.approx(pixar, rel=1e-12)
    # 1 DN/s ↔ PHOTFNU erg/s/cm²/Hz = PHOTFNU·1e23 Jy; per pixel solid angle, in MJy/sr
    assert info.photmjsr == pytest.approx(info.photfnu * 1e23 / 1e6 / pixar, rel=1e-12)
    assert info.photmjsr == pytest.approx(1.886, abs=0.01)
    # AB zero point is consistent with PHOTFNU: m = -2.5 log10(fnu) - 48.6
    assert info.abmag_zp == pytest.approx(-2.5 * np.log10(info.photfnu) - 48.6, abs=1e-3)
    assert info.photujy == pytest.approx(3631e6 * 10 ** (-info.abmag_zp / 2.5), rel=1e-3)


def test_detector_average_and_long_wave():
    lw = filter_info("F444W")
    a, b = filter_info("F444W", detector="NRCALONG"), filter_info("F444W", detector="NRCB5")
    assert lw.detector is None and lw.pivot_um == pytest.approx(4.401, abs=0.01)
    assert lw.photfnu == pytest.approx((a.photfnu + b.photfnu) / 2)
    assert min(a.photmjsr, b.photmjsr) <= lw.photmjsr <= max(a.photmjsr, b.photmjsr)
    assert FILTERS["F444W"] == lw and ("F150W2", "F162M") in FILTERS
    assert filter_info("f150w2", "f162m").pivot_um == pytest.approx(1.627, abs=0.01)
    assert len(FILTERS) == 49


def test_unknown_combination_lists_the_known_ones():
    with pytest.raises(WebbcalError, match="F200W/CLEAR.*found F999W/CLEAR"):
        filter_info("F999W")
    with pytest.raises(WebbcalError, match="for NRCA1"):
        filter_info("F444W", detector="NRCA1")
