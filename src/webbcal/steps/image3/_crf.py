"""The ``*_crf.fits`` writer of outlier_detection: a byte copy of a cal file with a new
DQ plane (:func:`copy_with_new_dq`).

Only the planes that changed are encoded; every other HDU is copied byte for byte (in
the kernel with ``os.copy_file_range`` where it works).
"""

from __future__ import annotations

import numpy as np

__all__ = ["copy_with_new_dq"]


def copy_with_new_dq(src, dst, dq: np.ndarray, *, primary_cards=None, sci_cards=None,
                     history=(), sci_data: np.ndarray | None = None,
                     asdf_hdu=None) -> None:
    """Write ``dst`` as a copy of the FITS file ``src`` with a new DQ plane.

    Every other HDU is copied byte for byte, except the primary header (``primary_cards``
    ``{key: (value, comment)}`` set, ``history`` lines added), the SCI HDU (header
    cards ``sci_cards``; data replaced by ``sci_data`` (float32) when given) and the
    ``ASDF`` extension, replaced by ``asdf_hdu`` (an astropy HDU, or the extension's
    FITS bytes) when given. This is how
    outlier_detection writes ``*_crf.fits``: no decoding or re-encoding of the planes
    it did not change. ``dq`` (ny, nx) uint32 must have the shape of ``src``'s DQ;
    the DQ HDU's encoding (BITPIX 32, BZERO 0 or 2**31) is kept. The file is written
    atomically (temporary name, then renamed).

    Raises
    ------
    webbcal.datamodels.FormatError
        ``src`` has no DQ extension, or one of another shape or encoding.
    """
    from astropy.io import fits

    from webbcal.datamodels import FormatError, atomic_write

    with fits.open(src, memmap=False, do_not_scale_image_data=True,
                   lazy_load_hdus=False) as hdul:
        parts = []  # (kind, header or None, hdrLoc, datLoc, datSpan, name)
        for i, hdu in enumerate(hdul):
            info = hdul.fileinfo(i)
            parts.append((hdu.header.copy(), info["hdrLoc"], info["datLoc"], info["datSpan"],
                          hdu.name if i else "PRIMARY"))
    names = [p[4] for p in parts]
    if "DQ" not in names:
        raise FormatError(src, "DQ extension", "present (cal product)", "missing")
    dqh = parts[names.index("DQ")][0]
    shape = (dqh.get("NAXIS2"), dqh.get("NAXIS1"))
    bzero = dqh.get("BZERO", 0)
    if dqh.get("BITPIX") != 32 or bzero not in (0, 2**31) or shape != dq.shape \
            or dqh.get("BSCALE", 1) != 1:
        raise FormatError(src, "DQ extension", f"BITPIX 32, BZERO 0 or 2**31, shape "
                          f"{dq.shape}", f"BITPIX {dqh.get('BITPIX')}, BZERO {bzero}, "
                          f"shape {shape}")

    def write_data(f, a):  # big-endian, padded to the 2880-byte block
        f.write(memoryview(a).cast("B"))
        f.write(b"\0" * ((-a.nbytes) % 2880))

    with atomic_write(dst) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
        for header, hdr_loc, dat_loc, span, name in parts:
            if name == "ASDF" and asdf_hdu is not None:
                fout.write(_extension_bytes(asdf_hdu))
                continue
            new_header = None
            if name == "PRIMARY" and (primary_cards or history):
                new_header = header
                for key, card in (primary_cards or {}).items():
                    new_header[key] = card
                for line in history:
                    new_header.add_history(line)
            elif name == "SCI" and sci_cards:
                new_header = header
                for key, card in sci_cards.items():
                    new_header[key] = card
            if new_header is not None:
                fout.write(new_header.tostring().encode("ascii"))
            else:
                fin.seek(hdr_loc)
                fout.write(fin.read(dat_loc - hdr_loc))
            if name == "DQ":
                u = np.array(dq, np.uint32)  # a copy, encoded in place
                if bzero:
                    u ^= np.uint32(2**31)
                write_data(fout, u.byteswap(inplace=True))
            elif name == "SCI" and sci_data is not None:
                write_data(fout, np.ascontiguousarray(sci_data, ">f4"))
            else:
                _copy_range(fin, fout, dat_loc, span)


def _extension_bytes(hdu) -> bytes:
    """A non-primary HDU (e.g. the ASDF table) as FITS extension bytes (``bytes``
    are taken as already encoded)."""
    if isinstance(hdu, (bytes, bytearray)):
        return bytes(hdu)
    import io

    from astropy.io import fits

    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer, output_verify="silentfix")
    return buffer.getvalue()[len(fits.PrimaryHDU().header.tostring()):]


def _copy_range(fin, fout, offset: int, size: int) -> None:
    """Append ``size`` bytes of ``fin`` from ``offset`` to ``fout`` (in the kernel with
    ``os.copy_file_range`` where it works, else through a buffer)."""
    import os
    import shutil

    fout.flush()
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done,
                                       offset + done)
                if n == 0:
                    break
                done += n
        except OSError:
            pass
        fout.seek(0, os.SEEK_END)
    if done < size:
        fin.seek(offset + done)
        shutil.copyfileobj(_Limited(fin, size - done), fout, 1 << 22)


class _Limited:
    """File-like reading at most ``n`` bytes of ``f`` (for ``shutil.copyfileobj``)."""

    def __init__(self, f, n: int):
        self.f, self.left = f, n

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size)
        self.left -= len(data)
        return data
