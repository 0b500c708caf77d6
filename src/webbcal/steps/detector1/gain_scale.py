"""gain_scale step: rescale rates by the GAIN reference's GAINFACT (official step)."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.steps.base import StepParams
from webbcal.steps.detector1.dq_init import SkippableStep

__all__ = ["GainScaleParams", "GainScaleStep"]


@dataclass(frozen=True)
class GainScaleParams(StepParams):
    """gain_scale has no parameters of its own (official step neither)."""


class GainScaleStep(SkippableStep):
    """Multiply rate/err by GAINFACT and variances by GAINFACT²; SKIPPED without GAINFACT.

    Takes the rate (ImageModel) or rateints (CubeModel) product of ramp_fit.
    """

    name = "gain_scale"
    status_keyword = "S_GANSCL"
    Params = GainScaleParams
    reference_types = ("gain",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.gain_scale import apply_gain_scale

        factor = refs["gain"].header.get("GAINFACT")
        res = apply_gain_scale(model.data, getattr(model, "err", None),
                               getattr(model, "var_poisson", None),
                               getattr(model, "var_rnoise", None),
                               gain_factor=None if factor is None else float(factor))
        if not res.applied:
            self.skip_reason = "the GAIN reference has no GAINFACT keyword"
        else:
            model.header["GAINFACT"] = (res.gain_factor, "gain scale factor applied")
        return model
