"""Run one piece of work in a forked child and read its wall time and peak resident memory.

A forked child starts with the parent's pages (imports done, GX context built), so its
`ru_maxrss` is the high-water mark of that start plus whatever the work itself allocated, and no
earlier stage's peak hides a later one's, as it would with deltas of one process's maxrss.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass
class Measured:
    """Wall seconds and peak RSS of one run of a function, with its result or its error."""

    seconds: float
    peak_mib: float
    result: Any = None
    error: str | None = None


def rss_mib() -> float:
    """This process's current resident set (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / MIB


def peak_mib() -> float:
    """The high-water resident set of this process or its largest waited-for child (KiB → MiB).

    Children count for work that starts processes of its own (a backfill with jobs=2).
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


class TreeMemory:
    """Samples the resident memory of this process and all its descendants from /proc.

    `ru_maxrss` of children only counts processes that were waited for; a Dagster multiprocess
    run's workers are grandchildren under a forkserver, so a backfill's memory is sampled.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_total_mib = 0.0
        self.peak_process_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.wait(self.interval):
            sizes = _tree_rss(root)
            self.peak_total_mib = max(self.peak_total_mib, sum(sizes))
            self.peak_process_mib = max(self.peak_process_mib, max(sizes, default=0.0))


def _tree_rss(root: int) -> list[float]:
    """RSS in MiB of `root` and every process descended from it."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    page = resource.getpagesize() / MIB
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return [rss[p] for p in tree if p in rss]


def _child(
    conn: Connection, work: Callable[..., Any], args: tuple[Any, ...], log: Path | None
) -> None:
    if log is not None:  # Dagster logs every event to stderr: keep the harness's output readable
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            os.dup2(sink.fileno(), 2)
    start = time.perf_counter()
    try:
        result, error = work(*args), None
    except Exception as exc:
        result, error = None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
    seconds = time.perf_counter() - start
    conn.send(Measured(seconds, peak_mib(), result, error))
    conn.close()


def in_child(work: Callable[..., Any], *args: Any, log: Path | None = None) -> Measured:
    """`work(*args)` in a forked child: its seconds, peak memory and picklable result.

    With `log`, the child's stderr goes to that file.
    """
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(send, work, args, log))
    process.start()
    send.close()
    try:
        measured: Measured = receive.recv()
    except EOFError:
        measured = Measured(float("nan"), float("nan"), error="child died without a result")
    process.join()
    if process.exitcode not in (0, None) and measured.error is None:
        measured.error = f"child exited with {process.exitcode}"
    return measured
