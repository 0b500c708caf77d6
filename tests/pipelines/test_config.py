"""Configuration parsing: --steps.STEP.PARAM pairs, TOML structure, merging."""

import pytest

from webbcal.datamodels import FormatError
from webbcal.pipelines.config import (load_config, merge_step_values,
                                      parse_step_overrides)
from webbcal.steps.base import ParameterError


def test_parse_step_overrides():
    got = parse_step_overrides([("steps.jump.rejection_threshold", "5"),
                                ("--steps.jump.expand_large_events", "false"),
                                ("steps.dq_init.skip", "true")])
    assert got == {"jump": {"rejection_threshold": "5", "expand_large_events": "false"},
                   "dq_init": {"skip": "true"}}
    with pytest.raises(ParameterError, match="steps.STEP.PARAM"):
        parse_step_overrides([("steps.jump", "5")])


def test_merge_is_per_parameter():
    merged = merge_step_values({"jump": {"a": 1, "b": 2}}, {"jump": {"b": 3}, "x": {"c": 4}})
    assert merged == {"jump": {"a": 1, "b": 3}, "x": {"c": 4}}


def test_load_config_resolves_paths_relative_to_file(tmp_path):
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "p.toml"
    path.write_text('output_dir = "out"\ncontext = "jwst_0001.pmap"\n'
                    '[references]\ndark = "refs/dark.fits"\n'
                    '[steps.jump]\nrejection_threshold = 5.0\n')
    cfg = load_config(path)
    assert cfg.options["output_dir"] == str(tmp_path / "cfg" / "out")
    assert cfg.options["context"] == "jwst_0001.pmap"
    assert cfg.references == {"dark": str(tmp_path / "cfg" / "refs" / "dark.fits")}
    assert cfg.steps == {"jump": {"rejection_threshold": 5.0}}


def test_steps_must_be_tables(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("steps = 3\n")
    with pytest.raises(FormatError, match="p.toml: key 'steps'"):
        load_config(path)
