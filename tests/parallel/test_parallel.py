"""run_many: serial vs Dask, failures, skip/overwrite, completeness of FITS products."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from webbcal.parallel import RunSummary, TaskResult, fits_is_complete, run_many


def toy_stage(path: Path, *, output_dir: str, scale: float = 1.0) -> list[Path]:
    """A deterministic stand-in stage: 'rate' = last - first group, times ``scale``."""
    from webbcal.datamodels import atomic_write
    from webbcal.pipelines.base import product_stem

    with fits.open(path) as hdul:
        cube = hdul["SCI"].data.astype(np.float32)
    if cube.ndim != 4:
        raise ValueError(f"{path}: SCI is not 4-D")
    sci = (cube[0, -1] - cube[0, 0]) * np.float32(scale)
    err = np.sqrt(np.abs(sci)).astype(np.float32)
    dq = (sci > 100).astype(np.uint32) * np.uint32(4)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    target = Path(output_dir) / f"{product_stem(path)}_rate.fits"
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI"),
                         fits.ImageHDU(err, name="ERR"), fits.ImageHDU(dq, name="DQ")])
    with atomic_write(target) as tmp:
        hdus.writeto(tmp)
    return [target]


@pytest.fixture(scope="module")
def toy_inputs(tmp_path_factory):
    """4 small uncal-like files plus one that is not a ramp."""
    # Workers import this module by reference (conftest puts the repo on their sys.path).
    root = tmp_path_factory.mktemp("toy")
    rng = np.random.default_rng(3)
    paths = []
    for k in range(4):
        data = rng.integers(0, 3000, (1, 3, 32, 40)).astype(np.uint16)
        p = root / f"jw0000{k}_nrca1_uncal.fits"
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI")]).writeto(p)
        paths.append(p)
    bad = root / "jw00009_nrca1_uncal.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4)), name="SCI")]).writeto(bad)
    return paths, bad


def _arrays(path):
    with fits.open(path) as h:
        return {e: h[e].data.copy() for e in ("SCI", "ERR", "DQ")}


def test_toy_stage_dask_equals_serial_and_failures_are_collected(toy_inputs, dask_client,
                                                                tmp_path):
    paths, bad = toy_inputs
    inputs = [paths[0], bad, *paths[1:], tmp_path / "missing_uncal.fits"]
    serial = run_many(toy_stage, inputs, pipeline_kwargs={"output_dir": tmp_path / "s"},
                      products=("rate",))
    seen = []
    dask = run_many(toy_stage, inputs, client=dask_client, products=("rate",),
                    pipeline_kwargs={"output_dir": tmp_path / "d"},
                    progress=lambda r, n, total: seen.append((n, total)))
    for summary in (serial, dask):
        assert isinstance(summary, RunSummary)
        assert [r.status for r in summary.results] == ["done", "failed", "done", "done",
                                                       "done", "failed"]
        assert "not 4-D" in summary.failed[0].reason
        assert summary.failed[1].bad_input and "no such file" in summary.failed[1].reason
        assert summary.exit_code == 1
    assert sorted(seen) == [(n, 6) for n in range(1, 7)]
    # the work really ran in worker processes
    assert {r.worker for r in dask.done} <= set(dask_client.scheduler_info()["workers"])
    for s, d in zip(serial.done, dask.done):
        a, b = _arrays(s.outputs[0]), _arrays(d.outputs[0])
        for ext in a:
            assert a[ext].tobytes() == b[ext].tobytes()


def test_skip_complete_products_and_overwrite(toy_inputs, tmp_path):
    paths, _ = toy_inputs
    kw = {"pipeline_kwargs": {"output_dir": tmp_path}, "products": ("rate",)}
    first = run_many(toy_stage, paths, **kw)
    assert [r.status for r in first.results] == ["done"] * 4
    again = run_many(toy_stage, paths, **kw)
    assert [r.status for r in again.results] == ["skipped"] * 4 and again.exit_code == 0
    # a truncated product (what a non-atomic writer killed mid-write would leave) is redone
    victim = Path(first.results[2].outputs[0])
    victim.write_bytes(victim.read_bytes()[:-2880])
    third = run_many(toy_stage, paths, **kw)
    assert [r.status for r in third.results] == ["skipped", "skipped", "done", "skipped"]
    assert fits_is_complete(victim)
    forced = run_many(toy_stage, paths, overwrite=True, **kw)
    assert [r.status for r in forced.results] == ["done"] * 4


def test_fits_is_complete_detects_truncation_and_garbage(tmp_path):
    p = tmp_path / "x.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((50, 60), np.float32))]).writeto(p)
    assert fits_is_complete(p)
    raw = p.read_bytes()
    (tmp_path / "cut.fits").write_bytes(raw[:-2880])
    (tmp_path / "junk.fits").write_bytes(b"x" * 2880)
    (tmp_path / "extra.fits").write_bytes(raw + b"\0" * 2880)
    assert not fits_is_complete(tmp_path / "cut.fits")
    assert not fits_is_complete(tmp_path / "junk.fits")
    assert not fits_is_complete(tmp_path / "extra.fits")
    assert not fits_is_complete(tmp_path / "absent.fits")


def test_exit_codes():
    ok = TaskResult("a", "done")
    bad = TaskResult("b", "failed", reason="x", bad_input=True)
    crash = TaskResult("c", "failed", reason="y")
    assert RunSummary("s", (ok, ok), 0.0, "serial").exit_code == 0
    assert RunSummary("s", (ok, bad), 0.0, "serial").exit_code == 1
    assert RunSummary("s", (bad, bad), 0.0, "serial").exit_code == 2
    assert RunSummary("s", (bad, crash), 0.0, "serial").exit_code == 1
    assert "FAILED b: x" in "\n".join(RunSummary("s", (ok, bad), 0.0, "serial").lines())


def test_detector1_dask_bitwise_equals_serial(tiny_world, dask_client, tmp_path):
    """The real detector1 on the 4 `tiny` exposures, serial vs 2 Dask workers."""
    paths = tiny_world.uncal_files
    assert len(paths) == 4
    with tiny_world.crds_env():
        serial = run_many("detector1", paths, pipeline_kwargs={"output_dir": tmp_path / "s"})
        dask = run_many("detector1", paths, client=dask_client,
                        pipeline_kwargs={"output_dir": tmp_path / "d"})
    assert serial.exit_code == 0 and dask.exit_code == 0, serial.lines() + dask.lines()
    assert len({r.worker for r in dask.done}) == 2
    for s, d in zip(serial.done, dask.done):
        for a, b in zip(s.outputs, d.outputs):
            assert Path(a).name == Path(b).name
            with fits.open(a) as ha, fits.open(b) as hb:
                for ext in ("SCI", "ERR", "DQ"):
                    assert ha[ext].data.tobytes() == hb[ext].data.tobytes(), (a, ext)


def test_cli_run_on_a_scheduler_matches_serial(tiny_world, dask_client, tmp_path):
    """`webbcal run detector1 … --scheduler ADDRESS` writes the same rate files as serial."""
    from webbcal.cli import main

    paths = [str(p) for p in tiny_world.uncal_files[:2]]
    with tiny_world.crds_env():
        rc_s = main(["-q", "run", "detector1", *paths, "--output-dir", str(tmp_path / "s")])
        rc_d = main(["-q", "run", "detector1", *paths, "--output-dir", str(tmp_path / "d"),
                     "--scheduler", dask_client.scheduler.address])
    assert rc_s == 0 and rc_d == 0
    rates = sorted((tmp_path / "s").glob("*_rate.fits"))
    assert len(rates) == 2
    for a in rates:
        with fits.open(a) as ha, fits.open(tmp_path / "d" / a.name) as hb:
            assert ha["SCI"].data.tobytes() == hb["SCI"].data.tobytes()


def test_image3_tiles_on_dask_equal_serial(tiny_world, dask_client, tmp_path):
    """Stage 3 on Dask: the pipeline hands its tiles to the workers through
    ``client.get_executor()``; the mosaic is bitwise the serial one."""
    from distributed import get_task_stream

    from webbcal.datamodels import Association

    nrca1 = [p for p in tiny_world.uncal_files if "nrca1" in p.name]
    assert len(nrca1) == 2
    with tiny_world.crds_env():
        d1 = run_many("detector1", nrca1, client=dask_client,
                      pipeline_kwargs={"output_dir": tmp_path / "rate"})
        rates = [o for r in d1.done for o in r.outputs if o.endswith("_rate.fits")]
        i2 = run_many("image2", rates, client=dask_client,
                      pipeline_kwargs={"output_dir": tmp_path / "cal"})
        cals = [Path(o) for r in i2.done for o in r.outputs if o.endswith("_cal.fits")]
        assert len(cals) == 2, d1.lines() + i2.lines()
        asn = tmp_path / "cal" / "f200w_asn.json"
        Association.from_members("jw01345-o001_t001_nircam_clear-f200w", cals,
                                 relative_to=asn.parent).write(asn)
        kw = {"steps": {"resample": {"tile_size": 128}, "source_catalog": {"skip": True}}}
        serial = run_many("image3", [asn], pipeline_kwargs={**kw, "output_dir": tmp_path / "s"})
        with get_task_stream(dask_client) as stream:
            dask = run_many("image3", [asn], client=dask_client,
                            pipeline_kwargs={**kw, "output_dir": tmp_path / "d"})
    assert serial.exit_code == 0 and dask.exit_code == 0, serial.lines() + dask.lines()
    assert dask.mode.startswith("dask tiles")
    assert len(stream.data) >= 4  # tiles (and outlier jobs) ran as Dask tasks
    name = "jw01345-o001_t001_nircam_clear-f200w_i2d.fits"
    with fits.open(tmp_path / "s" / name) as hs, fits.open(tmp_path / "d" / name) as hd:
        assert hs["SCI"].data.shape[0] > 128  # more than one tile
        for ext in ("SCI", "ERR", "WHT", "CON"):
            assert hs[ext].data.tobytes() == hd[ext].data.tobytes(), ext
