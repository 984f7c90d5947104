"""Replications per second of the experiment runner on each executor, and the speed-up over serial.

    python benchmarks/executors.py [SCENARIO] [-n 40] [--policy none] [--executors serial,process,dask]

Runs the same experiment (same seed) on every executor, checks that ``kpis.csv`` is byte-identical, and
prints the wall time, replications per second and speed-up against ``serial``. The time includes starting
the executor (a process pool forks at once; a local Dask cluster takes a second or two), as a user sees it.
On this project's 2-core machine the process executor should be at least 1.8x faster than serial. Results
go to ``results/bench/executors-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def main() -> None:
    import simsop
    from simsop.executors import default_jobs
    from simsop.experiment import run_experiment

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", nargs="?", default=str(Path(__file__).parent.parent / "scenarios"
                                                        / "example_company.yaml"))
    ap.add_argument("-n", "--replications", type=int, default=40)
    ap.add_argument("--policy", default="none")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--executors", default="serial,process,dask")
    args = ap.parse_args()

    sc = simsop.load_scenario(args.scenario)
    jobs = args.jobs or default_jobs()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.executors.split(","):
            if kind == "dask":
                try:
                    import dask.distributed  # noqa: F401
                except ImportError:
                    print("dask: not installed (pip install 'simsop[dask]'), skipped")
                    continue
            t0 = time.perf_counter()
            run_experiment(sc, [args.policy], replications=args.replications, seed=args.seed, executor=kind,
                           jobs=jobs, out=Path(tmp) / kind)
            wall = time.perf_counter() - t0
            out[kind] = {"seconds": wall, "replications_per_second": args.replications / wall}
        kpis = {k: (Path(tmp) / k / "kpis.csv").read_bytes() for k in out}
    identical = len(set(kpis.values())) <= 1
    base = out.get("serial", {}).get("seconds")
    print(f"{sc.name}: {args.replications} replications of policy {args.policy!r}, {jobs} jobs, "
          f"{platform.processor() or platform.machine()}")
    for kind, r in out.items():
        speedup = f"{base / r['seconds']:.2f}x" if base else "-"
        print(f"  {kind:8s} {r['seconds']:7.2f} s  {r['replications_per_second']:6.2f} repl/s  speed-up {speedup}")
        r["speedup"] = base / r["seconds"] if base else float("nan")
    print(f"  kpis.csv identical on every executor: {identical}")
    dest = Path("results") / "bench" / f"executors-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({"scenario": sc.name, "replications": args.replications, "policy": args.policy,
                                "jobs": jobs, "identical": identical, "executors": out}, indent=2) + "\n")
    print(f"  written: {dest}")


if __name__ == "__main__":
    main()
