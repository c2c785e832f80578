"""Writers of the ML export: CSV, JSON Lines and Parquet, from column chunks.

A *chunk* is ``(n, columns)``: ``n`` rows given as one list of ``n`` values per column, in the
export's column order (``table.iter_chunks`` reads them from the plan's spool; ``rows_to_chunks``
turns row dicts into chunks). Writing column by column avoids a dict per row and a Python call
per cell: CSV cells are formatted per column and lines joined in C, Parquet row groups are built
with ``pyarrow.array`` per column.

CSV cells are what a row-by-row ``csv.writer`` (QUOTE_MINIMAL, ``\\n`` line ends) writes for
``_csv_value(v)``: empty for None and non-finite floats, ``true``/``false`` for booleans, text
starting with a formula character prefixed with ``'`` (OWASP), numbers as Python writes them
(``repr``), a cell holding a comma, quote or line break quoted. A text cell holding a CR is quoted
too (RFC 4180; ``csv.writer`` quotes only the characters of its line terminator), so the file
reads back with Python's csv module. Cells are formatted per column, each distinct value once
(``csv_cells``), and lines joined in C (``csv_lines``): the plan pass can format while it waits
for the server (``table.plan_export(..., for_csv=True)``).
"""

from __future__ import annotations

import io
import json
import math
from array import array
from functools import partial
from operator import is_not
from typing import IO, Any, Iterable, Iterator

Chunk = tuple[int, list[list]]

#: a text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(v: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP); other values as they are.

    Only strings: a number (``-0.52``) is written as the number it is. A lone sign (the qualifier
    ``=``, a ``-`` placeholder) carries no formula and is kept as it is."""
    if isinstance(v, str) and len(v) > 1 and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _csv_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return escape_formula(v)


def _quoted(text: str) -> str:
    """QUOTE_MINIMAL as ``csv.writer`` does it, CR included (RFC 4180)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(v: Any) -> str:
    """One CSV cell as written: ``_csv_value(v)`` formatted the way ``csv.writer`` formats a field
    (``repr`` for floats, ``str`` otherwise), quoted when it holds a comma, quote, LF or CR."""
    v = _csv_value(v)
    if isinstance(v, float):
        return float.__repr__(v)  # a numpy float64 too: "0.25", never "np.float64(0.25)"
    return _quoted(v if isinstance(v, str) else str(v))


def _float_text(v: float) -> str:
    return float.__repr__(v) if v - v == 0 else ""


def _str_text(v: str) -> str:
    return _quoted(escape_formula(v))


#: formatter of one value type, equal to ``csv_text`` for it
_TEXT_OF = {float: _float_text, int: str, str: _str_text, bool: lambda v: "true" if v else "false"}
_NEGATIVE_ZERO = 1 << 63  # the bits of -0.0
_not_none = partial(is_not, None)


def _has_negative_zero(values: list) -> bool:
    return _NEGATIVE_ZERO in array("Q", array("d", filter(_not_none, values)).tobytes())


def csv_cells(values: list) -> list[str]:
    """One column as CSV cell texts (``csv_text`` of each value).

    Each distinct value is formatted once when that is exact: one value type (1, 1.0 and True are
    equal as keys) and no -0.0 (equal to 0.0); a column mixing types is formatted value by value."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        text = _TEXT_OF.get(kind)
        if text is not None:
            distinct = set(values)
            if kind is not float or 0.0 not in distinct or not _has_negative_zero(values):
                memo = {v: text(v) for v in distinct if v is not None}
                memo[None] = ""
                return list(map(memo.__getitem__, values))
    if not kinds:
        return [""] * len(values)
    return [csv_text(v) for v in values]


def csv_lines(n: int, cells: list[list[str]]) -> str:
    """``n`` CSV lines from one list of cell texts per column ('\n' line ends)."""
    if n == 0:
        return ""
    return "\n".join(map(",".join, zip(*cells))) + "\n"


def csv_from_chunks(chunks: Iterable[Chunk], columns: list[str]) -> Iterator[str]:
    """CSV text, header first (yielded at once), then one piece per chunk of raw values."""
    yield csv_lines(1, [[csv_text(c)] for c in columns])
    for n, cols in chunks:
        if n:
            yield csv_lines(n, [csv_cells(v) for v in cols])


def rows_to_chunks(rows: Iterable[dict], columns: list[str], size: int) -> Iterator[Chunk]:
    """Row dicts (missing keys are None) as chunks of at most ``size`` rows."""
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield len(batch), [[r.get(c) for r in batch] for c in columns]
            batch = []
    if batch:
        yield len(batch), [[r.get(c) for r in batch] for c in columns]


def write_csv(rows: Iterable[dict], columns: list[str] | None = None, *, flush_every: int = 256) -> Iterator[str]:
    """CSV text of row dicts, header first; yields every ``flush_every`` lines (1 = strictly line by line).

    ``columns`` defaults to the keys of the first row (build_rows rows all share them)."""
    it = iter(rows)
    if columns is None:
        first = next(it, None)
        if first is None:
            return
        columns = list(first)
        it = _chain_one(first, it)
    yield from csv_from_chunks(rows_to_chunks(it, columns, flush_every), columns)


def _chain_one(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_jsonl(rows: Iterable[dict], columns: list[str] | None = None, *, flush_every: int = 256) -> Iterator[str]:
    """JSON Lines, one object per row with keys in column order."""
    chunk: list[str] = []
    for row in rows:
        keys = columns or list(row)
        chunk.append(json.dumps({k: _json_value(row.get(k)) for k in keys}, ensure_ascii=False, separators=(",", ":")))
        if len(chunk) >= flush_every:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"


def arrow_schema(columns: list[str], types: dict[str, str]):
    """The pyarrow schema of an export (units are in the column names)."""
    import pyarrow as pa

    kinds = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    return pa.schema([pa.field(c, kinds[types[c]]) for c in columns])


def arrow_tables(chunks: Iterable[Chunk], schema, row_group_size: int) -> Iterator[Any]:
    """Arrow tables of exactly ``row_group_size`` rows (the last one shorter; one empty table when
    there are no rows), built column by column from the chunks."""
    import pyarrow as pa

    pending, size, wrote = [], 0, False
    for n, cols in chunks:
        if not n:
            continue
        pending.append(pa.Table.from_arrays([pa.array(v, type=f.type) for v, f in zip(cols, schema)], schema=schema))
        size += n
        if size >= row_group_size:
            table = pa.concat_tables(pending)
            full = (size // row_group_size) * row_group_size
            for start in range(0, full, row_group_size):
                yield table.slice(start, row_group_size)
            wrote = True
            rest = table.slice(full)
            pending, size = ([rest] if rest.num_rows else []), rest.num_rows
    if size or not wrote:
        yield pa.concat_tables(pending) if pending else schema.empty_table()


def parquet_from_chunks(chunks: Iterable[Chunk], schema, sink: str | IO[bytes], *, row_group_size: int = 10_000) -> int:
    """Write chunks to ``sink`` (path or binary file object) in row groups; returns the row count."""
    import pyarrow.parquet as pq

    n = 0
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for table in arrow_tables(chunks, schema, row_group_size):
            writer.write_table(table, row_group_size=row_group_size)
            n += table.num_rows
    return n


class _ChunkSink(io.RawIOBase):
    """A write-only binary stream that hands out what was written so far (for HTTP streaming)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks = []
        return data


def parquet_stream_from_chunks(chunks: Iterable[Chunk], schema, *, row_group_size: int = 10_000) -> Iterator[bytes]:
    """Parquet bytes, yielded after each row group (the footer comes last)."""
    import pyarrow.parquet as pq

    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for table in arrow_tables(chunks, schema, row_group_size):
            writer.write_table(table, row_group_size=row_group_size)
            data = sink.take()
            if data:
                yield data
    finally:
        writer.close()
    data = sink.take()
    if data:
        yield data
