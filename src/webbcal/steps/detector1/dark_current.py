"""dark_current step: subtract the dark averaged into the exposure's groups.

Memory: the dark is the largest reference (a plane per frame). It is loaded without
its ERR array (the step never uses it, as the official one) and cut to the planes the
exposure needs; that trimmed dark is what stays cached between exposures (the two
most recent), not the whole file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from webbcal.steps.base import Step, StepParams
from webbcal.steps.detector1.dq_init import check_reference, reference_name, require_ramp

__all__ = ["DarkCurrentParams", "DarkCurrentStep", "dark_planes_needed"]

#: trimmed darks kept between exposures: key -> DarkRef (most recent last)
_TRIMMED: dict[tuple, object] = {}
_TRIMMED_MAX = 2


@dataclass(frozen=True)
class DarkCurrentParams(StepParams):
    """dark_current parameters (the official ``dark_output`` is not offered)."""


def dark_planes_needed(ngroups: int, nframes: int, groupgap: int, dark_nframes: int,
                       dark_groupgap: int) -> int | None:
    """Planes of a dark that an exposure uses (``None``: readouts incompatible).

    A dark in the exposure's own groups needs ``ngroups`` planes; a frame dark
    (NFRAMES=1, GROUPGAP=0) needs ``(ngroups - 1) * (nframes + groupgap) + nframes``.
    """
    if (dark_nframes, dark_groupgap) == (nframes, groupgap):
        return int(ngroups)
    if (dark_nframes, dark_groupgap) == (1, 0):
        return int((ngroups - 1) * (nframes + groupgap) + nframes) if ngroups else 0
    return None


def _load_trimmed_dark(path: Path, exposure):
    """The dark at ``path`` without ERR, cut to ``exposure``'s subarray and planes (cached)."""
    from webbcal.references import DarkRef

    key = (str(path), path.stat().st_mtime, exposure.substrt1, exposure.substrt2,
           exposure.subsize1, exposure.subsize2, exposure.ngroups, exposure.nframes,
           exposure.groupgap)
    ref = _TRIMMED.pop(key, None)
    if ref is None:
        full = DarkRef.read(path, skip=("err",)).for_exposure(exposure)
        need = dark_planes_needed(exposure.ngroups, exposure.nframes, exposure.groupgap,
                                  int(full.header.get("NFRAMES", 1)),
                                  int(full.header.get("GROUPGAP", 0)))
        data = full.data
        if need is not None and 0 < need < data.shape[0]:
            data = np.ascontiguousarray(data[:need])  # the full stack is freed below
        ref = DarkRef(data=data, err=None, dq=full.dq, header=full.header)
        del full
        while len(_TRIMMED) >= _TRIMMED_MAX:
            _TRIMMED.pop(next(iter(_TRIMMED)))
    _TRIMMED[key] = ref
    return dataclasses.replace(ref, header=ref.header.copy())


class DarkCurrentStep(Step):
    """Average the frame dark into groups (NFRAMES/GROUPGAP) and subtract it."""

    name = "dark_current"
    status_keyword = "S_DARK"
    Params = DarkCurrentParams
    reference_types = ("dark",)

    def resolve_references(self, model):
        """As :meth:`Step.resolve_references`, but a dark file is read through the
        trimmed cache (no ERR, only the planes this exposure uses)."""
        from webbcal.references import get_references
        from webbcal.references import reference_name as crds_name

        sources = get_references(model.exposure, self.reference_types, context=self.context,
                                 overrides=self.references)
        source = sources["dark"]
        if not isinstance(source, (str, Path)) or str(source).upper() == "N/A":
            return super().resolve_references(model)
        ref = _load_trimmed_dark(Path(source), model.exposure)
        return {"dark": ref}, {"dark": crds_name(source)}

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
