"""`webbcal run`: option parsing, products, exit codes (toy stage + detector1 on `tiny`)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

PIPE_TESTS = Path(__file__).resolve().parents[1] / "pipelines"
if str(PIPE_TESTS) not in sys.path:  # shared helpers (tests run with --import-mode=importlib)
    sys.path.insert(0, str(PIPE_TESTS))

from _toy import ToyPipeline, history_settings, write_input  # noqa: E402
from _world import tiny_world_or_skip  # noqa: E402

from webbcal import pipelines  # noqa: E402
from webbcal.cli import main  # noqa: E402


@pytest.fixture
def toy_stage(monkeypatch):
    real = pipelines.pipeline_class
    monkeypatch.setattr(pipelines, "pipeline_class",
                        lambda stage: ToyPipeline if stage == "toy" else real(stage))


def test_step_options_and_config_reach_the_product(tmp_path, toy_stage, capsys):
    src = write_input(tmp_path / "x_rate.fits", value=1.0)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[steps.add]\nvalue = 2.0\n[steps.scale]\nfactor = 10.0\nmode = 'fancy'\n")
    out = tmp_path / "out"
    rc = main(["run", "toy", str(src), "--output-dir", str(out), "--config", str(cfg),
               "--steps.scale.factor", "3", "--steps.fail.explode=false"])
    assert rc == 0
    product = out / "x_toy.fits"
    np.testing.assert_array_equal(fits.getdata(product, "SCI"), 9.0)   # (1 + 2) * 3
    header = fits.getheader(product)
    assert "factor=3.0" in history_settings(header, "scale")
    assert "mode='fancy'" in history_settings(header, "scale")
    assert str(product) in capsys.readouterr().out


def test_existing_product_skipped_unless_overwrite(tmp_path, toy_stage, capsys):
    src = write_input(tmp_path / "y_rate.fits", value=1.0)
    assert main(["run", "toy", str(src)]) == 0
    assert main(["run", "toy", str(src), "--steps.add.value", "0"]) == 0
    assert "skipped" in capsys.readouterr().out
    np.testing.assert_array_equal(fits.getdata(tmp_path / "y_toy.fits", "SCI"), 4.0)
    assert main(["run", "toy", str(src), "--steps.add.value", "0", "--overwrite"]) == 0
    np.testing.assert_array_equal(fits.getdata(tmp_path / "y_toy.fits", "SCI"), 2.0)


@pytest.mark.parametrize("argv", [
    ["--steps.nostep.x", "1"], ["--steps.scale.nope", "1"], ["--steps.fail.explode", "perhaps"],
    ["--steps.scale", "1"],
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, toy_stage, argv, capsys):
    src = write_input(tmp_path / "z_rate.fits")
    assert main(["run", "toy", str(src), *argv]) == 2
    assert not (tmp_path / "z_toy.fits").exists()
    assert "error" in capsys.readouterr().err


def test_unknown_stage_exits_2(tmp_path):
    assert main(["run", "detector9", str(tmp_path / "a_uncal.fits")]) == 2


def test_exit_codes_with_failing_files(tmp_path, toy_stage):
    good = write_input(tmp_path / "good_rate.fits")
    missing = tmp_path / "missing_rate.fits"
    # all bad -> 2
    assert main(["run", "toy", str(missing)]) == 2
    # some bad, others processed -> 1
    assert main(["run", "toy", str(missing), str(good)]) == 1
    assert (tmp_path / "good_toy.fits").exists()


def test_step_failure_exits_2_and_writes_nothing(tmp_path, toy_stage):
    src = write_input(tmp_path / "w_rate.fits")
    assert main(["run", "toy", str(src), "--steps.fail.explode", "true"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w_rate.fits"]


# --- the real stage on the simulator's `tiny` preset ------------------------------

def test_detector1_cli_on_tiny(tmp_path_factory, tmp_path, capsys):
    world = tiny_world_or_skip(tmp_path_factory)
    uncal = world.uncal_files[0]
    with world.crds_env():
        rc = main(["run", "detector1", str(uncal), "--output-dir", str(tmp_path),
                   "--steps.jump.rejection_threshold", "5",
                   "--steps.jump.expand_large_events", "false"])
    assert rc == 0
    stem = uncal.name.replace("_uncal.fits", "")
    rate, rateints = tmp_path / f"{stem}_rate.fits", tmp_path / f"{stem}_rateints.fits"
    assert rate.exists() and rateints.exists()
    header = fits.getheader(rate)
    jump = history_settings(header, "jump")
    assert "rejection_threshold=5.0" in jump and "expand_large_events=False" in jump
    assert header["S_RAMP"] == "COMPLETE" and header["CAL_VER"]
    assert str(rate) in capsys.readouterr().out


def test_detector1_cli_truncated_file_exits_2(tmp_path_factory, tmp_path):
    world = tiny_world_or_skip(tmp_path_factory)
    data = world.uncal_files[0].read_bytes()
    bad = tmp_path / "jw_trunc_nrca1_uncal.fits"
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    with world.crds_env():
        assert main(["run", "detector1", str(bad), "--output-dir", str(out)]) == 2
    assert not out.exists() or list(out.iterdir()) == []


KILL_MID_WRITE = """
import os, signal, sys
real_replace = os.replace
renamed = []

def replace(src, dst, *args, **kwargs):
    name = os.path.basename(str(dst))
    if name.endswith(("_rate.fits", "_rateints.fits")) and not name.startswith(".tmp-"):
        renamed.append(dst)
        if len(renamed) == 2:  # the second product is still under its temporary name
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kwargs)

os.replace = replace
from webbcal.cli import main
sys.exit(main(["-q", "run", "detector1", sys.argv[1], "--output-dir", sys.argv[2]]))
"""


def test_kill_9_mid_write_leaves_nothing_that_looks_complete(tmp_path_factory, tmp_path,
                                                             capsys):
    """A run killed (SIGKILL) while writing its products is redone by the next run."""
    import os
    import subprocess

    from webbcal.parallel import expected_products, fits_is_complete

    world = tiny_world_or_skip(tmp_path_factory)
    uncal = world.uncal_files[0]
    out = tmp_path / "out"
    env = {**os.environ, "CRDS_PATH": str(world.world.crds_path)}
    if getattr(world.world, "context", None):
        env["CRDS_CONTEXT"] = str(world.world.context)
    res = subprocess.run([sys.executable, "-c", KILL_MID_WRITE, str(uncal), str(out)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == -9, res.stderr[-3000:]
    wanted = expected_products("detector1", uncal, out)
    done = [p for p in wanted if p.exists()]
    assert len(done) == 1 and fits_is_complete(done[0])  # first renamed, second not
    assert any(p.name.startswith(".tmp-") for p in out.iterdir())  # the orphan
    with world.crds_env():
        assert main(["-q", "run", "detector1", str(uncal), "--output-dir", str(out)]) == 0
    assert "detector1: 1 done, 0 skipped" in capsys.readouterr().out  # not taken as done
    assert all(fits_is_complete(p) for p in wanted)


def test_run_image3_abs_refcat_reaches_tweakreg(tmp_path, monkeypatch, capsys):
    """``run image3 --abs-refcat FILE`` sets tweakreg.abs_refcat ('none': off); a missing
    file, or the option on another stage, exits 2 naming the problem."""
    from webbcal.errors import WebbcalError

    seen = []

    class Recorder:  # stands in for Image3Pipeline: records its steps, then stops
        def __init__(self, steps=None, **kwargs):
            seen.append(steps)
            raise WebbcalError("recorded")

    monkeypatch.setattr(pipelines, "pipeline_class", lambda stage: Recorder)
    refcat = tmp_path / "gaia.ecsv"
    refcat.write_text("# %ECSV 1.0\n# ---\n# datatype:\n# - {name: ra, datatype: float64}\n"
                      "# - {name: dec, datatype: float64}\nra dec\n1.0 2.0\n")
    asn = tmp_path / "x_asn.json"
    asn.write_text("{}")
    assert main(["run", "image3", str(asn), "--abs-refcat", str(refcat)]) == 2
    assert seen[-1]["tweakreg"]["abs_refcat"] == str(refcat)
    assert main(["run", "image3", str(asn), "--abs-refcat", "none",
                 "--steps.tweakreg.abs_refcat", str(refcat)]) == 2
    assert seen[-1]["tweakreg"]["abs_refcat"] == ""  # 'none' wins over --steps
    n = len(seen)
    assert main(["run", "image3", str(asn), "--abs-refcat", str(tmp_path / "gone.ecsv")]) == 2
    assert "gone.ecsv" in capsys.readouterr().err and len(seen) == n  # nothing built
    assert main(["run", "image2", str(asn), "--abs-refcat", str(refcat)]) == 2
    assert "'run image3'" in capsys.readouterr().err and len(seen) == n
