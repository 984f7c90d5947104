"""Where replications run: in this process, in local worker processes, or on a Dask cluster.

Every executor is used through ``concurrent.futures``: ``serial`` is ``None`` (run here, in order),
``process`` a :class:`~concurrent.futures.ProcessPoolExecutor`, ``dask`` the executor of a
``dask.distributed.Client`` (``Client.get_executor()``). Results never depend on which one ran them: the
caller sorts what comes back and never relies on completion order.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, TypeVar

EXECUTORS = ("serial", "process", "dask")
LOCAL = "local"  # --dask-scheduler value that starts a local Dask cluster

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(RuntimeError):
    """An executor cannot be started (unknown name, Dask not installed, a scheduler address that does not parse
    or cannot be reached)."""


def default_jobs() -> int:
    """Cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


_ORPHAN_POLL_S = 0.5  # how soon a worker whose parent was killed notices it


def _exit_with_parent(parent: int) -> None:
    """End this worker process as soon as ``parent`` (the process that started the pool) is gone.

    A parent killed outright (``kill -9``, the OOM killer, a batch system's time limit) cannot stop its pool, and
    a pool's idle worker waits for its next task for ever: the reading end of the task queue never closes, since
    every worker holds the writing end too. Measured before this: both workers of ``--jobs 2`` were still alive
    ten minutes after their parent was killed, holding its output open. The worker is re-parented when its
    parent dies, so ``getppid`` changes; a daemon thread looks twice a second (``prctl``'s parent-death signal
    would be Linux-only, and fires when the parent's *thread* that started the worker ends).
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_ORPHAN_POLL_S)
        os._exit(1)  # the batch it runs is lost anyway: only finished batches are kept

    threading.Thread(target=watch, name="simsop-orphan-watch", daemon=True).start()


def _worker_init(parent: int) -> None:
    # Ctrl-C is the parent's to handle: it keeps the finished replications and cancels the rest. A worker
    # dying of its own KeyboardInterrupt would only break the pool on the way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the command's SIGTERM handler (an interrupt): a worker is stopped by SIGTERM.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent(parent)


def in_main_thread() -> bool:
    """Whether this is the main thread: the only one that can set signal handlers (and gets signals)."""
    import threading

    return threading.current_thread() is threading.main_thread()


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Ctrl-C (and a SIGTERM the command takes as one) is ignored inside (in the main thread; elsewhere signals
    cannot be set and none arrive).

    For the cleanup after a first interrupt: a second one, as impatient people and ``timeout -s INT`` send,
    must not cut short the manifest that says what was kept, nor a pool's shutdown, which left half done
    waits at exit for workers that never hear they may stop.
    """
    if not in_main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A second SIGTERM (a batch system repeating itself) waits too, if the command made SIGTERM an interrupt.
    term = signal.getsignal(signal.SIGTERM)
    if term not in (signal.SIG_DFL, signal.SIG_IGN, None):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if term not in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.signal(signal.SIGTERM, term)


_STOP_WAIT_S = 10.0  # ended workers and the pool's manager thread finish in moments; this bounds a wait
_MANAGER_WAIT_S = 3.0
# Pools whose manager thread did not end after their workers were stopped (see _stop_workers).
_held: list[threading.Thread] = []


def exit_held() -> bool:
    """Whether a stopped pool left a thread that will never end, so that a normal interpreter exit (which joins
    it) would hang: the command then leaves with ``os._exit`` once its files are written."""
    return any(t.is_alive() for t in _held)


def _stop_workers(ex: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now: after an interrupt the batches they are running
    would be thrown away anyway (only finished batches are kept), so there is nothing to wait for.

    The pool's own manager thread sees its workers end, reaps them and ends; it is waited for, so nothing of
    the pool is left running (a manager thread still alive would hold the interpreter at exit) and no one else
    reaps a worker while it does (an exit status taken by another thread reads as a worker still alive).
    """
    processes = list((getattr(ex, "_processes", None) or {}).values())  # CPython's pool keeps them here
    manager = getattr(ex, "_executor_manager_thread", None)
    ex.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    if manager is not None:
        manager.join(timeout=_MANAGER_WAIT_S)
        if manager.is_alive():
            # A worker ended while it wrote a result leaves a message cut short in the result pipe: the manager
            # thread waits for the rest of it forever (the pool's write end stays open here), and the interpreter
            # joins that thread at exit. Seen about once in 15 SIGTERMs on a loaded machine.
            _held.append(manager)
    for p in processes:
        p.join(timeout=_STOP_WAIT_S)
        if p.is_alive():  # a worker that does not stop on SIGTERM
            p.kill()
            p.join(timeout=_STOP_WAIT_S)


class Pool:
    """An open executor and how many tasks it runs at once (to size batches)."""

    def __init__(self, kind: str, executor: Executor | None, workers: int) -> None:
        self.kind = kind
        self.executor = executor
        self.workers = max(1, workers)


@contextmanager
def open_pool(kind: str, jobs: int | None = None, address: str | None = None) -> Iterator[Pool]:
    """Start an executor by name and close it on exit (cancelling what has not started on an error).

    Args:
        kind: ``serial``, ``process`` or ``dask``.
        jobs: worker processes for ``process`` and for a local Dask cluster (default: all cores); ignored
            for a remote Dask scheduler, whose workers are counted instead.
        address: the Dask scheduler (``tcp://host:8786``) or ``local`` (default) to start a local cluster.

    Raises:
        ExecutorError: an unknown kind, Dask not installed, or a scheduler address that does not parse or
            cannot be reached.
    """
    if kind == "serial":
        yield Pool(kind, None, 1)
    elif kind == "process":
        n = jobs or default_jobs()
        ex = ProcessPoolExecutor(max_workers=n, initializer=_worker_init, initargs=(os.getpid(),))
        try:
            yield Pool(kind, ex, n)
        except KeyboardInterrupt:
            with deferred_interrupts():
                _stop_workers(ex)
            raise
        except BaseException:
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
    elif kind == "dask":
        with _dask_pool(jobs, address) as pool:
            yield pool
    else:
        raise ExecutorError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}")


# A local cluster started here has no dashboard, so nobody reads what its workers monitor. Their statistical
# profiler samples every thread's stack every 10 ms and the monitors poll many times a second, each taking the
# GIL from the simulation. Measured with one worker (24 one-year replications of the example): a default
# worker took 13% longer than serial, 9% with the profiler off, 2% with all of these.
_QUIET_LOCAL_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "1s",
}


_ADDRESS_FORM = "expected tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786) or 'local' to start a local cluster"


def check_dask_address(address: str | None) -> None:
    """Check that Dask is installed and that a scheduler address parses (``local`` or empty: a local cluster),
    without connecting to it.

    Raises:
        ExecutorError: naming the address, what is wrong with it and what a valid one looks like.
    """
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:
        raise ExecutorError("the dask executor needs Dask: pip install 'simsop[dask]'") from None
    if address in (None, "", LOCAL):
        return
    assert address is not None
    try:
        scheme, location = parse_address(address)
        get_backend(scheme)  # an unknown scheme ("foo://")
        if scheme != "inproc":  # in-process addresses name no host; every other scheme needs host:port
            _, port = parse_host_port(location)
            if not 0 < int(port) < 65536:
                raise ValueError(f"port {port} is not between 1 and 65535")
    except ValueError as exc:
        why = str(exc).replace("invalid literal for int() with base 10", "the port is not a number")
        raise ExecutorError(f"the Dask scheduler address {address!r} does not parse ({why}); {_ADDRESS_FORM}") from None


@contextmanager
def _dask_pool(jobs: int | None, address: str | None) -> Iterator[Pool]:
    check_dask_address(address)
    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    try:
        if address in (None, "", LOCAL):
            # One single-threaded worker process per job: simulations hold the GIL.
            # Cancelled tasks on an interrupt are expected: keep Dask's warnings about them off the screen.
            with dask.config.set(_QUIET_LOCAL_CLUSTER):
                cluster = LocalCluster(n_workers=jobs or default_jobs(), threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ExecutorError(f"cannot connect to the Dask scheduler {address!r}: {exc}") from None
    except ValueError as exc:  # an address Dask parses but cannot use (an in-process one from elsewhere)
        if cluster is not None:
            cluster.close()
        raise ExecutorError(f"the Dask scheduler address {address!r} cannot be used ({exc}); "
                            f"{_ADDRESS_FORM}") from None
    try:
        workers = sum(client.nthreads().values()) or (jobs or 1)
        # pure=False: do not hash the scenario into a task key on every submit (results are pure anyway).
        ex = client.get_executor(pure=False)
        try:
            yield Pool("dask", ex, workers)
        except BaseException:
            ex.shutdown(wait=False)
            raise
        ex.shutdown(wait=True)
    finally:
        _close_quietly(client, cluster)


def _close_quietly(client: Any, cluster: Any) -> None:
    """Close a Dask client and its local cluster. Every result is in hand by now: a connection that the
    scheduler or a worker closes first while they shut down (CommClosedError, an OSError, a timeout on a
    busy machine) must not turn a finished run into a failed one."""
    from distributed.comm.core import CommClosedError

    for close in (client.close, *(() if cluster is None else (cluster.close,))):
        with contextlib.suppress(CommClosedError, OSError, TimeoutError):
            close()


def guided_batches(groups: Sequence[Sequence[int]], workers: int, cap: int = 16) -> list[tuple[int, list[int]]]:
    """Cut each group's replications into batches whose size shrinks as the work runs out.

    Guided self-scheduling: a batch is about a third of the remaining work's share of one worker, at most
    ``cap`` replications. Early batches are large (dispatch and the returned series stay small against the
    work); the last ones hold a single replication, so no worker is left alone finishing a big batch while
    the others idle. Executors start tasks in the order they were submitted, so the order matters.

    Args:
        groups: the replication indices of each group (a group never shares a batch with another).
        workers: tasks that run at once.
        cap: the largest batch (also bounds what an interruption can lose, and the granularity of progress).

    Returns:
        ``(group index, replications)`` per batch, in submission order; the groups' replications in order.
    """
    left = sum(len(g) for g in groups)
    out: list[tuple[int, list[int]]] = []
    for gi, reps in enumerate(groups):
        i = 0
        while i < len(reps):
            size = max(1, min(cap, math.ceil(left / (3 * max(workers, 1)))))
            chunk = list(reps[i:i + size])
            out.append((gi, chunk))
            i += len(chunk)
            left -= len(chunk)
    return out


def run_tasks(pool: Pool, fn: Callable[[T], R], tasks: Sequence[T], on_result: Callable[[T, R], None]) -> None:
    """Run ``fn(task)`` for every task and hand each result to ``on_result(task, result)`` in this process.

    Results come in completion order (in task order when serial). If ``fn`` raises, the tasks not started are
    cancelled, those already running are still handed over as they finish (their work is done by then, and a
    resume need not do it again), and then the first exception propagates. If ``on_result`` raises, or a
    KeyboardInterrupt comes, the tasks not started are cancelled and it propagates at once. The results
    already handed over stay handed over.
    """
    if pool.executor is None:
        for task in tasks:
            on_result(task, fn(task))
        return
    futures: dict[Future[R], T] = {pool.executor.submit(fn, t): t for t in tasks}
    failed: BaseException | None = None
    try:
        for fut in as_completed(futures):
            if fut.cancelled():
                continue
            exc = fut.exception()
            if exc is not None:
                if failed is None:
                    failed = exc
                    for f in futures:
                        f.cancel()
                continue
            on_result(futures[fut], fut.result())
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    if failed is not None:
        raise failed
