"""The pieces of `run all` that need no pipeline: inputs, grouping, naming, step routing,
adopting a given association, and the image3 skip check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from webbcal.commands import _runall as R
from webbcal.datamodels import Association, read_association
from webbcal.errors import WebbcalError
from webbcal.parallel import expected_products, is_complete


def test_product_names_follow_the_official_pattern():
    assert R.product_name("01345", "001", "F200W") == "jw01345-o001_t001_nircam_clear-f200w"
    assert R.product_name("01345", "12", "F444W", "F470N") == \
        "jw01345-o012_t001_nircam_f444w-f470n"
    assert R.product_name("02736", None, "F090W") == "jw02736-c1000_t001_nircam_clear-f090w"


def test_group_by_filter_splits_filters_and_sorts():
    h = {Path("b_nrcb1_cal.fits"): {"PROGRAM": "01345", "OBSERVTN": "001", "FILTER": "F200W",
                                    "PUPIL": "CLEAR"},
         Path("a_nrcalong_cal.fits"): {"PROGRAM": "01345", "OBSERVTN": "001",
                                       "FILTER": "F444W", "PUPIL": "CLEAR"},
         Path("a_nrca1_cal.fits"): {"PROGRAM": "01345", "OBSERVTN": "001", "FILTER": "F200W",
                                    "PUPIL": "CLEAR"},
         Path("c_nrca1_cal.fits"): {"PROGRAM": "01345", "OBSERVTN": "002", "FILTER": "F444W",
                                    "PUPIL": "CLEAR"}}
    groups = R.group_by_filter(h)
    assert groups == {
        "jw01345-o001_t001_nircam_clear-f200w": [Path("a_nrca1_cal.fits"),
                                                 Path("b_nrcb1_cal.fits")],
        # two observations in one filter: candidate id instead of an observation number
        "jw01345-c1000_t001_nircam_clear-f444w": [Path("a_nrcalong_cal.fits"),
                                                  Path("c_nrca1_cal.fits")]}
    with pytest.raises(WebbcalError, match="no FILTER"):
        R.group_by_filter({Path("x_cal.fits"): {"PROGRAM": "1"}})


def _fake_cal(path: Path, filt: str) -> Path:
    h = fits.Header({"TELESCOP": "JWST", "PROGRAM": "01345", "OBSERVTN": "001",
                     "FILTER": filt, "PUPIL": "CLEAR"})
    fits.HDUList([fits.PrimaryHDU(header=h), fits.ImageHDU(np.zeros((2, 2), np.float32),
                                                           name="SCI")]).writeto(path)
    return path


def test_write_filter_associations_official_layout(tmp_path):
    cal_dir, asn_dir = tmp_path / "image2", tmp_path / "image3"
    cal_dir.mkdir()
    cals = [_fake_cal(cal_dir / f"jw01345001001_02201_0000{k}_{d}_cal.fits", f)
            for k in (1, 2) for d, f in (("nrca1", "F200W"), ("nrcalong", "F444W"))]
    paths = R.write_filter_associations(cals, asn_dir)
    assert [p.name for p in paths] == ["jw01345-o001_t001_nircam_clear-f200w_asn.json",
                                      "jw01345-o001_t001_nircam_clear-f444w_asn.json"]
    raw = json.loads(paths[0].read_text())
    for key in ("asn_type", "asn_rule", "asn_id", "asn_pool", "program", "products"):
        assert key in raw
    assert raw["products"][0]["members"][0] == {
        "expname": "../image2/jw01345001001_02201_00001_nrca1_cal.fits", "exptype": "science",
        "exposerr": None, "asn_candidate": "[('o001', 'observation')]"}
    asn = read_association(paths[0])
    assert [p.resolve() for p in asn.science_members()] == [cals[0].resolve(), cals[2].resolve()]
    # a second call with the same members leaves the files alone
    stamp = paths[0].stat().st_mtime_ns
    R.write_filter_associations(cals, asn_dir)
    assert paths[0].stat().st_mtime_ns == stamp


def test_adopt_association_points_members_at_our_cal_files(tmp_path):
    ours = tmp_path / "out" / "image2" / "jw01_nrca1_cal.fits"
    ours.parent.mkdir(parents=True)
    ours.write_bytes(b"x")
    elsewhere = tmp_path / "given" / "jw02_nrca1_cal.fits"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    src = tmp_path / "given" / "my_asn.json"
    Association.from_members("jw99-o001_t001_nircam_clear-f200w",
                             [Path("jw01_nrca1_cal.fits"), Path("jw02_nrca1_cal.fits")]).write(src)
    (dest,) = R.adopt_associations([src], {"jw01_nrca1": ours}, tmp_path / "out" / "image3")
    members = read_association(dest).science_members()
    assert [m.resolve() for m in members] == [ours.resolve(), elsewhere.resolve()]
    # a member that is neither an input nor on disk is named in the error
    Association.from_members("p", [Path("jw03_nrca1_cal.fits")]).write(src)
    with pytest.raises(WebbcalError, match="jw03_nrca1_cal.fits"):
        R.check_association_members([src], [Path("jw01_nrca1_uncal.fits")])


def test_split_step_values_routes_steps_to_their_stage():
    out = R.split_step_values({"jump": {"rejection_threshold": 5}, "photom": {"skip": True},
                               "tweakreg": {"skip": True}})
    assert out["detector1"] == {"jump": {"rejection_threshold": 5}}
    assert out["image2"] == {"photom": {"skip": True}}
    assert out["image3"] == {"tweakreg": {"skip": True}}
    with pytest.raises(WebbcalError, match="no stage has a step 'jmup'"):
        R.split_step_values({"jmup": {}})


def test_find_inputs(tmp_path):
    (tmp_path / "a_uncal.fits").write_bytes(b"")
    (tmp_path / "b_uncal.fits").write_bytes(b"")
    (tmp_path / "c_rate.fits").write_bytes(b"")
    assert [p.name for p in R.find_inputs([tmp_path])] == ["a_uncal.fits", "b_uncal.fits"]
    with pytest.raises(WebbcalError, match="no such file"):
        R.find_inputs([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(WebbcalError, match="no \\*_uncal.fits"):
        R.find_inputs([tmp_path / "empty"])


def test_image3_skip_check_uses_the_product_name(tmp_path):
    """The i2d of an association is ``<products[].name>_i2d.fits``; a truncated one (a
    writer killed mid-write) does not count as complete."""
    asn = tmp_path / "whatever_image3_asn.json"
    Association.from_members("jw01345-o001_t001_nircam_clear-f200w", []).write(asn)
    (wanted,) = expected_products("image3", asn, None)
    assert wanted == tmp_path / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((40, 40), np.float32),
                                                   name="SCI")]).writeto(wanted)
    assert is_complete(wanted)
    wanted.write_bytes(wanted.read_bytes()[:-2880])
    assert not is_complete(wanted)
    assert not is_complete(tmp_path / "absent_cat.ecsv")


def test_choose_abs_refcat_precedence(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    uncal = [raw / "a_uncal.fits"]
    # nothing beside the inputs: relative alignment only
    assert R.choose_abs_refcat(None, uncal, {})[0] is None
    (raw / R.REFCAT_NAME).write_text("# ra dec\n")
    path, why = R.choose_abs_refcat(None, uncal, {})
    assert path == raw / R.REFCAT_NAME and "beside the inputs" in why
    # the configuration's tweakreg.abs_refcat wins over the automatic choice
    assert R.choose_abs_refcat(None, uncal, {"tweakreg": {"abs_refcat": "x.ecsv"}})[0] is None
    # --abs-refcat FILE wins over both; 'none' turns it off
    other = tmp_path / "gaia.ecsv"
    other.write_text("# ra dec\n")
    assert R.choose_abs_refcat(str(other), uncal, {"tweakreg": {"abs_refcat": "x"}})[0] == other
    assert R.choose_abs_refcat("none", uncal, {})[0] is None
    with pytest.raises(WebbcalError, match="missing.ecsv"):
        R.choose_abs_refcat(str(tmp_path / "missing.ecsv"), uncal, {})
