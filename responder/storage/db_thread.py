"""The database thread: one unit of work at a time, send results ahead of the rest."""

from __future__ import annotations

import functools
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")

URGENT, ORDINARY, LAST = 0, 1, 2
_Item = tuple[int, int, Callable[[], Any] | None, Future[Any] | None]


class DatabaseThread(Executor):
    """Runs submitted units one at a time in a thread of its own, in the order they came,
    except that an urgent unit goes before every ordinary one still waiting.

    Why urgent: a sender waits for the mark of the reply it just sent to be committed
    before it sends the next one (the crash window, services/recorder.py). Behind a
    burst's queue of record and apply units, each mark waited for all of them, and
    replies went out a few per second while the burst was being decided (issue 15).
    """

    def __init__(self, name: str = "database") -> None:
        self._queue: queue.PriorityQueue[_Item] = queue.PriorityQueue()
        self._order = itertools.count()
        self._closed = False
        # A daemon thread: an interpreter that exits without close() is not held up by it,
        # and a unit cut off mid-transaction is rolled back by the database, as after kill -9.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._put(ORDINARY, functools.partial(fn, *args, **kwargs))

    def submit_urgent(self, fn: Callable[[], T]) -> Future[T]:
        return self._put(URGENT, fn)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop once every unit already submitted has run (cancel_futures is not offered)."""
        if not self._closed:
            self._closed = True
            self._queue.put((LAST, next(self._order), None, None))
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def _put(self, priority: int, fn: Callable[[], T]) -> Future[T]:
        if self._closed:
            raise RuntimeError("the database thread is shut down")
        future: Future[T] = Future()
        self._queue.put((priority, next(self._order), fn, future))
        return future

    def _run(self) -> None:
        while True:
            _, _, fn, future = self._queue.get()
            if fn is None or future is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:  # handed to the awaiting caller, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)
