"""The Pipeline layer: an ordered list of steps run on one exposure.

A pipeline subclass only lists its steps and says which products it writes::

    class Detector1Pipeline(Pipeline):
        name = "detector1"
        step_list = (("dq_init", DQInitStep), ("saturation", SaturationStep), ...)
        output_suffix = "rate"

Parameters merge as step defaults < configuration file (TOML) < keyword arguments
(the command line passes its ``--steps.STEP.PARAM`` values as keywords). A pipeline
holds no global state: it can be built on a Dask worker from plain data and run on a
path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from webbcal.pipelines.config import PipelineConfig, load_config, merge_step_values
from webbcal.steps.base import ParameterError, Step

log = logging.getLogger("webbcal.pipeline")

#: Product suffixes recognised at the end of an input name (``x_uncal.fits`` -> ``x``).
KNOWN_SUFFIXES = ("uncal", "ramp", "rate", "rateints", "cal", "calints", "i2d",
                  "dq_init", "saturation", "superbias", "refpix", "linearity",
                  "dark_current", "jump", "ramp_fit", "gain_scale")


@dataclass(frozen=True)
class StepTiming:
    """Wall time of one step in one run (seconds); ``status`` COMPLETE or SKIPPED."""

    step: str
    seconds: float
    status: str


def product_stem(path_or_name: str | Path) -> str:
    """The observation part of a product name: ``jw…_nrca1_uncal.fits`` -> ``jw…_nrca1``."""
    name = Path(str(path_or_name)).name
    for ext in (".fits.gz", ".fits", ".asdf"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    for suffix in sorted(KNOWN_SUFFIXES, key=len, reverse=True):
        if name.endswith("_" + suffix):
            return name[: -len(suffix) - 1]
    return name


class Pipeline:
    """Base class: runs ``step_list`` in order on one exposure.

    Parameters
    ----------
    steps : dict, optional
        ``{step_name: {param: value}}``; wins over the configuration file.
    config_file : str or Path, optional
        TOML file with ``[steps.STEP]`` tables and top-level pipeline options
        (see :mod:`webbcal.pipelines.config`).
    output_dir : str or Path, optional
        Where products are written (default: the input file's folder, or the current
        folder for an in-memory input).
    save_results : bool, optional
        Write the product(s) (default True).
    references : dict, optional
        ``{reftype: path | XxxRef}`` overrides for every step that uses that type.
    context : str, optional
        CRDS context (e.g. ``"jwst_1234.pmap"``); default: the CRDS client's choice.
    save_intermediate : bool, optional
        Also write the model after every step as ``<stem>_<step>.fits`` (default False).

    Attributes
    ----------
    timings : dict[str, float]
        Seconds per step of the last ``run`` (plus ``"read"``, ``"write"``, ``"total"``).
    output_paths : list[pathlib.Path]
        Files written by the last ``run``.
    """

    name: ClassVar[str] = "pipeline"
    step_list: ClassVar[tuple[tuple[str, type[Step]], ...]] = ()
    #: suffix of the main product; ``None`` to write nothing by default
    output_suffix: ClassVar[str | None] = None

    def __init__(
        self,
        steps: Mapping[str, Mapping[str, Any]] | None = None,
        config_file: str | Path | None = None,
        output_dir: str | Path | None = None,
        save_results: bool | None = None,
        references: Mapping[str, Any] | None = None,
        context: str | None = None,
        save_intermediate: bool | None = None,
    ) -> None:
        config = load_config(config_file) if config_file is not None else PipelineConfig()
        self.config = config
        opts = config.options
        self.output_dir = _pick(output_dir, opts.get("output_dir"), None)
        self.output_dir = None if self.output_dir is None else Path(self.output_dir)
        self.save_results = _as_bool(_pick(save_results, opts.get("save_results"), True),
                                     "save_results")
        self.save_intermediate = _as_bool(
            _pick(save_intermediate, opts.get("save_intermediate"), False), "save_intermediate")
        self.context = _pick(context, opts.get("context"), None)
        self.references = {**config.references, **dict(references or {})}
        values = merge_step_values(config.steps, steps)
        known = [n for n, _ in self.step_list]
        unknown = sorted(set(values) - set(known))
        if unknown:
            where = f" (in {config.path})" if config.path and set(unknown) & set(config.steps) \
                else ""
            raise ParameterError(
                f"{self.name} has no step {', '.join(map(repr, unknown))}{where}; "
                f"its steps are: {', '.join(known)}")
        self.steps: dict[str, Step] = {}
        for step_name, step_cls in self.step_list:
            refs = {k: v for k, v in self.references.items() if k in step_cls.reference_types}
            self.steps[step_name] = step_cls(values.get(step_name), references=refs,
                                             context=self.context)
        self.timings: dict[str, float] = {}
        self.step_timings: list[StepTiming] = []
        self.output_paths: list[Path] = []

    # -- hooks for subclasses ------------------------------------------------------
    def load_input(self, path: Path) -> Any:
        """Read the input file (default: the first step's reader)."""
        first = next(iter(self.steps.values()), None)
        if first is not None:
            return first.load_input(path)
        from webbcal.datamodels import read

        return read(path)

    def validate_input(self, model: Any, path: Path | None) -> None:
        """Check the input before any step runs; raise ``FormatError`` if unusable."""

    def products(self, result: Any) -> list[tuple[str, Any]]:
        """``(suffix, model)`` pairs to write for the final result."""
        return [(self.output_suffix, result)] if self.output_suffix else []

    # -- machinery --------------------------------------------------------------
    def run(self, input: Any) -> Any:  # noqa: A002 - the official API's name
        """Run every step on a path or a model; write and return the product.

        A model given in memory is modified in place (pass ``model.copy()`` to keep
        it). Nothing is written unless every step succeeded, and each file appears
        atomically (temporary name, then rename).
        """
        t_start = time.perf_counter()
        self.timings, self.step_timings, self.output_paths = {}, [], []
        path = Path(input) if isinstance(input, (str, os.PathLike)) else None
        if path is not None:
            log.info("%s: reading %s", self.name, path)
            model = self.load_input(path)
        else:
            model = input
        self.timings["read"] = time.perf_counter() - t_start
        source_name = path.name if path is not None else Path(
            str(getattr(model, "filename", None) or "webbcal")).name
        self.validate_input(model, path)
        stem = product_stem(source_name)
        out_dir = self._output_folder(path)
        for step_name, step in self.steps.items():
            t0 = time.perf_counter()
            model = step.run(model)
            dt = time.perf_counter() - t0
            status = "SKIPPED" if step.params.skip else "COMPLETE"
            if step.status_keyword and hasattr(model, "header"):
                status = str(model.header.get(step.status_keyword, status))
            self.timings[step_name] = dt
            self.step_timings.append(StepTiming(step_name, dt, status))
            log.info("%s: %-13s %-8s %7.3f s", self.name, step_name, status, dt)
            if self.save_intermediate:
                self._write([(step_name, model)], stem, out_dir)
        t0 = time.perf_counter()
        for suffix, product in self.products(model):
            self.record(product, source_name, suffix)
        if self.save_results:
            self.output_paths = self._write(self.products(model), stem, out_dir)
        self.timings["write"] = time.perf_counter() - t0
        self.timings["total"] = time.perf_counter() - t_start
        log.info("%s: %s done in %.3f s", self.name, source_name, self.timings["total"])
        return model

    def record(self, product: Any, source_name: str, suffix: str) -> None:
        """Write pipeline, software version and CRDS context keywords into the header."""
        from webbcal import __version__

        header = product.header
        header["CAL_VER"] = (__version__, "webbcal version that calibrated the data")
        header["CAL_SOFT"] = ("webbcal", "calibration software")
        header["CRDS_CTX"] = (self.crds_context(), "CRDS context (.pmap) used")
        crds_version = _crds_version()
        if crds_version:
            header["CRDS_VER"] = (crds_version, "version of the CRDS client")
        header["DATE"] = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                          "UTC date the file was created")
        header["FILENAME"] = (f"{product_stem(source_name)}_{suffix}.fits",
                              "name of the file")
        parts = ", ".join(f"{t.step}={t.seconds:.3f}s" for t in self.step_timings)
        header.add_history(f"webbcal {type(self).__name__} {__version__}: {parts}")

    def crds_context(self) -> str:
        """The CRDS context that served the references (best effort, never raises)."""
        if self.context:
            return str(self.context)
        env = os.environ.get("CRDS_CONTEXT")
        if env:
            return env
        try:  # the offline cache's own context (what get_references falls back to)
            from webbcal.references._select import _cache_context

            return str(_cache_context(os.environ.get("CRDS_PATH")) or "N/A")
        except Exception:  # noqa: BLE001 - provenance only
            return "N/A"

    def _output_folder(self, path: Path | None) -> Path:
        if self.output_dir is not None:
            return self.output_dir
        return path.parent if path is not None else Path(".")

    def _write(self, products: list[tuple[str, Any]], stem: str, out_dir: Path) -> list[Path]:
        """Write all products under temporary names, then rename them all.

        A failure while writing any of them leaves none of them behind.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[Path, Path]] = []
        try:
            for suffix, product in products:
                target = out_dir / f"{stem}_{suffix}.fits"
                tmp = out_dir / f".tmp-{uuid.uuid4().hex[:12]}-{target.name}"
                product.write(tmp)
                staged.append((tmp, target))
            for (tmp, target), (_, product) in zip(staged, products):
                os.replace(tmp, target)
                product.filename = str(target)
                log.info("%s: wrote %s", self.name, target)
        except BaseException:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise
        return [target for _, target in staged]


def _pick(explicit: Any, from_file: Any, default: Any) -> Any:
    if explicit is not None:
        return explicit
    if from_file is not None:
        return from_file
    return default


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ParameterError(f"pipeline option '{name}': expected true or false, found {value!r}")


def _crds_version() -> str | None:
    import sys

    crds = sys.modules.get("crds")
    return getattr(crds, "__version__", None) if crds is not None else None
