"""Subcommands of the ``webbcal`` command (one module each)."""
