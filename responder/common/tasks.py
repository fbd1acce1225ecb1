"""Named, referenced background tasks whose failures are logged, never lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a stop waits for a cancelled task to end. A task ends within a loop iteration or
# two of its cancellation unless something swallows it: Python 3.11's asyncio.wait_for does
# when what it waits for finishes in the same iteration (CPython gh-86296, fixed in 3.12).
ENDING = 2.0


async def cancel(tasks: Collection[asyncio.Task[Any]], timeout: float = ENDING) -> None:
    """Cancel `tasks` and wait up to `timeout` for them to end; one still running then
    ignored its cancellation: a warning names it and where it waits, and the stop goes on
    (asyncio.gather would wait for it for ever, and the stop with it)."""
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    _, running = await asyncio.wait(tasks, timeout=timeout)
    for task in running:
        frames = task.get_stack(limit=1)
        at = f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
        log.warning(
            "task %s did not end within %.0fs of its cancellation (at %s)",
            task.get_name(),
            timeout,
            at,
        )


class TaskGroup:
    """Keeps a strong reference to every task (asyncio keeps only weak ones) and logs a task
    that dies with an exception, so no failure disappears with an orphan task."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self, timeout: float = ENDING) -> None:
        """Cancel every task and wait, up to `timeout`, for them to end (see cancel())."""
        await cancel(list(self._tasks), timeout)
