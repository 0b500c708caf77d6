"""ExposureInfo: real flight headers parse; to_headers/from_headers round-trip."""

import math

import pytest
from astropy.io import fits

from webbcal.datamodels import ExposureInfo, FormatError, Pointing

FLIGHT = "flight_headers/jw01075001001_03105_00009_{}_uncal.fits"


@pytest.mark.parametrize("det", ["nrca2", "nrca3", "nrca4"])
def test_flight_headers_parse(realdata, det):
    with fits.open(realdata / FLIGHT.format(det)) as hdul:
        e = ExposureInfo.from_headers(hdul[0].header, hdul["SCI"].header)
    assert e.instrument == "NIRCAM" and e.detector == det.upper()
    assert (e.module, e.channel) == ("A", "SHORT")
    assert (e.filter, e.pupil, e.exp_type) == ("F210M", "MASKRND", "NRC_CORON")
    assert (e.readpatt, e.nframes, e.groupgap, e.ngroups, e.nints) == ("RAPID", 1, 0, 10, 1)
    assert e.tframe == pytest.approx(10.73677) and e.tgroup == pytest.approx(10.73677)
    assert (e.subarray, e.substrt1, e.substrt2, e.subsize1, e.subsize2) == ("FULL", 1, 1,
                                                                         2048, 2048)
    assert e.date_obs == "2022-05-14" and e.zeroframe is False and e.noutputs == 4
    # the flight header's own EFFINTTM is what our timing model gives for RAPID
    assert e.effinttm == pytest.approx(107.3677)


def test_flight_pointing_values(realdata):
    with fits.open(realdata / FLIGHT.format("nrca2")) as hdul:
        e = ExposureInfo.from_headers(hdul[0].header, hdul["SCI"].header)
    p = e.pointing
    assert p.ra_ref == pytest.approx(245.981865309727)
    assert p.dec_ref == pytest.approx(28.38410372178712)
    assert p.roll_ref == pytest.approx(198.1509949487168)
    assert (p.v2_ref, p.v3_ref) == pytest.approx((127.341286, -405.197041))
    assert p.v3i_yang == pytest.approx(0.03188519) and p.vparity == -1
    assert p.va_scale == pytest.approx(1.00000399112588)
    assert (e.fastaxis, e.slowaxis) == (1, -2)
    assert e.expstart == pytest.approx(59713.76077019132)


def test_flight_nrca3_axes(realdata):
    with fits.open(realdata / FLIGHT.format("nrca3")) as hdul:
        e = ExposureInfo.from_headers(hdul[0].header, hdul["SCI"].header)
    assert (e.fastaxis, e.slowaxis) == (-1, 2)
    assert e.pointing.v2_ref == pytest.approx(50.232913)


def test_round_trip(exposure):
    primary, sci = exposure.to_headers()
    assert "RA_REF" in sci and "RA_REF" not in primary  # MAST placement
    assert primary["TELESCOP"] == "JWST" and primary["NGROUPS"] == 3
    assert ExposureInfo.from_headers(primary, sci) == exposure


def test_to_headers_timing_keywords(exposure):
    primary, _ = exposure.to_headers()
    per_int = 3 * 8 + 2 * 2  # ngroups*nframes + (ngroups-1)*groupgap frames
    assert primary["EFFINTTM"] == pytest.approx(per_int * 0.5)
    assert primary["EFFEXPTM"] == pytest.approx(2 * per_int * 0.5)
    assert primary["DURATION"] == pytest.approx((2 * per_int + 1) * 0.5)
    assert primary["EXPSTART"] < primary["EXPMID"] < primary["EXPEND"]
    assert (primary["EXPEND"] - primary["EXPSTART"]) * 86400 == pytest.approx(
        (2 * per_int + 2) * 0.5, abs=1e-3)
    for key in ("SUBSTRT1", "SUBSIZE2", "FASTAXIS", "DRPFRMS1", "FRMDIVSR", "ZEROFRAM",
                "DATE-OBS", "TIME-OBS", "READPATT", "EXP_TYPE", "PUPIL", "MODULE"):
        assert key in primary


def test_pointing_tolerated_in_primary(exposure):
    primary, sci = exposure.to_headers()
    primary.update(sci)  # all keywords in one header
    assert ExposureInfo.from_headers(primary).pointing == exposure.pointing


def test_no_pointing_is_none(exposure):
    primary, _ = exposure.to_headers()
    e = ExposureInfo.from_headers(primary)
    assert e.pointing is None and e.replace(pointing=exposure.pointing) == exposure


def test_missing_required_keyword(exposure):
    primary, sci = exposure.to_headers()
    del primary["NGROUPS"]
    with pytest.raises(FormatError) as err:
        ExposureInfo.from_headers(primary, sci, path="x_uncal.fits")
    assert err.value.where == "PRIMARY header keyword NGROUPS"
    assert "x_uncal.fits" in str(err.value) and "no such keyword" in str(err.value)


def test_bad_keyword_type(exposure):
    primary, sci = exposure.to_headers()
    primary["NINTS"] = "two"
    with pytest.raises(FormatError, match="NINTS.*'two'"):
        ExposureInfo.from_headers(primary, sci)


def test_incomplete_pointing(exposure):
    primary, sci = exposure.to_headers()
    del sci["V3I_YANG"]
    with pytest.raises(FormatError, match="V3I_YANG"):
        ExposureInfo.from_headers(primary, sci)


def test_defaults_and_derived():
    e = ExposureInfo.from_headers({
        "INSTRUME": "NIRCAM", "DETECTOR": "NRCBLONG", "NFRAMES": 1, "GROUPGAP": 0,
        "NGROUPS": 2, "NINTS": 1, "TFRAME": 10.73677, "TGROUP": 10.73677,
        "SUBSIZE1": 2048, "SUBSIZE2": 2048})
    assert (e.module, e.channel, e.subarray, e.substrt1) == ("B", "LONG", "FULL", 1)
    assert math.isnan(e.expstart) and e.shape == (2048, 2048)
    assert e.raw_shape == (1, 2, 2048, 2048)
    assert isinstance(Pointing(1, 2, 3, 4, 5, 6, 1).va_scale, float)
