"""What an experiment leaves running when its process is killed outright, or interrupted late."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

_POOL = """
import os, sys, time
from simsop.executors import open_pool
with open_pool("process", 2) as pool:
    pids = set()
    while len(pids) < 2:  # both workers started and idle, waiting for their next task
        pids |= {f.result() for f in [pool.executor.submit(os.getpid) for _ in range(4)]}
    print(*sorted(pids), flush=True)
    time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """Ended (a zombie waiting for init to reap it counts: it runs nothing and holds no file)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_workers_of_a_killed_run_end_with_it() -> None:
    """kill -9 of a run (the OOM killer, a batch system's time limit) cannot stop its pool; its idle workers waited
    for the next task for ever (both workers of --jobs 2 were alive 10 minutes later, holding the run's output
    open). Each now ends within a second of its parent."""
    proc = subprocess.Popen([sys.executable, "-c", _POOL], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        assert proc.stdout is not None
        workers = [int(x) for x in proc.stdout.readline().split()]
        assert len(workers) == 2
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not all(_gone(p) for p in workers):
            time.sleep(0.1)
        assert all(_gone(p) for p in workers), f"workers {workers} outlived their killed parent"
    finally:
        for pid in workers:  # re-parented to init: the suite's own check would not see them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

