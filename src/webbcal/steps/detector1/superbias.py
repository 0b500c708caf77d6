"""superbias step: subtract the SUPERBIAS reference from every group."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.datamodels.dqflags import DQ
from webbcal.steps.base import Step, StepParams
from webbcal.steps.detector1.dq_init import check_reference, require_ramp

__all__ = ["SuperbiasParams", "SuperbiasStep"]


@dataclass(frozen=True)
class SuperbiasParams(StepParams):
    """superbias has no parameters of its own (official step neither)."""


class SuperbiasStep(Step):
    """Subtract the bias image (NaN → 0, flagged UNRELIABLE_BIAS); PIXELDQ |= ref DQ."""

    name = "superbias"
    status_keyword = "S_SUPERB"
    Params = SuperbiasParams
    reference_types = ("superbias",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.superbias import subtract_superbias

        require_ramp(model, self.name)
        ref = refs["superbias"]
        check_reference(model, ref, "superbias", ref.data)
        if ref.dq is not None:
            check_reference(model, ref, "superbias", ref.dq, extname="DQ")
        zf = model.zeroframe if model.exposure.zeroframe else None
        subtract_superbias(model.data, model.pixeldq, ref.data, ref.dq,
                           nan_flag=int(DQ.UNRELIABLE_BIAS), zeroframe=zf)
        return model
