"""The decimal mark of an instrument file, decided from its numbers: the one rule every parser uses.

A comma in a number is either a decimal comma (``150,2`` = 150.2) or a thousands separator
(``100,000`` = 100000).  Thousands separators are never read; a decimal comma is read only where the
file shows that ',' is its decimal mark:

* a number with a '.' decimal (``101.0``, ``5.5e+06``) shows '.'; a number with a comma followed by
  1, 2 or 4+ digits, with a leading zero (``0,500``) or an exponent (``1,234E+03``) shows ',';
* ``1,000`` / ``-15,780`` (a non-zero integer part of 1-3 digits, a comma, exactly three digits) could
  be either: it is read as a decimal comma only in a file that shows ','; in a file that shows '.' it
  is refused as a thousands separator; in a file that shows neither it is refused as ambiguous;
* ``1.100`` (the same with a point) could be a German thousands separator: it shows no mark by itself;
  in a file that shows ',' it is refused as a possible thousands separator, otherwise it is read with
  a decimal point (and the file's mark is then '.', so a later ``24,75`` is refused);
* a file showing both marks, or a number with several commas or with both ',' and '.'
  (``1,234.5``, ``1.234,5``) is refused: one of the marks is a thousands separator.

Every refusal is a :class:`ParseError` naming file, line and column.  Parsers that read the whole
table before converting call :meth:`DecimalMark.observe` on every number first (the decision is then
per file); streaming parsers convert as they go, so an ambiguous number before the first number that
shows the mark is refused.  A reader may give a ``lookahead`` (the file's other numbers): it is read
once, when a number can only be judged by the mark of the whole file.  The template tables
(``ionbase.ingest.tabular``) read their text cells by this same rule, one mark per table.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from .errors import ParseError

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                     re.IGNORECASE)
_POINT = re.compile(r"^[+-]?(\d*\.\d+|\d+\.\d*)([eE][+-]?\d+)?$")
_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
_AMBIGUOUS = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")
_AMBIGUOUS_POINT = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([,.]\d{3})+([.,]\d*)?([eE][+-]?\d+)?$")


def mark_of(token: str) -> str | None:
    """What one number says about the decimal mark.

    '.' or ',' (it shows that mark), 'either' (``1,000``: decimal comma or thousands separator),
    'either.' (``1.100``: decimal point or thousands separator),
    'grouped' (several commas, or both ',' and '.': a thousands separator is certain), or None
    (no mark: ``100``, ``1e5``, text).
    """
    tok = token.strip()
    if _AMBIGUOUS_POINT.match(tok):
        return "either."
    if _POINT.match(tok):
        return "."
    if _AMBIGUOUS.match(tok):
        return "either"
    if _COMMA.match(tok):
        return ","
    if "," in tok and _GROUPED.match(tok):
        return "grouped"
    return None


#: (token, line, field) of the numbers of a file, read by DecimalMark's lookahead
Tokens = Iterable[tuple[str, "int | None", "str | None"]]


class DecimalMark:
    """The decimal mark of one file (or table), learnt from its numbers; converts its tokens.

    ``mark`` is None until a number shows '.' or ','; ``evidence`` is (line, field, token) of that
    number, quoted in the errors.  ``lookahead`` (optional) gives the file's numbers: it is read
    once, when ``1,000`` or ``1.100`` comes before any number showing the mark.  ``what`` names the
    unit of the decision in the errors ("file", "table").
    """

    def __init__(self, lookahead: Callable[[], Tokens] | None = None, what: str = "file") -> None:
        self.mark: str | None = None
        self.evidence: tuple[int | None, str | None, str] | None = None
        self._lookahead, self.what = lookahead, what

    def observe(self, token: str, *, file: str | None, line: int | None,
                field: str | None) -> None:
        """Learn from ``token``; ParseError if it shows a mark other than the one seen so far, or
        a certain thousands separator (``1,234.5``).  ``1,000`` and ``1.100`` teach nothing and are
        judged by :meth:`read` against the mark of the whole file (when observed first)."""
        kind = mark_of(token)
        tok = token.strip()
        if kind == "grouped":
            raise ParseError(f"{tok!r} is written with a thousands separator; thousands separators "
                             "are not read; remove them", file=file, line=line, field=field)
        if kind in (".", ",") and self.mark not in (None, kind):
            self._refuse_mixed(tok, kind, file, line, field)
        if kind in (".", ",") and self.mark is None:
            self.mark, self.evidence = kind, (line, field, tok)

    def _look_ahead(self) -> None:
        """Learn the mark from the lookahead's numbers (once): the first one showing a mark sets it
        (the others are judged, and refused if they must be, when they are read)."""
        tokens, self._lookahead = self._lookahead, None
        if tokens is None:
            return
        found = iter(tokens())
        try:
            first = next(((tok.strip(), line, field) for tok, line, field in found
                          if mark_of(tok) in (".", ",")), None)
        finally:
            getattr(found, "close", lambda: None)()
        if first is not None:
            self.mark, self.evidence = mark_of(first[0]), (first[1], first[2], first[0])

    def _seen(self) -> str:
        line, field, tok = self.evidence  # type: ignore[misc]
        where = f"{'row' if self.what == 'table' else 'line'} {line}" if line is not None else "earlier"
        return f"{tok!r} on {where}" + (f", column {field!r}" if field else "")

    def _refuse_mixed(self, tok: str, kind: str, file, line, field) -> None:
        if kind == ",":
            raise ParseError(f"{tok!r}: this {self.what} writes '.' as its decimal mark ({self._seen()}), "
                             "so a comma here is not a decimal comma; thousands separators are "
                             "not read; remove them", file=file, line=line, field=field)
        raise ParseError(f"{tok!r}: this {self.what} writes ',' as its decimal mark ({self._seen()}), so "
                         "'.' here is a thousands separator or a second decimal mark; thousands "
                         "separators are not read; write every number with the same decimal "
                         "mark", file=file, line=line, field=field)

    def read(self, token: str, *, file: str | None, line: int | None, field: str | None) -> str:
        """``token`` with a decimal point for its decimal mark (``24,75`` -> ``24.75``; text that
        is no number is returned unchanged); ParseError for a thousands separator, certain or
        possible, and for a mark other than this file's."""
        self.observe(token, file=file, line=line, field=field)
        tok = token.strip()
        kind = mark_of(tok)
        if kind in ("either", "either.") and self.mark is None:
            self._look_ahead()
        if kind == "either.":
            return self._point_three(tok, file, line, field)
        if kind == "either" and self.mark == ".":
            raise ParseError(f"{tok!r}: this {self.what} writes '.' as its decimal mark ({self._seen()}), "
                             "so the comma here is a thousands separator; thousands separators "
                             "are not read; remove them", file=file, line=line, field=field)
        if kind == "either" and self.mark is None:
            raise ParseError(f"cannot tell whether {tok!r} is {tok.replace(',', '.')} (decimal "
                             f"comma) or {tok.replace(',', '')} (thousands separator): no other "
                             f"number in the {self.what} shows its decimal mark; write it without the "
                             "comma, or with a decimal point", file=file, line=line, field=field)
        return tok.replace(",", ".") if kind in (",", "either") else tok

    def _point_three(self, tok: str, file, line, field) -> str:
        """``1.100``: refused where ',' is the decimal mark; else read with a decimal point, which
        is then this file's mark (so that a later ``24,75`` is refused, not read after it)."""
        if self.mark == ",":
            raise ParseError(f"{tok!r}: this {self.what} writes ',' as its decimal mark ({self._seen()}), "
                             f"so the '.' here is a thousands separator ({tok.replace('.', '')}) or a "
                             "second decimal mark; thousands separators are not read; remove it, or "
                             "write the number with a decimal comma", file=file, line=line, field=field)
        if self.mark is None:
            self.mark, self.evidence = ".", (line, field, tok)
        return tok

    def to_float(self, token: str, *, file: str | None, line: int | None,
                 field: str | None) -> float:
        """``token`` as a float read with this file's decimal mark; ParseError otherwise."""
        tok = self.read(token, file=file, line=line, field=field)
        if not _NUMBER.match(tok):
            raise ParseError(f"expected a number, got {token.strip()!r}", file=file, line=line,
                             field=field)
        return float(tok)
