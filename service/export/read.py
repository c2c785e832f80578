"""Reading the export's selection: property documents sorted by sample, fetched ahead by a thread.

nx-27017 answers a ``find`` only once it has materialised the whole result (it then hands it out
batch by batch), so one query over the whole collection keeps this process idle while the server
works, and then the server idle while this process builds the rows: the two add up. On that server
an export with an empty filter therefore reads the collection in *pages of whole samples*: ranges
of ``sample`` ids, sorted and limited (the ``sample`` index), the first pages small so the rows
start early. The reader thread asks for the next page while the rows of this one are built, so the
server's work and ours overlap. The pages hold exactly the documents of one sorted query: every
document whose ``sample`` is a string (only those give rows; the rest are never exported), each
once, in the same order of samples (tests/export/test_export_read.py). A filtered export, or a server that streams (MongoDB), reads with one
sorted query, in batches, through the same thread.
"""

from __future__ import annotations

import queue
import threading
from itertools import count
from typing import Any, Iterable, Iterator

#: documents per server batch of one sorted query, and lists the reader thread may hold ahead
READ_BATCH = 2000
READ_AHEAD = 4
#: documents per page of a paged read (the first ones smaller: the client starts sooner), and pages
#: the reader thread may hold ahead (one in the queue while the server prepares the next is enough)
PAGE_SIZES = (500, 1000, 2000)
PAGES_AHEAD = 2
_SORT = [("sample", 1)]


def read_selection(store, mongo_filter: dict, projection: dict | None, batch_size: int = READ_BATCH,
                   paged: bool = False) -> Iterator[list[dict]]:
    """The selected documents sorted by sample, in lists, fetched ahead by a reader thread;
    ``paged``: in pages of whole samples (see the module's docstring). Close the generator to stop it."""
    if paged:
        return read_ahead(_pages(store, mongo_filter, projection, PAGE_SIZES), PAGES_AHEAD)
    cursor = store.properties.find(mongo_filter, projection, sort=_SORT, batch_size=batch_size)
    return read_ahead(_batched(cursor, batch_size), READ_AHEAD)


def _batched(it: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for item in it:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _and(mongo_filter: dict, sample_cond: Any) -> dict:
    return {"$and": [mongo_filter, {"sample": sample_cond}]} if mongo_filter else {"sample": sample_cond}


def _strings(docs: list[dict]) -> list[dict]:
    return [d for d in docs if isinstance(d.get("sample"), str)]


def _pages(store, mongo_filter: dict, projection: dict | None, sizes: tuple[int, ...]) -> Iterator[list[dict]]:
    """The documents whose ``sample`` is a string, sorted by sample, in pages of whole samples.

    Each page asks for the next ``size`` documents after the last complete sample; the last
    sample of a full page may be cut, so it is left for the next page (which starts with it). A
    sample with more documents than a page is read whole by its own query."""
    lower: dict = {"$gte": ""}  # every string (a range on strings matches strings only)
    for k in count():
        size = sizes[min(k, len(sizes) - 1)]
        page = list(store.properties.find(_and(mongo_filter, lower), projection, sort=_SORT, limit=size,
                                          batch_size=size))
        docs = _strings(page)
        if len(page) < size:  # the last page
            yield docs
            return
        if not docs:  # cannot happen for a string range; never guess: the rest in one query
            rest = store.properties.find(_and(mongo_filter, lower), projection, sort=_SORT, batch_size=READ_BATCH)
            yield from map(_strings, _batched(rest, READ_BATCH))
            return
        last = docs[-1]["sample"]
        cut = len(docs)
        while cut and docs[cut - 1]["sample"] == last:
            cut -= 1
        if cut:
            yield docs[:cut]
            lower = {"$gt": docs[cut - 1]["sample"]}
        else:  # one sample fills the page
            yield _strings(list(store.properties.find(_and(mongo_filter, last), projection, batch_size=READ_BATCH)))
            lower = {"$gt": last}


def read_ahead(batches: Iterable[list], depth: int) -> Iterator[list]:
    """Iterate ``batches`` in a thread and yield them here, at most ``depth`` ahead: the server
    prepares the next batch while the caller works on this one. Errors are re-raised here; closing
    the generator stops the thread."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=work, name="ionbase-export-read", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def by_sample(batches: Iterable[list[dict]]) -> Iterator[tuple[str, list[dict]]]:
    """Group documents sorted by sample, given in batches, into (sample, documents)."""
    current: str | None = None
    group: list[dict] = []
    for batch in batches:
        for doc in batch:
            sample = doc.get("sample")
            if sample != current and group:
                yield current, group
                group = []
            current = sample
            group.append(doc)
    if group:
        yield current, group
