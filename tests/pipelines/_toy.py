"""A two-step toy pipeline on ImageModels: tests the Pipeline layer without detector1.

``add`` adds ``value`` to the data, ``scale`` multiplies it by ``factor``; ``fail``
raises when ``explode`` is true. Input ``x_rate.fits`` -> product ``x_toy.fits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from webbcal.datamodels import ImageModel, FormatError
from webbcal.pipelines.base import Pipeline
from webbcal.steps.base import Step, StepParams, param


@dataclass(frozen=True)
class AddParams(StepParams):
    value: float = param(1.0, "added to the data")


class AddStep(Step):
    name = "add"
    status_keyword = "S_TOYADD"
    Params = AddParams

    def process(self, model, refs):
        model.data = model.data + np.float32(self.params.value)
        return model


@dataclass(frozen=True)
class ScaleParams(StepParams):
    factor: float = param(2.0, "data multiplied by this")
    mode: Literal["plain", "fancy"] = param("plain", "a choice")
    n_iter: int = param(1, "an integer")


class ScaleStep(Step):
    name = "scale"
    status_keyword = "S_TOYSCL"
    Params = ScaleParams

    def process(self, model, refs):
        model.data = model.data * np.float32(self.params.factor)
        return model


@dataclass(frozen=True)
class FailParams(StepParams):
    explode: bool = param(False, "raise a FormatError")


class FailStep(Step):
    name = "fail"
    status_keyword = "S_TOYFAI"
    Params = FailParams

    def process(self, model, refs):
        if self.params.explode:
            raise FormatError(model.filename, "SCI", "a good file", "a bad one")
        return model


class ToyPipeline(Pipeline):
    name = "toy"
    step_list = (("add", AddStep), ("scale", ScaleStep), ("fail", FailStep))
    output_suffix = "toy"


def write_input(path, value=1.0, shape=(4, 5)):
    """Write a small ImageModel with constant data ``value`` to ``path``."""
    model = ImageModel(data=np.full(shape, value, np.float32))
    model.header["INSTRUME"] = "NIRCAM"
    model.write(path)
    return path


def history_settings(header, step):
    """The parameter string recorded for ``step`` in a header's HISTORY cards."""
    text = "".join(str(h) for h in header.get("HISTORY", []))
    start = text.index(f"webbcal {step} ")
    end = text.find("webbcal ", start + 8)
    return text[start:end if end > 0 else None]
