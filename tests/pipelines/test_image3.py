"""Image3Pipeline: registered for `webbcal run image3`, runs on models in memory."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "steps" / "image3"))

from _image3_scene import make_scene  # noqa: E402


def test_image3_is_registered():
    from webbcal.pipelines import pipeline_class
    from webbcal.pipelines.image3 import Image3Pipeline

    assert pipeline_class("image3") is Image3Pipeline


def test_runs_on_models_without_writing(tmp_path, monkeypatch):
    from webbcal.pipelines.image3 import Image3Pipeline

    monkeypatch.chdir(tmp_path)
    sc = make_scene(n_exposures=2, with_cr=True, n_stars=40, seed=11)
    pipe = Image3Pipeline(save_results=False, steps={"source_catalog": {"skip": True}})
    lib = pipe.run([m.copy() for m in sc.models])
    assert lib.mosaic is not None and np.isfinite(lib.mosaic.data).sum() > 20000
    assert [t.step for t in pipe.step_timings] == ["tweakreg", "skymatch",
                                                   "outlier_detection", "resample",
                                                   "source_catalog"]
    assert list(tmp_path.iterdir()) == []  # nothing written
    # inputs were not modified (the library works on copies)
    assert not np.any(sc.models[0].dq)
