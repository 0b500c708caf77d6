"""The Step layer: thin adapters between files/references and pure algorithms.

A step is a frozen parameter dataclass plus a :class:`Step` subclass::

    @dataclass(frozen=True)
    class JumpParams(StepParams):
        rejection_threshold: float = param(4.0, "sigma threshold for a jump")

    class JumpStep(Step):
        name = "jump"
        status_keyword = "S_JUMP"
        Params = JumpParams
        reference_types = ("gain", "readnoise")

        def process(self, model, refs):
            ...  # call the algorithm on model arrays, return the model

``Step.run(input)`` loads a path if needed, honours ``skip``, resolves references
(in-memory override > path override > CRDS), calls :meth:`Step.process`, and records
the step status (``S_*``), the reference names (``R_*``) and the resolved parameters
(a ``HISTORY`` card) in the primary header.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from webbcal.errors import WebbcalError

log = logging.getLogger("webbcal.step")

#: Primary-header keyword recording which reference file of each type was used
#: (the official ``meta.ref_file.<type>.name`` FITS keywords).
REFERENCE_KEYWORDS = {
    "mask": "R_MASK",
    "saturation": "R_SATURA",
    "superbias": "R_SUPERB",
    "linearity": "R_LINEAR",
    "dark": "R_DARK",
    "gain": "R_GAIN",
    "readnoise": "R_READNO",
    "flat": "R_FLAT",
    "photom": "R_PHOTOM",
    "area": "R_AREA",
    "distortion": "R_DISTOR",
    "filteroffset": "R_FILOFF",
    "drizpars": "R_DRIZPA",
}


class ParameterError(WebbcalError, ValueError):
    """A step parameter that does not exist or has a value of the wrong kind."""


def param(default: Any, help: str, **kwargs) -> Any:  # noqa: A002 - mirrors argparse
    """A dataclass field with a default and help text (shown by ``--help`` and docs)."""
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass(frozen=True)
class StepParams:
    """Parameters every step has."""

    skip: bool = param(False, "skip this step (recorded as SKIPPED)")


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Convert ``value`` (possibly a CLI/TOML string) to the field's annotated type."""
    if isinstance(annotation, str):  # postponed annotations
        annotation = eval(annotation, vars(typing) | {"Literal": Literal})  # noqa: S307
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice).lower() == value.lower()):
                return choice
        raise ParameterError(f"{where}: expected one of {list(choices)}, found {value!r}")
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return _coerce(value, args[0], where)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ParameterError(f"{where}: expected true or false, found {value!r}")
    if annotation in (int, float, str):
        if annotation is int and isinstance(value, float) and not value.is_integer():
            raise ParameterError(f"{where}: expected an integer, found {value!r}")
        try:
            return annotation(value) if annotation is not int else int(float(value))
        except (TypeError, ValueError):
            raise ParameterError(
                f"{where}: expected {annotation.__name__}, found {value!r}"
            ) from None
    return value


def make_params(params_cls: type, values: Mapping[str, Any] | None, *, step: str) -> Any:
    """Build a frozen params object from defaults overridden by ``values``.

    Unknown names raise :class:`ParameterError` listing the known ones; string values
    (from the command line or TOML) are converted to the declared types.
    """
    values = dict(values or {})
    hints = typing.get_type_hints(params_cls, include_extras=False)
    known = {f.name for f in dataclasses.fields(params_cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterError(
            f"step '{step}' has no parameter {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    coerced = {k: _coerce(v, hints[k], f"steps.{step}.{k}") for k, v in values.items()}
    return params_cls(**coerced)


@lru_cache(maxsize=32)
def _load_reference(path: str, mtime: float):
    """Read a reference file once per process (keyed on path and modification time)."""
    from webbcal.references import read_reference

    return read_reference(path)


class Step:
    """Base class of all steps. Subclasses set the class attributes and ``process``."""

    name: ClassVar[str] = "step"
    status_keyword: ClassVar[str | None] = None
    Params: ClassVar[type] = StepParams
    reference_types: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        params: Any = None,
        *,
        references: Mapping[str, Any] | None = None,
        context: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(params, self.Params):
            if kwargs:
                params = dataclasses.replace(params, **make_params_values(self, kwargs))
        else:
            params = make_params(self.Params, {**(params or {}), **kwargs}, step=self.name)
        self.params = params
        self.references = dict(references or {})
        self.context = context
        self.elapsed: float | None = None

    # -- to be provided by subclasses -------------------------------------------------
    def process(self, model: Any, refs: dict[str, Any]) -> Any:
        """Apply the step to ``model`` using loaded references; return the result."""
        raise NotImplementedError

    def load_input(self, path: str | Path) -> Any:
        """Read an input file (override for steps that take a specific product)."""
        from webbcal.datamodels import read

        return read(path)

    # -- machinery ----------------------------------------------------------------
    def resolve_references(self, model: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """Load each reference type this step needs, cut to the exposure's subarray.

        Returns the loaded references and their names for the ``R_*`` keywords. A type
        the CRDS rules mark as not applicable (``'N/A'``) arrives as ``None``.
        """
        if not self.reference_types:
            return {}, {}
        from webbcal.references import get_references, reference_name

        sources = get_references(
            model.exposure, self.reference_types, context=self.context, overrides=self.references
        )
        loaded, names = {}, {}
        for reftype in self.reference_types:
            source = sources[reftype]
            names[reftype] = reference_name(source)
            if isinstance(source, str) and source.upper() == "N/A":
                loaded[reftype] = None
                continue
            if isinstance(source, (str, Path)):
                ref = _load_reference(str(source), Path(source).stat().st_mtime)
            else:
                ref = source
            if hasattr(ref, "for_exposure"):
                ref = ref.for_exposure(model.exposure)
            loaded[reftype] = ref
        return loaded, names

    def record(self, model: Any, status: str, ref_names: Mapping[str, str] | None = None) -> None:
        """Write step status, reference names and resolved parameters into the header."""
        header = model.header
        if self.status_keyword:
            header[self.status_keyword] = (status, f"webbcal {self.name} step")
        for reftype, refname in (ref_names or {}).items():
            key = REFERENCE_KEYWORDS.get(reftype)
            if key:
                header[key] = (refname, f"{reftype} reference file")
        settings = ", ".join(
            f"{f.name}={getattr(self.params, f.name)!r}" for f in dataclasses.fields(self.params)
        )
        header.add_history(f"webbcal {self.name} {status}: {settings}")

    def run(self, input: Any) -> Any:  # noqa: A002 - the official API's name
        """Run the step on a path or a model and return the resulting model."""
        model = self.load_input(input) if isinstance(input, (str, Path)) else input
        if self.params.skip:
            log.info("%s: skipped", self.name)
            self.record(model, "SKIPPED")
            return model
        start = time.perf_counter()
        refs, names = self.resolve_references(model)
        result = self.process(model, refs)
        self.elapsed = time.perf_counter() - start
        self.record(result, "COMPLETE", names)
        log.info("%s: done in %.3f s", self.name, self.elapsed)
        return result


def make_params_values(step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce ``values`` against ``step.Params`` (validated, not yet a dataclass)."""
    built = make_params(step.Params, values, step=step.name)
    return {k: getattr(built, k) for k in values}
