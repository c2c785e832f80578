"""The registry of instrument formats: one parser class per format declares everything.

Each class (a subclass of :class:`._base.InstrumentFile`) declares its ``format`` name, the
``kinds`` of records it yields (impedance / cycling / structure / ...), its file ``suffixes``,
a content sniffer ``sniff(head)`` and a ``priority``; :func:`register` collects it.  Content
detection order, the list of instrument file suffixes and the kind sets are all built here from
the registered classes -- there is no other list to keep in sync.

Detection: classes are tried in descending ``priority``; ``sniff`` returns True (a match at the
class's priority), a number no higher than the priority (a weaker match, e.g. a rule that should
only win over lower-priority formats), or False/None.  The highest score wins; the search stops
as soon as no untried class could beat it.  Priorities must be distinct, so the order is total.

Plugins register a class with :func:`register` (also usable as a class decorator), or expose it
in the ``ionbase.parsers`` entry-point group; entry points are loaded on first use.  See
docs/parsers.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import entry_points
from typing import Iterator

from ._common import SNIFF_BYTES, sniff_encoding
from .errors import ParseError

ENTRY_POINT_GROUP = "ionbase.parsers"
ZIP_MAGIC = b"PK\x03\x04"

_CLASSES: dict[str, type] = {}
_plugins_loaded = False


@dataclass(frozen=True)
class Head:
    """The first bytes of a file, as handed to every sniffer (decoded once, lazily split)."""

    data: bytes
    filename: str

    @property
    def truncated(self) -> bool:
        """True when the file is longer than the sniff window (the last line may be cut)."""
        return len(self.data) >= SNIFF_BYTES

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.filename)[1].lower()

    @cached_property
    def text(self) -> str | None:
        """Decoded text, or None for binary content (ZIP container or NUL bytes)."""
        if self.data.startswith(ZIP_MAGIC):
            return None
        enc = sniff_encoding(self.data)
        if enc == "utf-16":
            return self.data.decode("utf-16", errors="replace").lstrip("\ufeff")
        if b"\x00" in self.data:
            return None
        enc = "utf-8" if enc.startswith("utf-8") else "latin-1"
        return self.data.decode(enc, errors="replace").lstrip("\ufeff")

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines() if self.text is not None else []

    @cached_property
    def nonempty(self) -> list[str]:
        return [line for line in self.lines if line.strip()]

    @property
    def first(self) -> str:
        """The first non-empty line, stripped ('' for binary or blank content)."""
        return self.nonempty[0].strip() if self.nonempty else ""

    def search(self, pattern: str, flags: int = 0) -> bool:
        """True when ``pattern`` occurs in the text (multiline mode; False for binary)."""
        return self.text is not None and re.search(pattern, self.text, re.M | flags) is not None


def register(cls: type) -> type:
    """Add a parser class to the registry (usable as a decorator); returns the class.

    Refuses a class without a format name, kinds or sniffer, a name already taken by another
    class, and a priority already used by another format (the detection order must be total).
    """
    from ._base import InstrumentFile

    if not (isinstance(cls, type) and issubclass(cls, InstrumentFile)):
        raise TypeError(f"{cls!r} is not an InstrumentFile subclass")
    name = cls.__dict__.get("format")
    if not name or not isinstance(name, str):
        raise ValueError(f"{cls.__name__} declares no 'format' name")
    if not cls.kinds:
        raise ValueError(f"{cls.__name__} ({name}) declares no 'kinds'")
    if any(not s.startswith(".") or s != s.lower() for s in cls.suffixes):
        raise ValueError(f"{cls.__name__} ({name}): suffixes must be lower case and start "
                         f"with '.', got {cls.suffixes!r}")
    for other in _CLASSES.values():
        if other is cls:
            return cls
        if other.format == name:
            raise ValueError(f"format {name!r} is already registered by {other.__name__}")
        if cls.detectable and other.detectable and other.priority == cls.priority:
            raise ValueError(f"{cls.__name__} ({name}): priority {cls.priority} is already "
                             f"used by {other.format!r}; choose a distinct one")
    _CLASSES[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a format (for tests and plugins that register temporarily)."""
    _CLASSES.pop(name, None)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register(ep.load())
        except Exception as exc:  # a broken plugin stops every detection until it is fixed
            raise RuntimeError(f"parser plugin {ep.name!r} ({ep.value}) in entry-point group "
                               f"{ENTRY_POINT_GROUP!r} could not be registered: {exc}") from exc
    _plugins_loaded = True


def classes() -> tuple[type, ...]:
    """Registered classes in detection order (descending priority)."""
    _load_plugins()
    return tuple(sorted(_CLASSES.values(), key=lambda c: (-c.priority, c.format)))


def get(name: str) -> type:
    """The class registered for a format name."""
    _load_plugins()
    try:
        return _CLASSES[name]
    except KeyError:
        raise KeyError(f"unknown instrument format {name!r}; known: "
                       + ", ".join(sorted(_CLASSES))) from None


def format_names() -> tuple[str, ...]:
    return tuple(c.format for c in classes())


def formats_of_kind(kind: str) -> frozenset[str]:
    """Names of the formats that can yield records of ``kind``."""
    return frozenset(c.format for c in classes() if kind in c.kinds)


def suffixes() -> tuple[str, ...]:
    """Every file suffix an instrument format declares (sorted, for folder scans)."""
    return tuple(sorted({s for c in classes() for s in c.suffixes}))


def _ordered_detectable() -> Iterator[type]:
    return (c for c in classes() if c.detectable)


def detect_head(head: Head) -> str | None:
    """The best-scoring format for ``head``, or None."""
    best, best_score = None, None
    for cls in _ordered_detectable():
        if best_score is not None and cls.priority <= best_score:
            break
        hit = cls.sniff(head)
        if hit is None or hit is False:
            continue
        score = cls.priority if hit is True else float(hit)
        if score > cls.priority:
            raise ValueError(f"{cls.__name__}.sniff returned {score}, above its priority "
                             f"{cls.priority}")
        if best_score is None or score > best_score:
            best, best_score = cls.format, score
    return best


def detect_bytes(data: bytes, filename: str = "<bytes>") -> str:
    """Format name for the first bytes of a file; ParseError naming the file when none fits."""
    if not data.strip():
        raise ParseError("file is empty, expected instrument data", file=filename)
    head = Head(data, filename)
    found = detect_head(head)
    if found is not None:
        return found
    if data.startswith(ZIP_MAGIC):
        raise ParseError("expected an instrument file, found a ZIP archive that is not an "
                         ".xlsx workbook", file=filename)
    if head.text is None:
        raise ParseError("expected a text instrument file or a BioLogic .mpr, found "
                         "unrecognised binary data", file=filename)
    described = [c.description for c in classes() if c.detectable and c.description]
    raise ParseError("unrecognised format: expected " + ", ".join(described), file=filename,
                     line=1)
