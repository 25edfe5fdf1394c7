"""Where block tasks run: local threads by default, a Dask cluster on request.

Steps express their work as a pure function of one :class:`~reddplus.raster.windows.Block`
that opens its inputs *by path* (so it can run on any worker that sees the same
files), and consume the results as they complete. Only a bounded number of tasks
is in flight at a time, so memory stays bounded whatever the raster size.

* ``scheduler=None``: a local thread pool (numpy, numba and GDAL release the GIL).
* ``scheduler="tcp://host:8786"``: a ``dask.distributed`` cluster; the same
  functions are submitted to it. reddplus does not schedule anything itself.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def map_blocks(
    func: Callable[[Any], T],
    items: Iterable[Any],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    max_in_flight: int | None = None,
    progress: Callable[[int], None] | None = None,
    ordered: bool = False,
) -> Iterator[tuple[Any, T]]:
    """Apply ``func`` to each item (a block), yielding ``(item, result)`` as tasks complete.

    Parameters
    ----------
    func : callable
        Pure function of one item; must be picklable for a distributed scheduler.
    items : iterable
        Usually ``iter_blocks(...)``.
    scheduler : str, optional
        Address of a Dask distributed scheduler; ``None`` runs on local threads.
    workers : int, optional
        Local threads (default: available cores).
    max_in_flight : int, optional
        Bound on submitted-but-unconsumed tasks (default: 2 x workers).
    progress : callable, optional
        Called with 1 after each completed item.
    ordered : bool
        Yield in the order of ``items`` instead of completion order, so that a reduction (a float
        sum over blocks) gives the same bits on every run. At most ``max_in_flight`` results are
        held (the later ones wait for the earliest), so memory stays bounded.
    """
    workers = workers or default_workers()
    max_in_flight = max_in_flight or 2 * workers
    if scheduler:
        run = _map_distributed_ordered if ordered else _map_distributed
        yield from run(func, items, scheduler, max_in_flight, progress)
        return
    if workers == 1:
        for item in items:
            result = func(item)
            if progress:
                progress(1)
            yield item, result
        return
    if ordered:
        yield from _map_threads_ordered(func, items, workers, max_in_flight, progress)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reddplus-block") as pool:
        pending: dict = {}
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_in_flight:
                try:
                    item = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(func, item)] = item
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                result = fut.result()
                if progress:
                    progress(1)
                yield item, result


def _map_threads_ordered(func, items, workers, max_in_flight, progress):
    """Local threads, results in submission order (a FIFO of at most ``max_in_flight`` futures)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reddplus-block") as pool:
        queue: deque = deque()
        it = iter(items)
        try:
            for item in it:
                queue.append((item, pool.submit(func, item)))
                if len(queue) >= max_in_flight:
                    break
            while queue:
                item, fut = queue.popleft()
                result = fut.result()
                nxt = next(it, _END)
                if nxt is not _END:
                    queue.append((nxt, pool.submit(func, nxt)))
                if progress:
                    progress(1)
                yield item, result
        finally:
            for _, fut in queue:
                fut.cancel()


_END = object()


def _map_distributed_ordered(func, items, address, max_in_flight, progress):
    """Dask futures, results in submission order (a FIFO of at most ``max_in_flight`` futures)."""
    from distributed import Client

    log.info("submitting block tasks to the Dask scheduler at %s (ordered)", address)
    with Client(address) as client:
        queue: deque = deque()
        it = iter(items)
        for item in it:
            queue.append((item, client.submit(func, item, pure=False)))
            if len(queue) >= max_in_flight:
                break
        while queue:
            item, fut = queue.popleft()
            result = fut.result()
            fut.release()
            nxt = next(it, _END)
            if nxt is not _END:
                queue.append((nxt, client.submit(func, nxt, pure=False)))
            if progress:
                progress(1)
            yield item, result


def _map_distributed(func, items, address, max_in_flight, progress):
    from distributed import Client, as_completed

    log.info("submitting block tasks to the Dask scheduler at %s", address)
    with Client(address) as client:
        it = iter(items)
        owner: dict = {}
        first = []
        for item in it:
            fut = client.submit(func, item, pure=False)
            owner[fut.key] = item
            first.append(fut)
            if len(first) >= max_in_flight:
                break
        if not first:
            return
        ac = as_completed(first)
        for fut in ac:
            item = owner.pop(fut.key)
            result = fut.result()
            fut.release()
            if progress:
                progress(1)
            yield item, result
            nxt = next(it, None)
            if nxt is not None:
                f2 = client.submit(func, nxt, pure=False)
                owner[f2.key] = nxt
                ac.add(f2)
