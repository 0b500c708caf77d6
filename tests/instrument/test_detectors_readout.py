"""Detectors, readout patterns, frame times and the subarray table."""

import re
import xml.etree.ElementTree as ET
from importlib import resources

import pytest

from webbcal.errors import WebbcalError
from webbcal.instrument import (DETECTORS, READOUT_PATTERNS, frame_time, normalize_detector,
                                siaf_aperture, subarray, subarray_names)


def test_ten_detectors_with_modules_channels_and_sca_ids():
    assert list(DETECTORS) == ["NRCA1", "NRCA2", "NRCA3", "NRCA4", "NRCALONG",
                               "NRCB1", "NRCB2", "NRCB3", "NRCB4", "NRCBLONG"]
    assert [d.sca_id for d in DETECTORS.values()] == list(range(481, 491))
    assert {d.name for d in DETECTORS.values() if d.channel == "LONG"} == {"NRCALONG",
                                                                          "NRCBLONG"}
    assert all(d.module == d.name[3] for d in DETECTORS.values())
    assert DETECTORS["NRCALONG"].siaf_name == "NRCA5"
    for d in DETECTORS.values():
        assert 1.8 <= d.gain_e_per_dn <= 2.2
        assert 3 < d.readnoise_dn < 10
        assert 0 < d.dark_e_per_s < 0.1


def test_pixel_scales_match_siaf():
    for d in DETECTORS.values():
        ap = siaf_aperture(d.name)
        assert d.pixel_scale_arcsec == pytest.approx(
            (ap.x_sci_scale * ap.y_sci_scale) ** 0.5, abs=1e-6)
    assert DETECTORS["NRCA1"].pixel_scale_arcsec == pytest.approx(0.0312, abs=2e-4)
    assert DETECTORS["NRCBLONG"].pixel_scale_arcsec == pytest.approx(0.0630, abs=2e-4)


@pytest.mark.parametrize("alias, name", [("nrca5", "NRCALONG"), ("NRCB5", "NRCBLONG"),
                                         ("a1", "NRCA1"), ("NRCB4", "NRCB4")])
def test_detector_aliases(alias, name):
    assert normalize_detector(alias) == name


def test_unknown_detector_names_the_choices():
    with pytest.raises(WebbcalError, match="NRCX9.*|expected one of"):
        normalize_detector("NRCX9")


def _pattern_rows(path):
    rows = {}
    for line in path.read_text().splitlines()[1:]:
        name, nframe, nskip, maxgroups = line.split()
        rows[name] = (int(nframe), int(nskip), int(maxgroups))
    return rows


def test_readout_patterns_match_shipped_and_official_lists(realdata):
    shipped = resources.files("webbcal.instrument") / "data" / \
        "nircam_read_pattern_definitions.list"
    for path in (shipped, realdata / "throughput" / "nircam_read_pattern_definitions.list"):
        rows = _pattern_rows(path)
        assert set(rows) == set(READOUT_PATTERNS)
        for name, p in READOUT_PATTERNS.items():
            assert (p.nframes, p.groupgap, p.max_groups) == rows[name]
    medium8 = READOUT_PATTERNS["MEDIUM8"]
    assert (medium8.nframes, medium8.groupgap) == (8, 2)
    assert medium8.group_time(10.73677) == pytest.approx(107.3677)


def test_full_frame_time():
    assert frame_time(2048, 2048) == 10.73677
    assert frame_time(2048, 2048, 1) == 42.23


def test_frame_time_reproduces_every_value_of_the_official_table(realdata):
    root = ET.parse(realdata / "crds_specs" / "NIRCam_Subarrays.xml").getroot()
    checked = 0
    for entry in root.iter("Subarray"):
        rows, cols = int(entry.findtext("Rows")), int(entry.findtext("Columns"))
        for ft in entry.iter("FrameTime"):
            namps = int(ft.findtext("NumOutputs"))
            assert frame_time(rows, cols, namps) == pytest.approx(
                float(ft.findtext("FrameReadTime")), abs=5e-6), entry.findtext("SubarrayName")
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("name, det, expected", [
    ("FULL", "NRCA1", (1, 1, 2048, 2048, 4, 10.73677)),
    ("SUB160", "NRCB5", (905, 941, 160, 160, 1, 0.27864)),
    ("SUB160", "NRCA1", (1889, 1889, 160, 160, 1, 0.27864)),
    ("SUB64P", "NRCB1", (1985, 1985, 64, 64, 1, 0.05016)),
    ("SUB400P", "NRCA3", (1649, 1, 400, 400, 1, 1.65624)),
    ("SUBGRISM256", "NRCALONG", (1, 1, 2048, 256, 4, 1.34669)),
])
def test_subarray_table_values(name, det, expected):
    sub = subarray(name, det)
    assert (sub.xstart, sub.ystart, sub.xsize, sub.ysize, sub.namps) == expected[:5]
    assert sub.frame_time == pytest.approx(expected[5], abs=1e-8)
    rows, cols = sub.slices
    assert (rows.stop - rows.start, cols.stop - cols.start) == (sub.ysize, sub.xsize)


def test_subarray_works_from_shipped_copy_and_errors_are_specific():
    assert "SUB640" in subarray_names() and len(subarray_names()) == 49
    assert subarray("SUBGRISM256", "NRCA5", namps=1).frame_time == pytest.approx(5.3148)
    with pytest.raises(WebbcalError, match="SubarrayName.*SUBNOPE"):
        subarray("SUBNOPE", "NRCA1")
    with pytest.raises(WebbcalError, match=re.escape("SUB64P has no corner for detector NRCA1")):
        subarray("SUB64P", "NRCA1")
    with pytest.raises(WebbcalError, match="namps"):
        frame_time(2048, 2048, 2)


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, webbcal.instrument as wi; wi.DETECTORS; wi.frame_time(160, 160, 1); "
            "bad = [m for m in ('numba', 'astropy', 'pysiaf') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
