"""Base classes: every format is a class that declares what it reads and how to recognise it.

``InstrumentFile`` carries the declarations read by :mod:`.registry` (format name, kinds,
suffixes, sniffer, priority) and the record accessors; ``TextInstrumentFile`` parses line by
line (``from_file`` / ``from_str``), ``BinaryInstrumentFile`` parses bytes (``from_file`` /
``from_bytes``).  Both raise :class:`.errors.ParseError` for every problem.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar, Iterator

from ._common import DEFAULT_MAX_BYTES, check_size, check_text_size, open_lines, str_lines
from .errors import ParseError
from .ranges import check_cycling, check_spectrum

if TYPE_CHECKING:
    from .registry import Head


class InstrumentFile:
    """Declarations shared by all formats (see :mod:`.registry`)."""

    #: registry name, stored with every measurement as ``file.format``
    format: ClassVar[str] = ""
    #: kinds of records the format can hold ("impedance", "cycling", "structure", ...)
    kinds: ClassVar[tuple[str, ...]] = ()
    #: lower-case file suffixes (used to collect files from folders; content decides the format)
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: detection order: higher first; distinct across detectable formats
    priority: ClassVar[int] = 0
    #: False for a format reached only through another's :meth:`refine` (never sniffed)
    detectable: ClassVar[bool] = True
    #: short human name for "unrecognised format" messages
    description: ClassVar[str] = ""

    @classmethod
    def sniff(cls, head: "Head") -> bool | float | None:
        """True (or a score <= priority) when ``head`` looks like this format."""
        return False

    @classmethod
    def refine(cls, path: str | os.PathLike) -> str:
        """The final format name once the whole file can be looked at (default: this one)."""
        return cls.format

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
        raise NotImplementedError

    @property
    def kind(self) -> str:
        """The kind of records this parsed file holds (one of ``kinds``)."""
        return getattr(self, "_kind", None) or self.kinds[0]

    @kind.setter
    def kind(self, value: str) -> None:
        if value not in self.kinds:
            raise ValueError(f"{type(self).__name__}: kind {value!r} is not one of {self.kinds}")
        self._kind = value

    def records(self) -> list:
        """Every record in the file: spectra, cycling tables or structure phases."""
        if self.kind == "impedance":
            return [check_spectrum(s) for s in self.spectra]
        if self.kind == "cycling":
            return [check_cycling(self.cycling)]
        if self.kind == "structure":
            return list(self.phases)
        raise NotImplementedError(f"{type(self).__name__} must define records() for kind "
                                  f"{self.kind!r}")


class TextInstrumentFile(InstrumentFile):
    """A text instrument file parsed line by line (streamed when read from disk)."""

    encoding: ClassVar[str | None] = None  # None: sniff (BOM / UTF-8 / Latin-1)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
        with open_lines(path, max_bytes, encoding=cls.encoding) as lines:
            return cls._parse(lines, os.fspath(path))

    @classmethod
    def from_str(cls, text: str, filename: str = "<string>", *,
                 max_bytes: int | None = DEFAULT_MAX_BYTES):
        check_text_size(text, filename, max_bytes)
        if not text.strip():
            raise ParseError("file is empty, expected instrument data", file=filename)
        return cls._parse(str_lines(text), filename)

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str):
        raise NotImplementedError


class BinaryInstrumentFile(InstrumentFile):
    """A binary file read whole into memory and handed to ``from_bytes``."""

    #: what an empty file was expected to be, for the error message
    expected: ClassVar[str] = "instrument data"

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
        if check_size(path, max_bytes) == 0:
            raise ParseError(f"file is empty, expected {cls.expected}", file=str(path))
        with open(path, "rb") as fh:
            return cls.from_bytes(fh.read(), filename=os.fspath(path), max_bytes=max_bytes)

    @classmethod
    def from_bytes(cls, data: bytes, filename: str = "<bytes>", *,
                   max_bytes: int | None = DEFAULT_MAX_BYTES):
        if max_bytes is not None and len(data) > max_bytes:
            raise ParseError(f"file is {len(data)} bytes, larger than the limit of "
                             f"{max_bytes} bytes", file=filename)
        return cls._parse_bytes(data, filename)

    @classmethod
    def _parse_bytes(cls, data: bytes, filename: str):
        raise NotImplementedError
