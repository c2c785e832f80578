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
