"""dq_init step: pixel DQ from the MASK reference, group DQ zeros, raw → float32.

Also home of the small helpers the other detector1 steps share (reference checks and
a SKIPPED status for steps that decide at run time not to act).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.errors import WebbcalError
from webbcal.steps.base import Step, StepParams

__all__ = ["DqInitParams", "DqInitStep", "check_reference", "require_ramp", "reference_name"]


def reference_name(ref, reftype: str) -> str:
    """File name of a loaded reference (FILENAME keyword) or a label for in-memory ones."""
    header = getattr(ref, "header", None)
    name = header.get("FILENAME") if header is not None else None
    return str(name) if name else f"<in-memory {reftype} reference>"


def check_reference(model, ref, reftype: str, array: np.ndarray, *, extname: str = "SCI") -> None:
    """Raise ``ReferenceError_`` when ``ref`` does not fit ``model``'s exposure.

    Checks the DETECTOR keyword (when present and not ANY/N/A) and that the last two
    axes of ``array`` equal the exposure's (ny, nx).
    """
    from webbcal.references import ReferenceError_

    name = reference_name(ref, reftype)
    exp = model.exposure
    det = str(getattr(ref, "header", {}).get("DETECTOR", "") or "").upper()
    if det and det not in ("ANY", "N/A", "MULTIPLE") and det != exp.detector.upper():
        raise ReferenceError_(name, "PRIMARY header DETECTOR", exp.detector, det)
    shape = tuple(model.data.shape[-2:])
    if array is None or tuple(np.shape(array)[-2:]) != shape:
        raise ReferenceError_(name, f"{extname} shape",
                              f"(…, {shape[0]}, {shape[1]}) for subarray {exp.subarray} of "
                              f"{model.filename or 'the exposure'}",
                              str(None if array is None else np.shape(array)))


def require_ramp(model, step: str) -> None:
    """Raise WebbcalError unless ``model`` is a float32 ramp with PIXELDQ and GROUPDQ."""
    if model.pixeldq is None or model.groupdq is None or model.data.dtype != np.float32:
        raise WebbcalError(
            f"{model.filename or '<in memory>'}: {step}: expected a ramp with float32 SCI, "
            f"PIXELDQ and GROUPDQ (run dq_init first), found SCI {model.data.dtype}, "
            f"PIXELDQ {'absent' if model.pixeldq is None else 'present'}, "
            f"GROUPDQ {'absent' if model.groupdq is None else 'present'}")


class SkippableStep(Step):
    """A Step whose ``process`` may decide to record SKIPPED (``self.skip_reason``)."""

    skip_reason: str | None = None

    def record(self, model, status, ref_names=None):
        if status == "COMPLETE" and self.skip_reason:
            status = "SKIPPED"
            model.header.add_history(f"webbcal {self.name} skipped: {self.skip_reason}")
            self.skip_reason = None
        super().record(model, status, ref_names)


@dataclass(frozen=True)
class DqInitParams(StepParams):
    """dq_init has no parameters of its own (official step neither)."""


class DqInitStep(Step):
    """Initialise PIXELDQ from the MASK reference and GROUPDQ to zeros; SCI to float32."""

    name = "dq_init"
    status_keyword = "S_DQINIT"
    Params = DqInitParams
    reference_types = ("mask",)

    def process(self, model, refs):
        from webbcal.algorithms.detector1.dq_init import initialize_dq, raw_to_float32

        mask = refs["mask"]
        check_reference(model, mask, "mask", mask.dq, extname="DQ")
        data = raw_to_float32(model.data)
        res = initialize_dq(mask.dq, data.shape, pixeldq=model.pixeldq, groupdq=model.groupdq)
        model.data = data
        model.pixeldq = res.pixeldq
        model.groupdq = res.groupdq
        if model.zeroframe is not None:
            model.zeroframe = np.ascontiguousarray(model.zeroframe, dtype=np.float32)
        return model
