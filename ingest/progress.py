"""Import progress: a bar for the pass over the batch's records, then one for the documents still
to write.

A record is one material, sample, structure, measurement or property entry of an import file, or
one row of a streamed table (a property table row is one record). The first pass (``validating``)
knows its total only when no file streams a table (large tables are read from the file as they
are validated, not counted beforehand). Its documents are written while it runs
(ingest/overlap.py), so the ``writing`` bar counts documents: it starts when the pass ends, at the
documents the writer has already written, with every document of the batch as its total, and
ends exactly at 100 % once the last one is written.
"""

from __future__ import annotations

import sys
from typing import Any

UNIT = "record"
#: a bar for fewer records than this is more noise than help
MIN_TOTAL = 200


class Progress:
    """Counts the records done and forwards them to a tqdm bar when there is one."""

    def __init__(self, total: int | None, desc: str, bar: Any = None) -> None:
        self.total = total
        self.desc = desc
        self.n = 0
        self._bar = bar

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()  # the last counts (tqdm skips redraws within 0.1 s of the last one)
            self._bar.close()


def make_progress(total: int | None, enabled: bool, desc: str, unit: str = UNIT, initial: int = 0) -> Progress:
    """A counter with a tqdm bar (of ``unit``) on an interactive terminal, starting at ``initial``
    (done before the bar: not counted in its rate); ``total`` None when unknown. Small batches with
    a known total get no bar."""
    show = enabled and sys.stderr.isatty() and (total is None or total >= MIN_TOTAL)
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, initial=initial)
    progress = Progress(total, desc, bar)
    progress.n = initial
    return progress
