"""Exceptions that carry a message a person can act on (file, field, expected, found)."""


class WebbcalError(Exception):
    """Base class for errors about inputs, references or configuration.

    The command-line interface prints these as one line and exits with status 2;
    anything else is a bug and keeps its traceback.
    """
