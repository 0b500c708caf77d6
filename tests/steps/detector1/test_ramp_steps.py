"""detector1 per-pixel steps on an in-memory 2-group-per-amp toy exposure with
in-memory references: status keywords, parameters, and mismatch errors."""

import numpy as np
import pytest

from webbcal.datamodels import ExposureInfo, ImageModel, RampModel
from webbcal.datamodels.dqflags import DQ
from webbcal.errors import WebbcalError
from webbcal.references import (
    DarkRef, GainRef, LinearityRef, MaskRef, SaturationRef, SuperbiasRef, reference_header)
from webbcal.steps.detector1.dark_current import DarkCurrentStep
from webbcal.steps.detector1.dq_init import DqInitStep
from webbcal.steps.detector1.gain_scale import GainScaleStep
from webbcal.steps.detector1.linearity import LinearityStep
from webbcal.steps.detector1.refpix import RefpixStep
from webbcal.steps.detector1.saturation import SaturationStep
from webbcal.steps.detector1.superbias import SuperbiasStep

NY = NX = 64
NG, NF, GAP = 4, 2, 1


def _exposure(**kw):
    base = dict(instrument="NIRCAM", detector="NRCA1", module="A", channel="SHORT",
                filter="F200W", pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="BRIGHT2",
                nframes=NF, groupgap=GAP, ngroups=NG, nints=1, tframe=10.0, tgroup=30.0,
                subarray="SUB64", substrt1=1, substrt2=1, subsize1=NX, subsize2=NY,
                noutputs=1)
    base.update(kw)
    return ExposureInfo(**base)


def _model(exp=None, bias=10000.0, rate=50.0):
    exp = exp or _exposure()
    primary, sci = exp.to_headers()
    t = (np.arange(NG) + 1.0)[:, None, None]
    data = (bias + rate * t * np.ones((NY, NX)))[None].astype(np.uint16)
    return RampModel(data=data, header=primary, sci_header=sci, filename="toy_uncal.fits")


def _hdr(**kw):
    return reference_header(detector=kw.pop("detector", "NRCA1"), **kw)


def _refs(shape=(NY, NX), substrt=(1, 1)):
    ny, nx = shape
    mask = np.zeros(shape, np.uint32)
    mask[5, 5] = DQ.DEAD | DQ.DO_NOT_USE
    coeffs = np.zeros((3, ny, nx), np.float32)
    coeffs[1] = 1.0
    refs = {
        "mask": MaskRef(dq=mask, header=_hdr()),
        "saturation": SaturationRef(data=np.full(shape, 60000.0, np.float32),
                                    dq=np.zeros(shape, np.uint32), header=_hdr()),
        "superbias": SuperbiasRef(data=np.full(shape, 10000.0, np.float32), header=_hdr()),
        "linearity": LinearityRef(coeffs=coeffs, header=_hdr()),
        "dark": DarkRef(data=np.ones((20, ny, nx), np.float32), header=_hdr()),
    }
    for ref in refs.values():
        ref.header["SUBSTRT1"], ref.header["SUBSTRT2"] = substrt
        ref.header["SUBSIZE1"], ref.header["SUBSIZE2"] = nx, ny
    return refs


def test_chain_produces_expected_ramp_and_status():
    refs = _refs()
    model = _model()
    model = DqInitStep(references=refs).run(model)
    assert model.data.dtype == np.float32 and model.groupdq.shape == model.data.shape
    assert model.pixeldq[5, 5] == DQ.DEAD | DQ.DO_NOT_USE
    for step in (SaturationStep, SuperbiasStep, LinearityStep, DarkCurrentStep):
        model = step(references=refs).run(model)
    # 50 DN per group, bias removed, dark (1 DN per frame, averaged) removed
    expect = 50.0 * (np.arange(NG) + 1.0) - 1.0
    np.testing.assert_allclose(model.data[0, :, 10, 10], expect, atol=1e-4)
    for key in ("S_DQINIT", "S_SATURA", "S_SUPERB", "S_LINEAR", "S_DARK"):
        assert model.header[key] == "COMPLETE"
    # only the masked DO_NOT_USE pixel carries group flags (copied into every group)
    flagged = model.groupdq.any(axis=(0, 1))
    assert flagged[5, 5] and flagged.sum() == 1
    assert (model.groupdq[:, :, 5, 5] == DQ.DO_NOT_USE).all()


def test_refpix_skipped_without_reference_pixels_and_complete_with():
    exp = _exposure(substrt1=1000, substrt2=1000)
    model = DqInitStep(references=_refs(substrt=(1000, 1000))).run(_model(exp))
    before = model.data.copy()
    model = RefpixStep().run(model)
    assert model.header["S_REFPIX"] == "SKIPPED"
    np.testing.assert_array_equal(model.data, before)
    # corner subarray (SUBSTRT 1,1; one output): 4 reference rows and columns → corrected
    model = DqInitStep(references=_refs()).run(_model())
    model = RefpixStep(odd_even_columns=True).run(model)
    assert model.header["S_REFPIX"] == "COMPLETE"
    np.testing.assert_allclose(model.data[0, 0, 10, 10], 0.0, atol=1e-3)   # level = bias+50


def test_saturation_parameters_and_flags():
    model = DqInitStep(references=_refs()).run(_model())
    model.data[0, 2:, 30, 30] = 62000.0
    model = SaturationStep(references=_refs(), n_pix_grow_sat=2, use_readpatt="false").run(model)
    flagged = (model.groupdq[0, 2] & DQ.SATURATED) != 0
    assert flagged.sum() == 25 and flagged[28:33, 28:33].all()
    assert "n_pix_grow_sat=2" in str(model.header["HISTORY"])


def test_mismatched_references_raise_named_errors():
    refs = _refs(shape=(32, 32))
    refs["mask"].header["FILENAME"] = "jwst_nircam_mask_0001.fits"
    with pytest.raises(WebbcalError, match=r"jwst_nircam_mask_0001\.fits.*SUBSIZE"):
        DqInitStep(references=refs).run(_model())
    refs["mask"].header["SUBSIZE1"] = refs["mask"].header["SUBSIZE2"] = NX   # header lies
    with pytest.raises(WebbcalError, match=r"jwst_nircam_mask_0001\.fits.*DQ shape.*found \(32, 32\)"):
        DqInitStep(references=refs).run(_model())
    refs = _refs()
    refs["saturation"].header["DETECTOR"] = "NRCB2"
    refs["saturation"].header["FILENAME"] = "sat.fits"
    model = DqInitStep(references=refs).run(_model())
    with pytest.raises(WebbcalError, match=r"sat\.fits.*DETECTOR.*NRCA1.*NRCB2"):
        SaturationStep(references=refs).run(model)
    refs = _refs()
    refs["dark"] = DarkRef(data=np.ones((5, NY, NX), np.float32), header=_hdr(FILENAME="d.fits"))
    with pytest.raises(WebbcalError, match=r"d\.fits.*at least 11 frames.*found 5"):
        DarkCurrentStep(references=refs).run(model)
    with pytest.raises(WebbcalError, match="run dq_init first"):
        SuperbiasStep(references=_refs()).run(_model())


def _rate_model():
    exp = _exposure()
    primary, sci = exp.to_headers()
    ones = np.ones((NY, NX), np.float32)
    return ImageModel(data=ones * 3, err=ones.copy(), var_poisson=ones.copy(),
                      var_rnoise=ones.copy(), dq=np.zeros((NY, NX), np.uint32),
                      header=primary, sci_header=sci)


def test_gain_scale_with_and_without_gainfact():
    gain = GainRef(data=np.full((NY, NX), 2.0, np.float32), header=_hdr())
    model = GainScaleStep(references={"gain": gain}).run(_rate_model())
    assert model.header["S_GANSCL"] == "SKIPPED" and model.data[0, 0] == 3.0
    gain.header["GAINFACT"] = 2.0
    model = GainScaleStep(references={"gain": gain}).run(_rate_model())
    assert model.header["S_GANSCL"] == "COMPLETE"
    assert model.data[0, 0] == 6.0 and model.var_poisson[0, 0] == 4.0
