"""Per-frame arrays kept on disk instead of in memory, so that long videos need no more memory than
short ones.

A ``DiskArray`` is an ``[N, ...]`` array in an unnamed temporary file (deleted by the system as soon
as it is created; nothing is left behind, even after a crash) that is memory-mapped: code reads and
writes it as an ordinary numpy array, and the operating system keeps in memory only the pages in
use. It grows along its first axis by doubling.

The files go in ``scratch_dir`` when given (the pipeline uses the output folder, so they land on the
disk the user chose) else in the system's temporary folder. Their disk space is reserved when they
grow (``posix_fallocate``), so a full disk is an ``OSError`` naming the folder, never a crash.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import numpy as np

from common.errors import OutputError

CHUNK_BYTES = 1 << 20  # filling, copying, reading and writing go this many bytes at a time


class DiskArray:
    def __init__(self, row_shape: tuple[int, ...], dtype, fill=0, capacity: int = 1024,
                 scratch_dir: str | Path | None = None):
        self.row_shape, self.dtype, self.fill = tuple(row_shape), np.dtype(dtype), fill
        self.row_bytes = max(1, int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize)
        self._dir = scratch_dir or tempfile.gettempdir()
        self._file = tempfile.TemporaryFile(dir=scratch_dir)
        self._array = np.empty((0,) + self.row_shape, self.dtype)
        self.ensure(max(1, capacity))

    @property
    def capacity(self) -> int:
        return len(self._array)

    @property
    def array(self) -> np.ndarray:
        """The whole array (all ``capacity`` rows): a plain ndarray view of the mapping."""
        return self._array

    def ensure(self, rows: int) -> np.ndarray:
        """Make room for at least ``rows`` rows (new rows hold ``fill``); returns the array."""
        old = self.capacity
        if rows <= old:
            return self._array
        new = max(rows, 2 * old)
        self._file.truncate(new * self.row_bytes)
        self._reserve(old * self.row_bytes, (new - old) * self.row_bytes)
        mapped = np.memmap(self._file, dtype=self.dtype, mode="r+", shape=(new,) + self.row_shape)
        self._array = np.asarray(mapped)  # keeps the mapping alive through .base
        if self.fill != 0:
            fill_rows(self._array, old, new, self.fill)
        return self._array

    def _reserve(self, offset: int, length: int) -> None:
        """Take the disk space now: writing into a mapped page that the disk has no room for kills the
        process (SIGBUS, no message); reserved space turns a full disk into an ``OSError`` here."""
        try:
            os.posix_fallocate(self._file.fileno(), offset, length)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise OutputError(errno.ENOSPC, f"{self._dir}: no space left on the disk for the keypoint data "
                                            f"({length / 2**20:.1f} MiB more needed)") from None
            if e.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
        except AttributeError:  # no posix_fallocate on this system: the file stays sparse
            pass

    def close(self) -> None:
        """Close the file; the mapping (and views of it) stay valid, the array can no longer grow."""
        self._file.close()


def fill_rows(arr: np.ndarray, start: int, stop: int, value) -> None:
    step = max(1, CHUNK_BYTES // max(1, arr[:1].nbytes))
    for a in range(start, stop, step):
        arr[a:min(stop, a + step)] = value


def disk_array(shape: tuple[int, ...], dtype, fill=0, scratch_dir: str | Path | None = None) -> np.ndarray:
    """A fixed-size array of ``shape`` on disk (see the module's text), filled with ``fill``."""
    shape = tuple(int(s) for s in shape)
    if not shape or shape[0] == 0 or 0 in shape:
        return np.full(shape, fill, dtype)
    store = DiskArray(shape[1:], dtype, fill=fill, capacity=shape[0], scratch_dir=scratch_dir)
    arr = store.array[:shape[0]]
    store.close()
    return arr
