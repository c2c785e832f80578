"""Writing while the first pass runs: the import's samples and large collections go to the batch
writer in a second thread as they are built (issue 15).

Before, the first pass (parse, units, validation: client CPU) ran to its end and only then did the
second pass write (mostly waiting for the store): the two added up. Now each sample and each document
of the large collections (properties, measurements, array chunks, structures) is handed, as soon as the pass
has checked it, to a writer thread that diffs and inserts it into the pending batch (store/batches.py
``Writer``), so the store works while the pass goes on. Nothing changes for readers: the batch is
``pending``, invisible, until its commit point, which still comes after the whole batch is written.

- A document is handed over pickled (a snapshot, as the spill's file took it: ingest/spill.py), so a
  later change by the builders to a nested value it shares cannot reach the store.
- The queue is bounded (:data:`QUEUE_LISTS` lists of :data:`LIST_DOCS`): memory stays flat, and the
  pass waits when the store falls behind.
- Once the batch is doomed (an error in a batch that does not skip invalid records), nothing more is
  handed over; the importer withdraws what was written (store/batches.py ``withdraw``).
- An error of the writer thread (a conflict, the store, a stage hook) stops the hand-over and is
  raised by :meth:`EarlyWriter.finish` in the importer's thread.
- The thread writes a collection's buffered documents in chunks of :data:`BUSY_FLUSH` (of
  :data:`IDLE_FLUSH` when the queue is empty), so little is left to write after the pass; while it
  waits it renews the batch's lease (store/claims.py).
"""

from __future__ import annotations

import pickle
import queue
import threading
from typing import Callable

from ionbase.store.claims import HEARTBEAT_S

#: documents per hand-over (one queue item)
LIST_DOCS = 250
#: hand-overs queued at most (then the first pass waits for the writer)
QUEUE_LISTS = 16
#: a collection's buffered documents are written once this many are waiting (the writer's own chunk
#: is larger), or once this many when the queue is empty: little is left to write after the pass
BUSY_FLUSH = 1000
IDLE_FLUSH = 200
_END = None


class EarlyWriter:
    """Feeds pickled ``(collection, document)`` entries to ``write`` in a thread, in order."""

    def __init__(self, write: Callable[[str, dict], None], beat: Callable[[], None],
                  doomed: Callable[[], bool], flush: Callable[[int], None] = lambda n: None) -> None:
        self._write = write
        self._beat = beat
        self._flush = flush
        self._doomed = doomed
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LISTS)
        self._pending: list[bytes] = []
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._done = threading.Event()  # set by the thread as it ends (see _end)
        self._thread = threading.Thread(target=self._loop, name="ionbase-import-writer", daemon=True)
        self._thread.start()

    def add(self, entry: bytes) -> None:
        """Hand one pickled entry over (dropped once the batch is doomed or the writer failed)."""
        if self._stop.is_set() or self._doomed():
            self._stop.set()
            self._pending = []
            return
        self._pending.append(entry)
        if len(self._pending) >= LIST_DOCS:
            self._hand_over()

    def _hand_over(self) -> None:
        items, self._pending = self._pending, []
        while not self._stop.is_set():
            try:
                self._queue.put(items, timeout=0.5)
                return
            except queue.Full:
                continue

    def _loop(self) -> None:
        try:
            while True:
                try:
                    items = self._queue.get_nowait()
                except queue.Empty:
                    if not self._stop.is_set():
                        self._flush(IDLE_FLUSH)  # nothing to take: write what is buffered meanwhile
                    try:
                        items = self._queue.get(timeout=HEARTBEAT_S)
                    except queue.Empty:
                        self._beat()
                        continue
                if items is _END:
                    return
                if self._stop.is_set():
                    continue  # drain without writing
                for entry in items:
                    if self._stop.is_set():
                        break  # aborted: the batch is discarded, stop writing at once
                    self._write(*pickle.loads(entry))
                else:
                    self._flush(BUSY_FLUSH)
        except BaseException as exc:  # raised again in the importer's thread by finish()
            self._error = exc
            self._stop.set()
            while True:  # unblock a pass waiting to hand over
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        finally:
            self._done.set()

    def finish(self) -> None:
        """Hand over what is left, wait for the thread to write it, raise its error if it had one."""
        if self._pending and not self._stop.is_set() and not self._doomed():
            self._hand_over()
        self._pending = []
        self._end()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop: what is still queued is not written (the importer discards the batch)."""
        self._stop.set()
        self._pending = []
        self._end()

    def _end(self) -> None:
        """Wait until the thread has ended, even through a second Ctrl-C (raised after it): the
        importer discards the batch next, which must not race with the thread's last writes. Waits on
        the thread's own event, not ``Thread.join``: a join interrupted by a signal marks the thread
        stopped while it still runs (Python 3.11, bpo-45274; review)."""
        interrupted: BaseException | None = None
        sent = False
        while not self._done.is_set():
            try:
                if not sent:
                    self._queue.put(_END, timeout=0.5)
                    sent = True
                self._done.wait(0.5)
            except queue.Full:
                continue
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: stop the thread first
                self._stop.set()
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted
