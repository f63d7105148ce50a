"""Griffe extension for the API reference (mkdocs.yml, mkdocstrings): isxio's conventions.

* ``@locked_cached_property`` methods are documented as (cached) properties, like
  ``functools.cached_property``;
* Sphinx cross-reference roles in docstrings (``:class:`~isxio.x.Y```) become code spans
  (``Y``), which Markdown renders; ``~`` keeps the last name, as in Sphinx;
* grouped parameters without a type (``shape, dtype`` over one description) are split
  into one entry each, so each shows its own annotation from the signature (griffe gives
  the whole group the first one's);
* ``#:`` comments (on an attribute's line, or the lines just above it) become the
  attribute's docstring, as Sphinx autodoc reads them.

Static analysis only: nothing of isxio is imported.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const):`(~?)([^`]+)`")
_COMMENT = re.compile(r"#:\s?(.*)$")
_CACHED = ("locked_cached_property",)
_GROUP = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:, \*{0,2}[A-Za-z_]\w*)+)\s*$")
_PARAMETER_SECTIONS = ("Parameters", "Other Parameters")


def _plain_roles(text: str) -> str:
    def code(match: re.Match[str]) -> str:
        target = match[2].strip()
        if match[1]:
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return _ROLE.sub(code, text)


def _description_end(lines: list[str], start: int) -> int:
    """Index after the indented description starting at ``start`` (blank lines inside kept)."""
    j = start
    while j < len(lines) and (lines[j].startswith((" ", "\t")) or (
            not lines[j].strip() and j + 1 < len(lines) and lines[j + 1].startswith(" "))):
        j += 1
    return j


def _split_groups(text: str) -> str:
    """``a, b`` + description in a numpy parameters section -> ``a`` + it, ``b`` + it."""
    lines, out, i, in_parameters = text.split("\n"), [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.strip() and i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()):
            in_parameters = line.strip() in _PARAMETER_SECTIONS
            out += lines[i:i + 2]
            i += 2
            continue
        group = _GROUP.match(line) if in_parameters else None
        if group:
            end = _description_end(lines, i + 1)
            for name in group[1].split(", "):
                out += [name, *lines[i + 1:end]]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _comment_doc(lines: list[str], lineno: int) -> str | None:
    """The ``#:`` comment on line ``lineno`` (1-based), else the block just above it."""
    if not 0 < lineno <= len(lines):
        return None
    same = _COMMENT.search(lines[lineno - 1])
    if same and not lines[lineno - 1].lstrip().startswith("#"):
        return same[1].strip()
    above: list[str] = []
    k = lineno - 2
    while k >= 0 and lines[k].lstrip().startswith("#:"):
        above.insert(0, _COMMENT.search(lines[k])[1])  # type: ignore[index]
        k -= 1
    return "\n".join(above).strip() or None


class IsxioConventions(griffe.Extension):
    """Apply isxio's docstring conventions while griffe visits the sources."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: tuple[int, list[str]] = (0, [])  # (id of the visitor, its source lines)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _split_groups(_plain_roles(obj.docstring.value))

    def on_attribute_instance(self, *, node: Any, attr: griffe.Attribute, agent: Any,
                              **kwargs: Any) -> None:
        if attr.docstring is None and isinstance(node, ast.AST) and attr.lineno:
            if self._lines[0] != id(agent):
                self._lines = (id(agent), agent.code.splitlines())
            text = _comment_doc(self._lines[1], attr.lineno)
            if text:
                attr.docstring = griffe.Docstring(_plain_roles(text), parent=attr,
                                                  lineno=attr.lineno)

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        if not any(d.callable_path.rsplit(".", 1)[-1] in _CACHED for d in func.decorators):
            return
        prop = griffe.Attribute(func.name, value=None, annotation=func.returns,
                                lineno=func.lineno, endlineno=func.endlineno,
                                docstring=func.docstring, runtime=func.runtime,
                                analysis="static")
        prop.labels.update({"cached", "property"})
        if func.docstring is not None:
            func.docstring.parent = prop
        func.parent.set_member(func.name, prop)  # type: ignore[union-attr]
