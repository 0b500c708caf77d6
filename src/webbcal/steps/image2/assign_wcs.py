"""assign_wcs: attach the NIRCam imaging WCS (gwcs + FITS SIP approximation)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from webbcal.datamodels import FormatError
from webbcal.steps.base import Step, StepParams, param

__all__ = ["AssignWcsStep", "AssignWcsParams", "filter_offset", "SIP_KEY_PREFIXES"]

log = logging.getLogger("webbcal.step.assign_wcs")

#: Header keywords of an older WCS removed before the new one is written.
SIP_KEY_PREFIXES = ("A_", "B_", "AP_", "BP_")
_WCS_KEYS = ("WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRPIX1", "CRPIX2", "CRVAL1",
             "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
             "CDELT1", "CDELT2", "RADESYS", "SIPMXERR", "SIPIVERR", "S_REGION")


@dataclass(frozen=True)
class AssignWcsParams(StepParams):
    """Parameters of :class:`AssignWcsStep`."""

    sip_approx: bool = param(True, "write a FITS SIP approximation into the SCI header")
    sip_max_pix_error: float = param(0.01, "largest forward SIP error (pixels)")
    sip_max_inv_pix_error: float = param(0.01, "largest inverse SIP error (pixels)")
    sip_max_order: int = param(9, "highest SIP polynomial order tried")
    sip_npoints: int = param(32, "SIP fit grid points per axis")


def filter_offset(source: Any, filter_name: str, pupil: str) -> tuple[float, float]:
    """(column, row) offset in pixels for a filter from a filteroffset reference.

    ``source`` is None (no offset), a path to an official FILTEROFFSET ASDF file, a
    mapping with a ``filters`` list of ``{filter, pupil, column_offset, row_offset}``
    entries, or a ``{(filter, pupil): (dx, dy)}`` dict.
    """
    if source is None:
        return 0.0, 0.0
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        import asdf

        with asdf.open(source, lazy_load=False, memmap=False) as af:
            entries = list(af.tree.get("filters", []))
    elif isinstance(source, dict) and "filters" in source:
        entries = list(source["filters"])
    else:
        got = dict(source).get((filter_name, pupil))
        return (0.0, 0.0) if got is None else (float(got[0]), float(got[1]))
    for entry in entries:
        if str(entry.get("filter", "")).upper() == filter_name and \
                str(entry.get("pupil", pupil)).upper() == pupil:
            return float(entry["column_offset"]), float(entry["row_offset"])
    return 0.0, 0.0


class AssignWcsStep(Step):
    """Build the imaging gwcs from the distortion reference and pointing keywords.

    Sets ``model.wcs`` (detector → v2v3 → v2v3vacorr → world) and, with
    ``sip_approx``, the TAN-SIP keywords (A/B, AP/BP, SIPMXERR, SIPIVERR) plus
    S_REGION in the SCI header. A ``filteroffset`` entry in ``references`` (path or
    mapping, see :func:`filter_offset`) adds the per-filter pixel offset.
    """

    name = "assign_wcs"
    status_keyword = "S_WCS"
    Params = AssignWcsParams
    reference_types = ("distortion",)

    def run(self, input: Any) -> Any:  # noqa: A002
        model = self.load_input(input) if not hasattr(input, "data") else input
        if not self.params.skip:
            require_pointing(model)
        return super().run(model)

    def process(self, model, refs):
        from webbcal.algorithms.image2 import fit_sip, imaging_wcs

        exposure = model.exposure
        pointing = require_pointing(model)
        offset = filter_offset(self.references.get("filteroffset"), exposure.filter,
                               exposure.pupil)
        shape = model.data.shape[-2:]
        wcs = imaging_wcs(refs["distortion"].model, pointing, shape=shape,
                          substrt=(exposure.substrt1, exposure.substrt2), filter_offset=offset)
        model.wcs = wcs
        hdr = model.sci_header
        stale = [k for k in hdr.keys() if k in _WCS_KEYS or k.startswith(SIP_KEY_PREFIXES)]
        for key in stale:
            del hdr[key]
        if self.params.sip_approx:
            p = self.params
            sip = fit_sip(wcs.forward_transform, shape, max_pix_error=p.sip_max_pix_error,
                          max_inv_pix_error=p.sip_max_inv_pix_error,
                          max_order=p.sip_max_order, n_points=p.sip_npoints)
            hdr.extend(sip.to_header(), update=True)
            log.info("assign_wcs: SIP order %d/%d, max error %.2g/%.2g px", sip.order,
                     sip.inv_order, sip.max_error, sip.max_inv_error)
        hdr["S_REGION"] = (s_region(wcs.forward_transform, shape), "spatial extent")
        return model


def require_pointing(model):
    """The exposure's pointing, or a FormatError naming the file and keywords."""
    pointing = model.exposure.pointing
    if pointing is None:
        raise FormatError(model.filename, "SCI header keyword RA_REF",
                          "pointing keywords RA_REF, DEC_REF, ROLL_REF, V2_REF, V3_REF, "
                          "V3I_YANG, VPARITY (VA_SCALE optional)", "no such keyword")
    if not pointing.va_scale > 0:
        raise FormatError(model.filename, "SCI header keyword VA_SCALE", "a positive number",
                          repr(pointing.va_scale))
    return pointing


def s_region(transform, shape) -> str:
    """``POLYGON ICRS`` string of the four outer pixel corners (official S_REGION)."""
    import numpy as np

    ny, nx = shape
    x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5])
    y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5])
    ra, dec = transform(x, y)
    return "POLYGON ICRS  " + " ".join(f"{r:.9f} {d:.9f}" for r, d in zip(ra, dec))
