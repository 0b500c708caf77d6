"""FITS writing: header blocks, big-endian image data in chunks, parallel extensions.

Image data is converted from native order (and unsigned integers shifted to the FITS
signed + BZERO convention) chunk by chunk into a reused buffer, never as a full-size
copy. :func:`write_parts` writes the image extensions of a file in parallel threads
at their precomputed offsets; the bytes equal a sequential write.
"""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits

from webbcal.datamodels._fits import clean_header

__all__ = ["primary_bytes", "image_header_bytes", "write_image_hdu", "write_image_data",
           "write_parts", "astropy_hdu_bytes", "write_astropy_hdu"]

_BLOCK = 2880
_TO_BITPIX = {np.dtype(np.uint8): (8, 0), np.dtype(np.int16): (16, 0),
              np.dtype(np.uint16): (16, 2**15), np.dtype(np.int32): (32, 0),
              np.dtype(np.uint32): (32, 2**31), np.dtype(np.int64): (64, 0),
              np.dtype(np.float32): (-32, 0), np.dtype(np.float64): (-64, 0)}
_CHUNK = 1 << 20  # elements converted per pass when writing (per writer thread)


def primary_bytes(header: fits.Header) -> bytes:
    """Header block of a data-less primary HDU carrying ``header``'s cards."""
    h = fits.Header([("SIMPLE", True, "conforms to FITS standard"),
                     ("BITPIX", 8, "array data type"),
                     ("NAXIS", 0, "number of array dimensions"), ("EXTEND", True)])
    h.extend(clean_header(header).cards, end=True)
    return h.tostring().encode("ascii")


def image_header_bytes(name: str, data: np.ndarray, header: fits.Header | None) -> bytes:
    """Header block of one IMAGE extension holding ``data`` (structural cards first)."""
    dtype = np.dtype(data.dtype).newbyteorder("=")
    if dtype not in _TO_BITPIX:
        raise TypeError(f"cannot write {data.dtype} arrays to FITS")
    bitpix, bzero = _TO_BITPIX[dtype]
    cards = [("XTENSION", "IMAGE", "Image extension"), ("BITPIX", bitpix, "array data type"),
             ("NAXIS", data.ndim, "number of array dimensions")]
    cards += [(f"NAXIS{k}", n) for k, n in enumerate(reversed(data.shape), start=1)]
    cards += [("PCOUNT", 0, "number of parameters"), ("GCOUNT", 1, "number of groups")]
    if bzero:
        cards += [("BSCALE", 1), ("BZERO", bzero)]
    cards += [("EXTNAME", name, "extension name")]
    h = fits.Header(cards)
    h.extend(clean_header(header).cards, end=True)
    return h.tostring().encode("ascii")


def _stored_chunks(data: np.ndarray):
    """Yield the FITS (big-endian, BZERO-shifted) bytes of ``data`` chunk by chunk.

    One reused buffer of at most ``_CHUNK`` elements; the chunks are views of it, valid
    until the next one is requested.
    """
    dtype = np.dtype(data.dtype).newbyteorder("=")
    bzero = _TO_BITPIX[dtype][1]
    flat = np.ascontiguousarray(data).reshape(-1)
    buf = np.empty(min(flat.size, _CHUNK), dtype=dtype.newbyteorder(">"))
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start:start + _CHUNK]
        out = buf[:chunk.size]
        if bzero:
            np.bitwise_xor(chunk, dtype.type(bzero), out=out, casting="unsafe")
        else:
            np.copyto(out, chunk, casting="unsafe")
        yield memoryview(out).cast("B")


def _data_padding(data: np.ndarray) -> bytes:
    return b"\0" * (-(data.size * data.dtype.itemsize) % _BLOCK)


def write_image_hdu(f, name: str, data: np.ndarray, header: fits.Header | None) -> None:
    """Write one IMAGE extension (header + big-endian data + padding) to file ``f``.

    Unsigned integers are stored the FITS way (signed + BZERO), converting in chunks
    so no full-size temporary copy is made.
    """
    data = np.asarray(data)
    f.write(image_header_bytes(name, data, header))
    write_image_data(f, data)


def write_image_data(f, data: np.ndarray) -> None:
    """Write ``data`` as FITS image data (big-endian, BZERO-shifted) plus padding to ``f``."""
    for chunk in _stored_chunks(data):
        f.write(chunk)
    f.write(_data_padding(data))


def write_parts(path, parts, *, threads: int = 2) -> None:
    """Write a FITS file from ``parts`` (``bytes`` or image arrays), image data in parallel.

    Every part's offset is known in advance (headers are whole blocks, image data is
    padded to a block), so each array is converted and written with ``os.pwrite`` at
    its own offset by a pool of ``threads`` threads (numpy conversion and the kernel's
    copy into the page cache both run without the GIL). The bytes are the same as
    writing the parts one after the other.

    Parameters
    ----------
    path : path
        File to create (truncated if it exists).
    parts : list of bytes or ndarray
        ``bytes`` are written as they are (they must be whole 2880-byte blocks);
        arrays are written as FITS image data plus zero padding (the preceding part
        must be their header, see :func:`image_header_bytes`).
    threads : int
        Writer threads for the arrays (1: all in the calling thread).
    """
    offsets, pos = [], 0
    for part in parts:
        offsets.append(pos)
        if isinstance(part, (bytes, bytearray)):
            if len(part) % _BLOCK:
                raise ValueError(f"write_parts: a byte part of {len(part)} bytes is not "
                                 f"whole {_BLOCK}-byte blocks")
            pos += len(part)
        else:
            n = part.size * part.dtype.itemsize
            pos += n + (-n % _BLOCK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.ftruncate(fd, pos)

        def put(k):
            part, off = parts[k], offsets[k]
            if isinstance(part, (bytes, bytearray)):
                _pwrite_all(fd, part, off)
                return
            for chunk in _stored_chunks(part):
                _pwrite_all(fd, chunk, off)
                off += len(chunk)
            pad = _data_padding(part)
            if pad:
                _pwrite_all(fd, pad, off)

        arrays = [k for k, p in enumerate(parts) if not isinstance(p, (bytes, bytearray))]
        for k, p in enumerate(parts):
            if isinstance(p, (bytes, bytearray)):
                put(k)
        if threads > 1 and len(arrays) > 1:
            from concurrent.futures import ThreadPoolExecutor

            # largest first, so the threads finish together
            arrays.sort(key=lambda k: -parts[k].nbytes)
            with ThreadPoolExecutor(max_workers=min(threads, len(arrays))) as pool:
                for fut in [pool.submit(put, k) for k in arrays]:
                    fut.result()
        else:
            for k in arrays:
                put(k)
    finally:
        os.close(fd)


def _pwrite_all(fd: int, data, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view.nbytes:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def astropy_hdu_bytes(hdu) -> bytes:
    """The bytes of a non-image HDU (tables, ASDF) as astropy writes it, as an extension."""
    import io

    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer, output_verify="silentfix")
    empty_primary = len(fits.PrimaryHDU().header.tostring())
    return buffer.getvalue()[empty_primary:]


def write_astropy_hdu(f, hdu) -> None:
    """Write a non-image HDU (tables, ASDF) with astropy, as an extension."""
    f.write(astropy_hdu_bytes(hdu))
