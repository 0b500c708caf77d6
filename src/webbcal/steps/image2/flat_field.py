"""flat_field: divide by the pixel flat and propagate its error into VAR_FLAT."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from webbcal.datamodels import DQ, FormatError
from webbcal.steps.base import Step, StepParams

__all__ = ["FlatFieldStep", "FlatFieldParams"]

log = logging.getLogger("webbcal.step.flat_field")


@dataclass(frozen=True)
class FlatFieldParams(StepParams):
    """Parameters of :class:`FlatFieldStep` (only ``skip``)."""


def _ref_name(ref) -> str | None:
    header = getattr(ref, "header", None) or {}
    return getattr(ref, "filename", None) or header.get("FILENAME")


class FlatFieldStep(Step):
    """Flat-field an image (see :func:`webbcal.algorithms.image2.apply_flat`).

    A user flat plugs in as ``FlatFieldStep(references={"flat": path_or_FlatRef})``.
    """

    name = "flat_field"
    status_keyword = "S_FLAT"
    Params = FlatFieldParams
    reference_types = ("flat",)

    def process(self, model, refs):
        from webbcal.algorithms.image2 import apply_flat

        flat = refs["flat"]
        shape = model.data.shape
        for attr, ext in (("data", "SCI"), ("err", "ERR"), ("dq", "DQ")):
            arr = getattr(flat, attr, None)
            if arr is not None and arr.shape != shape:
                raise FormatError(_ref_name(flat), f"flat extension {ext}",
                                  f"shape {shape} (the shape of {model.filename or 'the image'})",
                                  f"shape {arr.shape}")
        result = apply_flat(model.data, model.dq, model.var_poisson, model.var_rnoise,
                            flat.data, flat.err, flat.dq,
                            no_flat_field=int(DQ.NO_FLAT_FIELD), do_not_use=int(DQ.DO_NOT_USE))
        model.data, model.err, model.dq = result.data, result.err, result.dq
        model.var_poisson, model.var_rnoise = result.var_poisson, result.var_rnoise
        model.var_flat = result.var_flat
        if result.n_bad_flat:
            log.info("flat_field: %d pixels without a usable flat value", result.n_bad_flat)
        return model
