"""Typed, bounds-checked access to the keys of a parsed JSON trailer.

Every failure raises :class:`~isxio.errors.IsxFormatError` naming the file, the
dotted key, what was expected and what was found, so that a garbage or hand-edited
trailer never surfaces as ``KeyError``/``TypeError``.
"""

from __future__ import annotations

from typing import Any

from ..errors import IsxFormatError

_MISSING = object()
UINT64_MAX = 2**64 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Fields:
    """A JSON object of a file, read with checks.

    Parameters
    ----------
    obj
        The parsed JSON value (should be a dict).
    path
        File the JSON came from (for messages).
    prefix
        Dotted key path of ``obj`` inside the trailer (for messages).
    offset
        Byte offset of the JSON text in the file (for messages).
    """

    def __init__(self, obj: Any, path: str | None, prefix: str = "", offset: int | None = None):
        self.path = path
        self.prefix = prefix
        self.offset = offset
        if not isinstance(obj, dict):
            raise self.error("not a JSON object", expected="a JSON object",
                             found=_describe(obj), key=prefix or None)
        self.obj = obj

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, message: str, *, key: str | None = None, expected: Any = None,
              found: Any = None) -> IsxFormatError:
        return IsxFormatError(self.path, message, key=key, offset=self.offset,
                              expected=expected, found=found)

    def has(self, name: str) -> bool:
        return name in self.obj

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        if name in self.obj:
            return self.obj[name]
        if default is _MISSING:
            raise self.error("required key is missing", key=self.key(name))
        return default

    def sub(self, name: str, default: Any = _MISSING) -> Fields:
        return Fields(self.raw(name, default), self.path, self.key(name), self.offset)

    def integer(self, name: str, default: Any = _MISSING, *, lo: int = INT64_MIN,
                hi: int = UINT64_MAX) -> int:
        value = self.raw(name, default)
        return self.check_int(value, self.key(name), lo, hi)

    def check_int(self, value: Any, key: str, lo: int = INT64_MIN, hi: int = UINT64_MAX) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error("wrong JSON type", key=key, expected="an integer",
                             found=_describe(value))
        if isinstance(value, float):
            if not value.is_integer():
                raise self.error("wrong JSON type", key=key, expected="an integer",
                                 found=_describe(value))
            value = int(value)
        if not lo <= value <= hi:
            raise self.error("integer out of range", key=key,
                             expected=f"a value in [{lo}, {hi}]", found=value)
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error("wrong JSON type", key=self.key(name), expected="true or false",
                             found=_describe(value))
        return value

    def string(self, name: str, default: Any = _MISSING) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise self.error("wrong JSON type", key=self.key(name), expected="a string",
                             found=_describe(value))
        return value

    def array(self, name: str, default: Any = _MISSING, *, length: int | None = None) -> list:
        value = self.raw(name, default)
        if not isinstance(value, list):
            raise self.error("wrong JSON type", key=self.key(name), expected="an array",
                             found=_describe(value))
        if length is not None and len(value) != length:
            raise self.error("array has the wrong length", key=self.key(name),
                             expected=f"{length} elements", found=f"{len(value)} elements")
        return value

    def int_array(self, name: str, default: Any = _MISSING, *, length: int | None = None,
                  lo: int = INT64_MIN, hi: int = UINT64_MAX) -> list[int]:
        values = self.array(name, default, length=length)
        return [self.check_int(v, f"{self.key(name)}[{i}]", lo, hi) for i, v in enumerate(values)]

    def str_array(self, name: str, default: Any = _MISSING, *,
                  length: int | None = None) -> list[str]:
        values = self.array(name, default, length=length)
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise self.error("wrong JSON type", key=f"{self.key(name)}[{i}]",
                                 expected="a string", found=_describe(v))
        return values

    def bool_array(self, name: str, default: Any = _MISSING, *,
                   length: int | None = None) -> list[bool]:
        values = self.array(name, default, length=length)
        for i, v in enumerate(values):
            if not isinstance(v, bool):
                raise self.error("wrong JSON type", key=f"{self.key(name)}[{i}]",
                                 expected="true or false", found=_describe(v))
        return values
