"""webbcal demo (not implemented yet)."""

from webbcal.errors import WebbcalError


def add_arguments(parser):
    pass


def main(args) -> int:
    raise WebbcalError("'webbcal demo' is not implemented yet")
