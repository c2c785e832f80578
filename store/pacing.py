"""Write pacing: how big one write command may be, and how long a bulk writer yields between two.

The embedded nx-27017 server runs every command of a database under one lock (its SQLite
connection is shared), so a reader waits for the whole of any write command that holds it. Measured
on this machine (2 cores, shared) with two readers looping on an indexed ``find`` while 10,000
property-sized documents were inserted (``bench/bench_load.py`` measures the API end to end):

==============================  ==========  ==========  ========  ========
write commands of               write time  read p50    read p95  read max
==============================  ==========  ==========  ========  ========
5,000 documents, no pause       4.8 s       0.8 ms      86 ms     2,453 ms
1,000 documents, no pause       4.1 s       233 ms      2,204 ms  2,247 ms
200 documents, no pause         2.6 s       26 ms       92 ms     458 ms
200 documents, 20 ms pause      4.3 s       1.1 ms      39 ms     311 ms
100 documents, 10 ms pause      3.4 s       1.2 ms      23 ms     111 ms
(idle: no writes)               -           2.6 ms      11 ms     -
==============================  ==========  ==========  ========  ========

So bulk writes go in commands of :data:`WRITE_BATCH` documents, and a loop that sends several in a
row sleeps :data:`WRITE_PAUSE_S` between them, which lets the readers queued on the lock in. Small
commands cost the writer little: the 200-document commands were faster in total than 5,000.
A real MongoDB server locks per document; the same sizes are harmless there.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator, TypeVar

#: documents (or ids in an ``$in``) per write command: nx-27017 holds its database lock for the
#: whole command, about 0.5 ms per property document on this machine (table above)
WRITE_BATCH = 100
#: seconds a bulk writer sleeps between two consecutive write commands, so readers waiting on the
#: embedded server's lock get it (10 ms per 100 documents: +0.1 s per 10,000 documents written)
WRITE_PAUSE_S = 0.01

#: documents per insert command of an import's writer (store/batches.py), sent back to back within
#: a chunk: a reader queued on the lock waits for one command, not for a 5,000-document chunk.
#: bench/bench_load.py (32 connections, a 20,000-row import, load 8-10 from other work): p95 of
#: GET /samples/{id} (seven round trips) during the import 7.3 s with one command per chunk,
#: 4.1 s with commands of 500 and 2.4 s with 200 (idle 1.2-1.3 s); the import took 69, 70 and 80 s
IMPORT_COMMAND = 200

T = TypeVar("T")


def paced(items: Iterable[T], size: int = WRITE_BATCH, pause_s: float = WRITE_PAUSE_S) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items, sleeping ``pause_s`` before each one but the first.

    The caller sends one write command per list; the pause happens between commands, never after
    the last, so a single small write is not delayed.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    chunk: list[T] = []
    first = True
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            if not first:
                time.sleep(pause_s)
            yield chunk
            chunk, first = [], False
    if chunk:
        if not first:
            time.sleep(pause_s)
        yield chunk


#: a probe read slower than this means other clients are queued on the embedded server's lock or CPU
#: (an indexed one-document read takes about 0.3 ms on an idle store here)
BUSY_PROBE_S = 0.01
#: while others are queued, a bulk writer sleeps this many times its own last chunk's time after it,
#: leaving the server to them for that long (1.0: at most half the server's time goes to the import)
YIELD_SHARE = 1.0
#: never sleep longer than this at once
MAX_YIELD_S = 2.0


class Yielder:
    """Yield the embedded server to readers while a bulk writer runs (issue 13: reads during imports).

    The writer calls :meth:`after_chunk` with the time its last chunk of write commands took. Cheap
    reads (``probe``) then tell whether other clients are waiting on the server: a fast one (idle
    store, the bulk import benchmark) ends it; when two in a row are slow (one alone can be the server
    finishing the writer's own large command), the writer sleeps ``share`` times its chunk's time, so
    readers get the server's lock and CPU between two chunks.
    """

    def __init__(self, probe, *, share: float = YIELD_SHARE, busy_s: float = BUSY_PROBE_S,
                 max_s: float = MAX_YIELD_S) -> None:
        self.probe, self.share, self.busy_s, self.max_s = probe, share, busy_s, max_s
        self.slept_s = 0.0
        self.yields = 0

    def after_chunk(self, chunk_s: float) -> None:
        """Sleep after a chunk of ``chunk_s`` seconds if the probe finds the server busy."""
        for _ in range(2):  # twice: right after a large write the server itself is settling (review)
            t0 = time.monotonic()
            self.probe()
            if time.monotonic() - t0 <= self.busy_s:
                return
        pause = min(chunk_s * self.share, self.max_s)
        time.sleep(pause)
        self.slept_s += pause
        self.yields += 1
