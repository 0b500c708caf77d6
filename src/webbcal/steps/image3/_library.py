"""The set of exposures stage 3 works on, holding one exposure in memory at a time.

:class:`ExposureLibrary` is what the image3 steps pass along (the role of the
official ``ModelLibrary``). Each :class:`Member` is a file path (or, for small
in-memory runs, a model) plus a few kilobytes of state: its exposure group, its sky
nodes (:mod:`webbcal.algorithms.image3.pixmap`) after alignment, and pending header
updates (tweakreg pointing, skymatch levels). :meth:`ExposureLibrary.load` reads a
member and applies that state, so nothing needs rewriting until outlier detection
writes the ``*_crf.fits`` files, which then replace the members' paths.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.algorithms.image3.resample import median_ivm

log = logging.getLogger("webbcal.image3")

__all__ = ["Member", "ExposureLibrary", "exposure_group", "exposure_transform"]

_GROUP_KEYS = ("PROGRAM", "OBSERVTN", "VISIT", "VISITGRP", "SEQ_ID", "ACT_ID", "EXPOSURE")
_JW_NAME = re.compile(r"^(jw\d{11}_\d{5}_\d{5})_")


def exposure_group(primary, sci, name: str) -> str:
    """Exposure-group id: members with the same id moved together (one pointing).

    Official keywords (PROGRAM … EXPOSURE) when present, else the MAST file-name stem
    ``jwPPPPPOOOVVV_GGSAA_EEEEE``, else the pointing keywords themselves.
    """
    if all(k in primary for k in _GROUP_KEYS):
        return "_".join(str(primary[k]).strip() for k in _GROUP_KEYS)
    m = _JW_NAME.match(Path(name).name)
    if m:
        return m.group(1)
    keys = ("RA_REF", "DEC_REF", "ROLL_REF")
    for h in (sci, primary):
        if h is not None and all(k in h for k in keys):
            return "pointing:" + ",".join(f"{float(h[k]):.9f}" for k in keys)
    return Path(name).name


def exposure_transform(model):
    """Exact pixel → (RA, Dec) callable of an exposure: its gwcs, else SIAF + pointing."""
    if getattr(model, "wcs", None) is not None:
        return model.wcs.forward_transform
    from webbcal.datamodels import FormatError
    from webbcal.instrument import DetectorGeometry

    exp = model.exposure
    if exp.pointing is None:
        raise FormatError(model.filename, "SCI header RA_REF/DEC_REF/ROLL_REF",
                          "pointing keywords or a gwcs (run assign_wcs)", "neither")
    geom = DetectorGeometry(exp.detector, exp.pointing, substrt=(exp.substrt1, exp.substrt2),
                            shape=np.shape(model.data))
    return geom.pixel_to_sky


@dataclass
class Member:
    """One exposure of the association.

    ``path``/``model``: where it lives; ``group``: exposure-group id; ``nodes``: sky
    nodes (aligned once tweakreg ran); ``updates``: header cards to apply on load,
    ``{"primary"|"sci": {key: (value, comment)}}``; ``sky_subtract``: level (input
    units) subtracted on load; ``median_weight``: median drizzle weight (outliers).
    """

    path: Path | None
    model: Any = None
    group: str = ""
    nodes: Any = None
    updates: dict = field(default_factory=lambda: {"primary": {}, "sci": {}})
    sky_subtract: float = 0.0
    bkglevel: float = 0.0
    bkgsub: bool = False
    median_weight: float = float("nan")
    wcs_pointing: Any = None
    exptime: float = 1.0
    name: str = ""


@dataclass(frozen=True)
class Window:
    """A block of one member's planes (see :meth:`ExposureLibrary.window`)."""

    data: np.ndarray
    dq: np.ndarray
    var_rnoise: np.ndarray
    var_poisson: np.ndarray
    var_flat: np.ndarray | None
    err: np.ndarray | None = None


@dataclass
class ExposureLibrary:
    """Exposures of one association product plus the product-level results.

    Attributes
    ----------
    members : list[Member]
    product_name : str
    output_dir : Path
    header : astropy.io.fits.Header
        Product-level primary header (step status keywords land here).
    mosaic, catalog, segmentation
        Filled by resample and source_catalog.
    """

    members: list[Member]
    product_name: str = "webbcal"
    output_dir: Path = Path(".")
    header: Any = None
    mosaic: Any = None
    catalog: Any = None
    segmentation: Any = None
    save_crf: bool = True
    grid: Any = None
    filename: str | None = None
    #: drizzle sums left by outlier_detection for resample (``_drizzle.DrizzleSums``)
    prepared: Any = None

    def __post_init__(self):
        if self.header is None:
            from astropy.io import fits

            self.header = fits.Header()

    def __len__(self) -> int:
        return len(self.members)

    def __getstate__(self) -> dict:
        """What a pickled library carries (work items sent to other processes): all
        but ``prepared``, the whole-grid drizzle sums outlier_detection hands to
        resample in this process (24 B per mosaic pixel; resample drizzles itself
        without them). File-backed members are paths plus a few kB of state and their
        sky nodes (~70 kB for 2048²: aligned, so not cheaply re-derived)."""
        state = dict(self.__dict__)
        state["prepared"] = None
        return state

    # ------------------------------------------------------------------ building
    @classmethod
    def from_paths(cls, paths, *, product_name: str, output_dir) -> ExposureLibrary:
        """Members from cal file paths (headers are read now; data on demand)."""
        from astropy.io import fits

        members = []
        for p in paths:
            p = Path(p)
            with fits.open(p) as hdul:
                primary = hdul[0].header
                sci = hdul["SCI"].header if "SCI" in hdul else None
                members.append(Member(path=p, group=exposure_group(primary, sci, p.name),
                                      exptime=float(primary.get("EFFEXPTM", 1.0) or 1.0),
                                      name=p.name))
        return cls(members, product_name=product_name, output_dir=Path(output_dir))

    @classmethod
    def from_models(cls, models, *, product_name: str = "webbcal", output_dir=".",
                    save_crf: bool = False) -> ExposureLibrary:
        """Members held in memory (small runs, tests)."""
        members = []
        for k, m in enumerate(models):
            name = Path(m.filename).name if m.filename else f"exposure{k}_cal.fits"
            members.append(Member(path=None, model=m, name=name,
                                  group=exposure_group(m.header, m.sci_header, name),
                                  exptime=float(m.header.get("EFFEXPTM", 1.0) or 1.0)))
        return cls(members, product_name=product_name, output_dir=Path(output_dir),
                   save_crf=save_crf)

    # ------------------------------------------------------------------- access
    def load(self, index: int):
        """Member ``index`` as an ``ImageModel`` with pending updates applied."""
        m = self.members[index]
        if m.model is not None:
            model = m.model.copy()
        else:
            from webbcal.datamodels import read_image

            model = read_image(m.path)
        for where in ("primary", "sci"):
            header = model.header if where == "primary" else model.sci_header
            for key, card in m.updates[where].items():
                header[key] = card
        if m.wcs_pointing is not None and model.wcs is not None:
            model.wcs = rebuild_wcs(model.wcs, m.wcs_pointing)
        if m.sky_subtract:
            model.data = (model.data - np.float32(m.sky_subtract)).astype(np.float32)
        if m.nodes is None:
            m.nodes = _nodes_of(model)
        if not np.isfinite(m.median_weight):  # median ivm weight (outlier_detection)
            m.median_weight = median_ivm(model.var_rnoise[::7, ::7], model.dq[::7, ::7])
        return model

    def window(self, index: int, win, *, with_err: bool = False):
        """Planes of member ``index`` over a block of pixels, read cheaply.

        ``win`` = (row0, row1, col0, col1) half-open. Returns a ``Window`` with
        ``data`` (pending sky subtraction applied), ``dq``, ``var_rnoise``,
        ``var_poisson``, ``var_flat`` (or None) as native float32/uint32 arrays of the
        block (and ``err`` with ``with_err``). Files are read through a memory map,
        only the block's rows, and
        without headers or gwcs (drizzling needs only the sky nodes): this is what
        tile-by-tile drizzling calls once per tile and member.
        """
        m = self.members[index]
        r0, r1, c0, c1 = win
        sl = (slice(r0, r1), slice(c0, c1))
        names = {"data": "SCI", "dq": "DQ", "var_rnoise": "VAR_RNOISE",
                 "var_poisson": "VAR_POISSON", "var_flat": "VAR_FLAT"}
        if with_err:
            names["err"] = "ERR"
        out = {}
        if m.model is not None:
            for key in names:
                a = getattr(m.model, key)
                out[key] = None if a is None else np.asarray(a[sl])
        else:
            out = _read_planes(m.path, names, sl)
        for key, a in out.items():
            if a is not None:
                dtype = np.uint32 if key == "dq" else np.float32
                out[key] = np.ascontiguousarray(a, dtype=dtype)
        if m.sky_subtract:
            out["data"] = out["data"] - np.float32(m.sky_subtract)
        return Window(**out)

    def strided(self, index: int, stride: int, keys=("data", "dq")) -> dict:
        """Every ``stride``-th row and column of some planes of member ``index``.

        ``keys`` among ``data``, ``dq``, ``err``, ``var_rnoise``, ``var_poisson``,
        ``var_flat``; returns ``{key: ndarray or None}`` (float32, DQ uint32; None for
        an extension the file lacks; pending sky subtraction applied to ``data``), read
        through a memory map: only the pages of the sampled rows (statistics on
        full-frame exposures without reading them; ``stride`` 1 reads whole planes).
        """
        m = self.members[index]
        names = {"data": "SCI", "dq": "DQ", "err": "ERR", "var_rnoise": "VAR_RNOISE",
                 "var_poisson": "VAR_POISSON", "var_flat": "VAR_FLAT"}
        sl = (slice(None, None, stride), slice(None, None, stride))
        out = {}
        if m.model is not None:
            for key in keys:
                a = getattr(m.model, key)
                out[key] = None if a is None else np.array(a[sl])
        else:
            out = _read_planes(m.path, {k: names[k] for k in keys}, sl)
        for key, a in out.items():
            if a is not None:
                out[key] = np.ascontiguousarray(a, np.uint32 if key == "dq" else np.float32)
        if m.sky_subtract and "data" in out:
            out["data"] = out["data"] - np.float32(m.sky_subtract)
        return out

    def median_weight(self, index: int) -> float:
        """Median inverse-variance (VAR_RNOISE) weight of member ``index``'s good
        pixels (every 7th row and column), computed once."""
        m = self.members[index]
        if not np.isfinite(m.median_weight):
            s = self.strided(index, 7, ("var_rnoise", "dq"))
            m.median_weight = median_ivm(s["var_rnoise"], s["dq"])
        return m.median_weight

    def crf_copyable(self, index: int) -> bool:
        """True if member ``index``'s crf can be a copy of its file with a new DQ
        (``outlier_detection.copy_with_new_dq``): it lives in a file."""
        m = self.members[index]
        return m.model is None and m.path is not None

    def aligned_asdf_hdu(self, index: int, pointing=None):
        """A new ``ASDF`` extension for member ``index``'s file: its gwcs with the
        V2/V3 → sky step rebuilt from ``pointing`` (default: the member's pending
        tweakreg pointing); None when there is no pointing or no gwcs.

        Returns the extension's FITS bytes when the rotation angles could be patched
        in the ASDF text (our image2's layout: no asdf import, ~1 ms), else an astropy
        HDU written by asdf from the rebuilt gwcs (:func:`rebuild_wcs`).
        """
        m = self.members[index]
        pointing = m.wcs_pointing if pointing is None else pointing
        if pointing is None or m.path is None:
            return None
        from astropy.io import fits

        from webbcal.datamodels._asdf import (extension_asdf_bytes, gwcs_from_asdf_bytes,
                                              make_asdf_hdu)
        from webbcal.datamodels._asdf_text import asdf_extension_bytes, patch_v23tosky

        with fits.open(m.path) as hdul:
            if "ASDF" not in {h.name for h in hdul}:
                return None
            raw = extension_asdf_bytes(hdul["ASDF"], m.path)
        patched = patch_v23tosky(raw, pointing)
        if patched is not None:
            return asdf_extension_bytes(patched)
        wcs = gwcs_from_asdf_bytes(raw, m.path)
        if wcs is None:
            return None
        return make_asdf_hdu({"meta": {"wcs": rebuild_wcs(wcs, pointing)}})

    def crf_cards(self, index: int):
        """(primary cards, SCI cards) pending for member ``index`` (see ``Member``)."""
        m = self.members[index]
        return dict(m.updates["primary"]), dict(m.updates["sci"])

    def nodes(self, index: int):
        """Sky nodes of member ``index`` (computed on first use, from the headers and
        the gwcs only: no plane is read)."""
        m = self.members[index]
        if m.nodes is None:
            m.nodes = _nodes_of(self._meta(index, with_wcs=True))
        return m.nodes

    def headers(self, index: int):
        """(primary, SCI) headers of member ``index`` with pending updates applied
        (copies; no plane is read)."""
        return self._meta(index, with_wcs=False).headers

    def exposure(self, index: int):
        """``ExposureInfo`` of member ``index`` (pending updates applied)."""
        from webbcal.datamodels import ExposureInfo

        m = self.members[index]
        primary, sci = self.headers(index)
        return ExposureInfo.from_headers(primary, sci, path=m.path)

    def _meta(self, index: int, *, with_wcs: bool):
        """What :func:`exposure_transform` needs of member ``index``, as ``load`` would
        give it (headers with pending updates, gwcs rebuilt for a pending pointing,
        the SCI shape), read without the planes."""
        m = self.members[index]
        if m.model is not None:
            primary, sci = m.model.header.copy(), m.model.sci_header.copy()
            wcs, shape = m.model.wcs, np.shape(m.model.data)
        else:
            # a pending pointing needs the full gwcs (rebuild_wcs); else the light
            # evaluator (no asdf/gwcs import) does
            full = with_wcs and m.wcs_pointing is not None
            primary, sci, wcs, shape = _read_meta(m.path, with_wcs=with_wcs, full=full)
        for where, header in (("primary", primary), ("sci", sci)):
            for key, card in m.updates[where].items():
                header[key] = card
        if with_wcs and m.wcs_pointing is not None and wcs is not None:
            wcs = rebuild_wcs(wcs, m.wcs_pointing)
        return _Meta(primary, sci, wcs if with_wcs else None, shape,
                     None if m.path is None else str(m.path))

    def replace(self, index: int, model, *, path: Path | None = None) -> None:
        """Make ``model`` (already carrying all updates) the member's new content."""
        m = self.members[index]
        m.updates = {"primary": {}, "sci": {}}
        m.sky_subtract = 0.0
        m.wcs_pointing = None
        if path is not None:
            m.path, m.model = Path(path), None
        else:
            m.model = model

    def groups(self) -> dict[str, list[int]]:
        """Exposure-group id → member indices (in member order)."""
        out: dict[str, list[int]] = {}
        for k, m in enumerate(self.members):
            out.setdefault(m.group, []).append(k)
        return out


def _read_planes(path, names: dict, sl) -> dict:
    """``{key: plane[sl]}`` for ``names`` ``{key: EXTNAME}`` of a FITS file, read through
    a memory map (only the pages of the rows in ``sl``), unscaled (DQ's BZERO applied),
    as native float32 / uint32 (``dq``) copies; None for a missing extension."""
    from astropy.io import fits

    out = {}
    with fits.open(path, memmap=True, do_not_scale_image_data=True) as hdul:
        present = {h.name for h in hdul}
        for key, ext in names.items():
            if ext not in present:
                out[key] = None
                continue
            hdu = hdul[ext]
            raw = hdu.data[sl]  # a view of the map: every result below is a copy
            bscale = hdu.header.get("BSCALE", 1)
            bzero = hdu.header.get("BZERO", 0)
            if key == "dq" and bscale == 1 and bzero == 2**31 \
                    and raw.dtype.itemsize == 4 and raw.dtype.kind == "i":
                a = raw.view(raw.dtype.byteorder + "u4") ^ np.uint32(2**31)
            elif bscale != 1 or bzero != 0:
                a = raw.astype(np.int64 if key == "dq" else np.float64) * bscale + bzero
            else:
                a = raw.astype(np.uint32 if key == "dq" else np.float32)
            del raw
            out[key] = a
    return out


@dataclass(frozen=True)
class _Meta:
    """Headers, gwcs and SCI shape of a member: duck-types an ``ImageModel`` for
    :func:`exposure_transform` (``data`` is a shape-only stand-in)."""

    header: Any
    sci_header: Any
    wcs: Any
    shape: tuple
    filename: str | None

    @property
    def headers(self):
        return self.header, self.sci_header

    @property
    def data(self):
        return np.broadcast_to(np.float32(0), self.shape)

    @property
    def exposure(self):
        from webbcal.datamodels import ExposureInfo

        return ExposureInfo.from_headers(self.header, self.sci_header, path=self.filename)


def _read_meta(path, *, with_wcs: bool, full: bool = False):
    """(primary, SCI header, gwcs or None, SCI shape) of a cal file, as ``read_image``
    gives them, without reading any plane.

    The gwcs is for evaluating pixel → sky only: a ``GwcsEval`` read without asdf,
    gwcs or astropy.modeling (:mod:`webbcal.datamodels._gwcs_eval`) when it can be,
    else (or with ``full``) the gwcs read by asdf."""
    from webbcal.datamodels._asdf import read_asdf_wcs, read_wcs_evaluator
    from webbcal.datamodels._fits import FitsFile, clean_header

    with FitsFile(path) as ff:
        primary, sci = clean_header(ff.header("PRIMARY")), clean_header(ff.header("SCI"))
        shape = ff.shape("SCI")
        wcs = None
        if with_wcs and "ASDF" in ff:
            read = read_asdf_wcs if full else read_wcs_evaluator
            wcs = read(ff.hdu("ASDF"), ff.path)
    return primary, sci, wcs, shape


def _nodes_of(model):
    from webbcal.algorithms.image3.pixmap import sky_nodes

    return sky_nodes(exposure_transform(model), np.shape(model.data))


def rebuild_wcs(wcs, pointing):
    """The gwcs with its V2/V3 → sky step rebuilt from a corrected pointing."""
    try:
        from webbcal.algorithms.image2.wcs import v2v3_to_world_model

        names = list(wcs.available_frames)
        if "v2v3vacorr" in names and "world" in names:
            wcs = wcs.__class__(wcs.pipeline)  # shallow copy of the step list
            wcs.set_transform("v2v3vacorr", "world", v2v3_to_world_model(
                pointing.ra_ref, pointing.dec_ref, pointing.roll_ref, pointing.v2_ref,
                pointing.v3_ref))
    except Exception as exc:  # noqa: BLE001 - keep the data usable; pointing keys are set
        log.warning("could not update the gwcs with the aligned pointing: %s", exc)
    return wcs


def output_grid(library: ExposureLibrary, *, pixel_scale: float | None = None,
                pixel_scale_ratio: float = 1.0, rotation: float | None = None,
                crval=None, shape=None):
    """The mosaic grid covering every member (official ``resample`` grid options).

    ``pixel_scale`` [arcsec] defaults to the first member's native scale ×
    ``pixel_scale_ratio``; ``rotation`` [deg, +y east of north] to the first member's
    y-axis orientation; ``crval`` (RA, Dec) and ``shape`` (ny, nx) may be forced.
    """
    from webbcal.algorithms.image3.grid import OutputGrid
    from webbcal.algorithms.image3.pixmap import footprint, native_scale_rotation

    if not library.members:
        from webbcal.errors import WebbcalError

        raise WebbcalError("image3: no science exposures to combine")
    scale0, rot0 = native_scale_rotation(library.nodes(0))
    scale = float(pixel_scale) if pixel_scale else scale0 * float(pixel_scale_ratio)
    rot = rot0 if rotation is None else float(rotation)
    ras, decs = zip(*(footprint(library.nodes(k)) for k in range(len(library))))
    return OutputGrid.covering(np.concatenate(ras), np.concatenate(decs), pixel_scale=scale,
                               rotation=rot, crval=None if crval is None else tuple(crval),
                               shape=None if shape is None else tuple(shape))


def load_library(source, *, output_dir=None, product_index: int = 0) -> ExposureLibrary:
    """An :class:`ExposureLibrary` from an association path, a library, or models.

    Raises
    ------
    webbcal.datamodels.FormatError
        Association members missing on disk, no science members, or members with
        different FILTER/PUPIL in one product (the message names them).
    """
    if isinstance(source, ExposureLibrary):
        return source
    if isinstance(source, (list, tuple)):
        lib = ExposureLibrary.from_models(source, output_dir=output_dir or ".")
        check_filters(lib, None)
        return lib
    from astropy.io import fits

    from webbcal.datamodels import FormatError, read_association

    path = Path(source)
    asn = read_association(path)
    members = asn.science_members(product_index)
    where = f"products[{product_index}].members"
    if not members:
        raise FormatError(path, where, "at least one member with exptype 'science'", "none")
    missing = [str(m) for m in members if not m.exists()]
    if missing:
        raise FormatError(path, f"{where}[].expname", "existing files",
                          f"{len(missing)} missing: {', '.join(missing[:5])}")
    for m in members:
        try:
            fits.getheader(m)
        except OSError as exc:
            raise FormatError(m, "file", "a FITS cal product", str(exc)) from None
    lib = ExposureLibrary.from_paths(members, product_name=asn.product_name(product_index),
                                     output_dir=output_dir or path.parent)
    lib.filename = str(path)
    check_filters(lib, path)
    return lib


def check_filters(library: ExposureLibrary, path) -> None:
    """FormatError when the members do not share one FILTER/PUPIL (one product, one band)."""
    from astropy.io import fits

    from webbcal.datamodels import FormatError

    bands: dict[tuple[str, str], list[str]] = {}
    for m in library.members:
        h = m.model.header if m.model is not None else fits.getheader(m.path)
        key = (str(h.get("FILTER", "")).upper(), str(h.get("PUPIL", "CLEAR")).upper())
        bands.setdefault(key, []).append(m.name)
    if len(bands) > 1:
        found = "; ".join(f"{f}/{p}: {', '.join(n[:3])}" for (f, p), n in bands.items())
        raise FormatError(path or library.product_name, "FILTER/PUPIL of the members",
                          "one filter per product", found)
    (filt, pupil), = bands
    library.header["FILTER"] = filt
    library.header["PUPIL"] = pupil


def overlapping_pairs(library: ExposureLibrary, *, scale: float = 4.0):
    """Index pairs (i, j) of members whose footprints overlap (coarse test)."""
    grid = output_grid(library, pixel_scale=None, pixel_scale_ratio=scale)
    from webbcal.algorithms.image3.pixmap import grid_pixmap

    masks = []
    for k in range(len(library)):
        nodes = library.nodes(k)
        pm = grid_pixmap(nodes, grid, rows=nodes.y, cols=nodes.x)
        m = np.zeros(grid.shape, bool)
        xi = np.clip(np.rint(pm[..., 0]).astype(int), 0, grid.shape[1] - 1)
        yi = np.clip(np.rint(pm[..., 1]).astype(int), 0, grid.shape[0] - 1)
        m[yi.min():yi.max() + 1, xi.min():xi.max() + 1] = True
        masks.append(m)
    return [(i, j) for i in range(len(masks)) for j in range(i + 1, len(masks))
            if (masks[i] & masks[j]).any()]

