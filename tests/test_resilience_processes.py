"""What an experiment leaves running when its process is killed outright, or interrupted late."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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



@pytest.mark.parametrize("executor", [("--executor", "serial"), ("--executor", "process", "--jobs", "2")])
def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path: Path, executor: tuple[str, ...]) -> None:
    """A batch system's time limit or `timeout` sends SIGTERM: the run ended at once, mid-write, and its manifest
    still said 'running'. It now stops as on Ctrl-C: the finished replications are kept, the manifest says
    interrupted, the message says how to resume, and the exit status is 128 + 15."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "simsop.cli", "run",
                             str(root / "scenarios" / "textbook_base_stock.yaml"), "-n", "400", "--no-report",
                             *executor, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=root)
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and not list((out / "partial").glob("*.npz")):
            time.sleep(0.05)
        assert list((out / "partial").glob("*.npz")), "no batch finished in time"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and f"--resume {out}" in err
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "interrupted" and man["finished_replications"] > 0


def test_a_stopped_pool_whose_manager_thread_cannot_end_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker ended while it wrote a result leaves the pool's manager thread waiting forever for the rest of
    the message, and a normal exit joins that thread: `simsop run` hung after its SIGTERM message (about once
    in 15 on a loaded machine). _stop_workers tells such a thread from one that ends, so the command can leave
    with os._exit once its files are written (a thread that ends is not held)."""
    import os
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from simsop import executors

    monkeypatch.setattr(executors, "_MANAGER_WAIT_S", 0.2)
    ex = ProcessPoolExecutor(max_workers=1, initializer=executors._worker_init, initargs=(os.getpid(),))
    assert ex.submit(int, "7").result() == 7
    pool = vars(ex)  # CPython's pool keeps its manager thread here, as _stop_workers reads it
    real = pool["_executor_manager_thread"]
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, daemon=True)  # a manager blocked for good, as in the hang
    stuck.start()
    pool["_executor_manager_thread"] = stuck
    try:
        executors._stop_workers(ex)
        assert executors.exit_held()
    finally:
        release.set()
        stuck.join(5)
        assert real is not None
        real.join(10)
        executors._held.clear()
    assert not executors.exit_held()
    # A pool stopped the ordinary way leaves nothing held.
    ex2 = ProcessPoolExecutor(max_workers=1, initializer=executors._worker_init, initargs=(os.getpid(),))
    assert ex2.submit(int, "8").result() == 8
    executors._stop_workers(ex2)
    assert not executors.exit_held()
