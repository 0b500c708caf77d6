"""Find a folder's products: exposures (uncal/rate/cal), mosaics (i2d + catalog), truth.

Shared by ``webbcal validate``, ``webbcal report`` and the HTML report; re-exported by
:mod:`webbcal.report.collect`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("webbcal.report")

__all__ = ["Exposure", "Mosaic", "Products", "discover"]


@dataclass
class Exposure:
    """Files of one exposure (``stem`` = ``jw…_nrca1``); any may be None."""

    stem: str
    uncal: Path | None = None
    rate: Path | None = None
    cal: Path | None = None


@dataclass
class Mosaic:
    """A level-3 product: the ``*_i2d.fits`` mosaic and its ``*_cat.ecsv`` catalog."""

    stem: str
    i2d: Path
    catalog: Path | None = None


@dataclass
class Products:
    """What :func:`discover` found under ``root``."""

    root: Path
    truth_dir: Path | None
    exposures: list[Exposure] = field(default_factory=list)
    mosaics: list[Mosaic] = field(default_factory=list)
    reference_catalog: Path | None = None


def discover(root: str | os.PathLike, *, truth_dir: str | os.PathLike | None = None,
             raw_dirs: Sequence[str | os.PathLike] = ()) -> Products:
    """Walk ``root`` (and ``raw_dirs``) for uncal/rate/cal/i2d files and the truth folder.

    The truth folder is ``truth_dir`` if given, else the one recorded by ``webbcal run
    all`` in ``root/webbcal-run.json``, else ``root/truth``, else the first ``truth``
    folder below ``root`` (the demo keeps the world in ``root/raw``). ``raw_dirs`` (and
    the ``raw_dirs`` of that manifest) are searched, not recursively, for the uncal
    files that lie outside ``root``. Temporary files (``.tmp-*``) are ignored;
    per-exposure i2d files (same stem as an exposure) are not mosaics.
    """
    import json

    from webbcal.pipelines.base import product_stem

    root = Path(root)
    manifest = root / "webbcal-run.json"
    raw = [Path(d) for d in raw_dirs]
    if manifest.exists():
        try:
            info = json.loads(manifest.read_text())
            raw += [Path(d) for d in info.get("raw_dirs", [])]
            if truth_dir is None and info.get("truth_dir") and Path(info["truth_dir"]).is_dir():
                truth_dir = Path(info["truth_dir"])
        except (ValueError, OSError, AttributeError) as exc:
            log.warning("%s: unreadable (%s)", manifest, exc)
    if truth_dir is None:
        cands = [root / "truth"] + sorted(p for p in root.rglob("truth") if p.is_dir())
        truth_dir = next((p for p in cands if p.is_dir()), None)
    exposures: dict[str, Exposure] = {}
    i2d: list[Path] = []
    extra = sorted(f for d in dict.fromkeys(raw) if d.is_dir() for f in d.glob("*_uncal.fits"))
    for path in sorted(root.rglob("*.fits")) + extra:
        if path.name.startswith(".") or (truth_dir and Path(truth_dir) in path.parents):
            continue
        name = path.name
        for suffix in ("uncal", "rate", "cal"):
            if name.endswith(f"_{suffix}.fits"):
                exp = exposures.setdefault(product_stem(name), Exposure(product_stem(name)))
                if getattr(exp, suffix) is None:
                    setattr(exp, suffix, path)
        if name.endswith("_i2d.fits"):
            i2d.append(path)
    mosaics = []
    for path in i2d:
        stem = product_stem(path)
        if stem in exposures:
            continue
        cat = path.with_name(f"{stem}_cat.ecsv")
        mosaics.append(Mosaic(stem, path, cat if cat.exists() else None))
    refs = [d / "reference_catalog.ecsv" for d in
            ([Path(truth_dir)] if truth_dir else []) + [root] + raw
            + ([Path(truth_dir).parent] if truth_dir else [])]
    return Products(root, Path(truth_dir) if truth_dir else None,
                    sorted(exposures.values(), key=lambda e: e.stem), mosaics,
                    next((r for r in refs if r.exists()), None))
