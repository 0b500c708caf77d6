"""JumpStep and RampFitStep on a small in-memory ramp with in-memory references."""

import numpy as np
import pytest

from webbcal.datamodels import CubeModel, ExposureInfo, ImageModel, RampModel
from webbcal.datamodels.dqflags import DQ
from webbcal.errors import WebbcalError
from webbcal.references import GainRef, ReadnoiseRef, reference_header
from webbcal.steps.detector1.jump import JumpStep
from webbcal.steps.detector1.ramp_fit import RampFitStep

NY = NX = 32
TFRAME, NF, GAP = 10.73677, 8, 2
TGROUP = (NF + GAP) * TFRAME


def _model(ngroups=6, rate=3.0):
    exp = ExposureInfo(
        instrument="NIRCAM", detector="NRCA1", module="A", channel="SHORT", filter="F200W",
        pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="MEDIUM8", nframes=NF, groupgap=GAP,
        ngroups=ngroups, nints=1, tframe=TFRAME, tgroup=TGROUP, subarray="SUB32",
        substrt1=1, substrt2=1, subsize1=NX, subsize2=NY, noutputs=1)
    primary, sci = exp.to_headers()
    t = TFRAME * (np.arange(ngroups) * (NF + GAP) + (NF + 1) / 2)
    data = (rate * t[None, :, None, None] * np.ones((1, ngroups, NY, NX))).astype(np.float32)
    data[0, 3:, 10, 12] += 800.0                                # a cosmic ray
    return RampModel(data=data, pixeldq=np.zeros((NY, NX), np.uint32),
                     groupdq=np.zeros(data.shape, np.uint8), header=primary, sci_header=sci,
                     filename="toy_ramp.fits")


def _refs(shape=(NY, NX)):
    return {"gain": GainRef(data=np.full(shape, 2.0, np.float32),
                            header=reference_header(detector="NRCA1", FILENAME="g.fits")),
            "readnoise": ReadnoiseRef(data=np.full(shape, 10.0, np.float32),
                                      header=reference_header(detector="NRCA1"))}


@pytest.mark.parametrize("algorithm", ["OLS", "likely"])
def test_jump_then_ramp_fit_gives_rate_and_rateints(algorithm):
    refs = _refs()
    model = JumpStep(references=refs, expand_large_events=True).run(_model())
    assert model.header["S_JUMP"] == "COMPLETE"
    assert model.groupdq[0, 3, 10, 12] & DQ.JUMP_DET
    assert model.groupdq[0, 3, 10, 11] & DQ.JUMP_DET          # neighbour (IPC)
    assert "rejection_threshold=4.0" in str(model.header["HISTORY"])
    rate = RampFitStep(references=refs, algorithm=algorithm).run(model)
    assert isinstance(rate, ImageModel) and isinstance(rate.rateints, CubeModel)
    assert rate.data.shape == (NY, NX) and rate.rateints.data.shape == (1, NY, NX)
    np.testing.assert_allclose(rate.data, 3.0, rtol=1e-5)       # the jump is removed
    assert rate.dq[10, 12] & DQ.JUMP_DET
    assert rate.header["S_RAMP"] == "COMPLETE" and rate.rateints.header["S_RAMP"] == "COMPLETE"
    assert rate.sci_header["BUNIT"] == "DN/s"
    np.testing.assert_allclose(rate.err**2, rate.var_poisson + rate.var_rnoise, rtol=1e-5)


def test_short_ramps_skip_jump_and_bad_references_raise():
    refs = _refs()
    model = JumpStep(references=refs).run(_model(ngroups=2))
    assert model.header["S_JUMP"] == "SKIPPED"
    assert not model.groupdq.any()
    with pytest.raises(WebbcalError, match=r"g\.fits.*SUB32"):
        JumpStep(references=_refs(shape=(16, 16))).run(_model())
    with pytest.raises(WebbcalError, match="algorithm"):
        RampFitStep(references=refs, algorithm="GLS")
