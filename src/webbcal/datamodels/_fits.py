"""Low-level FITS access: open with clear errors, fast native-order image reads.

astropy parses the headers; image data is converted straight from the file's bytes
(a read-only mmap, or the unpacked bytes of a ``.gz``) into a native-byte-order numpy
array by one numpy pass (byte swap, plus the sign-bit flip of the unsigned
pseudo-integers FITS stores with BZERO = 2**15 / 2**31). No intermediate copy is made,
and the result is native-order, which numba kernels require. Writing lives in
``_fits_write``.
"""

from __future__ import annotations

import gzip
import io
import mmap
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
from astropy.io import fits

from webbcal.datamodels._errors import FormatError

__all__ = ["FitsFile", "clean_header", "STRUCTURAL_KEYS"]

_BITPIX = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64,
           -32: np.float32, -64: np.float64}
_UNSIGNED = {16: (np.uint16, 2**15), 32: (np.uint32, 2**31), 64: (np.uint64, 2**63)}
_READ_CHUNK = 1 << 20  # elements converted per pass when reading into another dtype

#: Keywords astropy derives from the data; never copied between headers.
STRUCTURAL_KEYS = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT",
                   "BZERO", "BSCALE", "BLANK", "EXTNAME", "EXTVER", "CHECKSUM", "DATASUM",
                   "TFIELDS", "THEAP")


def clean_header(header: fits.Header | None) -> fits.Header:
    """A copy of ``header`` without structural keywords (NAXISn, BITPIX, TTYPEn, …)."""
    out = fits.Header()
    if header is None:
        return out
    for card in header.cards:
        key = card.keyword
        if key in STRUCTURAL_KEYS or (key.startswith("NAXIS") and key[5:].isdigit()):
            continue
        if key[:5] in ("TTYPE", "TFORM", "TUNIT", "TNULL", "TDISP", "TSCAL", "TZERO", "TDIM")\
                and key[5:].isdigit():
            continue
        out.append(card, end=True)
    return out


class FitsFile:
    """An open FITS file: headers parsed, data read on request.

    Use as a context manager (``with FitsFile(path) as ff``). Raises `FormatError`
    when the file is not FITS or is shorter than its headers say.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                magic = f.read(6)
        except FileNotFoundError:
            raise FormatError(self.path, "file", "an existing FITS file", "no such file") from None
        except IsADirectoryError:
            raise FormatError(self.path, "file", "a FITS file", "a directory") from None
        self._buffer = None  # mmap of a plain file, or the bytes of a gunzipped one
        source = self.path
        if magic[:2] == b"\x1f\x8b":  # gzip: unpack once, fully, so truncation shows
            try:
                self._buffer = gzip.decompress(self.path.read_bytes())
            except (EOFError, OSError, zlib.error) as exc:
                raise FormatError(self.path, "file", "a complete gzip-compressed FITS file",
                                  f"{type(exc).__name__}: {exc} (truncated or corrupt)") from None
            source = io.BytesIO(self._buffer)
            magic = self._buffer[:6]
        if magic != b"SIMPLE":
            raise FormatError(self.path, "file", "a FITS file (starting with SIMPLE)",
                              f"{magic!r}...")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # truncation is reported below
                self.hdul = fits.open(source, memmap=False, lazy_load_hdus=False)
        except Exception as exc:  # astropy raises OSError, ValueError, VerifyError, ...
            raise FormatError(self.path, "file", "a readable FITS file",
                              f"{type(exc).__name__}: {exc}") from None
        self._check_size()

    def _check_size(self) -> None:
        size = len(self._buffer) if self._buffer is not None else self.path.stat().st_size
        self._size = size
        for i, hdu in enumerate(self.hdul):
            if isinstance(hdu, fits.CompImageHDU):  # header describes the unpacked image
                continue
            info = hdu.fileinfo()
            end = info["datLoc"] + _data_bytes(hdu.header)
            if end > size:
                raise FormatError(self.path, f"HDU {i} ({hdu.name})",
                                  f"{end} bytes of file (header promises data up to there)",
                                  f"{size} bytes (file truncated)")

    # ------------------------------------------------------------------ access
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.hdul.close()
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()
        self._buffer = None

    @property
    def names(self) -> list[str]:
        return [hdu.name.upper() for hdu in self.hdul]

    def __contains__(self, name: str) -> bool:
        return name.upper() in self.names

    def hdu(self, name: str):
        try:
            return self.hdul[name]
        except KeyError:
            note = "" if self._size % 2880 == 0 else \
                f" (file size {self._size} is not a multiple of 2880: truncated?)"
            raise FormatError(self.path, f"extension {name}", f"a {name} extension",
                              f"extensions {self.names}{note}") from None

    def header(self, name: str = "PRIMARY") -> fits.Header:
        return self.hdu(name).header

    def shape(self, name: str) -> tuple[int, ...]:
        """Array shape (numpy order) from the header alone."""
        h = self.header(name)
        return tuple(int(h[f"NAXIS{k}"]) for k in range(int(h.get("NAXIS", 0)), 0, -1))

    def image(self, name: str, *, dtype=None, ndim: int | None = None,
              as_dtype=None) -> np.ndarray:
        """Read one image extension as a native-order array, checking ndim and dtype.

        Parameters
        ----------
        name : str
            Extension name (EXTNAME).
        dtype : numpy dtype, optional
            Expected dtype after FITS scaling (e.g. ``np.uint16`` for raw SCI); a
            mismatch raises `FormatError`. Integer data may be safely promoted to the
            requested dtype (e.g. int16 stored DQ read as uint32) when lossless.
        ndim : int, optional
            Expected number of dimensions.
        as_dtype : numpy dtype, optional
            Convert to this dtype while reading, in chunks (no full-size copy in the
            stored dtype; used to read raw uint16 ramps straight into float32).
        """
        hdu = self.hdu(name)
        if not isinstance(hdu, (fits.ImageHDU, fits.PrimaryHDU, fits.CompImageHDU)):
            raise FormatError(self.path, f"extension {name}", "an image extension",
                              type(hdu).__name__)
        shape = self.shape(name)
        if ndim is not None and len(shape) != ndim:
            raise FormatError(self.path, f"extension {name}", f"a {ndim}-D array",
                              f"a {len(shape)}-D array of shape {shape}")
        stored = _stored_dtype(hdu.header)
        if stored is not None and not isinstance(hdu, fits.CompImageHDU):
            data = self._read_fast(hdu, shape, stored, as_dtype)
        else:
            try:
                data = np.asarray(hdu.data)
            except Exception as exc:
                raise FormatError(self.path, f"extension {name}", "readable image data",
                                  f"{type(exc).__name__}: {exc}") from None
            if not data.dtype.isnative:
                data = data.astype(data.dtype.newbyteorder("="))
        if dtype is not None and data.dtype != np.dtype(dtype) and as_dtype is None:
            data = _convert(data, np.dtype(dtype), self.path, name)
        if as_dtype is not None and data.dtype != np.dtype(as_dtype):
            data = data.astype(as_dtype)
        return data

    def _read_fast(self, hdu, shape, stored, as_dtype=None) -> np.ndarray:
        dtype, flip = stored
        if as_dtype is not None and np.dtype(as_dtype) != dtype:
            return self._read_converted(hdu, shape, stored, np.dtype(as_dtype))
        out = np.empty(shape, dtype=dtype)
        if not out.nbytes:
            return out
        offset = hdu.fileinfo()["datLoc"]
        if self._buffer is None:
            with open(self.path, "rb") as f:
                self._buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if offset + out.nbytes > len(self._buffer):
            raise FormatError(self.path, f"extension {hdu.name}", f"{out.nbytes} bytes",
                              f"{len(self._buffer) - offset} bytes (file truncated)")
        # one pass: big-endian file bytes -> native array (numpy swaps while it copies)
        src = np.frombuffer(self._buffer, dtype=out.dtype.newbyteorder(">"),
                            count=out.size, offset=offset).reshape(shape)
        try:
            if flip:
                np.bitwise_xor(src, out.dtype.type(flip), out=out, casting="unsafe")
            else:
                np.copyto(out, src, casting="unsafe")
        finally:
            del src
        return out

    def _read_converted(self, hdu, shape, stored, as_dtype) -> np.ndarray:
        """``_read_fast`` into another dtype, chunk by chunk; the file pages of each
        chunk are released from this process once converted (memory stays near the
        size of the output)."""
        dtype, flip = stored
        out = np.empty(shape, dtype=as_dtype)
        if not out.size:
            return out
        offset = hdu.fileinfo()["datLoc"]
        if self._buffer is None:
            with open(self.path, "rb") as f:
                self._buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        nbytes = out.size * dtype.itemsize
        if offset + nbytes > len(self._buffer):
            raise FormatError(self.path, f"extension {hdu.name}", f"{nbytes} bytes",
                              f"{len(self._buffer) - offset} bytes (file truncated)")
        flat = out.reshape(-1)
        page = mmap.PAGESIZE
        step = _READ_CHUNK
        for start in range(0, out.size, step):
            n = min(step, out.size - start)
            src = np.frombuffer(self._buffer, dtype=dtype.newbyteorder(">"), count=n,
                                offset=offset + start * dtype.itemsize)
            if flip:
                flat[start:start + n] = np.bitwise_xor(src, dtype.type(flip),
                                                       dtype=dtype, casting="unsafe")
            else:
                np.copyto(flat[start:start + n], src, casting="unsafe")
            del src
            if isinstance(self._buffer, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
                lo = (offset + start * dtype.itemsize) // page * page
                hi = (offset + (start + n) * dtype.itemsize) // page * page
                if hi > lo:
                    self._buffer.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        return out

    def table(self, name: str) -> np.ndarray:
        """A binary table as a plain structured numpy array (native order)."""
        hdu = self.hdu(name)
        if not isinstance(hdu, fits.BinTableHDU):
            raise FormatError(self.path, f"extension {name}", "a binary table",
                              type(hdu).__name__)
        try:
            rec = hdu.data
            arr = np.array(rec) if rec is not None else np.zeros(0)
        except Exception as exc:
            raise FormatError(self.path, f"extension {name}", "a readable table",
                              f"{type(exc).__name__}: {exc}") from None
        return arr.astype(arr.dtype.newbyteorder("="))


def _stored_dtype(header):
    """(native dtype, sign-bit flip) for data we can read raw, or None to use astropy."""
    bitpix = int(header.get("BITPIX", 0))
    bscale = header.get("BSCALE", 1)
    bzero = header.get("BZERO", 0)
    if bitpix not in _BITPIX or bscale != 1:
        return None
    if bzero == 0:
        return np.dtype(_BITPIX[bitpix]).newbyteorder("="), 0
    if bitpix in _UNSIGNED and bzero == _UNSIGNED[bitpix][1]:
        udt, flip = _UNSIGNED[bitpix]
        return np.dtype(udt), flip
    return None


def _data_bytes(header) -> int:
    """Bytes of data (without padding) an HDU header announces."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    n = 1
    for k in range(1, naxis + 1):
        n *= int(header.get(f"NAXIS{k}", 0))
    n = n * abs(int(header.get("BITPIX", 8))) // 8
    return n + int(header.get("PCOUNT", 0))


def _convert(data: np.ndarray, dtype: np.dtype, path, name) -> np.ndarray:
    """Lossless integer promotion or float widening/narrowing where the format allows."""
    src = data.dtype
    if src == np.int32 and dtype == np.uint32:  # a bit mask (DQ) written signed
        return data.view(np.uint32)
    ok = (np.can_cast(src, dtype, "safe")
          or (src.kind in "iu" and dtype.kind in "iu" and data.size
              and data.min() >= np.iinfo(dtype).min and data.max() <= np.iinfo(dtype).max)
          or (src.kind in "iu" and dtype.kind in "iu" and not data.size)
          or (src.kind == "f" and dtype.kind == "f"))
    if not ok:
        raise FormatError(path, f"extension {name}", f"{dtype} data", f"{src} data")
    return data.astype(dtype)
