"""Shared helpers: safe file opening, number parsing, column recognition, loop splitting."""

from __future__ import annotations

import codecs
import io
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .columns import ColumnPlan, match_header, resolve_columns
from .errors import ParseError
from .numbers import DecimalMark, mark_of

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: longest text line a parser accepts; control characters never occur in instrument text exports
MAX_LINE_CHARS = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SNIFF_BYTES = 64 * 1024


def check_size(path: str | os.PathLike, max_bytes: int | None) -> int:
    """Size of ``path`` in bytes; ParseError if missing, empty-check is left to callers."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    if max_bytes is not None and size > max_bytes:
        raise ParseError(f"file is {size} bytes, larger than the limit of {max_bytes} bytes "
                         "(pass a larger max_bytes to read it)", file=str(path))
    return size


def check_text_size(text: str, filename: str, max_bytes: int | None) -> None:
    if max_bytes is not None and len(text) > max_bytes:
        raise ParseError(f"text is {len(text)} characters, larger than the limit of "
                         f"{max_bytes}", file=filename)


def sniff_encoding(head: bytes, default: str = "latin-1") -> str:
    """'utf-8-sig' with a BOM; 'utf-8' if the head decodes as UTF-8; else ``default``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return default


def read_head(path: str | os.PathLike, n: int = SNIFF_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:  # a directory, a missing file, no permission: one line, not a traceback
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None


@contextmanager
def open_lines(path: str | os.PathLike, max_bytes: int | None, encoding: str | None = None):
    """Yield an iterator of (1-based line number, line without EOL), streamed from disk.

    Raises ParseError for oversized or empty files.  The encoding is sniffed from the head
    (BOM / UTF-8 / Latin-1) unless given.
    """
    size = check_size(path, max_bytes)
    if size == 0:
        raise ParseError("file is empty, expected instrument data", file=str(path))
    if encoding is None:
        encoding = sniff_encoding(read_head(path))
    with open(path, "r", encoding=encoding, errors="strict", newline=None) as fh:
        yield _numbered(fh, str(path), encoding)


def _numbered(lines: Iterable[str], filename: str, encoding: str | None = None
              ) -> Iterator[tuple[int, str]]:
    n = 0
    it = iter(lines)
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise ParseError(f"expected {encoding} text, found undecodable bytes",
                             file=filename, line=n + 1) from None
        n += 1
        if n == 1 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.rstrip("\r\n")
        bad = _CONTROL.search(line) or (len(line) > MAX_LINE_CHARS and line)
        if bad and line != "\x1a":  # a lone DOS end-of-file mark is harmless
            what = (f"control character 0x{ord(bad.group()):02x} (binary or corrupted data)" if not isinstance(bad, str)
                    else f"a line of {len(line)} characters, above the limit of {MAX_LINE_CHARS}")
            raise ParseError(f"expected text, found {what}", file=filename, line=n)
        yield n, line


def str_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) pairs of a string, numbered like a file read in universal mode."""
    return _numbered(io.StringIO(text, newline=None), "<string>")


def decode_bytes(data: bytes) -> str:
    enc = sniff_encoding(data[:SNIFF_BYTES])
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --------------------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                        re.IGNORECASE)


def to_float(token: str, *, decimal_comma: bool | DecimalMark = False, file: str | None = None,
             line: int | None = None, field: str | None = None) -> float:
    """Parse one number exactly as written (``float()``); ParseError naming file, line and field.

    ``decimal_comma`` False: a comma is not read.  A :class:`~.numbers.DecimalMark` (one per file):
    a comma is read by the file's decimal mark (``numbers`` module: a thousands separator is
    refused, never scaled).  True: the token alone decides (``150,2`` is read, ``1,000`` refused).
    """
    if decimal_comma is False:
        tok = token.strip()
        if not _NUMBER_RE.match(tok):
            raise ParseError(f"expected a number, got {tok!r}", file=file, line=line, field=field)
        return float(tok)
    mark = DecimalMark() if decimal_comma is True else decimal_comma
    return mark.to_float(token, file=file, line=line, field=field)


def is_number(token: str, decimal_comma: bool = True) -> bool:
    """Whether ``token`` looks like one number; with ``decimal_comma``, one whose comma may be a
    decimal comma (``150,2``, and ``1,000``, which :class:`~.numbers.DecimalMark` reads or refuses
    by the file's mark)."""
    tok = token.strip()
    return bool(_NUMBER_RE.match(tok)) or (decimal_comma and mark_of(tok) in (",", "either"))


# --------------------------------------------------------------------------- column names

_CARTESIAN = frozenset({"frequency", "z_real", "z_imag"})


def impedance_columns(names: list[str], *, file: str | None, line: int | None
                      ) -> ColumnPlan | None:
    """The ColumnPlan of an instrument header naming frequency, Z' and Z'', or None when one of
    the three is missing (a column line of another kind of data: cycling, a DC segment).

    Spellings, header units (``Z'(kOhm)``, ``Freq (kHz)``) and ambiguity are resolved as for
    generic tables (:func:`ingest.parsers.columns.resolve_columns`): a unit is converted to Hz /
    ohm with pint, one of another dimension is a ParseError naming file, line and column.
    """
    found = {m.quantity for m in map(match_header, names) if m is not None}
    if not _CARTESIAN <= found:
        return None
    return resolve_columns(names, file=file, line=line, required=True)


# --------------------------------------------------------------------------- splitting

def split_sweeps(freq: np.ndarray, groups: np.ndarray | None = None,
                 rel_tol: float = 0.2) -> list[tuple[int, int]]:
    """[start, stop) ranges of the individual spectra in a point series.

    A new spectrum starts where ``groups`` (loop / cycle column) changes, or where the
    frequency sweep turns back to (within ``rel_tol``) the frequency the current spectrum
    started at (e.g. 1 MHz -> 0.1 Hz, then back to 1 MHz).
    """
    n = len(freq)
    if n == 0:
        return []
    bounds = [0]
    if groups is not None:
        for i in range(1, n):
            if groups[i] != groups[i - 1]:
                bounds.append(i)
    bounds.append(n)
    out: list[tuple[int, int]] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        start = a
        for i in range(a + 2, b):
            f0, f_prev, f = freq[start], freq[i - 1], freq[i]
            if i - start < 2 or not (f0 > 0 and f > 0 and f_prev > 0):
                continue
            direction = np.sign(freq[start + 1] - f0)
            if direction == 0:
                continue
            reversed_ = np.sign(f - f_prev) == -direction
            with np.errstate(over="ignore"):  # 1e308 / 1e-3 is inf here; the range check refuses it after
                near_start = abs(np.log(f / f0)) <= np.log1p(rel_tol)
            if reversed_ and near_start:
                out.append((start, i))
                start = i
        out.append((start, b))
    return out


def display_name(path) -> str:
    return str(path)


def as_path(path) -> Path:
    return Path(os.fspath(path))
