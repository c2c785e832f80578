"""Import errors: every problem names the file, the row or line, and the field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem found while reading or validating an import."""

    file: str
    message: str
    row: int | None = None  # 1-based row (tabular) or line (text formats)
    field: str | None = None
    record: str | None = None  # e.g. "samples[3]"
    column: str | None = None  # a table's column as the user wrote it, e.g. "value (mS/cm)"
    sheet: str | None = None  # a workbook's sheet the row is on (also named in ``record``)

    #: longest message kept: an error quoting a hostile 50 MB value must stay one readable line
    MAX_MESSAGE = 500

    def __post_init__(self) -> None:
        msg = " ".join(str(self.message).split())  # one line: parser messages can span several
        if len(msg) > self.MAX_MESSAGE:
            msg = msg[: self.MAX_MESSAGE] + " …"
        object.__setattr__(self, "message", msg)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.record:
            where += f" ({self.record})"
        if self.column:
            where += f", column '{self.column}'"
        elif self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"

    @classmethod
    def in_table(cls, file: str, sheet: str | None, message: str, **where: Any) -> "Issue":
        """An Issue of a table row: a workbook's names its sheet (``record`` for the message, ``sheet``
        for the rejected-rows file)."""
        return cls(file, message, record=f"sheet '{sheet}'" if sheet else None, sheet=sheet, **where)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


_SINGULAR = {"materials": "material", "routes": "route", "samples": "sample", "structures": "structure",
             "measurements": "measurement", "measurement_arrays": "measurement array", "properties": "property"}


def singular(collection: str) -> str:
    """'properties' -> 'property' for messages (not 'propertie')."""
    return _SINGULAR.get(collection, collection)


class ImportFailed(Exception):
    """The batch had errors and nothing was written."""

    def __init__(self, issues: list[Issue], report: dict | None = None):
        self.issues = issues
        self.report = report or {}
        head = "; ".join(str(i) for i in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"{len(issues)} error(s), nothing was written: {head}{more}")
