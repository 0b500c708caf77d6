"""The ``webbcal`` command.

Each subcommand lives in ``webbcal.commands.<name>`` as two functions,
``add_arguments(parser)`` and ``main(args) -> int``; this module only dispatches.
Heavy imports happen inside ``main`` so that ``webbcal --help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from webbcal import __version__
from webbcal.errors import WebbcalError

# name -> one-line help; the module webbcal.commands.<name> implements it.
COMMANDS = {
    "demo": "simulate an observation and run the whole pipeline on it",
    "simulate": "write a simulated NIRCam observation (raw ramps, CRDS cache, truth)",
    "run": "run a stage (detector1, image2, image3) on files or an association",
    "info": "describe a JWST product file",
    "validate": "compare products with the simulator's truth (metrics table)",
    "report": "rebuild the HTML report (quick-look PNGs, figures) from products on disk",
}

EPILOG = """examples:
  webbcal demo                                   # simulate + calibrate ceers-mini
  webbcal simulate --preset tiny --out sim/      # write a small simulated world
  webbcal run detector1 sim/*_uncal.fits --output-dir out/
  webbcal info out/jw..._rate.fits
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webbcal",
        description="Fast JWST imaging calibration: raw ramps to science-ready mosaics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"webbcal {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
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


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s",
                        datefmt="%H:%M:%S")
    if verbose < 2:  # third-party chatter stays out of the user's way
        for noisy in ("numba", "crds", "asdf", "distributed", "matplotlib", "PIL"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _configure_logging(args.verbose, args.quiet)
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
