"""The `tiny` world: files, CRDS cache, truth, and detector effects read back from files."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from webbcal.datamodels.dqflags import DQ
from webbcal.simulate import simulate_world

REFTYPES = ["mask", "gain", "readnoise", "superbias", "linearity", "saturation", "dark",
            "flat", "photom", "area", "distortion"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return simulate_world("tiny", tmp_path_factory.mktemp("tiny"), seed=1)


def _cache_file(world, reftype, det):
    root = world.crds_path / "references" / "jwst" / "nircam"
    for p in sorted(root.glob(f"jwst_nircam_{reftype}_*")):
        if p.suffix == ".fits" and fits.getval(p, "DETECTOR").upper() == det:
            return p
    raise AssertionError(f"no {reftype} for {det}")


def test_files_and_names(world):
    assert len(world.uncal_files) == 4
    for p in world.uncal_files:
        assert re.fullmatch(r"jw01345001001_02201_0000[12]_nrca(1|long)_uncal\.fits", p.name)
        with fits.open(p) as h:
            assert h["SCI"].data.dtype.kind == "u" and h["SCI"].data.dtype.itemsize == 2
            assert h["SCI"].data.shape == (1, 6, 256, 256)
            assert h[0].header["DATAMODL"] == "Level1bModel"
            assert h[0].header["READPATT"] == "MEDIUM8"
            assert "RA_REF" in h["SCI"].header
            assert {"GROUP", "INT_TIMES"} <= {x.name for x in h}
    for asn in world.associations:
        d = json.loads(asn.read_text())
        names = [m["expname"] for m in d["products"][0]["members"]]
        assert len(names) == 2 and all(n.endswith("_cal.fits") for n in names)
        assert all(m["exptype"] == "science" for m in d["products"][0]["members"])
    assert (world.truth_dir / "sources.ecsv").is_file()
    assert world.reference_catalog.is_file()


def test_uncal_reads_with_webbcal(world):
    from webbcal.datamodels import read_uncal

    m = read_uncal(world.uncal_files[0])
    ex = m.exposure
    assert (ex.nframes, ex.groupgap, ex.ngroups, ex.subarray) == (8, 2, 6, "SUB256")
    assert ex.pointing is not None


_PARAM_SCRIPT = r"""
import json, socket, sys
attempts = []
def refuse(self, *a, **k):
    attempts.append(repr(a))
    raise OSError("network attempted")
socket.socket.connect = refuse
import crds
from astropy.io import fits
out = {}
for path in sys.argv[2:]:
    h = fits.getheader(path, 0)
    params = {"META.INSTRUMENT.NAME": "NIRCAM", "META.TELESCOPE": "JWST",
              "META.INSTRUMENT.DETECTOR": h["DETECTOR"], "META.INSTRUMENT.FILTER": h["FILTER"],
              "META.INSTRUMENT.PUPIL": h["PUPIL"], "META.INSTRUMENT.CHANNEL": h["CHANNEL"],
              "META.EXPOSURE.TYPE": h["EXP_TYPE"], "META.EXPOSURE.READPATT": h["READPATT"],
              "META.SUBARRAY.NAME": h["SUBARRAY"], "META.EXPOSURE.NOUTPUTS": str(h["NOUTPUTS"]),
              "META.OBSERVATION.DATE": h["DATE-OBS"], "META.OBSERVATION.TIME": h["TIME-OBS"]}
    out[path] = crds.getreferences(params, reftypes=json.loads(sys.argv[1]), observatory="jwst")
print(json.dumps({"refs": out, "attempts": attempts}))
"""


def test_crds_getreferences_offline(world):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(CRDS_PATH=str(world.crds_path), CRDS_CONTEXT=world.context)
    files = [str(p) for p in world.uncal_files]
    res = subprocess.run([sys.executable, "-c", _PARAM_SCRIPT, json.dumps(REFTYPES), *files],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []
    for f in files:
        refs = out["refs"][f]
        assert set(refs) == set(REFTYPES)
        det = fits.getval(f, "DETECTOR")
        for rt, path in refs.items():
            assert path.startswith(str(world.crds_path))
            if path.endswith(".fits"):
                h = fits.getheader(path)
                assert h["DETECTOR"] == det and h["REFTYPE"] == rt.upper()
                if rt in ("flat", "area"):
                    assert h["FILTER"] == fits.getval(f, "FILTER")


def test_bad_pixels_match_mask(world):
    f = world.uncal_files[0]
    det = fits.getval(f, "DETECTOR")
    mask = fits.getdata(_cache_file(world, "mask", det), "DQ")
    flat = fits.getdata(_cache_file(world, "flat", det), "SCI")
    data = fits.getdata(f, "SCI")[0].astype(float)
    tgroup = fits.getval(f, "TGROUP")
    slope = (data[-1] - data[0]) / (tgroup * (data.shape[0] - 1))
    truth = fits.getdata(world.truth_dir / f"{f.name.replace('_uncal.fits', '')}_truth_rate.fits",
                         "RATE_DN")
    hot = (mask & DQ.HOT) > 0
    dead = (mask & DQ.DEAD) > 0
    ref = (mask & DQ.REFERENCE_PIXEL) > 0
    assert hot.sum() > 10 and dead.sum() > 3
    normal = (mask == 0) & (truth < 0.5)
    assert np.median(slope[hot]) > 0.5 > np.median(slope[normal]) + 0.3
    assert np.all(truth[dead] == 0) and np.all(np.isnan(flat[dead]))
    lowqe = (mask & DQ.LOW_QE) > 0
    assert lowqe.sum() > 3 and np.nanmax(flat[lowqe]) < 0.75 < np.nanpercentile(flat, 1)
    assert ref[:4].all() and ref[:, :4].all() and not ref[4:, 4:].any()
    listed = Table.read(world.truth_dir / f"{det.lower()}_bad_pixels.fits")
    assert len(listed) == np.count_nonzero((mask != 0) & ~ref)


def test_flat_structure_in_truth_rate(world):
    f = world.uncal_files[0]
    det, filt = fits.getval(f, "DETECTOR"), fits.getval(f, "FILTER")
    flat = fits.getdata(_cache_file(world, "flat", det), "SCI")
    area = fits.getdata(_cache_file(world, "area", det), "SCI")
    truth = fits.getdata(world.truth_dir / f"{f.name.replace('_uncal.fits', '')}_truth_rate.fits",
                         "RATE_DN")
    photmjsr = fits.getdata(_cache_file(world, "photom", det), "PHOTOM")["photmjsr"][0]
    sky = Table.read(world.truth_dir / "sources.ecsv").meta["sky_MJy_sr"][filt]
    # sky-only pixels: rate = sky / PHOTMJSR * flat  (flat = QE * area)
    ratio = truth / (sky / photmjsr * flat)
    good = np.isfinite(ratio)
    # sources only add light: the faintest pixels are pure sky
    assert np.percentile(ratio[good], 1) == pytest.approx(1.0, abs=0.005)
    assert ratio[good].min() > 1 - 1e-4
    assert np.std(flat[good]) > 0.01  # pixel-to-pixel + large-scale structure present
    assert 0.9 < np.median(area) < 1.1


def test_gain_reference_flight_like(world):
    for det, nominal in (("NRCA1", 2.05), ("NRCALONG", 1.82)):
        g = fits.getdata(_cache_file(world, "gain", det), "SCI")
        assert np.median(g) == pytest.approx(nominal, rel=0.03)


def test_cosmic_ray_truth_matches_rate(world):
    f = world.uncal_files[0]
    base = f.name.replace("_uncal.fits", "")
    crs = Table.read(world.truth_dir / f"{base}_cosmic_rays.fits")
    h = fits.getheader(f)
    nfr = h["NGROUPS"] * (h["NFRAMES"] + h["GROUPGAP"]) - h["GROUPGAP"]
    area = (256 - 4) ** 2 * (18e-4) ** 2
    expected = 5.0 * area * nfr * h["TFRAME"]
    assert abs(len(crs) - expected) < 3 * np.sqrt(expected) + 1


def test_pointing_errors_and_positions(world):
    errs = Table.read(world.truth_dir / "pointing_errors.ecsv")
    assert len(errs) == 2 and np.all(np.abs(errs["dra_arcsec"]) < 1.0)
    from webbcal.datamodels import read_uncal
    from webbcal.instrument import DetectorGeometry

    f = world.uncal_files[0]
    ex = read_uncal(f).exposure
    g = DetectorGeometry(ex.detector, ex.pointing, substrt=(1, 1), shape=(256, 256))
    src = Table.read(world.truth_dir / "sources.ecsv")
    pos = Table.read(world.truth_dir / "positions.fits")
    pos = pos[pos["exposure"] == f.name.replace("_uncal.fits", "")]
    x_hdr, y_hdr = g.sky_to_pixel(src["ra"], src["dec"])
    shift = np.median(np.hypot(pos["x"] - x_hdr, pos["y"] - y_hdr)) * 0.031
    true_shift = np.hypot(errs["dra_arcsec"][0], errs["ddec_arcsec"][0])
    assert shift == pytest.approx(true_shift, abs=0.01)


def test_uncal_signal_matches_truth_rate(world):
    # (last - second group) of the raw data vs truth rate x time, on bright pixels
    for f in world.uncal_files:
        data = fits.getdata(f, "SCI")[0].astype(float)
        diff = data[-1] - data[1]
        truth = fits.getdata(world.truth_dir / f"{f.name.replace('_uncal.fits', '')}"
                             "_truth_rate.fits", "RATE_DN")
        pred = truth * fits.getval(f, "TGROUP") * (data.shape[0] - 2)
        bright = pred > 50
        assert bright.sum() > 50
        assert diff[bright].sum() / pred[bright].sum() == pytest.approx(1.0, abs=0.03)


def test_stars_at_truth_positions(world):
    f = world.uncal_files[1]  # NRCALONG
    truth = fits.getdata(world.truth_dir / f"{f.name.replace('_uncal.fits', '')}_truth_rate.fits",
                         "RATE_DN")
    src = Table.read(world.truth_dir / "sources.ecsv")
    pos = Table.read(world.truth_dir / "positions.fits")
    pos = pos[pos["exposure"] == f.name.replace("_uncal.fits", "")]
    ok = (src["kind"] == "star") & (pos["x"] > 10) & (pos["x"] < 245) & (pos["y"] > 10) \
        & (pos["y"] < 245)
    assert ok.sum() >= 1
    ok &= src["flux_f444w"] > 3.0  # bright: dominate their box in this crowded field
    assert ok.sum() >= 3
    yy, xx = np.mgrid[-4:5, -4:5]
    err = []
    for x, y in zip(pos["x"][ok], pos["y"][ok]):
        iy, ix = int(round(y)), int(round(x))
        box = truth[iy - 4:iy + 5, ix - 4:ix + 5] - np.median(truth)
        cx, cy = (box * xx).sum() / box.sum() + ix, (box * yy).sum() / box.sum() + iy
        err.append(np.hypot(cx - x, cy - y))
    assert np.median(err) < 0.1


def test_official_jwst_datamodels_open_files(world):
    dm = pytest.importorskip("jwst.datamodels")
    with dm.open(world.uncal_files[0]) as m:
        assert m.data.shape == (1, 6, 256, 256)
    with dm.open(_cache_file(world, "gain", "NRCA1")) as m:
        assert m.data.shape == (256, 256)
    # the official step's CRDS lookup, in a separate process, offline
    script = ("import sys; from jwst.dq_init import DQInitStep; from jwst import datamodels; "
              "m = datamodels.open(sys.argv[1]); "
              "print(DQInitStep().get_reference_file(m, 'mask'))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(CRDS_PATH=str(world.crds_path), CRDS_CONTEXT=world.context)
    res = subprocess.run([sys.executable, "-c", script, str(world.uncal_files[0])], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert str(world.crds_path) in res.stdout and "mask" in res.stdout


def test_stdatamodels_opens_uncal(world):
    sdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    with sdm.open(world.uncal_files[0]) as m:
        assert m.meta.instrument.detector == "NRCA1"
        assert m.data.shape == (1, 6, 256, 256)
