"""The format error and atomic writing (no heavy imports here)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

from webbcal.errors import WebbcalError

__all__ = ["FormatError", "atomic_write"]


class FormatError(WebbcalError, ValueError):
    """A file is not what it claims to be.

    Parameters
    ----------
    path : str or os.PathLike or None
        The file (``None`` when the data did not come from a file).
    where : str
        The extension, keyword, column or JSON key that is wrong, e.g. ``"SCI"`` or
        ``"PRIMARY header NGROUPS"``.
    expected : str
        What a valid file has there.
    found : str
        What this file has there.
    """

    def __init__(self, path, where: str, expected: str, found: str):
        self.path = None if path is None else str(path)
        self.where = str(where)
        self.expected = str(expected)
        self.found = str(found)
        super().__init__(self._message())

    def _message(self) -> str:
        name = self.path if self.path is not None else "<in memory>"
        return f"{name}: {self.where}: expected {self.expected}, found {self.found}"

    def __reduce__(self):  # keep picklable across Dask workers
        return (type(self), (self.path, self.where, self.expected, self.found))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Write a file under a temporary name in the same folder, then rename it.

    Yields the temporary path to write to. On success the temporary file replaces
    ``path`` with ``os.replace`` (atomic on POSIX); if the block raises, the temporary
    file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_write("out_rate.fits") as tmp:   # doctest: +SKIP
    ...     hdulist.writeto(tmp)
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    # the temporary name ends with the real name, so writers that look at the
    # suffix (".fits.gz" -> gzip) behave the same; it is not created here
    tmp = folder / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
