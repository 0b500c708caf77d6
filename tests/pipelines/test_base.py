"""The Pipeline layer on a toy pipeline: merge order, errors, skip, naming, atomicity."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from _toy import ToyPipeline, history_settings, write_input
from webbcal.datamodels import FormatError
from webbcal.pipelines.base import product_stem
from webbcal.steps.base import ParameterError


def _toml(path, text):
    path.write_text(text)
    return path


def test_runs_steps_in_order_and_writes_named_product(tmp_path):
    src = write_input(tmp_path / "jw1_nrca1_rate.fits", value=1.0)
    pipe = ToyPipeline()
    result = pipe.run(src)
    # (1 + 1) * 2 = 4: add before scale
    np.testing.assert_array_equal(result.data, 4.0)
    out = tmp_path / "jw1_nrca1_toy.fits"
    assert pipe.output_paths == [out]
    with fits.open(out) as hdul:
        np.testing.assert_array_equal(hdul["SCI"].data, 4.0)
        h = hdul[0].header
        assert h["S_TOYADD"] == "COMPLETE" and h["S_TOYSCL"] == "COMPLETE"
        assert h["CAL_VER"] and h["CRDS_CTX"]
        assert h["FILENAME"] == "jw1_nrca1_toy.fits"
    assert set(pipe.timings) >= {"read", "add", "scale", "fail", "write", "total"}
    assert [t.step for t in pipe.step_timings] == ["add", "scale", "fail"]


def test_merge_order_defaults_toml_kwargs(tmp_path):
    src = write_input(tmp_path / "a_rate.fits", value=0.0)
    cfg = _toml(tmp_path / "c.toml", """
[steps.add]
value = 3.0
[steps.scale]
factor = 5.0
mode = "fancy"
""")
    out = tmp_path / "out"
    result = ToyPipeline(steps={"scale": {"factor": 7.0}}, config_file=cfg,
                         output_dir=out).run(src)
    # add.value from TOML (3), scale.factor from kwargs (7) beats TOML (5)
    np.testing.assert_array_equal(result.data, 21.0)
    header = fits.getheader(out / "a_toy.fits")
    add = history_settings(header, "add")
    scale = history_settings(header, "scale")
    assert "value=3.0" in add
    assert "factor=7.0" in scale
    assert "mode='fancy'" in scale          # TOML value kept where kwargs are silent
    assert "n_iter=1" in scale              # default kept where both are silent


def test_toml_pipeline_options_and_cli_strings(tmp_path):
    src = write_input(tmp_path / "b_rate.fits", value=1.0)
    cfg = _toml(tmp_path / "c.toml", 'output_dir = "products"\nsave_results = true\n')
    pipe = ToyPipeline(config_file=cfg, steps={"scale": {"factor": "0.5", "n_iter": "3"}})
    assert pipe.steps["scale"].params.factor == 0.5 and pipe.steps["scale"].params.n_iter == 3
    pipe.run(src)
    assert (tmp_path / "products" / "b_toy.fits").exists()


def test_unknown_step_lists_known_ones():
    with pytest.raises(ParameterError) as err:
        ToyPipeline(steps={"jmup": {"rejection_threshold": 5}})
    msg = str(err.value)
    assert "'jmup'" in msg and "add, scale, fail" in msg


def test_unknown_step_in_toml_names_file(tmp_path):
    cfg = _toml(tmp_path / "bad.toml", "[steps.nope]\nx = 1\n")
    with pytest.raises(ParameterError, match="bad.toml"):
        ToyPipeline(config_file=cfg)


def test_unknown_param_and_bad_value():
    with pytest.raises(ParameterError, match="known: factor, mode, n_iter, skip"):
        ToyPipeline(steps={"scale": {"fator": 2}})
    with pytest.raises(ParameterError, match="steps.scale.mode"):
        ToyPipeline(steps={"scale": {"mode": "weird"}})
    with pytest.raises(ParameterError, match="steps.fail.explode"):
        ToyPipeline(steps={"fail": {"explode": "maybe"}})


def test_bad_toml_names_file_and_key(tmp_path):
    with pytest.raises(FormatError, match="broken.toml"):
        ToyPipeline(config_file=_toml(tmp_path / "broken.toml", "[steps.add\n"))
    with pytest.raises(FormatError, match="top-level key 'colour'"):
        ToyPipeline(config_file=_toml(tmp_path / "k.toml", 'colour = "red"\n'))
    with pytest.raises(FormatError, match="no such file"):
        ToyPipeline(config_file=tmp_path / "missing.toml")


def test_skip_leaves_data_and_records_skipped(tmp_path):
    src = write_input(tmp_path / "c_rate.fits", value=1.0)
    result = ToyPipeline(steps={"scale": {"skip": True}}).run(src)
    np.testing.assert_array_equal(result.data, 2.0)  # only add ran
    header = fits.getheader(tmp_path / "c_toy.fits")
    assert header["S_TOYSCL"] == "SKIPPED" and header["S_TOYADD"] == "COMPLETE"


def test_failure_writes_nothing(tmp_path):
    src = write_input(tmp_path / "d_rate.fits")
    with pytest.raises(FormatError, match="d_rate.fits"):
        ToyPipeline(steps={"fail": {"explode": True}}, output_dir=tmp_path / "o").run(src)
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []


def test_in_memory_input_and_save_results_false(tmp_path):
    from webbcal.datamodels import ImageModel

    model = ImageModel(data=np.ones((2, 2), np.float32), filename="mem_rate.fits")
    pipe = ToyPipeline(save_results=False, output_dir=tmp_path)
    out = pipe.run(model)
    np.testing.assert_array_equal(out.data, 4.0)
    assert pipe.output_paths == [] and list(tmp_path.iterdir()) == []


def test_save_intermediate(tmp_path):
    src = write_input(tmp_path / "e_rate.fits", value=1.0)
    ToyPipeline(save_intermediate=True).run(src)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "e_add.fits", "SCI"), 2.0)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "e_scale.fits", "SCI"), 4.0)


@pytest.mark.parametrize("name,stem", [
    ("jw01345001001_02201_00001_nrca1_uncal.fits", "jw01345001001_02201_00001_nrca1"),
    ("/a/b/x_rateints.fits", "x"), ("x_cal.fits", "x"), ("plain.fits", "plain"),
])
def test_product_stem(name, stem):
    assert product_stem(name) == stem
