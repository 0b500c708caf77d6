"""Run a calibration stage on files.

examples:
  webbcal run detector1 sim/*_uncal.fits --output-dir out/
  webbcal run detector1 x_uncal.fits --steps.jump.rejection_threshold 5 \\
      --steps.jump.expand_large_events false
  webbcal run detector1 x_uncal.fits --config my.toml --overwrite

Any step parameter can be given as --steps.STEP.PARAM VALUE (booleans true/false);
the same keys go in a TOML file under [steps.STEP]. Precedence: step defaults <
--config file < --steps options.

exit status: 0 all files calibrated (or already done); 2 bad input or options
(nothing written for a bad file); 1 some files failed while others succeeded.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from pathlib import Path

log = logging.getLogger("webbcal.run")

STEPS_PREFIX = "--steps."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``run`` options (``--steps.STEP.PARAM`` is parsed separately)."""
    from webbcal.pipelines import STAGES

    stages = ", ".join(f"{k} ({v[2]})" for k, v in STAGES.items())
    parser.add_argument("stage", help=f"stage to run: {stages}")
    parser.add_argument("files", nargs="+", type=Path,
                        help="input files (uncal for detector1, rate for image2, "
                             "association for image3)")
    parser.add_argument("--output-dir", "-o", type=Path, default=None,
                        help="folder for the products (default: next to each input)")
    parser.add_argument("--config", "-c", type=Path, default=None,
                        help="TOML configuration file ([steps.STEP] tables)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run on a local Dask cluster of N worker processes")
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
    from webbcal.errors import WebbcalError
    from webbcal.pipelines import pipeline_class
    from webbcal.pipelines.base import product_stem
    from webbcal.pipelines.config import parse_step_overrides

    cls = pipeline_class(args.stage)
    overrides = parse_step_overrides(args.step_options)
    # builds the steps once: unknown steps/parameters and a bad config fail here (exit 2)
    pipeline = cls(steps=overrides, config_file=args.config, output_dir=args.output_dir,
                   save_intermediate=args.save_intermediate)
    files = list(args.files)
    if args.workers or args.scheduler:
        return _run_distributed(args, overrides, files)
    failures: list[tuple[Path, str, bool]] = []
    n_done = n_skipped = 0
    t_all = time.perf_counter()
    for k, path in enumerate(files, 1):
        tag = f"[{k}/{len(files)}] {path.name}"
        out_dir = pipeline.output_dir if pipeline.output_dir is not None else path.parent
        main_product = out_dir / f"{product_stem(path)}_{cls.output_suffix}.fits"
        if not args.overwrite and cls.output_suffix and main_product.exists():
            print(f"{tag}: {main_product} exists, skipped (--overwrite to redo)")
            n_skipped += 1
            continue
        print(f"{tag}: {args.stage} ...", flush=True)
        try:
            if not path.exists():
                raise WebbcalError(f"{path}: no such file")
            pipeline.run(path)
        except WebbcalError as exc:
            failures.append((path, str(exc), True))
            print(f"{tag}: FAILED: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
            failures.append((path, f"{type(exc).__name__}: {exc}", False))
            print(f"{tag}: FAILED ({type(exc).__name__}): {exc}", file=sys.stderr)
            log.debug("%s", traceback.format_exc())
            continue
        n_done += 1
        steps = " ".join(f"{t.step}={t.seconds:.2f}" for t in pipeline.step_timings
                         if t.status == "COMPLETE")
        print(f"{tag}: done in {pipeline.timings['total']:.2f} s ({steps})")
        for written in pipeline.output_paths:
            print(f"    wrote {written}")
    print(f"{args.stage}: {n_done} calibrated, {n_skipped} skipped, {len(failures)} failed "
          f"in {time.perf_counter() - t_all:.1f} s")
    if not failures:
        return 0
    print("failures:", file=sys.stderr)
    for path, reason, _ in failures:
        print(f"  {reason}" if str(path) in reason else f"  {path}: {reason}", file=sys.stderr)
    all_bad_input = len(failures) == len(files) and all(bad for _, _, bad in failures)
    return 2 if all_bad_input else 1


def _run_distributed(args: argparse.Namespace, overrides: dict, files: list[Path]) -> int:
    """Hand the exposures to Dask workers (``webbcal.parallel.run_many``); same exit codes."""
    from webbcal.parallel import run_many

    pipeline_kwargs = {"steps": overrides, "output_dir": args.output_dir,
                       "config_file": args.config and str(args.config),
                       "save_intermediate": args.save_intermediate}
    summary = run_many(
        args.stage, files, workers=args.workers, scheduler=args.scheduler,
        pipeline_kwargs=pipeline_kwargs, overwrite=args.overwrite,
        progress=lambda r, n, total: print(f"[{n}/{total}] {Path(r.path).name}: {r.status}",
                                           flush=True))
    print("\n".join(summary.lines()))
    return summary.exit_code
