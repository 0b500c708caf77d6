"""Pipelines: ordered lists of steps, one exposure (or one association) at a time.

:data:`STAGES` is the registry the command line and the Dask layer use: stage name ->
``"module:Class"``. A new stage registers here with one line; its module is imported
only when the stage is asked for.
"""

from __future__ import annotations

from importlib import import_module

from webbcal.errors import WebbcalError

__all__ = ["STAGES", "pipeline_class", "available_stages"]

#: stage name -> (``"module:Class"``, input product suffix(es) it takes, help)
STAGES: dict[str, tuple[str, str, str]] = {
    "detector1": ("webbcal.pipelines.detector1:Detector1Pipeline", "uncal",
                  "raw ramps (*_uncal.fits) -> *_rate.fits + *_rateints.fits"),
    "image2": ("webbcal.pipelines.image2:Image2Pipeline", "rate",
               "count rates (*_rate.fits) -> calibrated *_cal.fits"),
    "image3": ("webbcal.pipelines.image3:Image3Pipeline", "asn",
               "association of *_cal.fits -> mosaic *_i2d.fits + catalog"),
}


def pipeline_class(stage: str) -> type:
    """The Pipeline class of ``stage``; ``WebbcalError`` if unknown or not built yet."""
    if stage not in STAGES:
        raise WebbcalError(f"unknown stage '{stage}'; known stages: {', '.join(STAGES)}")
    target = STAGES[stage][0]
    module_name, cls_name = target.split(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise WebbcalError(f"stage '{stage}' is not available in this version of "
                               f"webbcal ({module_name} is missing)") from None
        raise
    return getattr(module, cls_name)


def available_stages() -> list[str]:
    """Stages whose pipeline module exists (without importing them)."""
    from importlib.util import find_spec

    out = []
    for stage, (target, _, _) in STAGES.items():
        try:
            if find_spec(target.split(":")[0]) is not None:
                out.append(stage)
        except ModuleNotFoundError:
            pass
    return out
