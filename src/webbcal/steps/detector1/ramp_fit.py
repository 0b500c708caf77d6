"""ramp_fit step: a ramp (RampModel) to the rate (ImageModel) and rateints (CubeModel).

Returns the rate :class:`~webbcal.datamodels.ImageModel`; the per-integration
:class:`~webbcal.datamodels.CubeModel` rides along as ``rate.rateints`` (the detector1
pipeline writes it as ``*_rateints.fits``). Both carry the ramp's headers with
``BUNIT = 'DN/s'``; the rateints also carry the INT_TIMES table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from webbcal.steps.base import Step, StepParams, param
from webbcal.steps.detector1.dq_init import check_reference, require_ramp

__all__ = ["RampFitParams", "RampFitStep"]


@dataclass(frozen=True)
class RampFitParams(StepParams):
    """ramp_fit parameters (official names; 'OLS_C' is the official name of 'OLS')."""

    algorithm: Literal["OLS", "OLS_C", "likely"] = param(
        "OLS", "'OLS' (Fixsen-weighted least squares, official) or 'likely' (Brandt 2024)")
    weighting: Literal["optimal"] = param("optimal", "OLS weighting (official: only 'optimal')")
    suppress_one_group: bool = param(
        True, "treat ramps with one good group as having none (official default)")
    maximum_cores: str = param("none", "accepted for compatibility; numba threads are used")


class RampFitStep(Step):
    """Fit count rates; see :mod:`webbcal.algorithms.detector1.ramp_fit`."""

    name = "ramp_fit"
    status_keyword = "S_RAMP"
    Params = RampFitParams
    reference_types = ("gain", "readnoise")

    def process(self, model, refs):
        from webbcal.algorithms.detector1.ramp_fit import fit_ramps
        from webbcal.datamodels import CubeModel, ImageModel

        require_ramp(model, self.name)
        gain, readnoise = refs["gain"], refs["readnoise"]
        check_reference(model, gain, "gain", gain.data)
        check_reference(model, readnoise, "readnoise", readnoise.data)
        exp = model.exposure
        p = self.params
        zeroframe = model.zeroframe if (exp.zeroframe and model.zeroframe is not None) else None
        res = fit_ramps(
            model.data, model.groupdq, model.pixeldq, gain.data, readnoise.data,
            frame_time=float(exp.tframe), group_time=float(exp.tgroup),
            nframes=int(exp.nframes), groupgap=int(exp.groupgap), zeroframe=zeroframe,
            algorithm="OLS" if p.algorithm.upper().startswith("OLS") else "likely",
            weighting=p.weighting, suppress_one_group=p.suppress_one_group)
        sci_header = model.sci_header.copy()
        sci_header["BUNIT"] = ("DN/s", "count rate")
        rate = ImageModel(data=res.rate, err=res.err, dq=res.dq, var_poisson=res.var_poisson,
                          var_rnoise=res.var_rnoise, header=model.header.copy(),
                          sci_header=sci_header, filename=model.filename)
        rateints = CubeModel(data=res.rateints, err=res.err_ints, dq=res.dq_ints,
                             var_poisson=res.var_poisson_ints, var_rnoise=res.var_rnoise_ints,
                             int_times=model.int_times, header=model.header.copy(),
                             sci_header=sci_header.copy(), filename=model.filename)
        rate.rateints = rateints
        return rate

    def record(self, model, status, ref_names=None):
        """Record on the rate and on the rateints riding along with it."""
        super().record(model, status, ref_names)
        if getattr(model, "rateints", None) is not None:
            super().record(model.rateints, status, ref_names)
