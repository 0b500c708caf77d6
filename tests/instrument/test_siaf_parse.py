"""The SIAF XML scan (``siaf._fast_entries``) gives ElementTree's dictionary."""

import pytest

from webbcal.errors import WebbcalError
from webbcal.instrument import siaf


def _entry(name, extra=""):
    return (f"  <SiafEntry>\n    <InstrName>NIRCAM</InstrName>\n    <AperName>{name}</AperName>\n"
            f"    <V2Ref>  12.5 </V2Ref>\n    <Empty/>\n    <Blank></Blank>\n{extra}"
            f"  </SiafEntry>\n")


def _xml(tmp_path, names, extra=""):
    body = "".join(_entry(n, extra if n == "NRCA1_FULL" else "") for n in names)
    path = tmp_path / "NIRCam_SIAF.xml"
    path.write_text(f"<SiafEntries>\n  <!--comment-->\n{_entry('NRCA1_SUB64P')}{body}"
                    "</SiafEntries>\n")
    return str(path)


def test_scan_equals_elementtree_on_pysiaf_file():
    path = str(siaf.siaf_xml_path())
    with open(path, "rb") as f:
        fast = siaf._fast_entries(f.read())
    assert fast is not None  # the real file takes the fast route
    slow = siaf._load_entries_xml(path)
    assert fast == slow
    assert list(fast) == list(slow) and list(fast["NRCB5_FULL"]) == list(slow["NRCB5_FULL"])
    assert fast["NRCA1_FULL"]["AperName"] == "NRCA1_FULL"
    assert len(fast["NRCA1_FULL"]) > 40  # every field of the entry, not just a few


def test_scan_on_small_file_and_fallbacks(tmp_path):
    names = sorted(siaf._WANTED)
    path = _xml(tmp_path, names)
    fast = siaf._fast_entries(open(path, "rb").read())
    assert fast == siaf._load_entries_xml(path)
    assert fast["NRCB2_FULL"] == {"InstrName": "NIRCAM", "AperName": "NRCB2_FULL",
                                  "V2Ref": "12.5", "Empty": "", "Blank": ""}
    # an entity, a nested element: the scan declines, ElementTree decides
    for extra in ("    <Comment>a &amp; b</Comment>\n", "    <X><Y>1</Y></X>\n",
                  "    <!-- note -->\n", '    <Z unit="deg">3</Z>\n'):
        p = _xml(tmp_path, names, extra)
        assert siaf._fast_entries(open(p, "rb").read()) is None
        siaf._load_entries.cache_clear()
        assert siaf._load_entries(p) == siaf._load_entries_xml(p)
    assert siaf._load_entries_xml(_xml(tmp_path, names, "    <C>a &amp; b</C>\n"))[
        "NRCA1_FULL"]["C"] == "a & b"


def test_missing_entries_and_bad_files_name_the_problem(tmp_path):
    siaf._load_entries.cache_clear()
    path = _xml(tmp_path, sorted(siaf._WANTED - {"NRCB4_FULL"}))
    with pytest.raises(WebbcalError, match=r"missing \['NRCB4_FULL'\]"):
        siaf._load_entries(path)
    with pytest.raises(WebbcalError, match="expected a readable SIAF XML file"):
        siaf._load_entries(str(tmp_path / "nope.xml"))
    bad = tmp_path / "bad.xml"
    bad.write_text("<SiafEntries><SiafEntry>")
    with pytest.raises(WebbcalError, match="expected a readable SIAF XML file"):
        siaf._load_entries(str(bad))
    siaf._load_entries.cache_clear()
