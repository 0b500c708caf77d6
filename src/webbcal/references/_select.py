"""Reference selection: overrides first, then the real ``crds`` client (imported lazily).

Pitfalls of the client handled here (each verified with crds 14):

- ``CRDS_SERVER_URL`` is read once at ``import crds``: the environment is prepared
  before the first import, and a later change is pushed into the client.
- Rules and server info are cached per process: the caches are cleared when
  ``CRDS_PATH`` or the server changes between calls.
- No ``CRDS_SERVER_URL`` means serverless: no network at all; the context then
  defaults to the cache's own ``operational_context`` (no server round-trip).
- The RPC timeout defaults to 3600 s: ``CRDS_CLIENT_TIMEOUT_SECONDS`` is set to 30
  unless the user set it.
- A cache needs ``config/jwst/server_config``; a read-only cache needs
  ``CRDS_READONLY_CACHE=1`` (set here when the cache is not writable).
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from webbcal.references._base import REGISTRY
from webbcal.references._errors import CrdsSetupError, NoMatchError, ReferenceError_

__all__ = ["crds_parameters", "current_context", "get_references", "resolve_reference", "reference_name"]

DEFAULT_TIMEOUT_S = "30"
_STATE: dict[str, Any] = {}

# ExposureInfo attribute -> CRDS parameter name
_PARAMS = (
    ("instrument", "META.INSTRUMENT.NAME"), ("detector", "META.INSTRUMENT.DETECTOR"),
    ("filter", "META.INSTRUMENT.FILTER"), ("pupil", "META.INSTRUMENT.PUPIL"),
    ("channel", "META.INSTRUMENT.CHANNEL"), ("module", "META.INSTRUMENT.MODULE"),
    ("exp_type", "META.EXPOSURE.TYPE"), ("readpatt", "META.EXPOSURE.READPATT"),
    ("noutputs", "META.EXPOSURE.NOUTPUTS"), ("nframes", "META.EXPOSURE.NFRAMES"),
    ("groupgap", "META.EXPOSURE.GROUPGAP"), ("ngroups", "META.EXPOSURE.NGROUPS"),
    ("nints", "META.EXPOSURE.NINTS"), ("subarray", "META.SUBARRAY.NAME"),
    ("substrt1", "META.SUBARRAY.XSTART"), ("substrt2", "META.SUBARRAY.YSTART"),
    ("subsize1", "META.SUBARRAY.XSIZE"), ("subsize2", "META.SUBARRAY.YSIZE"),
    ("fastaxis", "META.SUBARRAY.FASTAXIS"), ("slowaxis", "META.SUBARRAY.SLOWAXIS"),
    ("date_obs", "META.OBSERVATION.DATE"), ("time_obs", "META.OBSERVATION.TIME"),
)


def crds_parameters(exposure) -> dict[str, str]:
    """The CRDS matching parameters of an exposure (``ExposureInfo``), as the pipeline sends them.

    Attributes that are missing or None are left out; values are strings.
    """
    params = {"META.TELESCOPE": "JWST"}
    for attr, key in _PARAMS:
        value = getattr(exposure, attr, None)
        if value is not None and value != "":
            params[key] = str(value).upper() if isinstance(value, str) else str(value)
    params.setdefault("META.INSTRUMENT.NAME", "NIRCAM")
    return params


def _prepare_environment() -> tuple[str | None, str | None]:
    """Check CRDS_PATH / server and set sane defaults before ``crds`` is used."""
    env = os.environ
    server = env.get("CRDS_SERVER_URL") or None
    env.setdefault("CRDS_CLIENT_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_S)
    crds_path = env.get("CRDS_PATH") or None
    if crds_path is None:
        if server is None:
            raise CrdsSetupError(
                "CRDS_PATH is not set: set it to a CRDS cache folder (e.g. one written by "
                "webbcal.references.write_crds_cache or a simulated world's crds_cache), or set "
                "CRDS_SERVER_URL=https://jwst-crds.stsci.edu to download references; or pass the "
                "references explicitly as overrides")
        return None, server
    root = Path(crds_path)
    if server is None:
        if not root.is_dir():
            raise CrdsSetupError(f"CRDS_PATH={crds_path}: no such folder (and CRDS_SERVER_URL is not "
                                 "set, so nothing can be downloaded)")
        cfg = root / "config" / "jwst" / "server_config"
        if not cfg.is_file():
            raise CrdsSetupError(
                f"CRDS_PATH={crds_path} is not a usable offline CRDS cache: {cfg} is missing "
                "(it is written by a sync with CRDS_SERVER_URL set, or by write_crds_cache)")
    if not os.access(root if root.is_dir() else root.parent, os.W_OK):
        env.setdefault("CRDS_READONLY_CACHE", "1")  # else crds tries to create folders and fails
    return crds_path, server


def _crds():
    """Import crds with the environment prepared; push later changes into the client."""
    crds_path, server = _prepare_environment()
    already = "crds" in sys.modules
    import crds  # noqa: F401  (reads CRDS_SERVER_URL now, if this is the first import)
    from crds.client import api
    from crds.core import utils

    key = (crds_path, server)
    if already and _STATE.get("key") not in (None, key):
        if server is not None:
            api.set_crds_server(server)
        else:  # back to serverless: the client tests for an undefined URL
            if hasattr(api, "URL"):
                delattr(api, "URL")
        utils.clear_function_caches()
        from crds.core import config
        config.CRDS_REF_SUBDIR_MODE = "None"
    elif not already and server is None and hasattr(api, "URL"):
        delattr(api, "URL")
    _STATE["key"] = key
    return crds


def _cache_context(crds_path: str | None) -> str | None:
    """The offline cache's operational context, from its server_config."""
    if crds_path is None:
        return None
    cfg = Path(crds_path) / "config" / "jwst" / "server_config"
    try:
        info = ast.literal_eval(cfg.read_text())
        return info.get("operational_context") or info.get("latest_context")
    except (OSError, ValueError, SyntaxError):
        return None


def get_references(exposure, reftypes: Iterable[str], *, context: str | None = None,
                   overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reference for each type: an override, else the one CRDS selects.

    Parameters
    ----------
    exposure : webbcal.datamodels.ExposureInfo
    reftypes : iterable of str
        ``'gain'``, ``'dark'``, ... (lower case, CRDS names).
    context : str, optional
        A ``.pmap`` name; default ``CRDS_CONTEXT``, else the offline cache's
        operational context, else what the server says.
    overrides : mapping reftype -> path or ``XxxRef``, optional
        These win and need no CRDS at all.

    Returns
    -------
    dict
        reftype -> ``Path`` (file in the CRDS cache or the given path), the given
        in-memory object, or the string ``'N/A'`` where the rules say the type does not
        apply to this exposure.

    Raises
    ------
    CrdsSetupError
        CRDS_PATH missing, not a cache, unknown context, or any other client failure.
    NoMatchError
        No reference of a type for this exposure (names the type and the parameters).
    """
    reftypes = [r.lower() for r in reftypes]
    overrides = {k.lower(): v for k, v in (overrides or {}).items() if v is not None}
    out: dict[str, Any] = {}
    for reftype in reftypes:
        if reftype in overrides:
            value = overrides[reftype]
            out[reftype] = Path(value) if isinstance(value, (str, os.PathLike)) else value
    wanted = [r for r in reftypes if r not in out]
    if not wanted:
        return out
    crds = _crds()
    from crds.core.exceptions import CrdsError, CrdsLookupError

    params = crds_parameters(exposure)
    if context is None and not os.environ.get("CRDS_CONTEXT") and not os.environ.get("CRDS_SERVER_URL"):
        context = _cache_context(os.environ.get("CRDS_PATH"))
    try:
        found = crds.getreferences(params, reftypes=wanted, context=context, observatory="jwst")
    except CrdsLookupError as exc:
        reftype = next((r for r in wanted if f"'{r}'" in str(exc)), ", ".join(wanted))
        shown = {k: v for k, v in params.items() if k != "META.TELESCOPE"}
        raise NoMatchError(f"CRDS found no {reftype} reference for this exposure "
                           f"(context {context or os.environ.get('CRDS_CONTEXT', 'default')}); "
                           f"parameters: {shown}. CRDS said: {_short(exc)}") from None
    except (CrdsError, OSError, AssertionError, KeyError, ValueError) as exc:
        raise CrdsSetupError(f"CRDS could not select references {wanted} "
                             f"(CRDS_PATH={os.environ.get('CRDS_PATH')}, context {context}): "
                             f"{type(exc).__name__}: {_short(exc)}") from None
    _STATE["context"] = context or os.environ.get("CRDS_CONTEXT") or _STATE.get("context")
    for reftype in wanted:
        value = found.get(reftype, "N/A")
        out[reftype] = "N/A" if str(value).upper().startswith("N/A") else Path(value)
    return out


def current_context() -> str:
    """The CRDS context (.pmap) used by the last CRDS lookup in this process.

    Falls back to ``CRDS_CONTEXT``, then the offline cache's operational context,
    then ``'N/A'``.
    """
    return (_STATE.get("context") or os.environ.get("CRDS_CONTEXT")
            or _cache_context(os.environ.get("CRDS_PATH")) or "N/A")


def _short(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def resolve_reference(value, reftype: str | None = None):
    """Loaded reference model from a path or an in-memory model (checked against ``reftype``).

    Raises
    ------
    ReferenceError_
        The file or object is not a reference of ``reftype``.
    """
    from webbcal.references import read_reference

    ref = read_reference(value) if isinstance(value, (str, os.PathLike)) else value
    if reftype is not None:
        expected = REGISTRY.get(reftype.upper())
        if expected is None or not isinstance(ref, expected):
            where = str(value) if isinstance(value, (str, os.PathLike)) else None
            raise ReferenceError_(where, "reference type", f"a {reftype.upper()} reference",
                                  type(ref).__name__)
    return ref


def reference_name(value) -> str:
    """How a reference is recorded in products (R_xxx keywords).

    ``crds://<basename>`` for files in the CRDS cache, like the official pipeline; the
    file name for other paths; the FILENAME keyword (or ``'N/A'``) for in-memory objects.
    """
    if isinstance(value, str) and value.upper() == "N/A":
        return "N/A"
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        crds_path = os.environ.get("CRDS_PATH")
        if crds_path:
            refs = (Path(crds_path) / "references").resolve()
            if refs in path.resolve().parents:
                return f"crds://{path.name}"
        return path.name
    header = getattr(value, "header", None) or {}
    return str(header.get("FILENAME") or "N/A")
