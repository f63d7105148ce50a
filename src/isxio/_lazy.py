"""Lazy, memory-mapped arrays over fixed-size records of a file.

:class:`RecordArray` exposes records of a file section as a numpy-like array of
shape ``(n, *item_shape)``.  Logical index ``i`` maps to stored record
``index_map[i]``; a negative entry means "not stored" and reads as zeros (dropped,
cropped and blank movie frames).  Slicing is vectorised: a slice of stored, evenly
spaced records is a zero-copy view of the memory map; anything else is one fancy
index.  Objects pickle by path, so they work with multiprocessing and dask.

Remote files (an fsspec URL or an open file object, see :mod:`isxio._io`) are not
memory-mapped: an index reads exactly the bytes of the records it needs, one ranged
read per run of consecutive records.

Thread safety: one array may be read from many threads at once.  The memory map is
created once, under a lock; reading it afterwards takes no lock.
:class:`locked_cached_property` gives readers the same guarantee for their other
lazily built attributes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
from typing import Any

import numpy as np

from ._io import FileSource, as_source
from ._optional import require

__all__ = ["RecordArray", "locked_cached_property"]

_BUILD_LOCK = "_isxio_build_lock"


def _expand_key(key: Any, ndim: int) -> tuple:
    """``key`` as a tuple with any ``...`` replaced by the full slices it stands for."""
    if not isinstance(key, tuple):
        key = (key,)
    where = [i for i, k in enumerate(key) if k is Ellipsis]
    if not where:
        return key
    if len(where) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(np.ndim(k) if isinstance(k, np.ndarray) and k.dtype == bool else 1
               for k in key if k is not None and k is not Ellipsis)
    pos = where[0]
    return (*key[:pos], *(slice(None),) * max(ndim - used, 0), *key[pos + 1:])


def _dask_array():
    """``dask.array``, imported on a thread of its own the first time.

    dask keeps the traceback of a failed optional import (``dask.widgets``); imported
    here, the frames of that traceback would be ours and would keep the caller's
    array, hence its memory-mapped file, open for good.
    """
    if "dask.array" not in sys.modules:
        worker = threading.Thread(target=_import_quietly, args=("dask.array",), daemon=True)
        worker.start()
        worker.join()
    return require("dask.array", "dask", "to_dask()")


def _import_quietly(name: str) -> None:
    with contextlib.suppress(ImportError):
        importlib.import_module(name)


def _is_empty_sequence(key: Any) -> bool:
    """``[]``/``()`` index nothing (numpy reads them as integer indices, not float arrays)."""
    return isinstance(key, list | tuple) and len(key) == 0


def build_lock(obj: Any) -> threading.RLock:
    """The re-entrant lock that serialises the one-time builds of ``obj``'s attributes.

    Created on first use and kept in ``obj.__dict__`` (``dict.setdefault`` is atomic, so
    two threads asking at once get the same lock).
    """
    lock = obj.__dict__.get(_BUILD_LOCK)
    if lock is None:
        lock = obj.__dict__.setdefault(_BUILD_LOCK, threading.RLock())
    return lock


class locked_cached_property:  # named like functools.cached_property
    """:func:`functools.cached_property` that is built once even when threads race.

    The first access builds the value under a per-instance lock (so concurrent first
    accesses wait for one build instead of each building its own); later accesses find
    the value in the instance ``__dict__`` and never reach this descriptor, so reading
    a built value takes no lock.  The lock lives in the instance ``__dict__``: classes
    using this pickle through ``__reduce__`` (by path), not by their ``__dict__``.
    """

    def __init__(self, func: Any) -> None:
        self.func = func
        self.attrname: str | None = None
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        name = self.attrname
        if name is None:
            raise TypeError("locked_cached_property used without __set_name__")
        cache = obj.__dict__
        with build_lock(obj):
            if name not in cache:  # another thread may have built it while we waited
                cache[name] = self.func(obj)
            return cache[name]


#: Largest single ranged read of a remote array (runs of records are split above it).
MAX_RANGE_BYTES = 8 << 20


def _runs(recs: np.ndarray, stride: int, part: int) -> list[tuple[int, int]]:
    """``[a, b)`` groups of sorted unique ``recs`` read as one range each.

    Consecutive records share a range when the bytes between their parts (the rest of
    each record) are no more than the part itself, so a range never holds more than
    twice the bytes asked for; a range stops growing at :data:`MAX_RANGE_BYTES`.
    """
    n = len(recs)
    if stride - part > part:  # too much between two parts: one range per record
        breaks = np.arange(1, n)
    else:
        breaks = np.flatnonzero(np.diff(recs) != 1) + 1
    per_range = max(MAX_RANGE_BYTES // max(stride, 1), 1)
    runs = []
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, n], strict=True):
        runs += [(int(s), int(min(s + per_range, b))) for s in range(int(a), int(b), per_range)]
    return runs


class RecordArray:
    """A read-only lazy array of file records.

    Parameters
    ----------
    path
        File holding the records: a path, or a :class:`~isxio._io.FileSource` (a URL
        or an open file object, read by ranges instead of memory-mapped).
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

    def __init__(self, path: str | FileSource, offset: int, record_items: int, item_start: int,
                 item_shape: tuple[int, ...], n_records: int, dtype: np.dtype,
                 index_map: np.ndarray | None = None) -> None:
        self.source = as_source(path)
        self.path = self.source.name
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
        self._mm_lock = threading.Lock()

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
        """The stored records' exposed parts: a zero-copy view ``(n_records, *item_shape)``.

        The memory map is created once (double-checked under a lock, so threads racing
        on the first read share one map); afterwards this is a lock-free attribute read.
        A concurrent :meth:`close` cannot make it return None: the map is kept in a local.
        """
        mm = self._mm
        if mm is None:
            with self._mm_lock:
                mm = self._mm
                if mm is None:
                    mm = self._map()
                    self._mm = mm
        return mm

    def _map(self) -> np.ndarray:
        count = self.n_records * self.record_items
        if count == 0 or self.record_items == 0:
            base = np.zeros((self.n_records, self.record_items), self._dtype)
        else:
            base = np.memmap(self.path, dtype=self._dtype, mode="r", offset=self.offset,
                             shape=(self.n_records, self.record_items))
        size = int(np.prod(self.item_shape, dtype=np.int64))
        part = base[:, self.item_start:self.item_start + size]
        return part.reshape((self.n_records, *self.item_shape))

    def close(self) -> None:
        """Drop the memory map (it is reopened on the next access)."""
        self._mm = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_mm"] = None
        state.pop("_mm_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._mm_lock = threading.Lock()

    # ------------------------------------------------------------------ indexing
    def _take(self, recs: np.ndarray) -> np.ndarray:
        """Records ``recs`` (1-D int64, negatives -> zeros) as a new or view array."""
        if not self.source.is_local:
            return self._fetch(recs)
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
        key = _expand_key(key, self.ndim)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        if first is None:  # a new leading axis; the rest indexes this array as usual
            return self[rest][np.newaxis]
        if isinstance(first, int | np.integer):
            item = self._item(int(first))
            # index a 1-frame block so that numpy's rules for mixing an integer with
            # other advanced indices apply exactly as on an in-memory array
            return item[np.newaxis][(0, *rest)] if rest else item
        if isinstance(first, slice):
            block = self._take(self.index_map[first])
            return block[(slice(None), *rest)] if rest else block
        first = np.asarray(first) if not _is_empty_sequence(first) else np.empty(0, np.intp)
        if first.dtype == bool and first.ndim > 1:  # mask over frames and pixels
            return np.asarray(self)[key]
        recs = self.index_map[first]
        if not rest and recs.ndim == 1 and (len(recs) < 2 or np.all(np.diff(recs) > 0)):
            return self._take(recs)
        stored, inverse = np.unique(recs, return_inverse=True)
        return self._take(stored)[(inverse.reshape(recs.shape), *rest)]

    def _item(self, i: int) -> np.ndarray:
        n = len(self.index_map)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for {n} samples")
        rec = int(self.index_map[i])
        if rec < 0:
            return np.zeros(self.item_shape, self._dtype)
        if not self.source.is_local:
            return self._fetch(np.array([rec], np.int64))[0]
        return self._records()[rec]

    def _fetch(self, recs: np.ndarray) -> np.ndarray:
        """Records ``recs`` read by ranges from a non-local source (negatives -> zeros)."""
        out = np.zeros((len(recs), *self.item_shape), self._dtype)
        ok = recs >= 0
        part = int(np.prod(self.item_shape, dtype=np.int64)) * self._dtype.itemsize
        if not ok.any() or part == 0:
            return out
        if int(recs[ok].max()) >= self.n_records:
            raise IndexError(f"{self.path}: record {int(recs[ok].max())} is past the "
                             f"{self.n_records} records stored")
        wanted, inverse = np.unique(recs[ok], return_inverse=True)
        stride = self.record_items * self._dtype.itemsize
        runs = _runs(wanted, stride, part)
        first = self.offset + self.item_start * self._dtype.itemsize
        chunks = self.source.read_ranges(
            [(first + int(wanted[a]) * stride, (b - a - 1) * stride + part) for a, b in runs])
        got = np.empty((len(wanted), part), np.uint8)
        for (a, b), chunk in zip(runs, chunks, strict=True):
            raw = np.frombuffer(chunk, np.uint8)
            got[a:b] = np.lib.stride_tricks.as_strided(raw, (b - a, part), (stride, 1))
        out[ok] = got.view(self._dtype).reshape((len(wanted), *self.item_shape))[inverse]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        if not out.flags.owndata:  # a view of the memory map (or of zeros): copy it out
            out = np.array(out, dtype=dtype)
        elif isinstance(out, np.memmap):
            out = out.view(np.ndarray)
        return out.astype(dtype, copy=False) if dtype is not None else out

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def to_dask(self, chunks: Any = None):
        """A dask array over this file, one chunk per sample unless ``chunks`` is given."""
        da = _dask_array()
        if chunks is None:
            chunks = (1, *self.item_shape)
        return da.from_array(self, chunks=chunks, asarray=True, fancy=False,
                             name=f"isxio-{os.path.basename(self.path)}-{id(self):x}",
                             meta=np.empty((0,) * self.ndim, self._dtype))
