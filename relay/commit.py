"""Group commit: a writer runs every queued write in one transaction, commits once, answers all.

A durable commit costs a disk sync (SQLite) or a round trip and a WAL flush
(PostgreSQL); paying it once per submission caps the relay at the disk's sync
rate. Here each write is a job: an item and a set-based function of an open
transaction and a list of items, which answers each item (a value, or Refused).
A writer takes every job that is waiting, hands each function all of its items
at once, in one transaction, commits, and only then answers each job: an
envelope is still acknowledged only after the commit that holds it is durable,
but concurrent submissions share that commit, and a function such as the
store's message writer pays a few statements per batch, not per message. A
plain function of the transaction is a job too (`each` runs such jobs one
after another).

An item is either refused before anything is written for it, or written: so a
refusal needs no rollback and the other jobs of the batch still commit.
If the batch itself fails (a database error, a conflict with another relay),
it is rolled back and each job is run again in a transaction of its own, so
one job's failure never fails the others.

Two writers share that logic:

- `GroupCommit` (PostgreSQL): writer threads, each with its own queue; a
  school's jobs always go to the same writer, so our own writers never wait on
  each other's row locks, and the network round trips of different schools'
  batches overlap. The event loop hears of a committed batch once, not once a job.
- `LoopCommit` (SQLite): the jobs run on the event loop itself (SQLite
  statements take microseconds and, inside a write transaction, never wait),
  and only BEGIN and COMMIT, which may wait for the file lock or the disk, go
  to a thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from relay.errors import RelayError

T = TypeVar("T")
Many = Callable[[Any, list[Any]], list[Any]]  # (transaction, items) -> each item's answer
MAX_BATCH = 512  # jobs per transaction; a batch this big commits in a few milliseconds
RETRIES = 3  # a job run alone is tried this often (a conflict with another relay clears)


class Refused(RelayError):
    """A write the store refuses; status is the HTTP status the relay answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def each(tx: Any, runs: list[Callable[[Any], Any]]) -> list[Any]:
    """The set-based form of plain jobs: run them one after another; a refusal is an answer."""
    answers = []
    for run in runs:
        try:
            answers.append(run(tx))
        except Refused as exc:
            answers.append(exc)
    return answers


@dataclass
class _Job(Generic[T]):
    many: Many  # called once a batch with the open transaction and the items of its jobs
    item: Any
    order: str  # a batch's items reach their function sorted by this: locks taken in one order
    future: Future[T] | asyncio.Future[T]
    loop: asyncio.AbstractEventLoop | None = None  # an asyncio future's loop


def settle(future: Future[Any] | asyncio.Future[Any], answer: Any) -> None:
    """Give a future its answer: a value, or an exception (a refusal too) to raise."""
    if future.done():  # the request that waited for it is gone
        return
    if isinstance(answer, BaseException):
        future.set_exception(answer)
    else:
        future.set_result(answer)


def _settle_all(answered: list[tuple[Future[Any] | asyncio.Future[Any], Any]]) -> None:
    for future, answer in answered:
        settle(future, answer)


def _answer(batch: list[_Job[Any]], answers: list[Any]) -> None:
    """Hand each job its answer: a thread's future at once, an event loop's in one call."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
    for job, answer in zip(batch, answers, strict=True):
        if job.loop is None:
            settle(job.future, answer)
        else:
            loops.setdefault(job.loop, []).append((job.future, answer))
    for loop, answered in loops.items():
        try:
            loop.call_soon_threadsafe(_settle_all, answered)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            pass


def _run_all(tx: Any, batch: list[_Job[Any]]) -> list[Any]:
    """Each job's answer: every function called once, with all of its jobs' items."""
    groups: dict[Many, list[int]] = {}
    for index, job in enumerate(batch):
        groups.setdefault(job.many, []).append(index)
    answers: list[Any] = [None] * len(batch)
    for many, indexes in groups.items():
        for index, answer in zip(indexes, many(tx, [batch[i].item for i in indexes]), strict=True):
            answers[index] = answer
    return answers


class GroupCommit:
    """Writer threads that drain their queues, a batch per transaction.

    `transaction` opens a transaction that commits durably when its block ends
    without an exception (and rolls back otherwise). `on_batch` is told each
    committed batch's size, for the metrics.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Any]],
        *,
        writers: int = 1,
        on_batch: Callable[[int], None],
        name: str = "relay-writer",
    ) -> None:
        self._transaction = transaction
        self._on_batch = on_batch
        self._queues: list[deque[_Job[Any]]] = [deque() for _ in range(writers)]
        # One condition a writer: a job wakes its own writer only.
        self._ready = [threading.Condition() for _ in range(writers)]
        self._closing = False
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"{name}-{i}", daemon=True)
            for i in range(writers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, many: Many, item: Any, order: str = "") -> Future[Any]:
        """Queue a job; its future holds the answer once the batch that ran it has committed."""
        future: Future[Any] = Future()
        self._queue(_Job(many, item, order, future))
        return future

    async def run(self, many: Many, item: Any, order: str = "") -> Any:
        """Queue a job from the event loop; its answer once the batch has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue(_Job(many, item, order, future, loop))
        return await future

    def _queue(self, job: _Job[Any]) -> None:
        index = zlib.crc32(job.order.encode()) % len(self._queues)
        with self._ready[index]:
            if self._closing:
                raise RelayError("the store is closed")
            self._queues[index].append(job)
            self._ready[index].notify()

    def close(self) -> None:
        """Finish what is queued, then stop the writers."""
        self._closing = True
        for ready in self._ready:
            with ready:
                ready.notify_all()
        for thread in self._threads:
            thread.join()

    def _work(self, index: int) -> None:
        queue, ready = self._queues[index], self._ready[index]
        while True:
            with ready:
                while not queue and not self._closing:
                    ready.wait()
                if not queue:
                    return
                batch = [queue.popleft() for _ in range(min(len(queue), MAX_BATCH))]
            batch.sort(key=lambda job: job.order)
            self._commit(batch)

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            with self._transaction() as tx:
                answers = _run_all(tx, batch)
        except Exception:  # noqa: BLE001 - the batch failed: run each job alone
            for job in batch:
                self._alone(job)
            return
        self._on_batch(len(batch))
        _answer(batch, answers)

    def _alone(self, job: _Job[Any]) -> None:
        for attempt in range(RETRIES):
            try:
                with self._transaction() as tx:
                    (answer,) = _run_all(tx, [job])
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                if attempt == RETRIES - 1:
                    _answer([job], [exc])
                    return
                time.sleep(0.01 * (attempt + 1))  # a conflict with another relay: once more
            else:
                self._on_batch(1)
                _answer([job], [answer])
                return


class LoopCommit:
    """Group commit on the event loop, for a connection whose statements never wait (SQLite).

    `begin`, `commit` and `rollback` run in a thread (they may wait for a lock or a
    disk sync); the jobs run on the loop between them. In a writer thread, each
    statement would give up the interpreter lock and wait to get it back from the
    busy event loop: a convoy that makes a batch take many times its own work.
    When jobs queued up while a batch was committing, the same thread begins the
    next transaction at once, so a busy relay pays one thread hop per batch.
    `lock` serialises this with writes made outside the loop (tests, tools),
    which hold it for their transaction.
    """

    def __init__(
        self,
        begin: Callable[[], Any],
        commit: Callable[[], None],
        rollback: Callable[[], None],
        *,
        lock: threading.Lock,
        on_batch: Callable[[int], None],
    ) -> None:
        self._begin, self._commit, self._rollback = begin, commit, rollback
        self._lock = lock
        self._on_batch = on_batch
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        self._flushing: set[asyncio.AbstractEventLoop] = set()

    async def run(self, many: Many, item: Any, order: str = "") -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.setdefault(loop, []).append(_Job(many, item, order, future))
        if loop not in self._flushing:
            self._flushing.add(loop)
            loop.create_task(self._flush(loop))
        return await future

    async def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        tx = None
        try:
            while pending := self._pending.get(loop):
                batch, self._pending[loop] = pending[:MAX_BATCH], pending[MAX_BATCH:]
                batch.sort(key=lambda job: job.order)
                if tx is None:
                    tx = await loop.run_in_executor(None, self._enter)
                try:
                    answers = _run_all(tx, batch)
                except Exception:  # noqa: BLE001 - a job failed: roll back, run each alone
                    tx = None
                    await loop.run_in_executor(None, self._leave)
                    await self._each_alone(loop, batch)
                    continue
                try:
                    tx = await loop.run_in_executor(
                        None, self._commit_then_begin, lambda: bool(self._pending.get(loop))
                    )
                except Exception:  # noqa: BLE001 - the commit failed (rolled back)
                    tx = None
                    await self._each_alone(loop, batch)
                    continue
                self._on_batch(len(batch))
                _answer(batch, answers)
        finally:
            if tx is not None:
                await loop.run_in_executor(None, self._leave)
            self._flushing.discard(loop)
            self._pending.pop(loop, None)

    async def _each_alone(self, loop: asyncio.AbstractEventLoop, batch: list[_Job[Any]]) -> None:
        for job in batch:
            try:
                tx = await loop.run_in_executor(None, self._enter)
                try:
                    (answer,) = _run_all(tx, [job])
                except BaseException:
                    await loop.run_in_executor(None, self._leave)
                    raise
                await loop.run_in_executor(None, self._commit_then_begin, lambda: False)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                _answer([job], [exc])
            else:
                self._on_batch(1)
                _answer([job], [answer])

    # In the thread: the lock is held from _enter until a commit with nothing more to do.

    def _enter(self) -> Any:
        self._lock.acquire()
        try:
            return self._begin()
        except BaseException:
            self._lock.release()
            raise

    def _leave(self) -> None:
        try:
            self._rollback()
        finally:
            self._lock.release()

    def _commit_then_begin(self, more: Callable[[], bool]) -> Any:
        """Commit; if jobs are waiting, begin their transaction (keeping the lock)."""
        try:
            self._commit()
        except BaseException:
            self._leave()
            raise
        if more():
            try:
                return self._begin()
            except BaseException:
                self._lock.release()
                raise
        self._lock.release()
        return None
