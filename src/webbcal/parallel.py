"""Run a stage over many inputs: serially, on a local Dask cluster, or on a scheduler.

Work items are input paths: exposures for detector1/image2; for image3 on Dask, the
mosaic's tiles (each association runs here and its pipeline hands tiles to the workers
through ``client.get_executor()``), or whole associations with ``tiles=False``.
Only plain data crosses process boundaries: a :class:`Task` holds the stage name, one
path, the pipeline keyword arguments and the environment variables the worker needs
(CRDS location and context). Each task builds its pipeline, runs it on its path and
writes its products itself; what comes back is a small :class:`TaskResult`.

* One failing input does not stop the others: its exception is caught inside the task
  and returned as a failure with the reason.
* ``overwrite=False`` skips an input whose products all exist and are complete FITS
  files (a structural check of every header and data block, no data read). Products
  are written under a temporary name and renamed, so a killed run never leaves a file
  under the final name that looks complete.
* The same function runs a task in-process (serial) and on a worker, so products are
  identical whichever way they were made.

Examples
--------
>>> from webbcal.parallel import run_many                       # doctest: +SKIP
>>> summary = run_many("detector1", uncal_paths, workers=2,
...                    pipeline_kwargs={"output_dir": "out"})
>>> summary.exit_code, [f.reason for f in summary.failed]
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("webbcal.parallel")

__all__ = ["Task", "TaskResult", "RunSummary", "run_many", "run_task", "expected_products",
           "fits_is_complete", "is_complete", "start_client", "FORWARDED_ENV", "DaskMap"]

#: Environment variables copied from the submitting process into every task.
FORWARDED_ENV = ("CRDS_PATH", "CRDS_CONTEXT", "CRDS_SERVER_URL", "CRDS_OBSERVATORY")

#: Products each stage writes per input (suffixes of ``<stem>_<suffix>.fits``).
STAGE_PRODUCTS = {"detector1": ("rate", "rateints"), "image2": ("cal",)}

Status = Literal["done", "skipped", "failed"]

#: ``on_step(path, step_name, event, seconds)``, event ``"start"`` or ``"done"``.
StepCallback = Callable[[str, str, str, float], None]


@dataclass(frozen=True)
class Task:
    """One work item; plain, picklable data.

    Attributes
    ----------
    stage : str or callable
        A stage name of :data:`webbcal.pipelines.STAGES`, or a picklable function
        ``f(path: Path, **pipeline_kwargs) -> list[Path]`` (products written).
    path : str
        The input file.
    pipeline_kwargs : dict
        Keyword arguments of the pipeline class (``output_dir``, ``steps``,
        ``config_file``, ``references``, ``context`` …).
    overwrite : bool
        Redo an input whose products exist and are complete.
    env : dict[str, str]
        Environment variables set in the worker before the task runs.
    products : tuple[str, ...] or None
        Product suffixes that must exist for the input to count as done (default from
        the stage); ``()`` never skips.
    """

    stage: Any
    path: str
    pipeline_kwargs: Mapping[str, Any] = field(default_factory=dict)
    overwrite: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    products: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TaskResult:
    """What one task did.

    ``status`` is ``done``, ``skipped`` or ``failed``; ``outputs`` the product paths
    (written or found); ``seconds`` the wall time in the task; ``timings`` the
    pipeline's per-step seconds; ``reason`` the failure message; ``bad_input`` True
    when the failure was a :class:`webbcal.errors.WebbcalError` (unusable input or
    options) rather than a crash; ``worker`` where it ran.
    """

    path: str
    status: Status
    outputs: tuple[str, ...] = ()
    seconds: float = 0.0
    timings: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None
    bad_input: bool = False
    worker: str = ""


@dataclass(frozen=True)
class RunSummary:
    """All task results of one :func:`run_many` call, in input order."""

    stage: str
    results: tuple[TaskResult, ...]
    seconds: float
    mode: str

    @property
    def done(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "done"]

    @property
    def skipped(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "skipped"]

    @property
    def failed(self) -> list[TaskResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 all done or skipped; 2 every input failed as bad input; 1 otherwise."""
        if not self.failed:
            return 0
        if len(self.failed) == len(self.results) and all(r.bad_input for r in self.failed):
            return 2
        return 1

    def lines(self) -> list[str]:
        """A human summary: one line of counts, then one line per failure."""
        out = [f"{self.stage}: {len(self.done)} done, {len(self.skipped)} skipped, "
               f"{len(self.failed)} failed in {self.seconds:.1f} s ({self.mode})"]
        out += [f"  FAILED {r.path}: {r.reason}" for r in self.failed]
        return out


# -- product completeness ----------------------------------------------------------
def fits_is_complete(path: str | os.PathLike) -> bool:
    """True when ``path`` is a structurally complete FITS file.

    Walks every HDU: each header must end with ``END`` within the file and its data
    (``|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1*…*NAXISn)`` bytes, padded to 2880) must
    fit; the file must end exactly after the last HDU. Reads headers only.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if size == 0 or size % 2880:
        return False
    from astropy.io import fits

    pos, n_hdu = 0, 0
    try:
        with open(path, "rb") as f:
            while pos < size:
                text = b""
                while True:
                    block = f.read(2880)
                    if len(block) < 2880:
                        return False
                    text += block
                    if any(block[i:i + 8] == b"END     " for i in range(0, 2880, 80)):
                        break
                header = fits.Header.fromstring(text.decode("ascii", "replace"))
                naxis = int(header.get("NAXIS", 0))
                n = 0
                if naxis:
                    n = 1
                    for k in range(1, naxis + 1):
                        n *= int(header.get(f"NAXIS{k}", 0))
                nbytes = abs(int(header.get("BITPIX", 8))) // 8 * int(header.get("GCOUNT", 1)) \
                    * (int(header.get("PCOUNT", 0)) + n)
                padded = (nbytes + 2879) // 2880 * 2880
                pos += len(text) + padded
                f.seek(pos)
                n_hdu += 1
    except (OSError, ValueError, UnicodeError):
        return False
    return n_hdu > 0 and pos == size


def expected_products(stage: Any, path: str | os.PathLike, output_dir: str | os.PathLike | None,
                      products: Sequence[str] | None = None) -> list[Path]:
    """Paths an input's products will have (for the skip check).

    detector1: ``<stem>_rate.fits`` and ``<stem>_rateints.fits``; image2:
    ``<stem>_cal.fits``; image3: ``<product>_i2d.fits`` for every product of the
    association (named by ``products[].name``, not by the association's file name);
    another registered stage: ``<stem>_<output_suffix>.fits``; a callable stage:
    ``<stem>_<suffix>.fits`` for ``products`` (none: never skipped).
    """
    from webbcal.pipelines.base import product_stem

    path = Path(path)
    out = Path(output_dir) if output_dir is not None else path.parent
    if products is None and stage == "image3":
        from webbcal.datamodels import read_association

        try:
            asn = read_association(path)
            names = [asn.product_name(k) for k in range(len(asn.products))]
        except Exception:  # noqa: BLE001 - an unreadable association is never "done"
            return [out / f".missing-{path.name}"]
        return [out / f"{name}_i2d.fits" for name in names]
    if products is None:
        products = _stage_products(stage)
    return [out / f"{product_stem(path)}_{suffix}.fits" for suffix in products]


def _stage_products(stage: Any) -> tuple[str, ...]:
    """Default product suffixes of a stage (see :func:`expected_products`)."""
    if not isinstance(stage, str):
        return ()
    if stage in STAGE_PRODUCTS:
        return STAGE_PRODUCTS[stage]
    try:
        from webbcal.pipelines import pipeline_class

        suffix = pipeline_class(stage).output_suffix
    except Exception:  # noqa: BLE001 - an unknown stage fails later, with its reason
        return ()
    return (suffix,) if suffix else ()


def is_complete(path: str | os.PathLike) -> bool:
    """A product counts as complete: a structurally complete FITS file
    (:func:`fits_is_complete`), or any other non-empty file (catalogs, JSON)."""
    path = Path(path)
    if path.suffix.lower() == ".fits":
        return fits_is_complete(path)
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


# -- one task ----------------------------------------------------------------------
def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def run_task(task: Task, *, on_step: StepCallback | None = None) -> TaskResult:
    """Run one task (in-process or on a Dask worker); never raises for a bad input.

    Returns a ``skipped`` result when every expected product is complete and
    ``overwrite`` is False, ``done`` with the written paths, or ``failed`` with the
    exception's message (a traceback is logged at DEBUG). ``on_step(path, step,
    event, seconds)`` (in-process runs only) hears ``"start"`` and ``"done"`` of every
    pipeline step.
    """
    from webbcal.errors import WebbcalError

    t0 = time.perf_counter()
    where = _worker_name()
    for key, value in task.env.items():
        os.environ[key] = str(value)
    path = Path(task.path)
    out_dir = task.pipeline_kwargs.get("output_dir")
    try:
        wanted = expected_products(task.stage, path, out_dir, task.products)
        if not task.overwrite and wanted and all(is_complete(p) for p in wanted):
            return TaskResult(task.path, "skipped", tuple(map(str, wanted)),
                              time.perf_counter() - t0, worker=where)
        if not path.exists():
            raise WebbcalError(f"{path}: no such file")
        if callable(task.stage):
            outputs = list(task.stage(path, **dict(task.pipeline_kwargs)))
            timings: dict[str, float] = {}
        else:
            from webbcal.pipelines import pipeline_class

            pipeline = pipeline_class(task.stage)(**dict(task.pipeline_kwargs))
            if on_step is not None:
                _watch_steps(pipeline, task.path, on_step)
            pipeline.run(path)
            outputs, timings = list(pipeline.output_paths), dict(pipeline.timings)
    except WebbcalError as exc:
        return TaskResult(task.path, "failed", seconds=time.perf_counter() - t0,
                          reason=str(exc), bad_input=True, worker=where)
    except Exception as exc:  # noqa: BLE001 - one bad input must not stop the others
        log.debug("%s failed:\n%s", path, traceback.format_exc())
        return TaskResult(task.path, "failed", seconds=time.perf_counter() - t0,
                          reason=f"{type(exc).__name__}: {exc}", worker=where)
    return TaskResult(task.path, "done", tuple(map(str, outputs)), time.perf_counter() - t0,
                      timings, worker=where)


def _watch_steps(pipeline: Any, path: str, on_step: StepCallback) -> None:
    """Make every step of ``pipeline`` report its start and end to ``on_step``."""
    for name, step in getattr(pipeline, "steps", {}).items():
        def run(*args, _name=name, _run=step.run, **kwargs):
            on_step(path, _name, "start", 0.0)
            t0 = time.perf_counter()
            out = _run(*args, **kwargs)
            on_step(path, _name, "done", time.perf_counter() - t0)
            return out

        step.run = run


# -- many tasks --------------------------------------------------------------------
def start_client(*, workers: int | None = None, scheduler: str | None = None,
                 threads_per_process: int | None = None):
    """A ``distributed.Client``: on ``scheduler`` if given, else on a new LocalCluster.

    The local cluster has ``workers`` single-threaded worker processes; each worker's
    numba gets ``threads_per_process`` threads (default: CPU count // workers, at
    least 1) so that the workers do not oversubscribe the cores. Close the client (and
    its ``cluster`` attribute, for a local cluster) when done.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    n = max(1, int(workers or 1))
    threads = threads_per_process or max(1, (os.cpu_count() or 1) // n)
    env = {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=env)
    return Client(cluster)


def run_many(stage: Any, paths: Iterable[str | os.PathLike], *, workers: int | None = None,
             scheduler: str | None = None, client: Any = None,
             pipeline_kwargs: Mapping[str, Any] | None = None, overwrite: bool = False,
             products: Sequence[str] | None = None,
             progress: Callable[[TaskResult, int, int], None] | None = None,
             on_step: StepCallback | None = None, tiles: bool = True) -> RunSummary:
    """Run ``stage`` on every path; return what happened to each.

    Parameters
    ----------
    stage : str or callable
        ``"detector1"``, ``"image2"``, ``"image3"`` or a picklable function
        ``f(path, **pipeline_kwargs) -> list[Path]``.
    paths : iterable of path
        Inputs (uncal, rate or association files); each is one task.
    workers : int, optional
        Run on a new local Dask cluster of this many worker processes (1 thread each).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); wins over
        ``workers``. Workers must see the same paths.
    client : distributed.Client, optional
        Use this client (not closed afterwards); wins over both.
    pipeline_kwargs : dict, optional
        Passed to the pipeline class (``output_dir``, ``steps``, ``config_file`` …).
    overwrite : bool
        Redo inputs whose products exist and are complete.
    products : sequence of str, optional
        Product suffixes checked for the skip (default per stage).
    progress : callable(result, n_finished, n_total), optional
        Called in the submitting process as each task finishes.
    on_step : callable(path, step, event, seconds), optional
        Hears the start and end of every pipeline step (serial runs only; on Dask the
        steps run in other processes).
    tiles : bool
        image3 on Dask: hand the mosaic's tiles to the workers (the pipeline's
        ``executor`` hook, ``client.get_executor()``) and run the associations one
        after the other here (default); False sends whole associations to workers.

    Returns
    -------
    RunSummary
        Results in input order; ``exit_code`` 0/1/2 for the command line.
    """
    t0 = time.perf_counter()
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    kwargs = dict(pipeline_kwargs or {})
    if kwargs.get("output_dir") is not None:
        kwargs["output_dir"] = str(kwargs["output_dir"])
    tasks = [Task(stage, str(p), kwargs, bool(overwrite), env,
                  None if products is None else tuple(products)) for p in paths]
    name = stage if isinstance(stage, str) else getattr(stage, "__name__", "stage")
    if client is None and scheduler is None and not workers:
        results = _run_serial(tasks, progress, on_step)
        return RunSummary(name, tuple(results), time.perf_counter() - t0, "serial")

    own = client is None
    if own:
        client = start_client(workers=workers, scheduler=scheduler)
    n_workers = len(client.scheduler_info()["workers"])
    try:
        if stage == "image3" and tiles:
            # stage 3: the work items are the mosaic's tiles (and the exposures that
            # outlier_detection drizzles), handed out by the pipeline through the
            # executor; associations run one after the other here.
            executor = DaskMap(client)
            tasks = [dataclasses.replace(t, pipeline_kwargs={**t.pipeline_kwargs,
                                                             "executor": executor})
                     for t in tasks]
            results = _run_serial(tasks, progress, on_step)
            mode = f"dask tiles, {n_workers} workers"
        else:
            results = _run_on_client(client, tasks, progress)
            mode = f"scheduler {scheduler}" if scheduler and own else f"dask, {n_workers} workers"
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not scheduler:
                cluster.close()
    return RunSummary(name, tuple(results), time.perf_counter() - t0, mode)


class DaskMap:
    """The executor handed to image3's hook: ``map(fn, *iterables)`` on a Dask client.

    Like ``client.get_executor(pure=False).map`` (results in input order), except:

    * Objects that several work items share (the ``ExposureLibrary``, the step, the
      outlier median image, the grid …; same object, by identity, found in the items
      themselves or one level inside tuple/list items) are sent to every worker once
      (``client.scatter(..., broadcast=True)``) and the items carry their futures
      instead of a copy each: the task graph stays small (no "large graph" warning)
      and a whole-grid median is not pickled once per exposure.
    * Results come back one at a time in input order (a generator), each released on
      the workers once fetched, so the caller holds one result at a time; closing the
      generator early cancels what is left.
    * It pickles to an inert stub, so a work item that happens to reference the step
      that holds it (and so this executor) can still travel to a worker.

    Parameters
    ----------
    client : distributed.Client
    scatter : bool
        Share common objects as described (default); False ships every item whole.
    """

    #: types never scattered (cheap to ship, and often equal by value only)
    _PLAIN = (type(None), bool, int, float, complex, str, bytes)

    def __init__(self, client: Any, *, scatter: bool = True) -> None:
        self.client = client
        self.scatter = bool(scatter)

    def map(self, fn: Callable, *iterables: Iterable, **_: Any):
        """``fn(*args)`` for the items of ``iterables`` on the workers; an iterator of
        the results in input order (a task's exception is raised when its turn comes)."""
        if self.client is None:
            raise RuntimeError("DaskMap used inside a worker: it has no client there")
        columns = [list(it) for it in iterables]
        held: list = []
        if self.scatter:
            shared = shared_objects(columns, skip=self._PLAIN)
            if shared:
                held = self.client.scatter(list(shared.values()), broadcast=True, hash=False)
                lookup = dict(zip(shared, held))
                columns = [[_swap(v, lookup) for v in col] for col in columns]
        futures = self.client.map(fn, *columns, pure=False)
        return self._results(futures, held)

    def _results(self, futures: list, held: list):
        try:
            for k in range(len(futures)):
                result = futures[k].result()
                futures[k].release()
                futures[k] = None
                yield result
        finally:
            pending = [f for f in futures if f is not None]
            if pending:
                self.client.cancel(pending)
            del held

    def __reduce__(self):
        return (DaskMap, (None,))


def shared_objects(columns: Sequence[Sequence[Any]], *, skip: tuple = ()) -> dict[int, Any]:
    """``{id: object}`` of the objects found in more than one item of ``columns``.

    An item's objects are the item itself and, for a tuple or list item, its elements
    (one level). Objects of the ``skip`` types are ignored. Order: first seen first.
    """
    seen: dict[int, Any] = {}
    count: dict[int, int] = {}
    for col in columns:
        for item in col:
            parts = item if type(item) in (tuple, list) else (item,)
            for obj in {id(o): o for o in parts if not isinstance(o, skip)}.values():
                seen.setdefault(id(obj), obj)
                count[id(obj)] = count.get(id(obj), 0) + 1
    return {i: seen[i] for i in seen if count[i] > 1}


def _swap(item: Any, lookup: Mapping[int, Any]) -> Any:
    """``item`` with the objects of ``lookup`` (by id) replaced by their futures."""
    if id(item) in lookup:
        return lookup[id(item)]
    if type(item) in (tuple, list):
        return type(item)(lookup.get(id(o), o) for o in item)
    return item


def _run_serial(tasks: list[Task], progress, on_step) -> list[TaskResult]:
    results = []
    for k, task in enumerate(tasks, 1):
        results.append(run_task(task, on_step=on_step))
        if progress is not None:
            progress(results[-1], k, len(tasks))
    return results


def _run_on_client(client: Any, tasks: list[Task],
                   progress: Callable[[TaskResult, int, int], None] | None) -> list[TaskResult]:
    """Submit every task; a task lost with its worker becomes a failure, not a crash."""
    from distributed import as_completed

    futures = [client.submit(run_task, task, pure=False, key=f"webbcal-{k}-{os.getpid()}"
                             f"-{time.time_ns()}") for k, task in enumerate(tasks)]
    index = {f.key: k for k, f in enumerate(futures)}
    results: list[TaskResult | None] = [None] * len(tasks)
    for n, future in enumerate(as_completed(futures), 1):
        k = index[future.key]
        try:
            results[k] = future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
            results[k] = TaskResult(tasks[k].path, "failed",
                                    reason=f"{type(exc).__name__}: {exc}")
        if progress is not None:
            progress(results[k], n, len(tasks))
    return [r for r in results if r is not None]
