"""The ASDF extension of JWST FITS products (where the gwcs lives).

Layout as written by stdatamodels: a binary-table extension named ``ASDF`` with one row
and one column ``ASDF_METADATA`` holding the bytes of a complete ASDF file, whose tree
has the gwcs at ``meta.wcs``. asdf and gwcs are imported only when needed.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np

from webbcal.datamodels._errors import FormatError

__all__ = ["make_asdf_hdu", "read_asdf_wcs", "read_wcs_evaluator", "extension_asdf_bytes",
           "gwcs_from_asdf_bytes"]

log = logging.getLogger("webbcal.datamodels")


def make_asdf_hdu(tree: dict):
    """A FITS ``ASDF`` extension holding ``tree`` (e.g. ``{"meta": {"wcs": wcs}}``)."""
    import asdf
    from astropy.io import fits

    buffer = io.BytesIO()
    asdf.AsdfFile(tree).write_to(buffer)
    data = np.frombuffer(buffer.getvalue(), dtype=np.uint8)[None, :]
    column = fits.Column(name="ASDF_METADATA", format=f"{data.shape[1]}B", array=data)
    return fits.BinTableHDU.from_columns([column], name="ASDF")


def read_wcs_evaluator(hdu, path=None):
    """``meta.wcs`` of an ``ASDF`` extension for evaluating pixel → sky only.

    A :class:`webbcal.datamodels._gwcs_eval.GwcsEval` read without asdf/gwcs when
    every transform is one it evaluates (NIRCam level-2 and mosaic gwcs), else the
    gwcs from :func:`read_asdf_wcs` (the reason is logged at debug level); None when
    the tree has no ``meta.wcs``. Both have ``forward_transform(x, y) -> (ra, dec)``.

    Raises
    ------
    FormatError
        The extension does not hold a readable ASDF file.
    """
    from webbcal.datamodels._gwcs_eval import Unsupported, wcs_from_asdf

    raw = extension_asdf_bytes(hdu, path)
    try:
        return wcs_from_asdf(raw, path)
    except Unsupported as exc:
        log.debug("%s: gwcs read with asdf (%s)", path, exc)
    return gwcs_from_asdf_bytes(raw, path)


def read_asdf_wcs(hdu, path=None):
    """The gwcs at ``meta.wcs`` of an ``ASDF`` extension, or None if it has none.

    Raises
    ------
    FormatError
        The extension does not hold a readable ASDF file.
    """
    return gwcs_from_asdf_bytes(extension_asdf_bytes(hdu, path), path)


def extension_asdf_bytes(hdu, path) -> bytes:
    """The ASDF file held by an ``ASDF`` extension (column ``ASDF_METADATA``)."""
    try:
        return np.asarray(hdu.data["ASDF_METADATA"]).tobytes()
    except Exception as exc:
        raise FormatError(path, "extension ASDF", "a table with column ASDF_METADATA",
                          f"{type(exc).__name__}: {exc}") from None


def gwcs_from_asdf_bytes(raw: bytes, path):
    """:func:`read_asdf_wcs` on the ASDF file's bytes (asdf + gwcs)."""
    import asdf

    try:
        # MAST trees point their arrays at the FITS extensions ("fits:SCI,1"), which a
        # bare ASDF reader cannot resolve; we only need meta.wcs, so silence that
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", asdf.exceptions.AsdfWarning)
            with asdf.open(io.BytesIO(raw), lazy_load=False, memmap=False,
                           ignore_unrecognized_tag=True,
                           ignore_missing_extensions=True) as af:
                meta = af.tree.get("meta", {}) or {}
                wcs = meta.get("wcs") if hasattr(meta, "get") else None
    except FormatError:
        raise
    except Exception as exc:
        raise FormatError(path, "extension ASDF", "an embedded ASDF file with meta.wcs",
                          f"{type(exc).__name__}: {exc}") from None
    if wcs is not None and not hasattr(wcs, "forward_transform"):
        return None
    return wcs
