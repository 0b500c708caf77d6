"""saturation step: flag saturated groups and the A/D floor (official parameters)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.datamodels.dqflags import DQ
from webbcal.steps.base import Step, StepParams, param
from webbcal.steps.detector1.dq_init import check_reference, require_ramp

__all__ = ["SaturationParams", "SaturationStep"]


@dataclass(frozen=True)
class SaturationParams(StepParams):
    n_pix_grow_sat: int = param(
        1, "distance (pixels) to grow saturation flags to neighbours, to account for "
           "charge spilling; the flagged box is 2*n_pix_grow_sat+1 pixels wide")
    use_readpatt: bool = param(
        True, "use the readout pattern (frames per group) to find groups that saturated "
              "part-way through their frame average")


class SaturationStep(Step):
    """Flag SATURATED groups (and every later group), grown to neighbours; A/D floor."""

    name = "saturation"
    status_keyword = "S_SATURA"
    Params = SaturationParams
    reference_types = ("saturation",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.saturation import flag_saturation, read_pattern_frames

        require_ramp(model, self.name)
        ref = refs["saturation"]
        check_reference(model, ref, "saturation", ref.data)
        sat_dq = ref.dq if ref.dq is not None else np.zeros(ref.data.shape, np.uint32)
        check_reference(model, ref, "saturation", sat_dq, extname="DQ")
        exp = model.exposure
        ngroups = model.data.shape[1]
        rp = (read_pattern_frames(ngroups, exp.nframes, exp.groupgap)
              if self.params.use_readpatt else None)
        zf = model.zeroframe if (exp.zeroframe and model.zeroframe is not None) else None
        flag_saturation(
            model.data, model.groupdq, model.pixeldq, ref.data, sat_dq,
            saturated=int(DQ.SATURATED), do_not_use=int(DQ.DO_NOT_USE),
            ad_floor=int(DQ.AD_FLOOR), no_sat_check=int(DQ.NO_SAT_CHECK),
            n_pix_grow_sat=self.params.n_pix_grow_sat, read_pattern=rp, zeroframe=zf)
        return model
