"""The ``webbcal`` command.

Each subcommand lives in ``webbcal.commands.<name>`` as two functions,
``add_arguments(parser)`` and ``main(args) -> int``; this module only dispatches and
sets up logging. Heavy imports happen inside ``main`` so that ``webbcal --help`` is
instant.

Output conventions: results (what was written where, tables) go to stdout; progress
and log messages go to stderr. Default: progress + warnings; ``-v`` adds the INFO log
(one line per step with its time); ``-vv`` DEBUG, third-party libraries included;
``-q`` only warnings and errors. ``--log-file`` keeps the INFO log (DEBUG with ``-v``)
in a file whatever the console shows.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from importlib import import_module
from pathlib import Path

from webbcal import __version__
from webbcal.errors import WebbcalError

# name -> one-line help; the module webbcal.commands.<name> implements it.
COMMANDS = {
    "demo": "simulate an observation and run the whole pipeline on it",
    "simulate": "write a simulated NIRCam observation (raw ramps, CRDS cache, truth)",
    "run": "run a stage (detector1, image2, image3) or all of them on files",
    "info": "describe a JWST product file",
    "validate": "compare products with the simulator's truth (metrics table)",
    "report": "rebuild the HTML report (quick-look PNGs, figures) from products on disk",
}

EPILOG = """examples:
  webbcal demo                                   # simulate + calibrate ceers-mini
  webbcal simulate --preset tiny --out sim/      # write a small simulated world
  webbcal run all sim/ -o out/                   # uncal -> rate -> cal -> mosaics + report
  webbcal run detector1 sim/*_uncal.fits -o out/ --workers 2
  webbcal run image3 out/image3/*_asn.json
  webbcal info out/detector1/jw..._rate.fits
  webbcal validate out/ --truth sim/truth
  webbcal report out/

exit status (every command):
  0    success (for run: every input calibrated, or its products already complete)
  1    some inputs failed while the others were processed (failures listed on stderr)
  2    bad input or options: nothing usable to do (one-line message on stderr)
  130  interrupted (Ctrl-C); products are written atomically, never half
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webbcal",
        description="Fast JWST imaging calibration: raw ramps to science-ready mosaics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"webbcal {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output: -v per-step log with timings, -vv debug")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress, only warnings and errors on stderr")
    parser.add_argument("--log-file", type=Path, default=None, metavar="FILE",
                        help="also write the log (INFO, or DEBUG with -v) to FILE")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = import_module(f"webbcal.commands.{name}")
        p = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
NOISY = ("numba", "crds", "asdf", "distributed", "matplotlib", "PIL", "stpipe", "fsspec")


def _configure_logging(verbose: int, quiet: bool, log_file: Path | None = None) -> None:
    """Console handler on stderr (see module docstring) plus an optional file handler.

    Replaces the handlers a previous call installed (tests call :func:`main` many times).
    """
    console_level = (logging.WARNING if quiet or verbose == 0
                     else logging.INFO if verbose == 1 else logging.DEBUG)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_webbcal", False)]:
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
    console._webbcal = True  # type: ignore[attr-defined]
    root.addHandler(console)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if log_file is not None:
        add_log_file(log_file, debug=verbose > 0)
    # third-party chatter stays out of the user's way unless -vv
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    if verbose < 2:  # deprecation notices are for developers, not for the user's terminal
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            from astropy.utils.exceptions import AstropyDeprecationWarning
        except ImportError:  # pragma: no cover - astropy is a dependency
            pass
        else:
            warnings.filterwarnings("ignore", category=AstropyDeprecationWarning)


def add_log_file(path: Path, *, debug: bool = False) -> Path:
    """Append the log (INFO, or DEBUG) to ``path``; commands call it for their own logs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler._webbcal = True  # type: ignore[attr-defined]
    logging.getLogger().addHandler(handler)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _configure_logging(args.verbose, args.quiet, args.log_file)
    try:
        return int(args._module.main(args) or 0)
    except WebbcalError as exc:
        print(f"webbcal {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"webbcal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
