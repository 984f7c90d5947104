#!/usr/bin/env python
"""Profile one replication of a scenario: where does the time of a replication go?

    python benchmarks/profile.py                        # the example company, its own S&OP policy
    python benchmarks/profile.py --policy none --top 30
    python benchmarks/profile.py --out /tmp/rep.prof    # also save the cProfile data (snakeviz, pstats)

One untimed replication runs first (lazy imports, caches), then one replication under cProfile. It prints the
replication's wall time without the profiler and its events, the top functions by cumulative and by own
(total) time, the own time summed by source file, and, when pyinstrument is installed (``--no-pyinstrument``
to skip), pyinstrument's call tree of the same replication: a sampling profiler, so it does not inflate the
many small calls the way cProfile does.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
# This file is named profile.py: with benchmarks/ first on sys.path (`python benchmarks/profile.py`), the
# `import profile` inside cProfile would load this file instead of the standard library's module.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)

import cProfile  # noqa: E402  (after the sys.path fix above)
import pstats  # noqa: E402

SCENARIO = REPO_ROOT / "scenarios" / "example_company.yaml"


def _short(filename: str) -> str:
    """A readable file name: simsop/... or the package path inside site-packages."""
    p = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in p:
            tail = p.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" and "/" in tail else tail
    root = str(REPO_ROOT).replace("\\", "/") + "/"
    return p[len(root):] if p.startswith(root) else p


def by_file(stats: pstats.Stats) -> list[tuple[str, float, int]]:
    """Own time and calls summed by source file, largest first."""
    own: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for (filename, _line, _name), (_cc, nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = _short(filename) if filename != "~" else "(built-ins)"
        own[key] += tt
        calls[key] += nc
    return sorted(((k, v, calls[k]) for k, v in own.items()), key=lambda x: -x[1])


def top(prof: cProfile.Profile, sort: str, n: int) -> str:
    buf = io.StringIO()
    s = pstats.Stats(prof, stream=buf)
    s.sort_stats(sort).print_stats(n)
    text = buf.getvalue()
    # Keep the table only (drop the header's totals, printed separately), with shorter file names.
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    out = []
    for ln in lines[start:]:
        if not ln.strip():
            continue
        head, sep, rest = ln.rpartition(" ")
        if "(" in rest and ":" in rest and not rest.startswith("{"):
            fname, _, func = rest.partition(":")
            rest = f"{_short(fname)}:{func}"
        out.append(f"{head}{sep}{rest}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(SCENARIO), help="scenario file (default: the example)")
    ap.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    ap.add_argument("--replication", type=int, default=0)
    ap.add_argument("--policy", help="planning policy (default: the scenario's); 'none' for no S&OP cycle")
    ap.add_argument("--top", type=int, default=25, help="functions listed per table")
    ap.add_argument("--out", type=Path, help="save the cProfile data here (.prof)")
    ap.add_argument("--no-pyinstrument", action="store_true", help="skip the pyinstrument tree")
    args = ap.parse_args(argv)

    from simsop.replication import run_replication
    from simsop.scenario import load_scenario

    sc = load_scenario(args.scenario)
    seed = sc.seed if args.seed is None else args.seed
    kw: dict[str, Any] = {"seed": seed, "replication": args.replication, "policy": args.policy}
    policy = sc.planning.policy if args.policy is None else args.policy

    run_replication(sc, **kw)  # warm-up: lazy imports and caches are not the replication's cost
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = run_replication(sc, **kw)
        walls.append(time.perf_counter() - t0)
    wall = min(walls)

    prof = cProfile.Profile()
    prof.enable()
    run_replication(sc, **kw)
    prof.disable()
    if args.out:
        prof.dump_stats(str(args.out))
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]

    print(f"{sc.name}: {sc.horizon} days, {len(sc.products)} products, {len(sc.warehouses)} warehouses, "
          f"policy {policy}; seed {seed}, replication {args.replication}")
    print(f"wall time without the profiler: {wall:.3f} s (best of 3); {res.events:,} events "
          f"(simsop's count) = {1e6 * wall / max(res.events, 1):.1f} µs/event")
    print(f"under cProfile: {total:.3f} s ({total / wall:.1f}x: cProfile charges every Python call)\n")

    print(f"== top {args.top} by cumulative time ==")
    print(top(prof, "cumulative", args.top))
    print(f"\n== top {args.top} by total (own) time ==")
    print(top(prof, "tottime", args.top))
    print("\n== own time by source file ==")
    for name, own, calls in by_file(stats)[: args.top]:
        print(f"{100 * own / total:6.1f}%  {own:7.3f} s  {calls:>9,} calls  {name}")

    if not args.no_pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("\n(pyinstrument is not installed: pip install pyinstrument for a sampled call tree)")
        else:
            profiler = Profiler(interval=0.0005)
            profiler.start()
            run_replication(sc, **kw)
            profiler.stop()
            print("\n== pyinstrument (sampled every 0.5 ms) ==")
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
