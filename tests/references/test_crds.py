"""A CRDS cache written by write_crds_cache, read by the real crds client offline."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from webbcal.datamodels import ExposureInfo
from webbcal.references import (CacheEntry, CrdsSetupError, FlatRef, GainRef, MaskRef, NoMatchError,
                                current_context, get_references, read_reference, reference_header,
                                reference_name, write_crds_cache)

DETECTORS = ("NRCA1", "NRCB1")
FILTERS = ("F150W", "F200W")


def exposure(detector="NRCA1", filter="F200W", date="2023-06-01"):
    return ExposureInfo(instrument="NIRCAM", detector=detector, module=detector[3], channel="SHORT",
                        filter=filter, pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="RAPID",
                        nframes=1, groupgap=0, ngroups=3, nints=1, tframe=10.73677,
                        tgroup=10.73677, subarray="FULL", substrt1=1, substrt2=1, subsize1=2048,
                        subsize2=2048, date_obs=date, time_obs="01:02:03")


def gain_value(det, useafter_index=0):
    return 1.5 + DETECTORS.index(det) + 10 * useafter_index


def flat_value(det, filt):
    return 0.5 + 0.1 * DETECTORS.index(det) + 0.01 * FILTERS.index(filt)


@pytest.fixture
def cache(tmp_path):
    """Gain per detector (two useafters for NRCA1), flat per detector and filter, tiny arrays."""
    entries = []
    for det in DETECTORS:
        path = GainRef(np.full((4, 4), gain_value(det), np.float32),
                       reference_header(detector=det)).write(tmp_path / f"gain_{det}.fits")
        entries.append(CacheEntry("gain", path, detector=det))
        for filt in FILTERS:
            ref = FlatRef(np.full((4, 4), flat_value(det, filt), np.float32),
                          header=reference_header(detector=det, FILTER=filt, PUPIL="CLEAR"))
            entries.append(CacheEntry("flat", ref, detector=det, filter=filt, pupil="CLEAR"))
    later = GainRef(np.full((4, 4), gain_value("NRCA1", 1), np.float32), reference_header(detector="NRCA1"))
    entries.append(CacheEntry("gain", later, detector="NRCA1", useafter="2024-01-01T00:00:00"))
    return write_crds_cache(tmp_path / "crds_cache", entries, context_name="jwst_0042.pmap")


@pytest.fixture
def crds_env(monkeypatch, cache):
    monkeypatch.delenv("CRDS_SERVER_URL", raising=False)
    monkeypatch.delenv("CRDS_CONTEXT", raising=False)
    monkeypatch.setenv("CRDS_PATH", str(cache.root))
    return cache


def test_cache_layout_and_checksums(cache):
    from webbcal.references._cache import _sha1
    maps = cache.root / "mappings" / "jwst"
    assert sorted(p.name for p in maps.iterdir()) == [
        "jwst_0042.pmap", "jwst_nircam_0042.imap", "jwst_nircam_flat_0042.rmap", "jwst_nircam_gain_0042.rmap"]
    for mapping in maps.iterdir():
        text = mapping.read_text()
        line = next(ln for ln in text.splitlines() if "sha1sum" in ln)
        assert line.split("'")[3] == _sha1(text)
    assert (cache.root / "config" / "jwst" / "server_config").is_file()
    assert len(cache.files["gain"]) == 3 and len(cache.files["flat"]) == 4
    assert all(p.parent == cache.root / "references" / "jwst" / "nircam" for p in cache.files["flat"])


SUBPROCESS = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    def no_network(self, *args, **kw):
        attempts.append(repr(args))
        raise OSError("network disabled in this test")
    socket.socket.connect = no_network
    socket.socket.connect_ex = no_network
    socket.create_connection = no_network
    import crds
    params = json.loads(sys.argv[1])
    out = {}
    for key, p in params.items():
        out[key] = crds.getreferences(p, reftypes=["gain", "flat"], observatory="jwst")
    print(json.dumps({"refs": out, "attempts": attempts}))
""")


def test_real_crds_client_selects_our_files_offline(crds_env):
    from webbcal.references import crds_parameters
    cases = {f"{d}/{f}/{date}": crds_parameters(exposure(d, f, date))
             for d in DETECTORS for f in FILTERS for date in ("2023-06-01", "2024-06-01")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(CRDS_PATH=str(crds_env.root), CRDS_CONTEXT=crds_env.context)
    run = subprocess.run([sys.executable, "-c", SUBPROCESS, json.dumps(cases)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []  # the client never tried to open a connection
    for key, refs in result["refs"].items():
        det, filt, date = key.split("/")
        later = det == "NRCA1" and date >= "2024"
        gain = read_reference(refs["gain"])
        assert float(gain.data[0, 0]) == pytest.approx(gain_value(det, int(later)))
        assert float(read_reference(refs["flat"]).data[0, 0]) == pytest.approx(flat_value(det, filt))
        assert refs["flat"].startswith(str(crds_env.root / "references" / "jwst" / "nircam"))


def test_get_references_in_process_no_network(crds_env, monkeypatch):
    def no_network(self, *args, **kw):
        raise AssertionError(f"network attempt {args}")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv("CRDS_CLIENT_TIMEOUT_SECONDS", raising=False)
    refs = get_references(exposure("NRCB1", "F150W"), ["gain", "flat"])
    assert os.environ["CRDS_CLIENT_TIMEOUT_SECONDS"] == "30"  # not the client's 3600 s default
    assert read_reference(refs["gain"]).data[0, 0] == pytest.approx(gain_value("NRCB1"))
    assert read_reference(refs["flat"]).data[0, 0] == pytest.approx(flat_value("NRCB1", "F150W"))
    assert reference_name(refs["flat"]) == f"crds://{refs['flat'].name}"
    assert current_context() == "jwst_0042.pmap"  # the cache's own operational context


def test_second_cache_same_context_name_is_not_stale(crds_env, tmp_path, monkeypatch):
    """crds caches rules per process by name: switching CRDS_PATH must not reuse old rules."""
    get_references(exposure("NRCA1"), ["gain"])  # load the first cache's rules
    ref = GainRef(np.full((2, 2), 99.0, np.float32), reference_header(detector="NRCA1"))
    mask = MaskRef(np.zeros((2, 2), np.uint32), reference_header(detector="NRCA1"))
    other = write_crds_cache(tmp_path / "other", [CacheEntry("gain", ref, detector="NRCA1"),
                                                  CacheEntry("mask", mask, detector="NRCA1")],
                             context_name=crds_env.context)
    monkeypatch.setenv("CRDS_PATH", str(other.root))
    # with stale rules crds says "Unknown reference type 'mask'" (verified)
    refs = get_references(exposure("NRCA1"), ["gain", "mask"])
    assert read_reference(refs["gain"]).data[0, 0] == 99.0
    assert read_reference(refs["mask"]).dq.shape == (2, 2)


def test_no_match_names_reftype_and_parameters(crds_env):
    with pytest.raises(NoMatchError) as err:
        get_references(exposure("NRCA1", "F444W"), ["flat"])
    msg = str(err.value)
    assert "flat" in msg and "F444W" in msg and "NRCA1" in msg


def test_missing_crds_path_and_missing_layout(monkeypatch, tmp_path):
    monkeypatch.delenv("CRDS_SERVER_URL", raising=False)
    monkeypatch.delenv("CRDS_PATH", raising=False)
    with pytest.raises(CrdsSetupError, match="CRDS_PATH is not set"):
        get_references(exposure(), ["gain"])
    monkeypatch.setenv("CRDS_PATH", str(tmp_path))
    with pytest.raises(CrdsSetupError, match="server_config"):
        get_references(exposure(), ["gain"])


def test_tampered_mapping_is_a_clear_error(crds_env, tmp_path, monkeypatch):
    rmap = crds_env.root / "mappings" / "jwst" / "jwst_nircam_gain_0042.rmap"
    rmap.write_text(rmap.read_text().replace("'Gain'", "'Gain!'"))
    with pytest.raises(CrdsSetupError, match="sha1sum"):
        get_references(exposure(), ["gain"], context=crds_env.context)


def test_overrides_need_no_crds(monkeypatch, tmp_path):
    monkeypatch.delenv("CRDS_PATH", raising=False)
    monkeypatch.delenv("CRDS_SERVER_URL", raising=False)
    path = GainRef(np.ones((2, 2), np.float32)).write(tmp_path / "mygain.fits")
    flat = FlatRef(np.ones((2, 2), np.float32))
    refs = get_references(exposure(), ["gain", "flat"], overrides={"gain": str(path), "FLAT": flat})
    assert refs["gain"] == path and refs["flat"] is flat
    assert reference_name(refs["gain"]) == "mygain.fits"
