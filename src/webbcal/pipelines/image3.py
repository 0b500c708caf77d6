"""Stage 3: an association of ``*_cal.fits`` → mosaic, catalog, segmentation, crf files.

Steps in the official order: tweakreg, skymatch, outlier_detection, resample,
source_catalog. Products, named after the association product:
``<product>_i2d.fits``, ``<product>_cat.ecsv``, ``<product>_segm.fits``, and one
``<exposure>_crf.fits`` per member (written by outlier_detection). Only ``science``
members are combined; every product of the association is processed.

Examples
--------
>>> from webbcal.pipelines.image3 import Image3Pipeline          # doctest: +SKIP
>>> Image3Pipeline(steps={"resample": {"tile_size": 2048}}).run("x_asn.json")
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from webbcal.pipelines.base import Pipeline, StepTiming
from webbcal.steps.image3.outlier_detection import OutlierDetectionStep
from webbcal.steps.image3.resample import ResampleStep
from webbcal.steps.image3.skymatch import SkyMatchStep
from webbcal.steps.image3.source_catalog import SourceCatalogStep, write_segmentation
from webbcal.steps.image3.tweakreg import TweakRegStep

log = logging.getLogger("webbcal.pipeline")

__all__ = ["Image3Pipeline", "IMAGE3_STEPS"]

IMAGE3_STEPS = ("tweakreg", "skymatch", "outlier_detection", "resample", "source_catalog")


class Image3Pipeline(Pipeline):
    """Combine an association's exposures (see module docstring).

    Takes the parameters of :class:`webbcal.pipelines.base.Pipeline`, plus
    ``executor``: anything with ``map(fn, iterable)`` like a
    ``concurrent.futures.Executor`` (e.g. a Dask ``Client.get_executor()``); the
    outlier_detection and resample steps hand their independent work items (output
    tiles, exposures) to it (see :mod:`webbcal.steps.image3._drizzle`). ``run``
    accepts an association path, an ``ExposureLibrary`` or a list of cal
    ``ImageModel``s and returns the last product's library (``.mosaic``,
    ``.catalog``, ``.segmentation``).
    """

    name = "image3"
    step_list = (("tweakreg", TweakRegStep), ("skymatch", SkyMatchStep),
                 ("outlier_detection", OutlierDetectionStep), ("resample", ResampleStep),
                 ("source_catalog", SourceCatalogStep))
    output_suffix = "i2d"

    def __init__(self, *args, executor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.executor = executor
        for name in ("outlier_detection", "resample"):
            self.steps[name].executor = executor

    def run(self, input: Any) -> Any:  # noqa: A002 - the official API's name
        from webbcal.datamodels import read_association
        from webbcal.steps.image3._library import load_library

        t_start = time.perf_counter()
        self.timings, self.step_timings, self.output_paths = {}, [], []
        path = Path(input) if isinstance(input, (str, os.PathLike)) else None
        out_dir = self.output_dir or (path.parent if path is not None else Path("."))
        n_products = len(read_association(path).products) if path is not None else 1
        result = None
        for index in range(n_products):
            library = load_library(input if path is None else path, output_dir=out_dir,
                                   product_index=index)
            library.output_dir = Path(out_dir)
            library.save_crf = library.save_crf if path is None else self.save_results
            result = self._run_product(library, out_dir)
        self.timings["total"] = time.perf_counter() - t_start
        return result

    def _run_product(self, library, out_dir: Path):
        log.info("image3: product %s from %d exposures", library.product_name, len(library))
        for step_name, step in self.steps.items():
            t0 = time.perf_counter()
            library = step.run(library)
            dt = time.perf_counter() - t0
            status = "SKIPPED" if step.params.skip else "COMPLETE"
            self.timings[step_name] = self.timings.get(step_name, 0.0) + dt
            self.step_timings.append(StepTiming(step_name, dt, status))
            log.info("%s: %-17s %-8s %7.3f s", self.name, step_name, status, dt)
        if library.mosaic is None:
            return library
        for key in ("S_TWKREG", "S_SKYMAT", "S_OUTLIR", "S_RESAMP", "S_SRCCAT"):
            if key in library.header:
                library.mosaic.header[key] = library.header[key]
        self.record(library.mosaic, f"{library.product_name}_i2d.fits", "i2d")
        if self.save_results:
            t0 = time.perf_counter()
            self.output_paths += self._write_products(library, Path(out_dir))
            self.timings["write"] = self.timings.get("write", 0.0) + time.perf_counter() - t0
            self.output_paths += [m.path for m in library.members
                                  if m.path is not None and m.path.name.endswith("_crf.fits")]
        return library

    def _write_products(self, library, out_dir: Path) -> list[Path]:
        """i2d, cat and segm under temporary names, then all renamed."""
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = library.product_name
        staged = []
        try:
            tmp = out_dir / f".tmp-{uuid.uuid4().hex[:8]}-{stem}_i2d.fits"
            library.mosaic.write(tmp)
            staged.append((tmp, out_dir / f"{stem}_i2d.fits"))
            if library.catalog is not None:
                tmp = out_dir / f".tmp-{uuid.uuid4().hex[:8]}-{stem}_cat.ecsv"
                library.catalog.write(tmp, format="ascii.ecsv", overwrite=True)
                staged.append((tmp, out_dir / f"{stem}_cat.ecsv"))
            if library.segmentation is not None:
                tmp = out_dir / f".tmp-{uuid.uuid4().hex[:8]}-{stem}_segm.fits"
                write_segmentation(tmp, library.segmentation, library.mosaic.sci_header)
                staged.append((tmp, out_dir / f"{stem}_segm.fits"))
            for tmp, target in staged:
                os.replace(tmp, target)
                log.info("%s: wrote %s", self.name, target)
        except BaseException:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise
        library.mosaic.filename = str(out_dir / f"{stem}_i2d.fits")
        return [target for _, target in staged]
