"""webbcal simulate (not implemented yet)."""

from webbcal.errors import WebbcalError


def add_arguments(parser):
    pass


def main(args) -> int:
    raise WebbcalError("'webbcal simulate' is not implemented yet")
