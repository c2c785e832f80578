"""The one exception raised by the instrument-file parsers."""

from __future__ import annotations

from pathlib import PurePath


class ParseError(ValueError):
    """A file could not be read as the expected format.

    Attributes
    ----------
    file : str | None
        The path (or name given to ``from_str``) of the file.
    line : int | None
        1-based line number (text formats), spreadsheet row, or None.
    field : str | None
        Column / field / CIF tag concerned, or None.
    message : str
        What was expected and what was found.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(PurePath(self.file).name)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self):  # keep keyword-only attributes when pickled
        return (_rebuild, (self.message, self.file, self.line, self.field))

    def as_issue(self):
        """This error as an :class:`ingest.errors.Issue` (for import reports)."""
        from ionbase.ingest.errors import Issue

        return Issue(file=self.file or "", message=self.message, row=self.line, field=self.field)


def _rebuild(message, file, line, field):
    return ParseError(message, file=file, line=line, field=field)
