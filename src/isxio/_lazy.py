"""Lazy, memory-mapped arrays over fixed-size records of a file.

:class:`RecordArray` exposes records of a file section as a numpy-like array of
shape ``(n, *item_shape)``.  Logical index ``i`` maps to stored record
``index_map[i]``; a negative entry means "not stored" and reads as zeros (dropped,
cropped and blank movie frames).  Slicing is vectorised: a slice of stored, evenly
spaced records is a zero-copy view of the memory map; anything else is one fancy
index.  Objects pickle by path, so they work with multiprocessing and dask.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["RecordArray"]


def _normalize_first(key: Any) -> tuple[Any, tuple]:
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key[:1]):
        return slice(None), key
    if not key:
        return slice(None), ()
    return key[0], key[1:]


class RecordArray:
    """A read-only lazy array of file records.

    Parameters
    ----------
    path
        File holding the records.
    offset
        Byte offset of record 0.
    record_items
        Number of ``dtype`` items per stored record (stride).
    item_start
        First item of the part of each record exposed (e.g. after a frame header).
    item_shape
        Shape of the exposed part (its size must fit in the record).
    n_records
        Number of records stored.
    dtype
        Item data type (little-endian).
    index_map
        Optional int64 array: logical index -> record index (negative: zeros).
    """

    def __init__(self, path: str, offset: int, record_items: int, item_start: int,
                 item_shape: tuple[int, ...], n_records: int, dtype: np.dtype,
                 index_map: np.ndarray | None = None) -> None:
        self.path = os.fspath(path)
        self.offset = int(offset)
        self.record_items = int(record_items)
        self.item_start = int(item_start)
        self.item_shape = tuple(int(s) for s in item_shape)
        self.n_records = int(n_records)
        self._dtype = np.dtype(dtype).newbyteorder("<")
        if index_map is None:
            index_map = np.arange(self.n_records, dtype=np.int64)
        self.index_map = np.asarray(index_map, dtype=np.int64)
        self._mm: np.ndarray | None = None

    # ------------------------------------------------------------------ numpy-like
    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index_map), *self.item_shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return 1 + len(self.item_shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self._dtype.itemsize

    def __len__(self) -> int:
        return len(self.index_map)

    def __repr__(self) -> str:
        return f"<RecordArray shape={self.shape} dtype={self.dtype} file={self.path!r}>"

    # ------------------------------------------------------------------ storage
    def _records(self) -> np.ndarray:
        """The stored records' exposed parts: a zero-copy view ``(n_records, *item_shape)``."""
        if self._mm is None:
            count = self.n_records * self.record_items
            if count == 0 or self.record_items == 0:
                base = np.zeros((self.n_records, self.record_items), self._dtype)
            else:
                base = np.memmap(self.path, dtype=self._dtype, mode="r", offset=self.offset,
                                 shape=(self.n_records, self.record_items))
            size = int(np.prod(self.item_shape, dtype=np.int64))
            part = base[:, self.item_start:self.item_start + size]
            self._mm = part.reshape((self.n_records, *self.item_shape))
        return self._mm

    def close(self) -> None:
        """Drop the memory map (it is reopened on the next access)."""
        self._mm = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_mm"] = None
        return state

    # ------------------------------------------------------------------ indexing
    def _take(self, recs: np.ndarray) -> np.ndarray:
        """Records ``recs`` (1-D int64, negatives -> zeros) as a new or view array."""
        stored = self._records()
        n = len(recs)
        if n and recs.min() >= 0:
            step = recs[1] - recs[0] if n > 1 else 1
            if step > 0 and (n == 1 or np.all(np.diff(recs) == step)):
                return stored[recs[0]:recs[-1] + 1:step]  # zero-copy view
            return stored[recs]
        out = np.zeros((n, *self.item_shape), self._dtype)
        ok = recs >= 0
        if ok.any():
            out[ok] = stored[recs[ok]]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rest = _normalize_first(key)
        n = len(self.index_map)
        if isinstance(first, int | np.integer):
            i = int(first)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of range for {n} samples")
            rec = int(self.index_map[i])
            item = (self._records()[rec] if rec >= 0
                    else np.zeros(self.item_shape, self._dtype))
            return item[rest] if rest else item
        if first is None:
            return self[(slice(None), *rest)][np.newaxis]
        recs = self.index_map[first]
        out = self._take(np.atleast_1d(recs))
        if isinstance(first, slice) or np.ndim(recs) == 1:
            pass
        else:
            out = out.reshape((*np.shape(recs), *self.item_shape))
        if rest:
            out = out[(slice(None),) * np.ndim(recs) + rest] if np.ndim(recs) else out[rest]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.array(self[:], copy=True)
        return out.astype(dtype, copy=False) if dtype is not None else out

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def to_dask(self, chunks: Any = None):
        """A dask array over this file, one chunk per sample unless ``chunks`` is given."""
        try:
            import dask.array as da
        except ImportError as exc:  # pragma: no cover - depends on environment
            raise ImportError("to_dask() needs dask: pip install 'isxio[dask]'") from exc
        if chunks is None:
            chunks = (1, *self.item_shape)
        return da.from_array(self, chunks=chunks, asarray=True, fancy=False,
                             name=f"isxio-{os.path.basename(self.path)}-{id(self):x}",
                             meta=np.empty((0,) * self.ndim, self._dtype))
