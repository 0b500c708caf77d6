"""Write a real, self-contained CRDS cache (pmap → imap → rmaps → reference files)."""

from __future__ import annotations

import hashlib
import os
import pprint
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from webbcal.references._errors import CrdsSetupError

__all__ = ["CacheEntry", "CrdsCache", "PARKEYS", "DATE_PARKEYS", "write_crds_cache", "mapping_text"]

#: Match parkeys per NIRCam reftype, from the CRDS specs (crds/jwst/specs/nircam_*);
#: every rmap adds the UseAfter keys :data:`DATE_PARKEYS`. (The dark spec's
#: ``META.EXPOSUIRE.NOUTPUTS`` typo is written correctly here.)
PARKEYS: dict[str, tuple[str, ...]] = {
    "mask": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "saturation": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "superbias": ("META.INSTRUMENT.DETECTOR", "META.EXPOSURE.READPATT", "META.SUBARRAY.NAME"),
    "linearity": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "dark": ("META.EXPOSURE.TYPE", "META.INSTRUMENT.DETECTOR", "META.SUBARRAY.NAME",
             "META.EXPOSURE.NOUTPUTS"),
    "gain": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "readnoise": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "flat": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER", "META.INSTRUMENT.PUPIL"),
    "photom": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER"),
    "area": ("META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.FILTER", "META.INSTRUMENT.PUPIL"),
    "distortion": ("META.EXPOSURE.TYPE", "META.INSTRUMENT.DETECTOR", "META.INSTRUMENT.CHANNEL"),
}
DATE_PARKEYS = ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME")

_TEXT_DESCR = {"mask": "Bad Pixel Mask", "saturation": "Saturation", "superbias": "Super Bias",
               "linearity": "Detector Linearity Correction Coefficients", "dark": "Dark reference",
               "gain": "Gain", "readnoise": "Read Noise", "flat": "Flat Field",
               "photom": "Absolute Calibration", "area": "Pixel-Area Map", "distortion": "Distortion"}

#: parkey -> CacheEntry field holding its value
_FIELD = {"META.INSTRUMENT.DETECTOR": "detector", "META.INSTRUMENT.FILTER": "filter",
          "META.INSTRUMENT.PUPIL": "pupil", "META.SUBARRAY.NAME": "subarray",
          "META.EXPOSURE.READPATT": "readpatt", "META.EXPOSURE.TYPE": "exp_type",
          "META.INSTRUMENT.CHANNEL": "channel", "META.EXPOSURE.NOUTPUTS": "noutputs"}


@dataclass(frozen=True)
class CacheEntry:
    """One reference file and the exposures it is selected for.

    Parameters
    ----------
    reftype : str
        ``'gain'``, ``'dark'``, ... (a key of :data:`PARKEYS`).
    file : str, os.PathLike or reference object
        A file to copy into the cache, or an in-memory ``XxxRef`` that is written there.
    detector, filter, pupil, subarray, readpatt, exp_type, channel, noutputs : str
        Selection values for the parkeys this reftype uses (others are ignored).
        ``'N/A'`` matches anything; ``'A|B'`` matches either.
    useafter : str
        ``'YYYY-MM-DD hh:mm:ss'``: selected for exposures starting at or after this.
    """

    reftype: str
    file: object
    detector: str = "N/A"
    filter: str = "N/A"
    pupil: str = "N/A"
    subarray: str = "N/A"
    readpatt: str = "N/A"
    exp_type: str = "N/A"
    channel: str = "N/A"
    noutputs: str = "N/A"
    useafter: str = "2022-01-01 00:00:00"

    def match_key(self) -> tuple[str, ...]:
        """Values in the order of this reftype's Match parkeys."""
        return tuple(str(getattr(self, _FIELD[p])).upper() for p in PARKEYS[self.reftype.lower()])


@dataclass(frozen=True)
class CrdsCache:
    """What :func:`write_crds_cache` wrote: ``root`` (CRDS_PATH), ``context`` (pmap name),
    ``files`` (reftype → list of reference paths in the cache)."""

    root: Path
    context: str
    files: dict[str, list[Path]]


def _sha1(text: str) -> str:
    body = "".join(line for line in text.splitlines(True) if "sha1sum" not in line)
    return hashlib.sha1(body.encode("utf-8")).hexdigest()


def mapping_text(header: dict, selector_text: str) -> str:
    """A CRDS mapping file's text (``header = {...}`` + selector) with its sha1sum line."""
    hdr = dict(header, sha1sum="@SHA1@")
    lines = ["header = {"] + [f"    {k!r} : {v!r}," for k, v in sorted(hdr.items())] + ["}", "",
                                                                                      selector_text, ""]
    text = "\n".join(lines)
    return text.replace("@SHA1@", _sha1(text))


def _rmap_selector(entries: list[tuple[CacheEntry, str]]) -> str:
    groups: dict[tuple, dict[str, str]] = defaultdict(dict)
    for entry, name in entries:
        useafter = _useafter(entry.useafter)
        slot = groups[entry.match_key()]
        if useafter in slot:
            raise CrdsSetupError(f"write_crds_cache: two {entry.reftype} files for {entry.match_key()} "
                                 f"with the same useafter {useafter}: {slot[useafter]} and {name}")
        slot[useafter] = name
    out = ["selector = Match({"]
    for key in sorted(groups):
        out.append(f"    {(key[0] if len(key) == 1 else key)!r} : UseAfter({{")
        for date in sorted(groups[key]):
            out.append(f"        {date!r} : {groups[key][date]!r},")
        out.append("    }),")
    out.append("})")
    return "\n".join(out)


def _useafter(value: str) -> str:
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d:\d\d))?(?:\.\d*)?", str(value).strip())
    if not m:
        raise CrdsSetupError(f"write_crds_cache: useafter {value!r}: expected 'YYYY-MM-DD hh:mm:ss'")
    return f"{m.group(1)} {m.group(2) or '00:00:00'}"


def _serial(context_name: str) -> str:
    m = re.fullmatch(r"jwst_(\d+)(?:\.pmap)?", context_name)
    if not m:
        raise CrdsSetupError(f"write_crds_cache: context_name {context_name!r}: expected 'jwst_NNNN.pmap'")
    return m.group(1)


def _place_file(entry: CacheEntry, refdir: Path, used: set[str], counter: list[int]) -> Path:
    """Copy/write one reference into ``references/jwst/nircam`` under a CRDS-style name."""
    reftype = entry.reftype.lower()
    src = entry.file
    if isinstance(src, (str, os.PathLike)):
        src = Path(src)
        if not src.is_file():
            raise CrdsSetupError(f"write_crds_cache: {reftype} file {src} does not exist")
        ext = "".join(src.suffixes[-1:]) or ".fits"
        name = src.name if re.fullmatch(rf"jwst_nircam_{reftype}_\w+\.(fits|asdf)", src.name) else None
    else:
        ext = ".asdf" if reftype == "distortion" else ".fits"
        name = None
    if name is None or name in used:
        while True:
            counter[0] += 1
            name = f"jwst_nircam_{reftype}_{counter[0]:04d}{ext}"
            if name not in used:
                break
    used.add(name)
    dest = refdir / name
    if isinstance(src, Path):
        if dest.resolve() != src.resolve():
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
    else:
        src.write(dest)
    return dest


def write_crds_cache(root: str | os.PathLike, entries: Iterable[CacheEntry] | Mapping[str, Iterable[CacheEntry]],
                     *, context_name: str = "jwst_0001.pmap") -> CrdsCache:
    """Build a CRDS cache that ``crds.getreferences`` can use offline.

    Writes ``config/jwst/server_config`` (and the cache-layout tag),
    ``mappings/jwst/<context>.pmap`` → ``jwst_nircam_NNNN.imap`` → one
    ``jwst_nircam_<reftype>_NNNN.rmap`` per reftype (Match on the reftype's CRDS parkeys,
    UseAfter on the observation date/time; correct ``sha1sum`` lines), and hard-links
    or copies the files into ``references/jwst/nircam/``.

    Parameters
    ----------
    root : path
        The cache folder (becomes ``CRDS_PATH``); created if needed.
    entries : iterable of CacheEntry, or mapping reftype -> iterable of CacheEntry
    context_name : str
        The pipeline mapping's name, ``'jwst_NNNN.pmap'``.

    Returns
    -------
    CrdsCache
    """
    root = Path(root)
    serial = _serial(context_name)
    pmap = f"jwst_{serial}.pmap"
    imap = f"jwst_nircam_{serial}.imap"
    if isinstance(entries, Mapping):
        entries = [e for group in entries.values() for e in group]
    by_type: dict[str, list[CacheEntry]] = defaultdict(list)
    for entry in entries:
        if entry.reftype.lower() not in PARKEYS:
            raise CrdsSetupError(f"write_crds_cache: reftype {entry.reftype!r}: expected one of "
                                 f"{sorted(PARKEYS)}")
        by_type[entry.reftype.lower()].append(entry)

    mapdir = root / "mappings" / "jwst"
    refdir = root / "references" / "jwst" / "nircam"
    cfgdir = root / "config" / "jwst"
    for folder in (mapdir, refdir, cfgdir):
        folder.mkdir(parents=True, exist_ok=True)

    used = {p.name for p in refdir.iterdir()}
    files: dict[str, list[Path]] = {}
    rmaps: dict[str, str] = {}
    for reftype in sorted(by_type):
        counter = [0]
        placed = [(e, _place_file(e, refdir, used, counter)) for e in by_type[reftype]]
        files[reftype] = [p for _, p in placed]
        name = f"jwst_nircam_{reftype}_{serial}.rmap"
        header = {"classes": ("Match", "UseAfter"), "derived_from": "webbcal.references.write_crds_cache",
                  "file_ext": placed[0][1].suffix, "filekind": reftype.upper(),
                  "filetype": reftype.upper(), "instrument": "NIRCAM", "mapping": "REFERENCE",
                  "name": name, "observatory": "JWST",
                  "parkey": (PARKEYS[reftype], DATE_PARKEYS), "suffix": reftype,
                  "text_descr": _TEXT_DESCR[reftype]}
        selector = _rmap_selector([(e, p.name) for e, p in placed])
        _write_text(mapdir / name, mapping_text(header, selector))
        rmaps[reftype.upper()] = name

    imap_sel = "selector = {\n" + "".join(f"    {k!r} : {v!r},\n" for k, v in sorted(rmaps.items())) + "}"
    _write_text(mapdir / imap, mapping_text(
        {"derived_from": "webbcal.references.write_crds_cache", "instrument": "NIRCAM",
         "mapping": "INSTRUMENT", "name": imap, "observatory": "JWST", "parkey": ("REFTYPE",)}, imap_sel))
    _write_text(mapdir / pmap, mapping_text(
        {"derived_from": "webbcal.references.write_crds_cache", "mapping": "PIPELINE", "name": pmap,
         "observatory": "JWST", "parkey": ("META.INSTRUMENT.NAME",)},
        f"selector = {{\n    'NIRCAM' : {imap!r},\n}}"))

    info = {"observatory": "jwst", "operational_context": pmap, "latest_context": pmap,
            "edit_context": pmap, "versions_context": pmap, "bad_files": "", "bad_files_list": [],
            "force_remote_mode": False, "mappings": sorted([pmap, imap, *rmaps.values()]),
            "last_synced": time.strftime("%Y-%m-%d %H:%M:%S"), "server": "serverless",
            "reference_url": "none", "mapping_url": "none", "crds_version": {"str": "webbcal"}}
    _write_text(cfgdir / "server_config", pprint.pformat(info))
    _write_text(cfgdir / "ref_cache_subdir_mode", "instrument")
    return CrdsCache(root=root, context=pmap, files=files)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)
