"""Excel number formats that change what a cell's number means: a percentage.

A cell formatted ``0%`` or ``0.00%`` shows 85 % but stores 0.85 (Excel multiplies by 100 to show it,
and a user typing "85%" stores 0.85). Read as a plain number, such a cell is 100 times too small under
a header in ``%``. :func:`percent_format` tells whether a number format shows its value as a
percentage, and :class:`PercentCell` carries such a cell's number so that the table reader takes it as
the quantity ``85 %`` whatever unit its column is in (``%`` -> 85, ``-`` -> 0.85) and refuses it under
a column that is not a fraction.
"""

from __future__ import annotations

import re

from ionbase.schemas.units import round_sig

#: what does not count in a number format: quoted text, an escaped character, a [colour] or
#: [condition], a padding "_x" or a fill "*x" (a literal "%" there is not a percentage)
_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_CONDITION = re.compile(r"\[\s*[<>=]")


class AmbiguousFormat(ValueError):
    """A number format whose sections disagree on the percentage, chosen by a condition."""


class PercentCell(float):
    """The number of a cell that Excel shows as a percentage: 0.85 for a cell showing 85 %."""

    @property
    def percent(self) -> float:
        """The number shown, in percent (0.85 -> 85.0), with binary noise rounded away (12 digits)."""
        return round_sig(float(self) * 100)

    def text(self) -> str:
        """The quantity the cell shows, as text: ``"85.0 %"``."""
        return f"{self.percent!r} %"


class PercentText(str):
    """The quantity a percentage-formatted cell shows, as text (``"62.0 %"``), read as any quantity
    written in a cell; ``cell`` keeps the cell's number (0.62), which a field that is a plain
    fraction (a site occupancy, a series x) takes as it is."""

    cell: PercentCell

    def __new__(cls, cell: PercentCell) -> "PercentText":
        text = super().__new__(cls, cell.text())
        text.cell = cell
        return text

    def __getnewargs__(self) -> tuple[PercentCell]:  # pickled (ingest/recordshelf.py) with its cell
        return (self.cell,)


def _sections(fmt: str) -> list[str]:
    """The ';'-separated sections of a number format (a ';' inside quotes does not separate)."""
    out, current, quoted = [], [], False
    for ch in fmt:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def _shows_percent(section: str) -> bool:
    return "%" in _LITERALS.sub("", section)


def percent_format(fmt: str | None, value: float) -> bool:
    """Whether number format ``fmt`` shows ``value`` multiplied by 100 as a percentage.

    The section that applies is chosen as Excel does (positive; negative; zero; text). When sections
    carry conditions (``[>=1]0%;0.0``) and disagree, the section cannot be told without Excel's
    rules for conditions: AmbiguousFormat, never a guess.
    """
    if not fmt or fmt == "General":
        return False
    sections = _sections(fmt)[:3]
    flags = [_shows_percent(s) for s in sections]
    if all(flags) or not any(flags):
        return flags[0]
    if _CONDITION.search(fmt):
        raise AmbiguousFormat(f"number format {fmt!r} shows some values as a percentage and others not, "
                              "by a condition")
    if value < 0 and len(flags) > 1:
        return flags[1]
    if value == 0 and len(flags) > 2:
        return flags[2]
    return flags[0]
