"""Wrong case codes are answered slowly, in memory only; a right code is never held back.

A case code has 80 bits, so guessing one online is hopeless anyway; this makes
it slower still and keeps guessers from using the relay as a fast oracle. The
relay first checks the token; only a failure is delayed, by the failures seen
recently for that case and overall; when too many failures are already
waiting, the next waits the longest delay. Every failure gets the same answer
(a wrong code's), never sooner than a wrong code would: an instant refusal
would tell a student's typo that the relay is under attack. Nothing here is written anywhere, and
no address is involved: a student on a shared school network is never locked
out by someone else's mistakes.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 600.0
FREE_FAILURES = 3  # per case, per window: typing mistakes cost nothing
BASE_DELAY = 0.25
MAX_DELAY = 8.0
MAX_TRACKED = 50_000
MAX_WAITING = 64  # failed requests waiting out their delay at once


class FailedCodes:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        free_failures: int = FREE_FAILURES,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._per_case: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._overall: deque[float] = deque(maxlen=10_000)
        self.max_waiting = max_waiting
        self.waiting = 0

    def failure_delay(self, case_id: str) -> float:
        """Record a failure; the seconds to wait before answering it."""
        now = self._clock()
        started, count = self._per_case.pop(case_id, (now, 0))
        if now - started > WINDOW_SECONDS:
            started, count = now, 0
        self._per_case[case_id] = (started, count + 1)
        while len(self._per_case) > MAX_TRACKED:
            self._per_case.popitem(last=False)
        while self._overall and now - self._overall[0] > WINDOW_SECONDS:
            self._overall.popleft()
        self._overall.append(now)
        if self.waiting >= self.max_waiting:
            return MAX_DELAY
        extra = max(count + 1 - self._free, 0) + len(self._overall) // 100
        return 0.0 if extra == 0 else min(BASE_DELAY * 2 ** min(extra, 8), MAX_DELAY)
