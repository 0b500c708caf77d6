"""`webbcal info FILE` through the real command-line entry point."""

import numpy as np
import pytest

from webbcal.cli import main
from webbcal.datamodels import ExposureInfo, ImageModel, RampModel, make_group_table


@pytest.fixture()
def exposure():
    return ExposureInfo(
        instrument="NIRCAM", detector="NRCA1", module="A", channel="SHORT",
        filter="F150W", pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="MEDIUM8",
        nframes=8, groupgap=2, ngroups=4, nints=1, tframe=1.0, tgroup=10.0,
        subarray="SUB64P", substrt1=1, substrt2=1, subsize1=8, subsize2=6)


def test_info_uncal(tmp_path, exposure, capsys):
    primary, sci = exposure.to_headers()
    RampModel(data=np.zeros(exposure.raw_shape, np.uint16), group=make_group_table(exposure),
              header=primary, sci_header=sci).write(tmp_path / "a_uncal.fits")
    assert main(["info", str(tmp_path / "a_uncal.fits")]) == 0
    out = capsys.readouterr().out
    assert "uncal (DATAMODL Level1bModel)" in out
    assert "NIRCAM NRCA1" in out and "filter F150W, pupil CLEAR" in out
    assert "MEDIUM8: ngroups 4, nints 1" in out
    assert "(1, 4, 6, 8)" in out and "uint16" in out
    assert "GROUP        table 4 rows" in out


def test_info_rate_steps_and_refs(tmp_path, exposure, capsys):
    primary, sci = exposure.to_headers()
    primary["S_DQINIT"] = "COMPLETE"
    primary["S_JUMP"] = "SKIPPED"
    primary["R_GAIN"] = "crds://jwst_nircam_gain_0097.fits"
    m = ImageModel(data=np.ones(exposure.shape, np.float32), header=primary, sci_header=sci)
    m.sci_header["BUNIT"] = "DN/s"
    m.write(tmp_path / "a_rate.fits")
    assert main(["info", str(tmp_path / "a_rate.fits")]) == 0
    out = capsys.readouterr().out
    assert "rate (DATAMODL ImageModel)" in out
    for ext in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE"):
        assert f" {ext} " in out
    assert "(6, 8)" in out and "[DN/s]" in out and "uint32" in out
    assert "S_DQINIT   COMPLETE" in out and "S_JUMP     SKIPPED" in out
    assert "R_GAIN     crds://jwst_nircam_gain_0097.fits" in out


def test_info_not_jwst(tmp_path, capsys):
    from astropy.io import fits

    fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2)))]).writeto(tmp_path / "other.fits")
    assert main(["info", str(tmp_path / "other.fits")]) == 2
    err = capsys.readouterr().err
    assert "other.fits" in err and "a JWST product" in err


def test_info_broken(tmp_path, capsys):
    (tmp_path / "broken_rate.fits").write_bytes(b"\x00" * 100)
    assert main(["info", str(tmp_path / "broken_rate.fits")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("webbcal info: error:") and "broken_rate.fits" in err


def test_info_association(realdata, capsys):
    assert main(["info", str(realdata / "asn" / "test_image_asn.json")]) == 0
    assert "72 members (72 science)" in capsys.readouterr().out
