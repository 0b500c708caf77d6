"""outlier_detection: flag cosmic-ray residuals and other outliers; write ``*_crf.fits``.

Tile by tile, every overlapping exposure (sky level removed) is drizzled alone onto
the tile and the singles are median-combined (:func:`median_of_singles`): memory is
``n_overlapping × tile``, never all singles of the whole grid. The assembled median
(one output-sized plane) is blotted back onto each exposure, outliers are flagged
(:func:`flag_outliers`, stcal's rule) as OUTLIER | DO_NOT_USE, and the exposure is
written as ``<name>_crf.fits``, which replaces it for the later steps. A file-backed
exposure is read plane by plane through a memory map (only what the flagging needs),
and its crf is a byte copy of the cal file with the new DQ plane and the pending
header cards (:func:`copy_with_new_dq`, in a background thread; the ASDF extension is
rewritten when tweakreg moved the exposure's gwcs); only exposures held in memory go
through ``ImageModel.write``.

Blot interpolation (``blot_interp``): the official step blots with bilinear
interpolation (stcal's ``gwcs_blot`` → drizzle ``blot_image(interp="linear")``);
``poly5`` (6-point Lagrange, our default) follows the median more closely. On the
image3 test scene (4 dithers, Gaussian PSF near NIRCam SW sampling, snr "5.0 4.0",
scale "1.2 0.7" — CRDS has no NIRCam ``pars-outlierdetectionstep`` selection, so
these step defaults are what it gives): linear leaves 0 of 282 injected CR pixels
as > 5σ mosaic features but flags 4 of 2389 star pixels (0.17 %: star peaks, whose
bilinear blot falls short of the undersampled peak, the behaviour of
spacetelescope/jwst#9989); poly5 flags none of them but leaves 1 CR pixel (the
half-amplitude neighbour of a flagged CR on the steep flank of a bright star, hidden
by the ``scale[1]·|∂blot|`` term of the second threshold).

No repeated work: with the square kernel the same drizzle pass also sums every
exposure for the final mosaic (:class:`~webbcal.steps.image3._drizzle.DrizzleSums`);
the contributions of the pixels flagged afterwards are subtracted again, and the
resample step only finishes the sums (``library.prepared``) when its grid and
parameters match. Tiles and exposures are work items for ``executor`` (see
:mod:`webbcal.steps.image3._drizzle`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from webbcal.steps.base import Step, StepParams, param
from webbcal.steps.image3._library import load_library, output_grid

log = logging.getLogger("webbcal.image3")

__all__ = ["OutlierParams_", "OutlierDetectionStep", "crf_name", "copy_with_new_dq"]


@dataclass(frozen=True)
class OutlierParams_(StepParams):
    weight_type: Literal["ivm", "exptime"] = param("ivm", "drizzle weights of the singles")
    pixfrac: float = param(1.0, "drizzle pixfrac of the singles")
    kernel: Literal["square", "point", "turbo"] = param("square", "drizzle kernel")
    maskpt: float = param(0.7, "fraction of the median weight below which a single is ignored")
    snr: str = param("5.0 4.0", "two S/N thresholds (detection, neighbours)")
    scale: str = param("1.2 0.7", "two derivative scale factors")
    backg: float = param(0.0, "extra background level")
    grow: int = param(1, "neighbour radius for the second threshold [pixels]")
    blot_interp: Literal["linear", "poly5"] = param(
        "poly5", "blot interpolation (official: linear, see the module docstring)")
    tile_size: int = param(0, "median tile size in mosaic pixels (0: sized to ~512 MB)")
    memory_budget_mb: float = param(512.0, "singles memory when tile_size = 0: one tile if "
                                    "the grid fits, else tiles of an eighth of this")
    workers: int = param(1, "processes for the median tiles and the per-exposure flagging")


def crf_name(name: str) -> str:
    """``x_cal.fits`` → ``x_crf.fits`` (any known suffix replaced)."""
    from webbcal.pipelines.base import product_stem

    return f"{product_stem(name)}_crf.fits"


def _pair(text: str, what: str):
    from webbcal.steps.base import ParameterError

    try:
        a, b = (float(v) for v in str(text).replace(",", " ").split())
    except ValueError:
        raise ParameterError(f"steps.outlier_detection.{what}: expected two numbers, "
                             f"found {text!r}") from None
    return a, b


class OutlierDetectionStep(Step):
    """Median-based outlier rejection (see module docstring)."""

    name = "outlier_detection"
    status_keyword = "S_OUTLIR"
    Params = OutlierParams_
    #: executor for tiles and exposures (see :mod:`webbcal.steps.image3._drizzle`)
    executor = None
    _writer = None  # background crf writer (in-process runs only)
    _writes: list = []

    def load_input(self, path):
        return load_library(path)

    def process(self, library, refs):
        from webbcal.algorithms.image3.outliers import OutlierParams

        p = self.params
        oparams = OutlierParams(snr=_pair(p.snr, "snr"), scale=_pair(p.scale, "scale"),
                                backg=p.backg, maskpt=p.maskpt, grow=p.grow)
        if len(library) < 2:
            log.warning("outlier_detection: skipped: needs at least 2 exposures, found %d",
                        len(library))
            return library
        from webbcal.steps.image3._library import overlapping_pairs

        if not overlapping_pairs(library):
            log.warning("outlier_detection: skipped: no two exposures overlap, so no pixel "
                        "can be compared with another exposure")
            return library
        grid = output_grid(library)
        median, sums = self.median_image(library, grid)
        from webbcal.steps.image3._drizzle import map_items

        workers = p.workers if library.save_crf else 1  # in-memory results stay here
        executor = self.executor if library.save_crf else None
        items = [(self, library, k, median, grid, oparams, sums is not None)
                 for k in range(len(library))]
        if executor is None and workers <= 1:
            # here: crf files are written by a thread while the next exposure is flagged
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as writer:
                self._writer, self._writes = writer, []
                try:
                    results = map_items(_flag_job, items)
                    for fut in self._writes:
                        fut.result()  # re-raise a failed write
                finally:
                    self._writer, self._writes = None, []
        else:
            results = map_items(_flag_job, items, executor=executor, workers=workers)
        flagged_total = 0
        for k, n, model, path, contrib in results:
            flagged_total += n
            library.replace(k, model, path=path)
            if sums is not None:
                sums.subtract(k, contrib)
        library.prepared = sums
        library.header["NOUTLIER"] = (flagged_total, "pixels flagged by outlier_detection")
        return library

    def flag_member(self, library, k, median, grid, oparams, with_contributions=False):
        """Blot the median onto member ``k``, flag it, write its crf (if saving).

        Returns (k, n_flagged, model or None, crf path or None, contributions or None):
        the last are what the newly flagged pixels added to the drizzle sums
        (``with_contributions``), for :class:`DrizzleSums.subtract`.
        """
        from webbcal.algorithms.image3.outliers import blot, flag_outliers
        from webbcal.algorithms.image3.pixmap import grid_corner_planes
        from webbcal.algorithms.image3.resample import (contributions, drizzle_weights,
                                                        variance_planes)
        from webbcal.datamodels import DQ

        m = library.members[k]
        # a file-backed member whose crf is a copy with a new DQ: read only the planes
        copy = library.save_crf and library.crf_copyable(k)
        if copy:  # only the planes needed, in two reads (less memory at once)
            planes = library.strided(k, 1, ("data", "err", "dq"))
            data, err, dq = planes["data"], planes["err"], planes["dq"]
        else:
            model = library.load(k)
            data, err, dq = model.data, model.err, model.dq
        sky = 0.0 if m.bkgsub else m.bkglevel
        corners = grid_corner_planes(library.nodes(k), grid)
        blotted = blot(median, corners=corners, interp=self.params.blot_interp)
        flags = flag_outliers(data - np.float32(sky), err, blotted, params=oparams)
        flags &= (dq & int(DQ.DO_NOT_USE)) == 0
        del blotted, err
        contrib = None
        if with_contributions:
            if copy:
                v = library.strided(k, 1, ("var_rnoise", "var_poisson", "var_flat"))
                vr, vp, vf = v["var_rnoise"], v["var_poisson"], v["var_flat"]
            else:
                vr, vp, vf = model.var_rnoise, model.var_poisson, model.var_flat
            weights = drizzle_weights(dq, vr, weight_type=self.params.weight_type,
                                      exptime=m.exptime)
            var = variance_planes(vr, vp, vf, data.shape)
            contrib = contributions(data, corners, weights, var, flags,
                                    out_shape=grid.shape, pixfrac=self.params.pixfrac)
            del weights, var, vr, vp, vf
        del corners
        n = int(flags.sum())
        status = ("COMPLETE", "webbcal outlier_detection step")
        history = f"webbcal outlier_detection: {n} pixels flagged"
        log.info("outlier_detection: %s: %d pixels flagged (%.3f %%)", m.name, n,
                 100.0 * n / flags.size)
        dq[flags] |= np.uint32(DQ.OUTLIER | DQ.DO_NOT_USE)
        if copy:
            path = Path(library.output_dir) / crf_name(m.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            primary, sci_cards = library.crf_cards(k)
            primary["S_OUTLIR"] = status
            args = (library, k, m.wcs_pointing, path, dq)
            kwargs = dict(primary_cards=primary, sci_cards=sci_cards, history=[history],
                          sci_data=data if m.sky_subtract else None)
            if self._writer is not None:
                self._writes.append(self._writer.submit(_write_crf_copy, *args, **kwargs))
            else:
                _write_crf_copy(*args, **kwargs)
            return k, n, None, path, contrib
        model.header["S_OUTLIR"] = status
        model.header.add_history(history)
        if not library.save_crf:
            return k, n, model, None, contrib
        path = Path(library.output_dir) / crf_name(m.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._writer is not None:
            self._writes.append(self._writer.submit(model.write, path))
        else:
            model.write(path)
        return k, n, None, path, contrib

    def median_image(self, library, grid):
        """The median of the drizzled singles over ``grid``, computed tile by tile.

        Returns (median (ny, nx) float32, DrizzleSums or None): with the square kernel
        the same pass also sums every member for the final mosaic.
        """
        from webbcal.algorithms.image3.resample import DrizzleParams
        from webbcal.steps.image3._drizzle import DrizzleSums, iter_items

        p = self.params
        dparams = DrizzleParams(kernel=p.kernel, pixfrac=p.pixfrac,
                                weight_type=p.weight_type, context=False)
        fused = p.kernel == "square"
        size = p.tile_size
        if not size:
            # singles (8 B per overlapping member) + the tile's sums, per pixel; one
            # tile if the whole grid fits the budget, else tiles of an eighth of it
            # (the whole-grid sums and median already take 28 B per pixel)
            per_pixel = 8.0 * _max_overlap(library, grid) + (32.0 if fused else 0.0)
            budget = p.memory_budget_mb * 1e6
            if grid.shape[0] * grid.shape[1] * per_pixel > budget:
                budget /= 8.0
            size = max(int(np.sqrt(budget / per_pixel)), 256)
        if p.workers > 1 or self.executor is not None:
            size = min(size, int(np.ceil(max(grid.shape) / 2.0)))
        median = np.full(grid.shape, np.nan, np.float32)
        tiles = list(grid.tiles(size))
        for k in range(len(library)):  # median weights, once, before handing out tiles
            self._median_weight(library, k)
        items = [(self, library, tile, dparams, fused) for _, _, tile in tiles]
        results = iter_items(_median_job, items, executor=self.executor, workers=p.workers)
        sums = DrizzleSums(grid, dparams, len(library)) if fused else None
        for (x0, y0, tile), (tile_median, tile_sums, added) in zip(tiles, results):
            if tile_median is not None:
                ny, nx = tile.shape
                median[y0:y0 + ny, x0:x0 + nx] = tile_median
            if sums is not None and tile_sums is not None:
                sums.add_tile(x0, y0, *tile_sums)
                sums.used.update(added)
        return median, sums

    def _median_weight(self, library, k, model=None):
        m = library.members[k]
        if self.params.weight_type == "exptime":
            return m.exptime
        return library.median_weight(k)

    def median_tile(self, library, tile, dparams, fused=False):
        """Median of the singles of every member overlapping ``tile``.

        Returns (median or None, sums or None, member indices added); with ``fused``
        the sums ``(num, wht, var, con)`` of all members for the final mosaic (the
        data as resample uses it: no sky level removed unless skymatch subtracted it).
        """
        from webbcal.algorithms.image3.outliers import median_of_singles
        from webbcal.algorithms.image3.pixmap import grid_corner_planes, grid_window
        from webbcal.algorithms.image3.resample import (MosaicAccumulator, drizzle_square_add,
                                                        drizzle_weights, variance_planes)
        from webbcal.steps.image3._drizzle import add_member

        ny, nx = tile.shape
        over = [k for k in range(len(library))
                if grid_window(library.nodes(k), tile, margin=6) is not None]
        sci = np.full((len(over), ny, nx), np.nan, np.float32)
        whts = np.zeros((len(over), ny, nx), np.float32)
        if fused:
            num = np.zeros((ny, nx), np.float32)
            wht = np.zeros((ny, nx), np.float32)
            var = np.zeros((3, ny, nx), np.float32)
            con = np.zeros(((len(library) + 31) // 32, ny, nx), np.int32)
            num_k = np.empty((ny, nx), np.float32)
        mw, added = [], []
        for k in over:
            m = library.members[k]
            nodes = library.nodes(k)
            sky = 0.0 if m.bkgsub else m.bkglevel
            i = len(added)
            if fused:
                win = grid_window(nodes, tile, margin=6)
                r0 = win[0]
                w = library.window(k, win)
                weights = drizzle_weights(w.dq, w.var_rnoise,
                                          weight_type=dparams.weight_type, exptime=m.exptime)
                v = variance_planes(w.var_rnoise, w.var_poisson, w.var_flat, weights.shape)
                num_k[:] = 0
                wht_k = whts[i]
                ok = drizzle_square_add(num_k, wht_k, var, con, w.data,
                                        grid_corner_planes(nodes, tile, window=win), weights, v,
                                        pixfrac=dparams.pixfrac, row0=r0, con_index=k)
                if ok:
                    num += num_k
                    wht += wht_k
                    with np.errstate(divide="ignore", invalid="ignore"):
                        np.divide(num_k, wht_k, out=sci[i], where=wht_k > 0)
                    sci[i][wht_k > 0] -= np.float32(sky)
            else:
                acc = MosaicAccumulator(tile.shape, dparams, variances=False)
                ok = add_member(acc, library, k, tile, sky=sky)
                if ok:
                    single = acc.finalize()
                    sci[i], whts[i] = single.sci, single.wht
            if ok:
                mw.append(self._median_weight(library, k))
                added.append(k)
        sums = (num, wht, var, con) if fused else None
        if not added:
            return None, sums, added
        n = len(added)
        med = median_of_singles(sci[:n], whts[:n], maskpt=self.params.maskpt,
                                median_weights=np.asarray(mw))
        return med, sums, added


def _max_overlap(library, grid, cell: int = 64) -> int:
    """Most members covering one spot of ``grid`` (bounding boxes on a coarse grid):
    how many singles a median tile holds per pixel."""
    ny, nx = grid.shape
    cov = np.zeros((ny // cell + 1, nx // cell + 1), np.int32)
    for k in range(len(library)):
        nodes = library.nodes(k)
        x, y = grid.world_to_pixel(nodes.ra, nodes.dec)
        with np.errstate(invalid="ignore"):
            x0, x1 = (int(np.clip(v // cell, 0, cov.shape[1] - 1))
                      for v in (np.nanmin(x), np.nanmax(x)))
            y0, y1 = (int(np.clip(v // cell, 0, cov.shape[0] - 1))
                      for v in (np.nanmin(y), np.nanmax(y)))
        cov[y0:y1 + 1, x0:x1 + 1] += 1
    return max(int(cov.max()), 1)


def _median_job(item):
    step, library, tile, dparams, fused = item
    return step.median_tile(library, tile, dparams, fused)


def _flag_job(item):
    step, library, k, median, grid, oparams, with_contributions = item
    return step.flag_member(library, k, median, grid, oparams, with_contributions)


def _write_crf_copy(library, k, pointing, path, dq, **kwargs):
    """The crf of member ``k``: a copy of its file with the new DQ, and its gwcs
    rewritten when tweakreg moved it (``pointing``)."""
    copy_with_new_dq(library.members[k].path, path, dq,
                     asdf_hdu=library.aligned_asdf_hdu(k, pointing), **kwargs)


def copy_with_new_dq(src, dst, dq: np.ndarray, *, primary_cards=None, sci_cards=None,
                     history=(), sci_data: np.ndarray | None = None,
                     asdf_hdu=None) -> None:
    """Write ``dst`` as a copy of the FITS file ``src`` with a new DQ plane.

    Every other HDU is copied byte for byte, except the primary header (``primary_cards``
    ``{key: (value, comment)}`` set, ``history`` lines added), the SCI HDU (header
    cards ``sci_cards``; data replaced by ``sci_data`` (float32) when given) and the
    ``ASDF`` extension, replaced by ``asdf_hdu`` (an astropy HDU) when given. This is how
    outlier_detection writes ``*_crf.fits``: no decoding or re-encoding of the planes
    it did not change. ``dq`` (ny, nx) uint32 must have the shape of ``src``'s DQ;
    the DQ HDU's encoding (BITPIX 32, BZERO 0 or 2**31) is kept. The file is written
    atomically (temporary name, then renamed).

    Raises
    ------
    webbcal.datamodels.FormatError
        ``src`` has no DQ extension, or one of another shape or encoding.
    """
    from astropy.io import fits

    from webbcal.datamodels import FormatError, atomic_write

    with fits.open(src, memmap=False, do_not_scale_image_data=True,
                   lazy_load_hdus=False) as hdul:
        parts = []  # (kind, header or None, hdrLoc, datLoc, datSpan, name)
        for i, hdu in enumerate(hdul):
            info = hdul.fileinfo(i)
            parts.append((hdu.header.copy(), info["hdrLoc"], info["datLoc"], info["datSpan"],
                          hdu.name if i else "PRIMARY"))
    names = [p[4] for p in parts]
    if "DQ" not in names:
        raise FormatError(src, "DQ extension", "present (cal product)", "missing")
    dqh = parts[names.index("DQ")][0]
    shape = (dqh.get("NAXIS2"), dqh.get("NAXIS1"))
    bzero = dqh.get("BZERO", 0)
    if dqh.get("BITPIX") != 32 or bzero not in (0, 2**31) or shape != dq.shape \
            or dqh.get("BSCALE", 1) != 1:
        raise FormatError(src, "DQ extension", f"BITPIX 32, BZERO 0 or 2**31, shape "
                          f"{dq.shape}", f"BITPIX {dqh.get('BITPIX')}, BZERO {bzero}, "
                          f"shape {shape}")

    def write_data(f, a):  # big-endian, padded to the 2880-byte block
        f.write(memoryview(a).cast("B"))
        f.write(b"\0" * ((-a.nbytes) % 2880))

    with atomic_write(dst) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
        for header, hdr_loc, dat_loc, span, name in parts:
            if name == "ASDF" and asdf_hdu is not None:
                fout.write(_extension_bytes(asdf_hdu))
                continue
            new_header = None
            if name == "PRIMARY" and (primary_cards or history):
                new_header = header
                for key, card in (primary_cards or {}).items():
                    new_header[key] = card
                for line in history:
                    new_header.add_history(line)
            elif name == "SCI" and sci_cards:
                new_header = header
                for key, card in sci_cards.items():
                    new_header[key] = card
            if new_header is not None:
                fout.write(new_header.tostring().encode("ascii"))
            else:
                fin.seek(hdr_loc)
                fout.write(fin.read(dat_loc - hdr_loc))
            if name == "DQ":
                u = np.array(dq, np.uint32)  # a copy, encoded in place
                if bzero:
                    u ^= np.uint32(2**31)
                write_data(fout, u.byteswap(inplace=True))
            elif name == "SCI" and sci_data is not None:
                write_data(fout, np.ascontiguousarray(sci_data, ">f4"))
            else:
                _copy_range(fin, fout, dat_loc, span)


def _extension_bytes(hdu) -> bytes:
    """A non-primary HDU (e.g. the ASDF table) as FITS extension bytes."""
    import io

    from astropy.io import fits

    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer, output_verify="silentfix")
    return buffer.getvalue()[len(fits.PrimaryHDU().header.tostring()):]


def _copy_range(fin, fout, offset: int, size: int) -> None:
    """Append ``size`` bytes of ``fin`` from ``offset`` to ``fout`` (in the kernel with
    ``os.copy_file_range`` where it works, else through a buffer)."""
    import os
    import shutil

    fout.flush()
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done,
                                       offset + done)
                if n == 0:
                    break
                done += n
        except OSError:
            pass
        fout.seek(0, os.SEEK_END)
    if done < size:
        fin.seek(offset + done)
        shutil.copyfileobj(_Limited(fin, size - done), fout, 1 << 22)


class _Limited:
    """File-like reading at most ``n`` bytes of ``f`` (for ``shutil.copyfileobj``)."""

    def __init__(self, f, n: int):
        self.f, self.left = f, n

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data
