"""NIRCam SIAF apertures: science pixels ↔ ideal ↔ V2/V3 with the SIAF polynomials.

The SIAF XML is the one pysiaf ships (its default, newest PRD); it is found on disk
without importing pysiaf (which takes seconds) and only the ten ``NRCx_FULL`` entries
are read (a scan of the file's bytes: ~10 ms once per process; ElementTree, ~0.5 s,
only for files the scan does not handle).

Pixel convention: our pixels are 0-based science (DMS) pixels; SIAF "sci" is 1-based,
so ``x_siaf = x + 1``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from webbcal.errors import WebbcalError
from webbcal.instrument._poly import LARGE, derivative_matrices, polyval2d, siaf_matrix
from webbcal.instrument.detectors import normalize_detector, siaf_name

__all__ = ["SiafAperture", "siaf_aperture", "siaf_xml_path"]

SIAF_ENV = "WEBBCAL_NIRCAM_SIAF"
"""Environment variable naming a NIRCam_SIAF.xml to use instead of pysiaf's."""


def siaf_xml_path() -> Path:
    """Path of the NIRCam SIAF XML: ``$WEBBCAL_NIRCAM_SIAF`` or pysiaf's newest PRD.

    pysiaf picks its default PRD as the last of the sorted ``PRDOPSSOC-NNN`` folders;
    we do the same without importing it.
    """
    if os.environ.get(SIAF_ENV):
        return Path(os.environ[SIAF_ENV])
    spec = importlib.util.find_spec("pysiaf")
    if spec is None or not spec.submodule_search_locations:
        raise WebbcalError("NIRCam SIAF: expected the pysiaf package (a dependency) or "
                           f"${SIAF_ENV}, found neither")
    root = Path(list(spec.submodule_search_locations)[0]) / "prd_data" / "JWST"
    prds = sorted(p.name for p in root.iterdir() if re.fullmatch(r"PRDOPSSOC-\d+", p.name))
    if not prds:
        raise WebbcalError(f"{root}: expected PRDOPSSOC-NNN folders, found none")
    return root / prds[-1] / "SIAFXML" / "SIAFXML" / "NIRCam_SIAF.xml"


_WANTED = {f"NRC{m}{n}_FULL" for m in "AB" for n in "12345"}


_APERNAME = re.compile(rb"<AperName>\s*(NRC[AB][1-5]_FULL)\s*</AperName>")
_FIELD = re.compile(rb"\s*<([A-Za-z_][\w.-]*)\s*(?:/>|>([^<]*)</\1\s*>)")


@functools.cache
def _load_entries(path: str) -> dict[str, dict[str, str]]:
    """Raw text fields of the ten NRCx_FULL apertures of a SIAF XML file.

    The ten ``SiafEntry`` blocks are cut out of the file's bytes and their flat
    ``<Tag>text</Tag>`` children read with a regular expression (~10 ms instead of
    ~0.5 s for ElementTree on the 2 MB file); anything unexpected (attributes,
    comments, entities, nesting, a missing entry) falls back to ElementTree, which
    gives the same dictionary (a test compares them on pysiaf's file).
    """
    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as exc:
        raise WebbcalError(f"{path}: expected a readable SIAF XML file ({exc})") from exc
    entries = _fast_entries(text)
    if entries is not None:
        return entries
    return _load_entries_xml(path)


def _fast_entries(text: bytes) -> dict[str, dict[str, str]] | None:
    """The NRCx_FULL entries of a SIAF XML text, or None when it holds anything the
    plain scan does not handle (then ElementTree must parse it)."""
    entries = {}
    for m in _APERNAME.finditer(text):
        start = text.rfind(b"<SiafEntry>", 0, m.start())
        end = text.find(b"</SiafEntry>", m.end())
        if start < 0 or end < 0 or text.find(b"<SiafEntry", start + 1, m.start()) >= 0 \
                or text.find(b"</SiafEntry>", start, m.start()) >= 0:
            return None
        body = text[start + len(b"<SiafEntry>"):end]
        fields, pos = {}, 0
        for f in _FIELD.finditer(body):
            if f.start() != pos:
                return None
            pos = f.end()
            value = f.group(2) or b""
            if b"&" in value or b"\r" in value:  # entities, line ends: ElementTree's job
                return None
            fields[f.group(1).decode("ascii")] = value.decode("utf-8").strip()
        if body[pos:].strip() or "AperName" not in fields:
            return None
        entries[m.group(1).decode("ascii")] = fields
    if set(entries) != _WANTED:
        return None
    return entries


def _load_entries_xml(path: str) -> dict[str, dict[str, str]]:
    """:func:`_load_entries` with ElementTree (any valid XML)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise WebbcalError(f"{path}: expected a readable SIAF XML file ({exc})") from exc
    entries = {}
    for entry in root.iter("SiafEntry"):
        name = (entry.findtext("AperName") or "").strip()
        if name in _WANTED:
            entries[name] = {child.tag: (child.text or "").strip() for child in entry}
    missing = _WANTED - set(entries)
    if missing:
        raise WebbcalError(f"{path}: AperName expected {sorted(_WANTED)}, "
                           f"missing {sorted(missing)}")
    return entries


@dataclass(frozen=True, eq=False)
class SiafAperture:
    """One NIRCam full-frame SIAF aperture with vectorized coordinate transforms.

    All methods take and return numpy-broadcastable arrays (or scalars), float64;
    pixels are 0-based science pixels, ideal and V2/V3 coordinates are arcsec.

    Attributes
    ----------
    name : str
        SIAF aperture name, e.g. 'NRCA1_FULL'.
    detector : str
        DMS detector name, e.g. 'NRCA1', 'NRCALONG'.
    v2_ref, v3_ref : float
        V2Ref, V3Ref (arcsec).
    v3_idl_yang : float
        V3IdlYAngle (deg).
    vidl_parity : int
        VIdlParity (±1).
    x_sci_ref, y_sci_ref : float
        XSciRef, YSciRef (1-based SIAF science pixels).
    x_sci_scale, y_sci_scale : float
        XSciScale, YSciScale (arcsec/pixel).
    sci2idl_x, sci2idl_y, idl2sci_x, idl2sci_y : ndarray, shape (deg+1, deg+1)
        Polynomial coefficient matrices ``C[p, q]`` of ``x**p y**q``.
    """

    name: str
    detector: str
    v2_ref: float
    v3_ref: float
    v3_idl_yang: float
    vidl_parity: int
    x_sci_ref: float
    y_sci_ref: float
    x_sci_scale: float
    y_sci_scale: float
    sci2idl_x: np.ndarray = field(repr=False)
    sci2idl_y: np.ndarray = field(repr=False)
    idl2sci_x: np.ndarray = field(repr=False)
    idl2sci_y: np.ndarray = field(repr=False)

    # -- linear ideal <-> V2/V3 (planar approximation, as pysiaf and the CRDS model) --
    @property
    def idl_to_v2v3_matrix(self) -> np.ndarray:
        """2×2 matrix M with ``(v2 - V2Ref, v3 - V3Ref) = M @ (x_idl, y_idl)``."""
        a = np.deg2rad(self.v3_idl_yang)
        p = self.vidl_parity
        return np.array([[p * np.cos(a), np.sin(a)], [-p * np.sin(a), np.cos(a)]])

    @property
    def v2v3_to_idl_matrix(self) -> np.ndarray:
        """Inverse of `idl_to_v2v3_matrix`."""
        a = np.deg2rad(self.v3_idl_yang)
        p = self.vidl_parity
        return np.array([[p * np.cos(a), -p * np.sin(a)], [np.sin(a), np.cos(a)]])

    def idl_to_v2v3(self, x_idl, y_idl):
        """Ideal (arcsec) → V2/V3 (arcsec)."""
        m = self.idl_to_v2v3_matrix
        x_idl, y_idl = np.asarray(x_idl, float), np.asarray(y_idl, float)
        return (self.v2_ref + m[0, 0] * x_idl + m[0, 1] * y_idl,
                self.v3_ref + m[1, 0] * x_idl + m[1, 1] * y_idl)

    def v2v3_to_idl(self, v2, v3):
        """V2/V3 (arcsec) → ideal (arcsec)."""
        m = self.v2v3_to_idl_matrix
        dv2 = np.asarray(v2, float) - self.v2_ref
        dv3 = np.asarray(v3, float) - self.v3_ref
        return m[0, 0] * dv2 + m[0, 1] * dv3, m[1, 0] * dv2 + m[1, 1] * dv3

    # -- science pixels <-> ideal (SIAF distortion polynomials) --
    def sci_to_idl(self, x, y):
        """0-based science pixels → ideal coordinates (arcsec), Sci2Idl polynomials."""
        dx = np.asarray(x, float) + 1.0 - self.x_sci_ref
        dy = np.asarray(y, float) + 1.0 - self.y_sci_ref
        return polyval2d(self.sci2idl_x, dx, dy), polyval2d(self.sci2idl_y, dx, dy)

    def idl_to_sci(self, x_idl, y_idl, *, n_iter: int = 2):
        """Ideal (arcsec) → 0-based science pixels.

        Starts from the Idl2Sci polynomials and refines with `n_iter` Newton steps on
        the Sci2Idl polynomials, so that ``sci_to_idl`` ∘ ``idl_to_sci`` is the identity
        to far better than 1e-4 pixel.
        """
        x_idl = np.asarray(x_idl, float)
        y_idl = np.asarray(y_idl, float)
        dx = polyval2d(self.idl2sci_x, x_idl, y_idl)
        dy = polyval2d(self.idl2sci_y, x_idl, y_idl)
        jx, jy = self._jacobian_matrices
        for _ in range(n_iter):
            rx = polyval2d(self.sci2idl_x, dx, dy) - x_idl
            ry = polyval2d(self.sci2idl_y, dx, dy) - y_idl
            a, b = polyval2d(jx[0], dx, dy), polyval2d(jx[1], dx, dy)
            c, d = polyval2d(jy[0], dx, dy), polyval2d(jy[1], dx, dy)
            det = a * d - b * c
            dx = dx - (d * rx - b * ry) / det
            dy = dy - (-c * rx + a * ry) / det
        return dx + self.x_sci_ref - 1.0, dy + self.y_sci_ref - 1.0

    @functools.cached_property
    def _jacobian_matrices(self):
        return derivative_matrices(self.sci2idl_x), derivative_matrices(self.sci2idl_y)

    # -- composites, numba for large arrays --
    def sci_to_v2v3(self, x, y):
        """0-based science pixels → V2/V3 (arcsec)."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        if x.size < LARGE:
            return self.idl_to_v2v3(*self.sci_to_idl(x, y))
        from webbcal._threads import run_row_bands
        from webbcal.instrument import _kernels

        xf, yf = np.ascontiguousarray(x).ravel(), np.ascontiguousarray(y).ravel()
        v2, v3 = np.empty(xf.size), np.empty(xf.size)
        run_row_bands(_kernels.sci_to_v2v3_kernel, xf.size, xf, yf, self.sci2idl_x,
                      self.sci2idl_y, float(self.x_sci_ref), float(self.y_sci_ref),
                      self.idl_to_v2v3_matrix, float(self.v2_ref), float(self.v3_ref),
                      v2, v3)
        return v2.reshape(x.shape), v3.reshape(x.shape)

    def v2v3_to_sci(self, v2, v3, *, n_iter: int = 2):
        """V2/V3 (arcsec) → 0-based science pixels (Idl2Sci + Newton refinement)."""
        v2, v3 = np.broadcast_arrays(np.asarray(v2, float), np.asarray(v3, float))
        if v2.size < LARGE:
            return self.idl_to_sci(*self.v2v3_to_idl(v2, v3), n_iter=n_iter)
        from webbcal._threads import run_row_bands
        from webbcal.instrument import _kernels

        a, b = np.ascontiguousarray(v2).ravel(), np.ascontiguousarray(v3).ravel()
        x, y = np.empty(a.size), np.empty(a.size)
        (jxx, jxy), (jyx, jyy) = self._jacobian_matrices
        run_row_bands(_kernels.v2v3_to_sci_kernel, a.size, a, b, self.idl2sci_x,
                      self.idl2sci_y, self.sci2idl_x, self.sci2idl_y, jxx, jxy, jyx, jyy,
                      float(self.x_sci_ref), float(self.y_sci_ref), self.v2v3_to_idl_matrix,
                      float(self.v2_ref), float(self.v3_ref), int(n_iter), x, y)
        return x.reshape(v2.shape), y.reshape(v2.shape)


@functools.cache
def _aperture(detector: str, path: str) -> SiafAperture:
    name = f"{siaf_name(detector)}_FULL"
    fields = _load_entries(path)[name]
    try:
        degree = int(fields["Sci2IdlDeg"])
        coeffs = {k: float(v) for k, v in fields.items()
                  if k.startswith(("Sci2Idl", "Idl2Sci")) and k != "Sci2IdlDeg"}
        return SiafAperture(
            name=name, detector=detector,
            v2_ref=float(fields["V2Ref"]), v3_ref=float(fields["V3Ref"]),
            v3_idl_yang=float(fields["V3IdlYAngle"]),
            vidl_parity=int(float(fields["VIdlParity"])),
            x_sci_ref=float(fields["XSciRef"]), y_sci_ref=float(fields["YSciRef"]),
            x_sci_scale=float(fields["XSciScale"]), y_sci_scale=float(fields["YSciScale"]),
            sci2idl_x=siaf_matrix(coeffs, "Sci2IdlX", degree),
            sci2idl_y=siaf_matrix(coeffs, "Sci2IdlY", degree),
            idl2sci_x=siaf_matrix(coeffs, "Idl2SciX", degree),
            idl2sci_y=siaf_matrix(coeffs, "Idl2SciY", degree),
        )
    except (KeyError, ValueError) as exc:
        raise WebbcalError(f"{path}: aperture {name}: expected numeric SIAF fields, "
                           f"found a problem with {exc}") from exc


def siaf_aperture(detector: str) -> SiafAperture:
    """The SIAF ``<det>_FULL`` aperture of a NIRCam detector (cached per process).

    Parameters
    ----------
    detector : str
        'NRCA1' … 'NRCBLONG' (also 'NRCA5', 'NRCB5', 'A1', lower case).

    Returns
    -------
    SiafAperture
    """
    return _aperture(normalize_detector(detector), str(siaf_xml_path()))
