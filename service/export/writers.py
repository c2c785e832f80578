"""Writers of the ML export: CSV, JSON Lines and Parquet, from column chunks.

A *chunk* is ``(n, columns)``: ``n`` rows given as one list of ``n`` values per column, in the
export's column order (``table.iter_chunks`` reads them from the plan's spool; ``rows_to_chunks``
turns row dicts into chunks). Writing column by column avoids a dict per row and a Python call
per cell: a column is converted for CSV in one comprehension (or passed through when it holds only
``None``/numbers), rows are handed to ``csv.writer.writerows`` as ``zip(*columns)``, and Parquet
row groups are built with ``pyarrow.array`` per column.

CSV cells are what a row-by-row ``csv.writer`` would write for ``_csv_value(v)``: empty for
None and non-finite floats, ``true``/``false`` for booleans, text starting with a formula
character prefixed with ``'`` (OWASP), numbers as Python writes them (``repr``). A text cell holding
a CR is quoted (RFC 4180) so the file reads back with Python's csv module (``csv.writer`` quotes
only the characters of its line terminator, ``\\n`` here).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import IO, Any, Iterable, Iterator

Chunk = tuple[int, list[list]]

#: a text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERS = frozenset((type(None), int, float))
_TEXT = frozenset((type(None), str))


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


def csv_column(values: list) -> tuple[list, bool]:
    """One column as CSV cells (``_csv_value`` of each value) and whether a text cell holds a CR.

    Fast paths for the usual columns: numbers only (non-finite floats blanked), text only."""
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        if float in kinds:
            return [v if v is None or v - v == 0 else "" for v in values], False
        return values, False
    if kinds <= _TEXT:
        out = [("'" + v) if v is not None and len(v) > 1 and v.startswith(FORMULA_START) else v for v in values]
        return out, any("\r" in v for v in out if v is not None)
    out = [_csv_value(v) for v in values]
    return out, any(isinstance(v, str) and "\r" in v for v in out)


class CsvChunks:
    """CSV text of chunks: ``header()`` then ``chunk(n, columns)``; '\\n' line ends, CR cells quoted."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\n")
        self._crlf_buf = io.StringIO()
        self._crlf = csv.writer(self._crlf_buf, lineterminator="\r\n")  # quotes cells holding CR or LF

    def _take(self) -> str:
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return text

    def _row_with_cr(self, row: Iterable) -> None:
        self._crlf.writerow(row)
        line = self._crlf_buf.getvalue()
        self._crlf_buf.seek(0)
        self._crlf_buf.truncate()
        self._buf.write(line[:-2] + "\n")

    def header(self, columns: list[str]) -> str:
        """The header line (column names escaped like text cells)."""
        cells, has_cr = csv_column(list(columns))
        if has_cr:
            self._row_with_cr(cells)
        else:
            self._writer.writerow(cells)
        return self._take()

    def chunk(self, n: int, columns: list[list]) -> str:
        """The lines of ``n`` rows given column by column."""
        if n == 0:
            return ""
        cells, cr = [], False
        for values in columns:
            out, has_cr = csv_column(values)
            cells.append(out)
            cr = cr or has_cr
        rows = zip(*cells)
        if not cr:
            self._writer.writerows(rows)
        else:
            for row in rows:
                if any(isinstance(v, str) and "\r" in v for v in row):
                    self._row_with_cr(row)
                else:
                    self._writer.writerow(row)
        return self._take()


def csv_from_chunks(chunks: Iterable[Chunk], columns: list[str]) -> Iterator[str]:
    """CSV text, header first (yielded at once), then one piece per chunk."""
    out = CsvChunks()
    yield out.header(columns)
    for n, cols in chunks:
        text = out.chunk(n, cols)
        if text:
            yield text


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
