"""A Dask worker that dies in the middle of an experiment (a node lost, the OOM killer): its batches run again
elsewhere, and the experiment's files are the ones a serial run writes, byte for byte."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from simsop.experiment import run_experiment
from tests.test_experiment import FILES, same_files, small

REPLICATIONS = 40


def test_a_dask_worker_killed_mid_run_loses_nothing_and_changes_nothing(tmp_path: Path) -> None:
    """kill -9 of one of two workers once the first batch is in and most are still to come, so the worker holds
    work (batches are queued on workers ahead of time): the scheduler's nanny restarts it, the lost batches run
    again, and since a replication is a pure function of (scenario, policy, seed, index) every file is the serial
    run's. The kill is asserted to have happened mid-run, so the test cannot pass without testing it."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        pids = sorted(client.run(os.getpid).values())
        assert len(pids) == 2
        killed: list[tuple[int, int]] = []

        def progress(done: int, planned: int) -> None:
            if done and not killed and done < planned // 2:
                os.kill(pids[0], signal.SIGKILL)
                killed.append((done, planned))

        run_experiment(small(), ["none"], REPLICATIONS, seed=3, executor="dask",
                       dask_scheduler=cluster.scheduler_address, out=tmp_path / "dask", progress=progress)
        assert killed, "the worker was never killed: the run ended before its first progress report"
        assert pids[0] not in client.run(os.getpid).values()  # it died (the nanny started a new process)
    finally:
        client.close()
        cluster.close()
    run_experiment(small(), ["none"], REPLICATIONS, seed=3, executor="serial", out=tmp_path / "serial")
    written = tuple(name for name in FILES if (tmp_path / "serial" / name).exists())
    assert {"kpis.csv", "summary.json", "series.csv"} <= set(written)
    same_files(tmp_path / "serial", tmp_path / "dask", written)
