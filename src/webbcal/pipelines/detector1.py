"""Stage 1: raw ramps (``*_uncal.fits``) to count-rate images (``*_rate.fits``).

NIRCam steps in the official order: dq_init, saturation, superbias, refpix, linearity,
dark_current, jump, ramp_fit, gain_scale. The result is the rate ``ImageModel``; the
per-integration ``CubeModel`` rides along as ``result.rateints`` and is written as
``*_rateints.fits``.

Examples
--------
>>> from webbcal import Detector1Pipeline                       # doctest: +SKIP
>>> rate = Detector1Pipeline(steps={"jump": {"rejection_threshold": 5.0}}).run(
...     "jw01345001001_02201_00001_nrca1_uncal.fits")
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.pipelines.base import Pipeline
from webbcal.steps.base import Step

__all__ = ["Detector1Pipeline", "DETECTOR1_STEPS"]

#: Step names in the official NIRCam order (each lives in webbcal.steps.detector1.<name>).
DETECTOR1_STEPS = ("dq_init", "saturation", "superbias", "refpix", "linearity",
                   "dark_current", "jump", "ramp_fit", "gain_scale")


def _step_class(name: str) -> type[Step]:
    """The Step subclass named ``name`` in ``webbcal.steps.detector1.<name>``."""
    module = import_module(f"webbcal.steps.detector1.{name}")
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Step) and obj is not Step \
                and getattr(obj, "name", None) == name:
            return obj
    raise ImportError(f"webbcal.steps.detector1.{name} defines no Step with name '{name}'")


class Detector1Pipeline(Pipeline):
    """Detector-level calibration of one NIRCam exposure (see module docstring).

    Takes the parameters of :class:`webbcal.pipelines.base.Pipeline`.
    """

    name = "detector1"
    step_list = tuple((n, _step_class(n)) for n in DETECTOR1_STEPS)
    output_suffix = "rate"

    def load_input(self, path: Path) -> Any:
        """Read the uncal with SCI converted to float32 while reading (the raw uint16
        cube is never held next to the float32 one: memory stays near one float cube)."""
        from webbcal.datamodels import read_uncal

        return read_uncal(path, as_float32=True)

    def validate_input(self, model: Any, path: Path | None) -> None:
        """Check the raw cube against its headers and the GROUP table's order."""
        check_ramp_input(model, path)

    def products(self, result: Any) -> list[tuple[str, Any]]:
        """``rate`` and ``rateints``; the ``ramp`` product when ramp fitting is skipped."""
        if getattr(result, "data", None) is not None and np.ndim(result.data) == 4:
            return [("ramp", result)]
        out = [("rate", result)]
        rateints = getattr(result, "rateints", None)
        if rateints is not None:
            out.append(("rateints", rateints))
        return out


def check_ramp_input(model: Any, path: Path | None) -> None:
    """Raise ``FormatError`` when a ramp model cannot be calibrated.

    Checks that SCI is 4-D with the shape the headers promise
    ``(NINTS, NGROUPS, SUBSIZE2, SUBSIZE1)`` and that the GROUP table (when present)
    lists the groups of every integration in increasing order.
    """
    from webbcal.datamodels import FormatError

    where_file = path if path is not None else getattr(model, "filename", None)
    data = getattr(model, "data", None)
    if data is None or np.ndim(data) != 4:
        raise FormatError(where_file, "SCI", "a 4-D ramp (nints, ngroups, ny, nx)",
                          f"shape {None if data is None else np.shape(data)}")
    exposure = model.exposure
    expected = tuple(exposure.raw_shape)
    if tuple(data.shape) != expected:
        raise FormatError(where_file, "SCI shape vs NINTS/NGROUPS/SUBSIZE2/SUBSIZE1",
                          str(expected), str(tuple(data.shape)))
    group = getattr(model, "group", None)
    if group is None or len(group) == 0 or group.dtype.names is None:
        return
    names = {n.lower(): n for n in group.dtype.names}
    if "group_number" not in names:
        return
    gnum = np.asarray(group[names["group_number"]], dtype=np.int64)
    ints = (np.asarray(group[names["integration_number"]], dtype=np.int64)
            if "integration_number" in names else np.ones_like(gnum))
    for i in np.unique(ints):
        seq = gnum[ints == i]
        if seq.size > 1 and np.any(np.diff(seq) <= 0):
            raise FormatError(where_file, f"GROUP table, integration {int(i)}",
                              "group_number increasing (1, 2, …, NGROUPS)",
                              f"{seq.tolist()} (groups out of order)")
    if "group_end_time" in names:
        tend = group[names["group_end_time"]]
        for i in np.unique(ints):
            seq = [str(t) for t in tend[ints == i]]
            if any(b < a for a, b in zip(seq, seq[1:])):
                raise FormatError(where_file, f"GROUP table group_end_time, integration {int(i)}",
                                  "increasing times", f"{seq} (groups out of order)")
