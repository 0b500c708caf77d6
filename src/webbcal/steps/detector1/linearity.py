"""linearity step: per-pixel polynomial on unsaturated groups."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.datamodels.dqflags import DQ
from webbcal.steps.base import Step, StepParams
from webbcal.steps.detector1.dq_init import check_reference, require_ramp

__all__ = ["LinearityParams", "LinearityStep"]


@dataclass(frozen=True)
class LinearityParams(StepParams):
    """linearity has no parameters of its own (official step neither)."""


class LinearityStep(Step):
    """Apply the LINEARITY polynomial; NO_LIN_CORR pixels are flagged and left alone."""

    name = "linearity"
    status_keyword = "S_LINEAR"
    Params = LinearityParams
    reference_types = ("linearity",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.linearity import correct_linearity

        require_ramp(model, self.name)
        ref = refs["linearity"]
        check_reference(model, ref, "linearity", ref.coeffs, extname="COEFFS")
        if ref.dq is not None:
            check_reference(model, ref, "linearity", ref.dq, extname="DQ")
        zf = model.zeroframe if model.exposure.zeroframe else None
        correct_linearity(model.data, model.groupdq, model.pixeldq, ref.coeffs, ref.dq,
                          saturated=int(DQ.SATURATED), no_lin_corr=int(DQ.NO_LIN_CORR),
                          zeroframe=zf)
        return model
