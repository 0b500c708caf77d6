"""``webbcal run all``: raw exposures to mosaics in one command.

detector1 on every ``*_uncal.fits`` → image2 on the rate files → image3 on one
association per filter (or on the associations given), each stage through
:func:`webbcal.parallel.run_many` (serial, local Dask cluster or scheduler). Products
go to ``OUT/detector1``, ``OUT/image2`` and ``OUT/image3``; the associations written
for stage 3 go to ``OUT/image3`` (official layout, members relative to that folder).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webbcal.errors import WebbcalError

log = logging.getLogger("webbcal.run")

__all__ = ["ALL_STAGES", "AllSummary", "find_inputs", "split_step_values", "product_name",
           "group_by_filter", "write_filter_associations", "adopt_associations",
           "check_association_members", "choose_abs_refcat", "REFCAT_NAME", "run_all"]

ALL_STAGES = ("detector1", "image2", "image3")

#: The absolute astrometric catalog a simulated world writes beside its uncal files.
REFCAT_NAME = "reference_catalog.ecsv"


@dataclass(frozen=True)
class AllSummary:
    """What ``run all`` did: one :class:`webbcal.parallel.RunSummary` per stage that ran
    (in order) and the association files stage 3 used."""

    summaries: tuple[Any, ...]
    associations: tuple[Path, ...]
    n_inputs: int

    @property
    def exit_code(self) -> int:
        """0 nothing failed; 2 every exposure failed detector1 as bad input; 1 otherwise."""
        if not any(s.failed for s in self.summaries):
            return 0
        first = self.summaries[0] if self.summaries else None
        if first is not None and first.exit_code == 2:
            return 2
        return 1


# -- inputs and options ------------------------------------------------------------
def find_inputs(items: Sequence[Path]) -> list[Path]:
    """Files as given, folders expanded to their ``*_uncal.fits`` (sorted, not recursive).

    Raises ``WebbcalError`` for a folder without uncal files or a missing path.
    """
    out: list[Path] = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = sorted(item.glob("*_uncal.fits"))
            if not found:
                raise WebbcalError(f"{item}: no *_uncal.fits files in this folder")
            out += found
        elif item.exists():
            out.append(item)
        else:
            raise WebbcalError(f"{item}: no such file or folder")
    return list(dict.fromkeys(out))


def split_step_values(steps: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sort ``{step: {param: value}}`` (config file + ``--steps``) into stages.

    Returns ``{stage: {step: {param: value}}}``; a step two stages have (image2's and
    image3's ``resample``) goes to both; a step no stage has raises ``WebbcalError``
    naming the steps of every stage.
    """
    from webbcal.pipelines import pipeline_class

    names = {stage: [n for n, _ in pipeline_class(stage).step_list] for stage in ALL_STAGES}
    out: dict[str, dict[str, Any]] = {stage: {} for stage in ALL_STAGES}
    for step, values in steps.items():
        owners = [stage for stage, known in names.items() if step in known]
        if not owners:
            listing = "; ".join(f"{s}: {', '.join(n)}" for s, n in names.items())
            raise WebbcalError(f"no stage has a step {step!r} (steps are {listing})")
        for stage in owners:
            out[stage][step] = dict(values)
    return out


def choose_abs_refcat(option: str | Path | None, uncal: Sequence[Path],
                      steps: Mapping[str, Mapping[str, Any]]) -> tuple[Path | None, str]:
    """The absolute reference catalog for image3's tweakreg, and why it was chosen.

    Precedence: ``--abs-refcat FILE`` (``option``; ``'none'`` turns alignment to a
    catalog off) > ``tweakreg.abs_refcat`` from the config file or ``--steps`` >
    a :data:`REFCAT_NAME` beside the inputs (a simulated world's Gaia-like catalog).

    Returns ``(path or None, reason)``; ``path`` None leaves ``steps`` as they are.
    Raises ``WebbcalError`` when ``option`` names a missing file.
    """
    if option is not None and str(option).lower() == "none":
        return None, "--abs-refcat none: relative alignment only"
    if option is not None:
        path = Path(option)
        if not path.is_file():
            raise WebbcalError(f"--abs-refcat {option}: no such file (an ECSV/FITS table "
                               f"with ra, dec columns)")
        return path, f"--abs-refcat {path}"
    if (steps.get("tweakreg") or {}).get("abs_refcat"):
        return None, "tweakreg.abs_refcat set by the configuration"
    found = sorted({p.parent / REFCAT_NAME for p in uncal if (p.parent / REFCAT_NAME).is_file()})
    if found:
        return found[0], f"found {found[0]} beside the inputs"
    return None, "no absolute reference catalog: relative alignment only"


# -- associations ------------------------------------------------------------------
def product_name(program: str, observation: str | None, filter_: str, pupil: str = "CLEAR",
                 *, target: int = 1) -> str:
    """Official level-3 product name, e.g. ``jw01345-o001_t001_nircam_clear-f200w``.

    ``observation`` None (members from several observations) gives the candidate id
    ``c1000``. A pupil-wheel filter comes after the filter (``f444w-f470n``).
    """
    optical = (f"clear-{filter_}" if pupil.upper() in ("", "CLEAR", "N/A")
               else f"{filter_}-{pupil}")
    obs = f"o{int(observation):03d}" if observation and str(observation).isdigit() \
        else "c1000"
    return f"jw{program}-{obs}_t{target:03d}_nircam_{optical}".lower()


def group_by_filter(headers: Mapping[Path, Mapping[str, Any]]) -> dict[str, list[Path]]:
    """Group cal files by (program, filter, pupil); returns ``{product name: paths}``.

    ``headers`` maps each file to its primary header (``PROGRAM``, ``OBSERVTN``,
    ``FILTER``, ``PUPIL``). Groups and their members are sorted, so the same inputs
    always give the same associations.
    """
    groups: dict[tuple[str, str, str], list[Path]] = {}
    for path, h in headers.items():
        key = (str(h.get("PROGRAM", "00000")).strip() or "00000",
               str(h.get("FILTER", "")).strip().upper(),
               str(h.get("PUPIL", "CLEAR")).strip().upper() or "CLEAR")
        if not key[1]:
            raise WebbcalError(f"{path}: primary header has no FILTER; cannot group it into "
                               f"an association (give --asn)")
        groups.setdefault(key, []).append(Path(path))
    out: dict[str, list[Path]] = {}
    for (program, filt, pupil), paths in sorted(groups.items()):
        obs = {str(headers[p].get("OBSERVTN", "")).strip() for p in paths}
        name = product_name(program, obs.pop() if len(obs) == 1 else None, filt, pupil)
        out[name] = sorted(paths)
    return out


def write_filter_associations(cal_files: Sequence[Path], out_dir: Path) -> list[Path]:
    """One image3 association per filter of ``cal_files``, written into ``out_dir``.

    Files are ``<product>_asn.json``; an existing file with the same members is kept
    (so a re-run does not touch it).
    """
    from astropy.io import fits

    from webbcal.datamodels import Association, read_association

    headers = {Path(p): fits.getheader(p, 0) for p in cal_files}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, members in group_by_filter(headers).items():
        program = str(headers[members[0]].get("PROGRAM", "")).strip()
        asn = Association.from_members(name, members, asn_id=name.split("_")[0].split("-")[1],
                                       program=program, relative_to=out_dir)
        target = out_dir / f"{name}_asn.json"
        if target.exists():
            try:
                old = read_association(target)
                if old.products == asn.products:
                    written.append(target)
                    continue
            except Exception:  # noqa: BLE001 - a broken file is simply rewritten
                pass
        asn.write(target)
        written.append(target)
    return written


def adopt_associations(asn_files: Sequence[Path], cal_by_stem: Mapping[str, Path],
                       out_dir: Path) -> list[Path]:
    """Copy given associations into ``out_dir``, pointing members at our cal files.

    A member whose exposure stem is among ``cal_by_stem`` points at that file; any other
    member must exist relative to its original association (else ``WebbcalError``).
    """
    from webbcal.datamodels import read_association
    from webbcal.pipelines.base import product_stem

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in asn_files:
        asn = read_association(src)
        for product in asn.products:
            for member in product["members"]:
                stem = product_stem(Path(str(member["expname"])).name)
                if stem in cal_by_stem:
                    target = Path(cal_by_stem[stem])
                else:
                    target = Path(src).parent / str(member["expname"])
                    if str(member.get("exptype", "science")).lower() == "science" \
                            and not target.exists():
                        raise WebbcalError(
                            f"{src}: member {member['expname']!r} is neither among the "
                            f"exposures being calibrated nor at {target}")
                member["expname"] = os.path.relpath(target.resolve(), out_dir.resolve())
        dest = out_dir / Path(src).name
        asn.write(dest)
        written.append(dest)
    return written


def check_association_members(asn_files: Sequence[Path], uncal: Sequence[Path]) -> None:
    """Fail early (before any work) when a given association names exposures that are
    neither inputs nor existing files."""
    from webbcal.datamodels import read_association
    from webbcal.pipelines.base import product_stem

    stems = {product_stem(p.name) for p in uncal}
    for src in asn_files:
        asn = read_association(src)
        for product in asn.products:
            for member in product["members"]:
                name = str(member["expname"])
                if product_stem(Path(name).name) not in stems \
                        and not (Path(src).parent / name).exists():
                    raise WebbcalError(f"{src}: member {name!r} is not among the inputs "
                                       f"({len(stems)} exposures) and does not exist")


# -- the run -----------------------------------------------------------------------
def run_all(uncal: Sequence[Path], out: Path, *, asn_files: Sequence[Path] = (),
            stage_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
            overwrite: bool = False, client: Any = None, progress: Any = None) -> AllSummary:
    """detector1 → image2 → image3 (see the module docstring).

    Parameters
    ----------
    uncal : sequence of Path
        Raw exposures.
    out : Path
        Output root (``detector1/``, ``image2/``, ``image3/`` below it).
    asn_files : sequence of Path
        Associations for stage 3; none: one per filter.
    stage_kwargs : {stage: dict}, optional
        Pipeline keyword arguments per stage (``steps``, ``references`` …);
        ``output_dir`` is set here.
    overwrite : bool
        Redo inputs whose products are complete.
    client : distributed.Client, optional
        Run every stage's work items on this Dask client; None runs serially.
    progress : webbcal.commands._progress.Progress, optional
    """
    from webbcal.parallel import run_many

    stage_kwargs = stage_kwargs or {}
    summaries = []

    def stage(name: str, inputs: list[Path]):
        kwargs = {**dict(stage_kwargs.get(name, {})), "output_dir": out / name}
        if progress is not None:
            progress.start(name, len(inputs))
        summary = run_many(name, inputs, client=client, pipeline_kwargs=kwargs,
                           overwrite=overwrite,
                           progress=None if progress is None else progress.done,
                           on_step=None if progress is None else progress.step)
        if progress is not None:
            progress.finish()
        summaries.append(summary)
        return summary

    d1 = stage("detector1", list(uncal))
    rates = [Path(o) for r in d1.results if r.status != "failed" for o in r.outputs
             if o.endswith("_rate.fits")]
    asns: list[Path] = []
    if rates:
        i2 = stage("image2", rates)
        cals = [Path(o) for r in i2.results if r.status != "failed" for o in r.outputs
                if o.endswith("_cal.fits")]
        if cals:
            from webbcal.pipelines.base import product_stem

            if asn_files:
                asns = adopt_associations(asn_files, {product_stem(c.name): c for c in cals},
                                          out / "image3")
            else:
                asns = write_filter_associations(cals, out / "image3")
            stage("image3", asns)
    return AllSummary(tuple(summaries), tuple(asns), len(uncal))
