"""Level-3 associations: the official layout, read/write, members, errors."""

import json

import pytest

from webbcal.datamodels import Association, FormatError, read, read_association


def test_read_official_example(realdata):
    asn = read_association(realdata / "asn" / "test_image_asn.json")
    assert (asn.asn_type, asn.asn_id, asn.asn_rule) == ("image", "o009", "discover_Asn_Image")
    assert asn.program == "99009" and asn.asn_pool == "mega_pool"
    assert asn.product_name() == "jw99009-a3001_t001_nircam_f090w"
    members = asn.science_members()
    assert len(members) == 72
    assert members[0] == realdata / "asn" / "jw_00001_cal.fits"
    assert "constraints" in asn.extra and "degraded_status" in asn.extra


def test_round_trip_keeps_everything(realdata, tmp_path):
    src = realdata / "asn" / "test_image_asn.json"
    asn = read_association(src)
    asn.write(tmp_path / "copy_asn.json")
    assert json.loads((tmp_path / "copy_asn.json").read_text()) == json.loads(src.read_text())


def test_from_members(tmp_path):
    cal = [tmp_path / "data" / f"jw01_0000{i}_nrca1_cal.fits" for i in (1, 2)]
    asn = Association.from_members("jw01-a3001_t001_nircam_clear-f200w", cal,
                                   asn_id="a3001", relative_to=tmp_path)
    asn.write(tmp_path / "l3_asn.json")
    d = json.loads((tmp_path / "l3_asn.json").read_text())
    for key in ("asn_type", "asn_rule", "asn_id", "asn_pool", "program", "target",
                "version_id", "products"):
        assert key in d
    assert d["asn_type"] == "image3" and d["asn_id"] == "a3001"
    assert d["products"][0]["members"][1] == {
        "expname": "data/jw01_00002_nrca1_cal.fits", "exptype": "science",
        "exposerr": None, "asn_candidate": "[('a3001', 'observation')]"}
    back = read(tmp_path / "l3_asn.json")
    assert back.science_members() == cal


def test_science_members_filters_exptype(tmp_path):
    asn = Association.from_members("p", ["a_cal.fits", "b_cal.fits"])
    asn.products[0]["members"][1]["exptype"] = "background"
    asn.write(tmp_path / "x_asn.json")
    assert read_association(tmp_path / "x_asn.json").science_members() == [
        tmp_path / "a_cal.fits"]


@pytest.mark.parametrize("text, where", [
    ("{not json", "JSON"),
    ("[1, 2]", "JSON top level"),
    ('{"asn_type": "image3", "products": []}', "key 'asn_id'"),
    ('{"asn_type": "image3", "asn_id": "a1", "products": []}', "key 'products'"),
    ('{"asn_type": "image3", "asn_id": "a1", "products": [{"name": "p"}]}', "products[0]"),
    ('{"asn_type": "i", "asn_id": "a", "products": [{"name": "p", "members": [{}]}]}',
     "products[0].members[0]"),
])
def test_bad_associations(tmp_path, text, where):
    path = tmp_path / "bad_asn.json"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        read_association(path)
    assert err.value.where == where and "bad_asn.json" in str(err.value)
