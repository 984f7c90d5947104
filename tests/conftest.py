"""Every test leaves no process and no thread behind.

A worker process that outlives the test suite keeps the suite's output open, so whoever reads it (CI) waits
for it for ever although every test passed; a thread that is not a daemon keeps the interpreter from exiting.
Each test is checked when it ends: what it started and left running fails it, named, and is ended. When the
session ends, whatever is still running below it is ended too, so a leak costs a failed test, never a hang.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

_GRACE_S = 10.0  # processes and pools that are closing get this long to finish on their own


def _process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, read from /proc."""
    table: dict[int, tuple[int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # it ended while we looked
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), fields[0], cmd[:200])
    return table


def _resource_tracker_pid() -> int | None:
    # multiprocessing's one helper per session: it ends by itself once the processes that can reach it end.
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


def _running_descendants() -> dict[int, str]:
    """Processes below this one that still run (zombies have ended; the resource tracker is expected)."""
    if not sys.platform.startswith("linux"):
        return {}
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        _, state, cmd = table[pid]
        if state not in ("Z", "X"):
            found[pid] = cmd
    found.pop(_resource_tracker_pid() or -1, None)
    return found


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()}


def _end(pids: dict[int, str]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and set(pids) & set(_running_descendants()):
            time.sleep(0.05)


def _left_behind(before_pids: set[int], before_threads: set[threading.Thread],
                 ) -> tuple[dict[int, str], set[threading.Thread]]:
    """What this test started and has not ended, after the grace time."""
    deadline = time.monotonic() + _GRACE_S
    while True:
        pids = {pid: cmd for pid, cmd in _running_descendants().items() if pid not in before_pids}
        threads = _live_threads() - before_threads
        if not (pids or threads) or time.monotonic() > deadline:
            return pids, threads
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    before_pids = set(_running_descendants())
    before_threads = _live_threads()
    yield
    pids, threads = _left_behind(before_pids, before_threads)
    if pids:
        _end(pids)
    if pids or threads:
        lines = [f"process {pid}: {cmd}" for pid, cmd in sorted(pids.items())]
        lines += [f"thread {t.name!r} (not a daemon)" for t in threads]
        pytest.fail("the test left these running " + f"{_GRACE_S:.0f} s after it ended:\n  " + "\n  ".join(lines),
                    pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing below the test run may outlive it: a process left running would hold its output open."""
    left = _running_descendants()
    if left:
        _end(left)
        sys.stderr.write("simsop tests: ended processes still running at the end of the session:\n"
                         + "".join(f"  {pid}: {cmd}\n" for pid, cmd in sorted(left.items())))


def pytest_unconfigure(config: pytest.Config) -> None:
    """A thread that is not a daemon would keep the interpreter from exiting after the summary is printed; the
    test that left it has already failed, so leave now with that status instead of waiting for ever."""
    deadline = time.monotonic() + _GRACE_S
    while _live_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    threads = _live_threads()
    if threads:
        sys.stderr.write("simsop tests: threads still running at exit: "
                         + ", ".join(repr(t.name) for t in threads) + "; leaving without them\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
