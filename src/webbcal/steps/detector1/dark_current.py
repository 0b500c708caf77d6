"""dark_current step: subtract the dark averaged into the exposure's groups."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.steps.base import Step, StepParams
from webbcal.steps.detector1.dq_init import check_reference, reference_name, require_ramp

__all__ = ["DarkCurrentParams", "DarkCurrentStep"]


@dataclass(frozen=True)
class DarkCurrentParams(StepParams):
    """dark_current parameters (the official ``dark_output`` is not offered)."""


class DarkCurrentStep(Step):
    """Average the frame dark into groups (NFRAMES/GROUPGAP) and subtract it."""

    name = "dark_current"
    status_keyword = "S_DARK"
    Params = DarkCurrentParams
    reference_types = ("dark",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.dark import subtract_dark

        require_ramp(model, self.name)
        ref = refs["dark"]
        check_reference(model, ref, "dark", ref.data)
        exp = model.exposure
        subtract_dark(model.data, model.pixeldq, ref.data, ref.dq,
                      nframes=exp.nframes, groupgap=exp.groupgap,
                      dark_nframes=int(ref.header.get("NFRAMES", 1)),
                      dark_groupgap=int(ref.header.get("GROUPGAP", 0)),
                      dark_name=reference_name(ref, "dark"))
        return model
