"""Base class: every format is a class with from_file / from_str (binary: from_bytes)."""

from __future__ import annotations

import os
from typing import ClassVar, Iterator

from ._common import DEFAULT_MAX_BYTES, check_text_size, open_lines, str_lines


class TextInstrumentFile:
    """A text instrument file parsed line by line (streamed when read from disk)."""

    format: ClassVar[str] = ""
    encoding: ClassVar[str | None] = None  # None: sniff (BOM / UTF-8 / Latin-1)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
        with open_lines(path, max_bytes, encoding=cls.encoding) as lines:
            return cls._parse(lines, os.fspath(path))

    @classmethod
    def from_str(cls, text: str, filename: str = "<string>", *,
                 max_bytes: int | None = DEFAULT_MAX_BYTES):
        from .errors import ParseError

        check_text_size(text, filename, max_bytes)
        if not text.strip():
            raise ParseError("file is empty, expected instrument data", file=filename)
        return cls._parse(str_lines(text), filename)

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str):
        raise NotImplementedError
