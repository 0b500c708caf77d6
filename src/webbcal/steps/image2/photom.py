"""photom: convert DN/s to MJy/sr, record PHOTMJSR/PIXAR_* and attach the AREA map."""

from __future__ import annotations

from dataclasses import dataclass

from webbcal.datamodels import FormatError
from webbcal.steps.base import Step, StepParams

__all__ = ["PhotomStep", "PhotomParams"]


@dataclass(frozen=True)
class PhotomParams(StepParams):
    """Parameters of :class:`PhotomStep` (only ``skip``)."""


def _ref_name(ref) -> str | None:
    header = getattr(ref, "header", None) or {}
    return getattr(ref, "filename", None) or header.get("FILENAME")


class PhotomStep(Step):
    """Photometric calibration from the PHOTOM table and the pixel-area map.

    SCI and ERR are multiplied by PHOTMJSR, the variances by PHOTMJSR²; BUNIT becomes
    ``MJy/sr``; PHOTMJSR, PHOTUJA2, PIXAR_SR and PIXAR_A2 go into the SCI header and the
    area map into ``model.area`` (AREA extension).
    """

    name = "photom"
    status_keyword = "S_PHOTOM"
    Params = PhotomParams
    reference_types = ("photom", "area")

    def process(self, model, refs):
        from webbcal.algorithms.image2 import apply_photom, photuja2

        exposure = model.exposure
        photom, area = refs["photom"], refs["area"]
        filt, pupil = exposure.filter, exposure.pupil or "CLEAR"
        table = photom.table
        rows = [i for i, (f, p) in enumerate(zip(table["filter"], table["pupil"]))
                if str(f).strip().upper() == filt and str(p).strip().upper() == pupil]
        if not rows:
            have = sorted({f"{str(f).strip()}/{str(p).strip()}"
                           for f, p in zip(table["filter"], table["pupil"])})
            raise FormatError(_ref_name(photom), "PHOTOM table row",
                              f"filter/pupil {filt}/{pupil} (from {model.filename or 'input'})",
                              f"only {', '.join(have)}")
        row = table[rows[0]]
        photmjsr, unc = float(row["photmjsr"]), float(row["uncertainty"])
        if not photmjsr > 0:
            raise FormatError(_ref_name(photom), f"PHOTOM photmjsr for {filt}/{pupil}",
                              "a positive number", repr(photmjsr))
        if area.data.shape != model.data.shape[-2:]:
            raise FormatError(_ref_name(area), "area extension SCI",
                              f"shape {model.data.shape[-2:]}", f"shape {area.data.shape}")
        result = apply_photom(model.data, model.err, model.var_poisson, model.var_rnoise,
                              model.var_flat, photmjsr=photmjsr)
        model.data, model.err = result.data, result.err
        model.var_poisson, model.var_rnoise = result.var_poisson, result.var_rnoise
        model.var_flat = result.var_flat
        model.area = area.data.astype("float32", copy=False)
        pixar_sr = float(area.pixar_sr or getattr(photom, "pixar_sr", 0.0))
        pixar_a2 = float(area.pixar_a2 or getattr(photom, "pixar_a2", 0.0))
        hdr = model.sci_header
        hdr["BUNIT"] = ("MJy/sr", "physical units of the array values")
        hdr["PHOTMJSR"] = (photmjsr, "Flux density (MJy/sr) producing 1 cps")
        hdr["PHOTUJA2"] = (photuja2(photmjsr), "Flux density (uJy/arcsec2) producing 1 cps")
        hdr["PHOTMJUN"] = (unc, "Uncertainty of PHOTMJSR (MJy/sr per DN/s)")
        hdr["PIXAR_SR"] = (pixar_sr, "Nominal pixel area in steradians")
        hdr["PIXAR_A2"] = (pixar_a2, "Nominal pixel area in arcsec^2")
        return model
