"""Run a calibration stage, or all of them, on files.

examples:
  webbcal run all sim/ -o out/                # uncal -> rate -> cal -> one mosaic per filter
  webbcal run all sim/*_uncal.fits -o out/ --asn my_image3_asn.json --workers 2
  webbcal run all sim/ -o out/ --abs-refcat gaia_dr3.ecsv    # absolute astrometry
  webbcal run detector1 sim/*_uncal.fits --output-dir out/
  webbcal run image2 out/*_rate.fits --workers 2        # local Dask cluster, 2 processes
  webbcal run image3 out/jw01345-o001_image3_f200w_asn.json
  webbcal run detector1 x_uncal.fits --steps.jump.rejection_threshold 5 \\
      --steps.jump.expand_large_events false
  webbcal run detector1 x_uncal.fits --config my.toml --overwrite

STAGE is detector1 (*_uncal.fits), image2 (*_rate.fits), image3 (*_asn.json) or all.
`run all` takes uncal files or folders holding them and writes OUT/detector1,
OUT/image2, OUT/image3 (mosaic, catalog, segmentation, the associations used: one per
filter unless --asn is given), OUT/report/index.html and the log OUT/webbcal.log.

Any step parameter can be given as --steps.STEP.PARAM VALUE (booleans true/false);
the same keys go in a TOML file under [steps.STEP]. Precedence: step defaults <
--config file < --steps options. With `all`, each step goes to every stage that has it.
Without CRDS_PATH, `run all` uses a crds_cache/ folder beside the inputs (a simulated
world's). With a reference_catalog.ecsv beside the inputs (a simulated world's Gaia-like
catalog), image3's tweakreg aligns the mosaics to it (absolute astrometry; the log says
so): --abs-refcat FILE picks another catalog, --abs-refcat none turns it off.
`run image3` takes --abs-refcat FILE too (the same as --steps.tweakreg.abs_refcat FILE).

Products whose files exist and are complete are not redone (--overwrite to redo);
every product is written under a temporary name and renamed, so an interrupted run
never leaves a file that looks complete. Progress goes to stderr (-q: none), the
files written to stdout.

exit status: 0 all inputs calibrated (or already complete); 1 some inputs failed
while the others were processed (listed on stderr); 2 bad options or every input
unusable (nothing written for a bad file); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("webbcal.run")

STEPS_PREFIX = "--steps."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``run`` options (``--steps.STEP.PARAM`` is parsed separately)."""
    from webbcal.pipelines import STAGES

    stages = ", ".join(f"{k} ({v[2]})" for k, v in STAGES.items())
    parser.add_argument("stage", help=f"stage to run: {stages}, or all (uncal files or "
                        "folders -> mosaics)")
    parser.add_argument("files", nargs="+", type=Path,
                        help="input files (uncal for detector1, rate for image2, "
                             "association for image3; uncal files or folders for all)")
    parser.add_argument("--output-dir", "-o", type=Path, default=None,
                        help="folder for the products (default: next to each input; "
                             "for all: ./webbcal-out)")
    parser.add_argument("--asn", type=Path, action="append", default=None, metavar="ASN",
                        help="run all: image3 association(s) to use instead of one per "
                             "filter (repeatable)")
    parser.add_argument("--truth", type=Path, default=None, metavar="DIR",
                        help="run all: the simulator's truth folder for the report "
                             "(default: a truth/ folder beside the inputs)")
    parser.add_argument("--no-report", action="store_true",
                        help="run all: do not build the HTML report")
    parser.add_argument("--abs-refcat", default=None, metavar="FILE",
                        help="run all: align the mosaics to this absolute astrometric "
                             "catalog (ECSV/FITS with ra, dec; default: a "
                             "reference_catalog.ecsv beside the inputs, if any; 'none': "
                             "relative alignment only)")
    parser.add_argument("--config", "-c", type=Path, default=None,
                        help="TOML configuration file ([steps.STEP] tables)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run on a local Dask cluster of N worker processes (work "
                             "items: exposures for detector1/image2, mosaic tiles for image3)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on an existing Dask scheduler (e.g. tcp://host:8786)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo files whose products already exist")
    parser.add_argument("--save-intermediate", action="store_true", default=None,
                        help="also write the product after every step")
    parser.set_defaults(step_options=[])
    _accept_step_options(parser)


def _accept_step_options(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` take any ``--steps.STEP.PARAM VALUE`` (or ``=VALUE``) option.

    argparse cannot declare a family of option names, so the pairs are taken out of the
    argument list before argparse sees it and put on ``args.step_options``.
    """
    original = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        argv = list(sys.argv[1:] if args is None else args)
        rest, pairs, i = [], [], 0
        while i < len(argv):
            token = argv[i]
            if token.startswith(STEPS_PREFIX):
                if "=" in token:
                    key, value = token.split("=", 1)
                elif i + 1 < len(argv):
                    key, value = token, argv[i + 1]
                    i += 1
                else:
                    parser.error(f"{token} needs a value")
                pairs.append((key[2:], value))
            else:
                rest.append(token)
            i += 1
        ns, extra = original(rest, namespace)
        ns.step_options = list(getattr(ns, "step_options", None) or []) + pairs
        return ns, extra

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def main(args: argparse.Namespace) -> int:
    """Run the stage on every file; see the module docstring for exit codes."""
    if args.stage == "all":
        return main_all(args)
    from webbcal.errors import WebbcalError
    from webbcal.pipelines import pipeline_class
    from webbcal.pipelines.config import parse_step_overrides

    options = ("asn", "truth") if args.stage == "image3" else ("asn", "truth", "abs_refcat")
    for option in options:
        if getattr(args, option, None):
            where = "'run all' and 'run image3'" if option == "abs_refcat" else "'run all'"
            raise WebbcalError(f"--{option.replace('_', '-')} is an option of {where}, "
                               f"not 'run {args.stage}'")
    cls = pipeline_class(args.stage)
    overrides = parse_step_overrides(args.step_options)
    if getattr(args, "abs_refcat", None):  # run image3: tweakreg's absolute catalog
        from webbcal.commands import _runall as R

        refcat, why = R.choose_abs_refcat(args.abs_refcat, [], {})
        overrides.setdefault("tweakreg", {})["abs_refcat"] = str(refcat) if refcat else ""
        print(f"image3: tweakreg reference catalog: {why}", file=sys.stderr)
    # builds the steps once: unknown steps/parameters and a bad config fail here (exit 2)
    pipeline = cls(steps=overrides, config_file=args.config, output_dir=args.output_dir,
                   save_intermediate=args.save_intermediate)
    pipeline_kwargs = {"steps": overrides,
                       "output_dir": pipeline.output_dir,  # also the config file's choice
                       "config_file": args.config and str(args.config),
                       "save_intermediate": args.save_intermediate}
    with dask_client(args) as client:
        summary = run_stage(args.stage, list(args.files), pipeline_kwargs, client=client,
                            overwrite=args.overwrite, quiet=args.quiet)
    print_failures([summary])
    return summary.exit_code


def main_all(args: argparse.Namespace) -> int:
    """``webbcal run all``: detector1 → image2 → image3 (+ report); exit codes as ``run``."""
    import json

    from webbcal.cli import add_log_file
    from webbcal.commands import _runall as R
    from webbcal.commands._progress import Progress
    from webbcal.pipelines import pipeline_class
    from webbcal.pipelines.config import (PipelineConfig, load_config, merge_step_values,
                                          parse_step_overrides)

    uncal = R.find_inputs(args.files)
    out = args.output_dir or Path("webbcal-out")
    if not os.environ.get("CRDS_PATH") and not os.environ.get("CRDS_SERVER_URL"):
        cache = next((p.parent / "crds_cache" for p in uncal
                      if (p.parent / "crds_cache").is_dir()), None)
        if cache is not None:  # a simulated world: its own cache lies beside the inputs
            os.environ["CRDS_PATH"] = str(cache.resolve())
            print(f"CRDS_PATH not set: using {cache}", file=sys.stderr)
    asn_files = list(args.asn or [])
    R.check_association_members(asn_files, uncal)
    config = load_config(args.config) if args.config else PipelineConfig()
    steps = merge_step_values(config.steps, parse_step_overrides(args.step_options))
    stage_kwargs = {stage: {"steps": values, "references": dict(config.references),
                            "save_intermediate": args.save_intermediate}
                    for stage, values in R.split_step_values(steps).items()}
    refcat, why = R.choose_abs_refcat(getattr(args, "abs_refcat", None), uncal, steps)
    if refcat is not None:
        tweak = dict(stage_kwargs["image3"]["steps"].get("tweakreg", {}))
        tweak["abs_refcat"] = str(refcat)
        stage_kwargs["image3"]["steps"] = {**stage_kwargs["image3"]["steps"], "tweakreg": tweak}
        if not args.quiet:
            print(f"absolute astrometry: aligning the mosaics to {refcat} ({why})",
                  file=sys.stderr)
    for stage, kwargs in stage_kwargs.items():  # bad parameter values fail here (exit 2)
        pipeline_class(stage)(**kwargs)
    truth = args.truth or next((p.parent / "truth" for p in uncal
                                if (p.parent / "truth").is_dir()), None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "webbcal-run.json").write_text(json.dumps(
        {"inputs": [str(p.resolve()) for p in uncal],
         "raw_dirs": sorted({str(p.parent.resolve()) for p in uncal}),
         "truth_dir": str(Path(truth).resolve()) if truth else None}, indent=1) + "\n")
    log_path = add_log_file(out / "webbcal.log", debug=args.verbose > 0)
    log.info("run all: %d exposures -> %s", len(uncal), out)
    log.info("absolute astrometry: %s", f"{refcat} ({why})" if refcat is not None else why)
    with dask_client(args) as client:
        summary = R.run_all(uncal, out, asn_files=asn_files, stage_kwargs=stage_kwargs,
                            overwrite=args.overwrite, client=client,
                            progress=Progress(enabled=not args.quiet))
    for s in summary.summaries:
        log.info("%s", s.lines()[0])
        print(s.lines()[0])
    print(f"\nproducts in {out}/:")
    for s in summary.summaries:
        outputs = [Path(o) for r in s.results if r.status != "failed" for o in r.outputs]
        kinds: dict[str, int] = {}
        for o in outputs:
            kind = o.name.rsplit("_", 1)[-1].split(".")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        listing = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "nothing"
        print(f"  {s.stage:<10} {out / s.stage}/: {listing}")
    for r in summary.summaries[-1].results if len(summary.summaries) == 3 else ():
        for o in (Path(o) for o in r.outputs if o.endswith("_i2d.fits")):
            print(f"  {'mosaic':<10} {o}")
            cat = o.with_name(o.name.replace("_i2d.fits", "_cat.ecsv"))
            if cat.exists():
                print(f"  {'catalog':<10} {cat}")
    if not args.no_report and any(s.done or s.skipped for s in summary.summaries):
        from webbcal.report.build import build_report

        index = build_report(out, truth_dir=truth, raw_dirs=[Path(d) for d in
                                                             {p.parent for p in uncal}])
        print(f"  {'report':<10} {index}")
    print(f"  {'log':<10} {log_path}")
    print_failures(summary.summaries)
    return summary.exit_code


def run_stage(stage: str, files: list[Path], pipeline_kwargs: dict, *, client=None,
              overwrite: bool = False, quiet: bool = False):
    """One stage through :func:`webbcal.parallel.run_many` with progress on stderr and the
    written files on stdout; returns the ``RunSummary``."""
    from webbcal.commands._progress import Progress
    from webbcal.parallel import run_many

    progress = Progress(enabled=not quiet)

    def finished(result, n, total):
        progress.done(result, n, total)
        if result.status == "done":
            for path in result.outputs:
                print(f"wrote {path}", flush=True)
        elif result.status == "skipped":
            for path in result.outputs:
                print(f"kept {path} (complete)", flush=True)

    progress.start(stage, len(files))
    summary = run_many(stage, files, client=client, pipeline_kwargs=pipeline_kwargs,
                       overwrite=overwrite, progress=finished, on_step=progress.step)
    progress.finish()
    log.info("%s: %d done, %d skipped, %d failed in %.2f s (%s)", stage, len(summary.done),
             len(summary.skipped), len(summary.failed), summary.seconds, summary.mode)
    print(summary.lines()[0])
    return summary


def print_failures(summaries) -> None:
    """List every failed input with its reason on stderr."""
    failed = [r for s in summaries for r in s.failed]
    if not failed:
        return
    print(f"failures ({len(failed)}):", file=sys.stderr)
    previous = None
    for r in failed:
        reason = r.reason or "unknown"
        if reason == previous:
            print(f"  {r.path}: (same reason)", file=sys.stderr)
        else:
            print(f"  {reason}" if str(r.path) in reason else f"  {r.path}: {reason}",
                  file=sys.stderr)
        previous = reason


@contextlib.contextmanager
def dask_client(args: argparse.Namespace):
    """A Dask client for ``--workers``/``--scheduler`` (closed afterwards), else None."""
    if not (args.workers or args.scheduler):
        yield None
        return
    from webbcal.parallel import start_client

    client = start_client(workers=args.workers, scheduler=args.scheduler)
    log.info("dask: %s", client)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()
