"""Group commit: one writer runs every queued write in one transaction, commits once, answers all.

A durable commit costs a disk sync (SQLite) or a round trip and a WAL flush
(PostgreSQL); paying it once per submission caps the relay at the disk's sync
rate. Here each write is a job, a function of an open transaction. A writer
thread takes every job that is waiting, runs them one after another in one
transaction, commits, and only then answers each job's future: an envelope is
still acknowledged only after the commit that holds it is durable, but
concurrent submissions share that commit.

A job either refuses (raises Refused) before it writes anything, or writes:
so a refusal needs no rollback and the other jobs of the batch still commit.
If the batch itself fails (a database error, a conflict with another relay),
it is rolled back and each job is run again in a transaction of its own, so
one job's failure never fails the others.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from relay.errors import RelayError

T = TypeVar("T")
MAX_BATCH = 512  # jobs per transaction; a batch this big commits in a few milliseconds


class Refused(RelayError):
    """A write the store refuses; status is the HTTP status the relay answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Job(Generic[T]):
    run: Callable[[Any], T]  # called with the open transaction
    order: str  # jobs of a batch run sorted by this, so every writer takes locks in one order
    future: Future[T]


class GroupCommit:
    """Writer threads that drain one queue of jobs, a batch per transaction.

    `transaction` opens a transaction that commits durably when its block ends
    without an exception (and rolls back otherwise). `on_batch` is told each
    committed batch's size, for the metrics.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Any]],
        *,
        writers: int = 1,
        on_batch: Callable[[int], None] | None = None,
        name: str = "relay-writer",
    ) -> None:
        self._transaction = transaction
        self._on_batch = on_batch
        self._queue: deque[_Job[Any]] = deque()
        self._ready = threading.Condition()
        self._closing = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run: Callable[[Any], T], order: str = "") -> Future[T]:
        """Queue a job; its future holds the result once the batch that ran it has committed."""
        future: Future[T] = Future()
        with self._ready:
            if self._closing:
                raise RelayError("the store is closed")
            self._queue.append(_Job(run, order, future))
            self._ready.notify()
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the writers."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            batch.sort(key=lambda job: job.order)
            self._commit(batch)

    def _commit(self, batch: list[_Job[Any]]) -> None:
        results: list[tuple[_Job[Any], Any, BaseException | None]] = []
        try:
            with self._transaction() as tx:
                for job in batch:
                    try:
                        results.append((job, job.run(tx), None))
                    except Refused as exc:
                        results.append((job, None, exc))
        except Exception:  # noqa: BLE001 - the batch failed: run each job alone
            if len(batch) == 1:
                self._alone(batch[0])
            else:
                for job in batch:
                    self._alone(job)
            return
        if self._on_batch is not None:
            self._on_batch(len(batch))
        for job, value, error in results:
            _settle(job.future, value, error)

    def _alone(self, job: _Job[Any]) -> None:
        for attempt in range(3):
            try:
                with self._transaction() as tx:
                    value = job.run(tx)
            except Refused as exc:
                _settle(job.future, None, exc)
                return
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                if attempt == 2:
                    _settle(job.future, None, exc)
                    return
                time.sleep(0.01 * (attempt + 1))  # a conflict with another relay: once more
            else:
                if self._on_batch is not None:
                    self._on_batch(1)
                _settle(job.future, value, None)
                return


def _settle(future: Future[Any], value: Any, error: BaseException | None) -> None:
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
