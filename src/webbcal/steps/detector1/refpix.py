"""refpix step: reference-pixel correction (official non-IRS2 NIR scheme)."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.datamodels.dqflags import DQ
from webbcal.steps.base import StepParams, param
from webbcal.steps.detector1.dq_init import SkippableStep, require_ramp

__all__ = ["RefpixParams", "RefpixStep"]


@dataclass(frozen=True)
class RefpixParams(StepParams):
    odd_even_columns: bool = param(
        True, "compute the top/bottom reference signal separately for even and odd columns")
    use_side_ref_pixels: bool = param(
        True, "subtract the smoothed side (left/right) reference signal row by row")
    side_smoothing_length: int = param(
        11, "height (rows) of the running-median window for the side reference signal")
    side_gain: float = param(
        1.0, "multiplicative factor for the side reference signal before subtraction")
    odd_even_rows: bool = param(
        True, "MIRI only (separate odd/even rows); accepted for compatibility, unused for NIRCam")
    ovr_corr_mitigation_ftr: float = param(
        3.0, "NIRSpec IRS2 only; accepted for compatibility, unused for NIRCam")


class RefpixStep(SkippableStep):
    """Subtract per-amplifier odd/even top/bottom levels and the smoothed side signal."""

    name = "refpix"
    status_keyword = "S_REFPIX"
    Params = RefpixParams
    reference_types = ()

    def process(self, model, refs):
        from webbcal.algorithms.detector1.refpix import (
            correct_reference_pixels, nircam_refpix_layout)

        require_ramp(model, self.name)
        exp = model.exposure
        ny, nx = model.data.shape[-2:]
        layout = nircam_refpix_layout(substrt1=exp.substrt1, substrt2=exp.substrt2,
                                      nx=nx, ny=ny, noutputs=exp.noutputs)
        p = self.params
        res = correct_reference_pixels(
            model.data, model.pixeldq, layout, do_not_use=int(DQ.DO_NOT_USE),
            odd_even_columns=p.odd_even_columns, use_side_ref_pixels=p.use_side_ref_pixels,
            side_smoothing_length=p.side_smoothing_length, side_gain=p.side_gain)
        if res.status != "COMPLETE":
            self.skip_reason = res.reason
        return model
