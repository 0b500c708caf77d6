"""DaskMap (image3's executor on Dask): shared objects scattered once, small pickled
libraries, and the same mosaic as the local path."""

from __future__ import annotations

import pickle
import sys
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from webbcal.parallel import DaskMap, shared_objects

SCENE = Path(__file__).resolve().parents[1] / "steps" / "image3"


def test_shared_objects_counts_identity_not_value():
    big, other, small = np.zeros(5), np.zeros(5), object()
    cols = [[(big, 1, "a"), (big, 2, "a"), (other, 3, small)], [small, 7]]
    found = shared_objects(cols, skip=(int, str))
    # `big` is in two items, `small` in two (one as a whole item); `other` equals
    # `big` by value but is another object; ints and strings are skipped
    assert list(found.values()) == [big, small]
    assert list(found) == [id(big), id(small)]


class _FakeClient:
    """Runs tasks here; records what was scattered and what the tasks received."""

    def __init__(self):
        self.scattered, self.mapped, self.cancelled = [], [], []

    def scatter(self, data, broadcast=False, hash=True):
        self.scattered.append((list(data), broadcast))
        return [_Fut(d) for d in data]

    def map(self, fn, *columns, pure=True):
        self.mapped.append(columns)
        out = []
        for args in zip(*columns):
            args = [tuple(a.value if isinstance(a, _Fut) else a for a in x)
                    if isinstance(x, tuple) else x for x in args]
            f = Future()
            f.set_result(fn(*args))
            out.append(_Fut(f))
        return out

    def cancel(self, futures):
        self.cancelled += futures


class _Fut:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value.result()

    def release(self):
        pass


def _job(item):
    arr, k, scale = item
    return float(arr[k]) * scale


def test_daskmap_scatters_shared_objects_once_and_keeps_order():
    client = _FakeClient()
    arr = np.arange(10.0)
    items = [(arr, k, 2.0) for k in range(6)]
    assert list(DaskMap(client).map(_job, items)) == [2.0 * k for k in range(6)]
    (sent, broadcast), = client.scattered
    assert broadcast and len(sent) == 1 and sent[0] is arr   # once, to every worker
    (column,), = client.mapped
    assert all(isinstance(it[0], _Fut) and it[1:] == (k, 2.0) for k, it in enumerate(column))
    # the items the graph carries are small: no copy of the array in any of them
    assert all(len(pickle.dumps(it[1:])) < 100 for it in column)

    plain = _FakeClient()
    assert list(DaskMap(plain, scatter=False).map(_job, items)) == [2.0 * k for k in range(6)]
    assert plain.scattered == [] and plain.mapped[0][0][0][0] is arr


def test_daskmap_closing_early_cancels_the_rest():
    client = _FakeClient()
    it = DaskMap(client).map(_job, [(np.ones(3), k, 1.0) for k in range(3)])
    assert next(it) == 1.0
    it.close()
    assert len(client.cancelled) == 2


def test_daskmap_pickles_to_an_inert_stub():
    stub = pickle.loads(pickle.dumps(DaskMap(_FakeClient())))
    with pytest.raises(RuntimeError, match="inside a worker"):
        stub.map(_job, [])


# -- on image3 ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    """The image3 test scene (224² exposures at 4 dithers) on disk,
    loaded as a library after tweakreg and skymatch."""
    if str(SCENE) not in sys.path:
        sys.path.insert(0, str(SCENE))
    from _image3_scene import make_scene, write_scene

    from webbcal.pipelines.image3 import Image3Pipeline
    from webbcal.steps.image3._library import load_library

    folder = tmp_path_factory.mktemp("daskmap")
    paths, asn, ref = write_scene(make_scene(), folder)
    pipe = Image3Pipeline(steps={"tweakreg": {"abs_refcat": str(ref)}})
    lib = load_library(asn, output_dir=folder / "out")
    lib = pipe.steps["skymatch"].run(pipe.steps["tweakreg"].run(lib))
    return lib, asn, ref


def test_pickled_library_is_small_and_drizzles_identically(aligned):
    from webbcal.algorithms.image3.resample import DrizzleParams
    from webbcal.steps.image3._drizzle import DrizzleSums, drizzle_tile
    from webbcal.steps.image3._library import output_grid

    lib = aligned[0]
    n = len(lib)
    assert n >= 4 and all(m.nodes is not None for m in lib.members)
    assert any(m.wcs_pointing is not None or m.updates["sci"] for m in lib.members)
    grid = output_grid(lib)
    params = DrizzleParams()
    lib.prepared = DrizzleSums(grid, params, n)   # whole-grid sums: never shipped
    try:
        blob = pickle.dumps(lib)
    finally:
        lib.prepared = None
    # paths, pending header updates and sky nodes only: no pixel data
    assert len(blob) < 20_000 + 20_000 * n, len(blob)
    twin = pickle.loads(blob)
    assert twin.prepared is None and [m.path for m in twin.members] == \
        [m.path for m in lib.members]
    tile = next(iter(grid.tiles(96)))[2]
    a, added_a = drizzle_tile(lib, tile, params)
    b, added_b = drizzle_tile(twin, tile, params)
    assert added_a == added_b and len(added_a) > 0
    for key in ("sci", "err", "wht", "var_rnoise", "var_poisson", "var_flat", "con"):
        assert getattr(a, key).tobytes() == getattr(b, key).tobytes(), key


def test_image3_on_dask_equals_local(aligned, tmp_path):
    """Tiles and outlier jobs through DaskMap on a LocalCluster: the same mosaic and
    crf DQ as the local path, bit for bit."""
    distributed = pytest.importorskip("distributed")
    from astropy.io import fits

    from webbcal.pipelines.image3 import Image3Pipeline

    _, asn, ref = aligned
    steps = {"tweakreg": {"abs_refcat": str(ref)}, "source_catalog": {"skip": True},
             "resample": {"tile_size": 96}, "outlier_detection": {"tile_size": 128}}
    local = Image3Pipeline(steps=steps, output_dir=tmp_path / "local").run(asn)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = Image3Pipeline(steps=steps, output_dir=tmp_path / "dask",
                              executor=DaskMap(client)).run(asn)
    assert local.mosaic.data.shape[0] > 96          # several tiles
    for key in ("data", "err", "wht", "con"):
        a, b = getattr(local.mosaic, key), getattr(dask.mosaic, key)
        assert a.tobytes() == b.tobytes(), key
    crf = sorted((tmp_path / "local").glob("*_crf.fits"))
    assert len(crf) == len(aligned[0]) >= 4
    flagged = 0
    for p in crf:
        with fits.open(p) as hl, fits.open(tmp_path / "dask" / p.name) as hd:
            assert hl["DQ"].data.tobytes() == hd["DQ"].data.tobytes(), p.name
            flagged += int((hl["DQ"].data & 16).astype(bool).sum())
    assert flagged > 0   # the scene's cosmic rays were found
