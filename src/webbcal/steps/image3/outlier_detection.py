"""outlier_detection: flag cosmic-ray residuals and other outliers; write ``*_crf.fits``.

Tile by tile, every overlapping exposure (sky level removed) is drizzled alone onto
the tile and the singles are median-combined (:func:`median_of_singles`): memory is
``n_overlapping × tile``, never all singles of the whole grid. The assembled median
(one output-sized plane) is blotted back onto each exposure, outliers are flagged
(:func:`flag_outliers`) as OUTLIER | DO_NOT_USE, and the exposure is written as
``<name>_crf.fits``, which replaces it for the later steps.
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

__all__ = ["OutlierParams_", "OutlierDetectionStep", "crf_name"]


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
    tile_size: int = param(0, "median tile size in mosaic pixels (0: sized to ~512 MB)")
    memory_budget_mb: float = param(512.0, "singles memory per tile when tile_size = 0")
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
        median = self.median_image(library, grid)
        from webbcal.steps.image3._drizzle import fork_map

        workers = p.workers if library.save_crf else 1  # in-memory results stay here
        results = fork_map(_flag_job, len(library), workers, step=self, library=library,
                           median=median, grid=grid, oparams=oparams)
        flagged_total = 0
        for k, n, model, path in results:
            flagged_total += n
            library.replace(k, model, path=path)
        library.header["NOUTLIER"] = (flagged_total, "pixels flagged by outlier_detection")
        return library

    def flag_member(self, library, k, median, grid, oparams):
        """Blot the median onto member ``k``, flag it, write its crf (if saving).

        Returns (k, n_flagged, model or None, crf path or None).
        """
        from webbcal.algorithms.image3.outliers import blot, flag_outliers
        from webbcal.algorithms.image3.pixmap import grid_pixmap
        from webbcal.datamodels import DQ

        m = library.members[k]
        model = library.load(k)
        sky = 0.0 if m.bkgsub else m.bkglevel
        blotted = blot(median, grid_pixmap(library.nodes(k), grid))
        flags = flag_outliers(model.data - np.float32(sky), model.err, blotted, params=oparams)
        flags &= (model.dq & int(DQ.DO_NOT_USE)) == 0
        model.dq[flags] |= np.uint32(DQ.OUTLIER | DQ.DO_NOT_USE)
        n = int(flags.sum())
        model.header["S_OUTLIR"] = ("COMPLETE", "webbcal outlier_detection step")
        model.header.add_history(f"webbcal outlier_detection: {n} pixels flagged")
        log.info("outlier_detection: %s: %d pixels flagged (%.3f %%)", m.name, n,
                 100.0 * n / flags.size)
        if not library.save_crf:
            return k, n, model, None
        path = Path(library.output_dir) / crf_name(m.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        model.write(path)
        return k, n, None, path

    def median_image(self, library, grid):
        """The median of the drizzled singles over ``grid``, computed tile by tile."""
        from webbcal.algorithms.image3.resample import DrizzleParams

        p = self.params
        dparams = DrizzleParams(kernel=p.kernel, pixfrac=p.pixfrac,
                                weight_type=p.weight_type, context=False)
        size = p.tile_size
        if not size:
            per_pixel = 8.0 * len(library)
            size = int(np.sqrt(p.memory_budget_mb * 1e6 / per_pixel))
        if p.workers > 1:
            size = min(size, int(np.ceil(max(grid.shape) / 2.0)))
        median = np.full(grid.shape, np.nan, np.float32)
        tiles = list(grid.tiles(size))
        from webbcal.steps.image3._drizzle import fork_map

        for k in range(len(library)):  # median weights, once, before forking
            self._median_weight(library, k)
        results = fork_map(_median_job, len(tiles), p.workers, step=self, library=library,
                           tiles=tiles, dparams=dparams)
        for i, tile_median in results:
            x0, y0, tile = tiles[i]
            if tile_median is not None:
                ny, nx = tile.shape
                median[y0:y0 + ny, x0:x0 + nx] = tile_median
        return median

    def _median_weight(self, library, k, model=None):
        m = library.members[k]
        if self.params.weight_type == "exptime":
            return m.exptime
        if not np.isfinite(m.median_weight):  # set by ExposureLibrary.load (ivm)
            library.load(k)
        return m.median_weight

    def median_tile(self, library, tile, dparams):
        """Median of the singles of every member overlapping ``tile`` (None if none)."""
        from webbcal.algorithms.image3.outliers import median_of_singles
        from webbcal.algorithms.image3.pixmap import grid_window
        from webbcal.algorithms.image3.resample import MosaicAccumulator
        from webbcal.steps.image3._drizzle import add_member

        sci, wht, mw = [], [], []
        for k, m in enumerate(library.members):
            nodes = library.nodes(k)
            if grid_window(nodes, tile, margin=6) is None:
                continue
            model = library.load(k)
            acc = MosaicAccumulator(tile.shape, dparams, variances=False)
            sky = 0.0 if m.bkgsub else m.bkglevel
            if add_member(acc, model, nodes, tile, sky=sky, exptime=m.exptime):
                single = acc.finalize()
                sci.append(single.sci)
                wht.append(single.wht)
                mw.append(self._median_weight(library, k, model))
            del model
        if not sci:
            return None
        return median_of_singles(np.stack(sci), np.stack(wht), maskpt=self.params.maskpt,
                                 median_weights=np.asarray(mw))


def _median_job(i):
    from webbcal.steps.image3._drizzle import WORK

    x0, y0, tile = WORK["tiles"][i]
    return i, WORK["step"].median_tile(WORK["library"], tile, WORK["dparams"])


def _flag_job(k):
    from webbcal.steps.image3._drizzle import WORK

    return WORK["step"].flag_member(WORK["library"], k, WORK["median"], WORK["grid"],
                                    WORK["oparams"])
