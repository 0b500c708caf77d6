"""The command line as a user meets it: --help with examples and exit codes, progress on
stderr (quiet with -q), -v step log with timings, --log-file (toy stage, no data)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

PIPE_TESTS = Path(__file__).resolve().parents[1] / "pipelines"
if str(PIPE_TESTS) not in sys.path:  # shared helpers (tests run with --import-mode=importlib)
    sys.path.insert(0, str(PIPE_TESTS))

from _toy import ToyPipeline, write_input  # noqa: E402

from webbcal import pipelines  # noqa: E402
from webbcal.cli import main  # noqa: E402
from webbcal.commands._progress import Progress  # noqa: E402
from webbcal.parallel import TaskResult  # noqa: E402


@pytest.fixture
def toy_stage(monkeypatch):
    real = pipelines.pipeline_class
    monkeypatch.setattr(pipelines, "pipeline_class",
                        lambda stage: ToyPipeline if stage == "toy" else real(stage))


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_has_examples_and_exit_codes(capsys):
    top = _help(["--help"], capsys)
    assert "webbcal run all sim/ -o out/" in top
    for code in ("0 ", "1 ", "2 ", "130"):
        assert re.search(rf"^\s+{code.strip()}\s+\S", top, re.M), code
    run = _help(["run", "--help"], capsys)
    assert "examples:" in run and "webbcal run all" in run and "--workers 2" in run
    assert "exit status:" in run and "--asn" in run and "--no-report" in run


def test_progress_on_stderr_results_on_stdout(tmp_path, toy_stage, capsys):
    src = write_input(tmp_path / "p_rate.fits")
    assert main(["run", "toy", str(src)]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"\[1/1\] p: done in [0-9.]+ s \(add=[0-9.]+ scale=[0-9.]+ fail=", err)
    assert f"wrote {tmp_path / 'p_toy.fits'}" in out and "[1/1]" not in out
    assert "toy: 1 done, 0 skipped, 0 failed" in out


def test_quiet_prints_no_progress_and_verbose_logs_step_timings(tmp_path, toy_stage, capsys):
    src = write_input(tmp_path / "q_rate.fits")
    assert main(["-q", "run", "toy", str(src), "--overwrite"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "wrote" in out
    assert main(["-v", "run", "toy", str(src), "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"webbcal.pipeline INFO: toy: add\s+COMPLETE\s+[0-9.]+ s", err)


def test_log_file_keeps_step_timings_even_when_quiet(tmp_path, toy_stage, capsys):
    src = write_input(tmp_path / "r_rate.fits")
    log = tmp_path / "logs" / "run.log"
    assert main(["-q", "--log-file", str(log), "run", "toy", str(src)]) == 0
    text = log.read_text()
    assert re.search(r"toy: scale\s+COMPLETE\s+[0-9.]+ s", text)
    assert "toy: 1 done" in text
    assert capsys.readouterr().err == ""


def test_failure_listed_with_reason_and_exit_1(tmp_path, toy_stage, capsys):
    good = write_input(tmp_path / "g_rate.fits")
    rc = main(["run", "toy", str(tmp_path / "missing_rate.fits"), str(good)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "failures (1):" in err and "missing_rate.fits: no such file" in err


def test_live_progress_redraws_one_line_with_the_current_step():
    stream = io.StringIO()
    p = Progress(stream, live=True)
    p.start("detector1", 2)
    p.step("/d/jw1_nrca1_uncal.fits", "jump", "start", 0.0)
    assert stream.getvalue().endswith("jw1_nrca1 · jump")
    assert "detector1 [" in stream.getvalue() and "0/2" in stream.getvalue()
    p.step("/d/jw1_nrca1_uncal.fits", "jump", "done", 0.5)
    p.done(TaskResult("/d/jw1_nrca1_uncal.fits", "done", seconds=0.6), 1, 2)
    text = stream.getvalue()
    assert "[1/2] jw1_nrca1: done in 0.60 s (jump=0.50)\n" in text
    assert "detector1 [" + "#" * 10 + "-" * 10 + "] 1/2" in text.rsplit("\n", 1)[-1]
    quiet = io.StringIO()
    q = Progress(quiet, enabled=False, live=True)
    q.start("x", 1)
    q.step("a", "b", "start", 0.0)
    q.done(TaskResult("a", "failed", reason="r"), 1, 1)
    assert quiet.getvalue() == ""
