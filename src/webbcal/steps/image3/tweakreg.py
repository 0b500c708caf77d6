"""tweakreg: align exposure groups to each other and to an absolute catalog.

Stars are found in every exposure (:func:`webbcal.algorithms.image3.tweakreg.find_stars`),
put on one tangent plane, and each exposure group (all detectors of one exposure)
gets one ``rshift`` correction (:func:`align_groups`). The correction updates the
members' sky nodes (used by the later steps), their pointing keywords RA_REF,
DEC_REF, ROLL_REF (and gwcs), and is recorded as TWKDX/TWKDY [arcsec] and TWKROT [deg].
"""

from __future__ import annotations

import dataclasses
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from webbcal.steps.base import Step, StepParams, param
from webbcal.steps.image3._library import load_library

log = logging.getLogger("webbcal.image3")

__all__ = ["TweakRegParams", "TweakRegStep", "corrected_pointing", "read_refcat"]


@dataclass(frozen=True)
class TweakRegParams(StepParams):
    snr_threshold: float = param(10.0, "minimum peak S/N of a star used for alignment")
    kernel_fwhm: float = param(2.0, "PSF FWHM in pixels (detection and centroid window)")
    brightest: int = param(400, "use at most this many brightest stars per exposure")
    searchrad: float = param(2.0, "largest relative offset searched [arcsec]")
    tolerance: float = param(0.2, "matching radius once the offset is removed [arcsec]")
    fitgeometry: Literal["shift", "rshift"] = param("rshift", "fit a shift, or shift + rotation")
    minobj: int = param(5, "fewest matched stars for a group's fit to be applied")
    abs_refcat: str = param("", "absolute reference catalog (ECSV/FITS with ra, dec); '' = none")
    abs_searchrad: float = param(3.0, "largest absolute offset searched [arcsec]")
    abs_tolerance: float = param(0.2, "absolute matching radius [arcsec]")


def corrected_pointing(pointing, correction):
    """The pointing (RA_REF, DEC_REF, ROLL_REF) that reproduces ``correction``.

    The reference point and a point 60″ along +V3 are mapped to the sky, corrected,
    and the new reference position and V3 position angle read back.
    """
    from webbcal.instrument.sky import v2v3_to_sky

    ra, dec = v2v3_to_sky(np.array([pointing.v2_ref] * 2),
                          np.array([pointing.v3_ref, pointing.v3_ref + 60.0]), pointing)
    ra2, dec2 = correction.apply(ra, dec)
    dpa = _pa(ra2, dec2) - _pa(ra, dec)
    dpa = (dpa + 180.0) % 360.0 - 180.0
    return dataclasses.replace(pointing, ra_ref=float(ra2[0]), dec_ref=float(dec2[0]),
                               roll_ref=float(pointing.roll_ref + dpa))


def _pa(ra, dec):
    r0, d0, r1, d1 = np.radians([ra[0], dec[0], ra[1], dec[1]])
    return np.degrees(np.arctan2(np.sin(r1 - r0) * np.cos(d1),
                                 np.cos(d0) * np.sin(d1) - np.sin(d0) * np.cos(d1) * np.cos(r1 - r0)))


_RA_NAMES, _DEC_NAMES = ("ra", "ra_icrs", "raj2000"), ("dec", "de_icrs", "dej2000")


def read_refcat(path):
    """(RA, Dec) [deg] columns of a reference catalog (``ra``/``dec``, any case).

    A plain ECSV file (space-delimited, float64 coordinates, no quoting or missing
    values, like the simulator's) is read directly; anything else with
    ``astropy.table.Table.read`` (same values: a test compares them).
    """
    from webbcal.datamodels import FormatError

    fast = _read_plain_ecsv(path)
    if fast is not None:
        return fast
    from astropy.table import Table

    t = Table.read(path)
    cols = {c.lower(): c for c in t.colnames}
    ra = next((cols[c] for c in _RA_NAMES if c in cols), None)
    dec = next((cols[c] for c in _DEC_NAMES if c in cols), None)
    if ra is None or dec is None:
        raise FormatError(path, "columns", "ra and dec", ", ".join(t.colnames))
    return np.asarray(t[ra], np.float64), np.asarray(t[dec], np.float64)


_ECSV_COLUMN = re.compile(r"^# - \{name: ([A-Za-z_][\w]*), datatype: ([a-z0-9]+)\}$")


def _read_plain_ecsv(path):
    """(ra, dec) float64 of a plain ECSV catalog, or None if it is not that simple."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("# %ECSV") or '"' in text or "'" in text:
        return None
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    if len(header) + len(body) + sum(1 for ln in lines if not ln.strip()) != len(lines):
        return None
    types = {}
    for ln in header[1:]:
        m = _ECSV_COLUMN.match(ln)
        if m:
            types[m.group(1)] = m.group(2)
        elif ln not in ("# ---", "# datatype:", "# schema: astropy-2.0"):
            return None  # meta, delimiter, units, formats ...: astropy's job
    if not body or body[0].split() != list(types):
        return None
    names = [n.lower() for n in types]
    ra = next((names.index(c) for c in _RA_NAMES if c in names), None)
    dec = next((names.index(c) for c in _DEC_NAMES if c in names), None)
    if ra is None or dec is None or types[body[0].split()[ra]] != "float64" \
            or types[body[0].split()[dec]] != "float64":
        return None
    rows = [ln.split() for ln in body[1:]]
    if any(len(r) != len(names) for r in rows):
        return None
    try:
        return (np.array([float(r[ra]) for r in rows], np.float64),
                np.array([float(r[dec]) for r in rows], np.float64))
    except ValueError:
        return None


def _prefetch_nodes(library):
    """Start computing every member's sky nodes in a thread; returns the thread.

    Nodes need only headers and the gwcs; with real cal files reading the gwcs is
    the slow part (asdf and its extensions load once per process: ~2 s of CPU), and
    it overlaps the star finding on the planes this way. Errors are left for the
    main thread: a member whose nodes failed here is computed again there, raising.
    """
    import threading

    def run():
        for k in range(len(library)):
            try:
                library.nodes(k)
            except Exception:  # noqa: BLE001 - recomputed (and reported) by the caller
                return

    thread = threading.Thread(target=run, name="webbcal-tweakreg-nodes", daemon=True)
    thread.start()
    return thread


class TweakRegStep(Step):
    """Relative (per exposure group) and optional absolute astrometric alignment."""

    name = "tweakreg"
    status_keyword = "S_TWKREG"
    Params = TweakRegParams

    def load_input(self, path):
        return load_library(path)

    def process(self, library, refs):
        from webbcal.algorithms.image3.pixmap import sky_at
        from webbcal.algorithms.image3.tweakreg import align_groups, find_stars, to_plane
        from webbcal.datamodels import DQ

        p = self.params
        groups = library.groups()
        stars, pointings = {}, {}
        prefetch = _prefetch_nodes(library)

        def detect(k):  # each member's SCI, ERR, DQ read once
            planes = library.strided(k, 1, ("data", "err", "dq"))
            bad = (planes["dq"] & np.uint32(DQ.DO_NOT_USE | DQ.SATURATED)) != 0
            return find_stars(planes["data"], planes["err"], mask=bad, snr=p.snr_threshold,
                              fwhm=p.kernel_fwhm, max_stars=p.brightest)

        # two members at a time: reads and the GIL-free smoothing / peak kernels of one
        # overlap the other's (the results do not depend on the order)
        order = [k for idx in groups.values() for k in idx]
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="webbcal-stars") as pool:
            for k, found in zip(order, pool.map(detect, order)):
                pointings[k] = library.exposure(k).pointing
                stars[k] = found
                log.info("tweakreg: %s: %d stars", library.members[k].name, len(found.x))
        prefetch.join()
        nodes = [library.nodes(k) for k in range(len(library))]
        centres = np.array([[n.ra[n.ra.shape[0] // 2, n.ra.shape[1] // 2],
                             n.dec[n.dec.shape[0] // 2, n.dec.shape[1] // 2]] for n in nodes])
        tangent = (float(np.median(centres[:, 0])), float(np.median(centres[:, 1])))
        catalogs = []
        for idx in groups.values():
            xy = [to_plane(*sky_at(nodes[k], stars[k].x, stars[k].y), tangent) for k in idx]
            catalogs.append(np.concatenate(xy) if xy else np.zeros((0, 2)))
        refcat = None
        if p.abs_refcat:
            refcat = to_plane(*read_refcat(p.abs_refcat), tangent)
        corrections, fits, absolute = align_groups(
            catalogs, tangent, ref_catalog=refcat, searchrad=p.searchrad,
            tolerance=p.tolerance, abs_searchrad=p.abs_searchrad,
            abs_tolerance=p.abs_tolerance, min_matches=p.minobj)
        if p.fitgeometry == "shift":
            corrections = [dataclasses.replace(c, rotation=0.0) for c in corrections]
        if refcat is not None and absolute is None:
            log.warning("tweakreg: absolute alignment skipped: fewer than %d matches with %s",
                        p.minobj, p.abs_refcat)
        reference = max(range(len(catalogs)), key=lambda g: len(catalogs[g]), default=0)
        for g, ((gid, idx), corr, fit) in enumerate(zip(groups.items(), corrections, fits)):
            if fit is None and g != reference:
                log.warning("tweakreg: exposure group %s skipped: fewer than %d stars matched "
                            "the other groups (no overlap?); its WCS is kept", gid, p.minobj)
            for k in idx:
                self._apply(library, k, corr, pointings.get(k))
        library.header["TWKABS"] = (absolute is not None, "aligned to an absolute catalog")
        return library

    @staticmethod
    def _apply(library, k, corr, pointing):
        m = library.members[k]
        nodes = library.nodes(k)
        m.nodes = nodes.with_sky(*corr.apply(nodes.ra, nodes.dec))
        sci, primary = m.updates["sci"], m.updates["primary"]
        if pointing is not None:
            new = corrected_pointing(pointing, corr)
            sci["RA_REF"] = (new.ra_ref, "[deg] RA of the reference point (tweakreg)")
            sci["DEC_REF"] = (new.dec_ref, "[deg] Dec of the reference point (tweakreg)")
            sci["ROLL_REF"] = (new.roll_ref, "[deg] V3 roll at the reference point (tweakreg)")
            m.wcs_pointing = new
        primary["TWKDX"] = (float(corr.shift[0]), "[arcsec] tweakreg shift, xi (east)")
        primary["TWKDY"] = (float(corr.shift[1]), "[arcsec] tweakreg shift, eta (north)")
        primary["TWKROT"] = (float(corr.rotation), "[deg] tweakreg rotation")
        primary["S_TWKREG"] = ("COMPLETE", "webbcal tweakreg step")
