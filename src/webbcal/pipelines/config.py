"""Pipeline configuration: TOML files and ``--steps.STEP.PARAM VALUE`` overrides.

A configuration file is TOML with optional top-level pipeline options and one table
per step, using the official parameter names::

    output_dir = "out"            # pipeline options (all optional)
    save_results = true
    save_intermediate = false
    context = "jwst_0001.pmap"

    [steps.jump]
    rejection_threshold = 5.0
    expand_large_events = false

    [steps.dark_current]
    skip = true

    [references]                  # optional reference-file overrides, by type
    dark = "/path/to/my_dark.fits"

Merge order is fixed: step defaults < configuration file < keyword / command-line
arguments. Merging is per parameter, so a command-line value for one parameter of a
step keeps the file's values for the others.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.datamodels._errors import FormatError
from webbcal.steps.base import ParameterError

__all__ = ["PipelineConfig", "PIPELINE_OPTIONS", "load_config", "parse_step_overrides",
           "merge_step_values"]

#: Top-level keys a configuration file may hold besides ``[steps.*]`` and ``[references]``.
PIPELINE_OPTIONS = ("output_dir", "save_results", "save_intermediate", "context")


@dataclass(frozen=True)
class PipelineConfig:
    """What a configuration file says.

    Attributes
    ----------
    steps : dict[str, dict[str, Any]]
        Step name -> parameter name -> value (values as TOML typed them).
    options : dict[str, Any]
        Pipeline options among :data:`PIPELINE_OPTIONS`.
    references : dict[str, str]
        Reference type -> file path (relative paths resolved against the file's folder).
    path : pathlib.Path or None
        The file it came from.
    """

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def load_config(path: str | Path) -> PipelineConfig:
    """Read a TOML configuration file.

    Raises
    ------
    FormatError
        When the file is missing, is not TOML, or has keys of the wrong kind; the message
        names the file and the offending key.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise FormatError(path, "configuration file", "an existing TOML file",
                          "no such file") from None
    except UnicodeDecodeError as exc:
        raise FormatError(path, "configuration file", "UTF-8 TOML text", str(exc)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(path, "configuration file", "valid TOML", str(exc)) from None
    return config_from_mapping(doc, path=path)


def config_from_mapping(doc: Mapping[str, Any], *, path: Path | None = None) -> PipelineConfig:
    """Validate the structure of a parsed configuration (see :func:`load_config`)."""
    steps: dict[str, dict[str, Any]] = {}
    options: dict[str, Any] = {}
    references: dict[str, str] = {}
    for key, value in doc.items():
        if key == "steps":
            if not isinstance(value, Mapping):
                raise FormatError(path, "key 'steps'", "a table of [steps.STEP] tables",
                                  type(value).__name__)
            for step, values in value.items():
                if not isinstance(values, Mapping):
                    raise FormatError(path, f"key 'steps.{step}'",
                                      "a table of parameter = value", repr(values))
                steps[step] = dict(values)
        elif key == "references":
            if not isinstance(value, Mapping):
                raise FormatError(path, "key 'references'", "a table reftype = path",
                                  type(value).__name__)
            base = path.parent if path is not None else Path(".")
            references = {k: str(base / str(v)) for k, v in value.items()}
        elif key in PIPELINE_OPTIONS:
            options[key] = value
        else:
            raise FormatError(
                path, f"top-level key '{key}'",
                f"one of {', '.join(PIPELINE_OPTIONS)}, 'steps' or 'references'", repr(key))
    if "output_dir" in options and path is not None:
        options["output_dir"] = str(path.parent / str(options["output_dir"]))
    return PipelineConfig(steps=steps, options=options, references=references, path=path)


def parse_step_overrides(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """Turn ``("steps.jump.rejection_threshold", "5")`` pairs into nested dicts.

    Values stay strings; the step's parameter dataclass converts them to the declared
    types (``true``/``false`` for booleans).

    Raises
    ------
    ParameterError
        For a key that is not of the form ``steps.STEP.PARAM``.
    """
    out: dict[str, dict[str, str]] = {}
    for key, value in pairs:
        parts = key.lstrip("-").split(".")
        if len(parts) != 3 or parts[0] != "steps" or not all(parts):
            raise ParameterError(f"option '{key}': expected --steps.STEP.PARAM VALUE")
        out.setdefault(parts[1], {})[parts[2]] = value
    return out


def merge_step_values(*layers: Mapping[str, Mapping[str, Any]] | None
                      ) -> dict[str, dict[str, Any]]:
    """Merge step-parameter layers, later layers winning per parameter."""
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for step, values in (layer or {}).items():
            if values is None:
                continue
            if not isinstance(values, Mapping):
                raise ParameterError(
                    f"steps['{step}']: expected a mapping of parameter -> value, "
                    f"found {values!r}")
            merged.setdefault(step, {}).update(values)
    return merged
