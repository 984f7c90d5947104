"""Time the peer libraries SupplyNetPy and stockpyl on the nearest model each can express.

The peers are *not* dependencies of simsop: :func:`ensure_venv` creates (once, then cached) a private
virtual environment under ``results/bench/peers-venv`` with ``pip install numpy supplynetpy stockpyl``, and
every measurement runs in a fresh subprocess of that environment's Python, which prints JSON. Nothing from
the peers is imported into this process. If the venv cannot be created, a package cannot be installed or a
model fails, the row for it carries an ``error`` string instead of figures: the benchmark degrades, it never
raises.

Equivalent simsop scenarios (build the simsop side to match these exactly)
--------------------------------------------------------------------------
Common to both: one item; time unit 1 day; horizon 365 days (days t = 0..364); deterministic lead times;
an unlimited external supplier that always ships a whole order at once; unmet customer demand is
*backordered* (served first-come-first-served from later receipts, partial fills allowed); one replication =
build the model + simulate the 365 days with a fresh random seed (costs do not matter for timing; the peers
got holding cost 1 per unit-day and stockout/backorder cost 10 per unit-day).

Scenario A, "single warehouse, (s,S)":
  * One warehouse W, replenished from the unlimited supplier.
  * Demand: one customer order per day, placed at time t (start of day t), of size D_t ~ Poisson(mean 10),
    i.i.d. over days (about 3,650 units a year).
  * Policy: (s,S) with s = 20, S = 60 on the inventory position IP = on hand + on order - backorders, checked
    right after each day's demand (equivalently: continuous review, since demand arrives once a day): if
    IP <= 20, order 60 - IP units. No order-size limit, no capacity limit.
  * Lead time 2 days: an order placed on day t (after day t's demand) is received at time t + 2, before day
    t + 2's demand is served (so it can serve day t + 2's demand).
  * Initial state: 60 on hand, nothing on order, no backorders.
  * Variant A-unit (timed on SupplyNetPy only, to show the per-customer cost of a DES): the same, except that
    demand is a Poisson process of single-unit orders at rate 10/day (exponential inter-arrival times, mean
    0.1 day) and (s,S) is reviewed after every unit demanded (about 3,650 customer orders a year).

Scenario B, "three-stage serial chain, base-stock":
  * Stages in series: unlimited supplier -> stage 3 (upstream warehouse) -> stage 2 (distributor) -> stage 1
    (retailer). Customer demand only at stage 1: one order per day, D_t ~ Poisson(mean 10), backordered.
  * Every stage follows a local base-stock policy: each day, after that day's demand (stage 1) or incoming
    orders (stages 2, 3) are known, order S_i - IP_i from its upstream neighbour, where IP_i = on hand +
    in transit to i - backorders owed by i. Base-stock levels S_3 = 30, S_2 = 30, S_1 = 40.
  * Shipping lead time 2 days on each of the three links (supplier->3, 3->2, 2->1); orders are transmitted
    instantly. A stage short of stock backorders its downstream stage's order and ships it as stock arrives.
  * Initial state: each stage holds its base-stock level on hand, nothing in transit, no backorders.

How each peer expresses these (see ``_WORKER`` for the code)
-------------------------------------------------------------
* SupplyNetPy (continuous-time SimPy DES): an ``infinite_supplier`` node, ``InventoryNode``s with
  ``SSReplenishment`` (period 0 = check at every inventory drop, i.e. after each demand), ``Link``s with
  ``lead_time=lambda: 2``, and a ``Demand`` with ``order_arrival_model=lambda: 1`` and
  ``order_quantity_model`` drawing Poisson(10); ``tolerance=inf`` and a tiny ``order_min_split_ratio`` make
  short customers wait and take partial deliveries (backorders). Base-stock is ``SSReplenishment`` with
  s = S - 1 (all quantities are integers, so "IP <= S - 1" is "IP < S"). Timed: ``create_sc_net`` (build) +
  ``simulate_sc_net(net, sim_time=365, logging=False)`` (run).
* stockpyl (periodic-review simulator, ``stockpyl.sim``): ``single_stage_system`` with ``policy_type='sS'``
  and ``serial_system(3, ...)`` with ``policy_type='BS'``, ``demand_type='P'`` (Poisson),
  ``shipment_lead_time=2``. Timed: network construction (build) + ``simulation(net, 365, rand_seed=...,
  progress_bar=False, consistency_checks='N')`` (run).

Caveats (semantics that differ from the textbook or from each other)
--------------------------------------------------------------------
* SupplyNetPy rejects order quantities <= 0, so a zero-demand day (probability e^-10, about 4.5e-5) is drawn
  as 1 unit there; simsop and stockpyl keep true Poisson draws.
* SupplyNetPy serves a new customer from stock even while an earlier short customer is still waiting, so its
  backorders are not strictly FIFO; and a stage ships a downstream *replenishment* order only when it can
  ship it in full (simpy ``Container.get``), while stockpyl ships partial quantities.
* stockpyl's ``Policy.validate_parameters`` has the (s,S) check inverted (it rejects s <= S), but
  ``stockpyl.sim`` never calls it, so the (s,S) simulation itself is textbook.
* Import time is measured in a fresh interpreter; it includes what each peer imports (SupplyNetPy imports
  matplotlib and networkx, stockpyl imports scipy and its bundled instances).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = REPO_ROOT / "results" / "bench" / "peers-venv"
PACKAGES = ("numpy", "supplynetpy", "stockpyl")
STATE_FILE = "bench-install.json"
JSON_TAG = "@@BENCH-JSON@@"

PEERS: dict[str, dict[str, str]] = {
    "supplynetpy": {"package": "supplynetpy", "import": "import SupplyNetPy.Components"},
    "stockpyl": {"package": "stockpyl", "import": "import stockpyl.sim, stockpyl.supply_chain_network"},
}

# (peer, model id) pairs in the order they are reported.
MODELS: tuple[tuple[str, str], ...] = (
    ("supplynetpy", "a"),
    ("supplynetpy", "a_unit"),
    ("supplynetpy", "b"),
    ("stockpyl", "a"),
    ("stockpyl", "b"),
)

NOTES: dict[tuple[str, str], str] = {
    ("supplynetpy", "a"): (
        "infinite_supplier -> warehouse (SSReplenishment s=20 S=60, continuous review at each drop, "
        "initial 60) via Link lead_time 2; Demand every 1 day of max(1, Poisson(10)) units, tolerance=inf "
        "with partial deliveries (backorders); 365 days"
    ),
    ("supplynetpy", "a_unit"): (
        "as model a, but demand is a Poisson process of 1-unit orders, exponential inter-arrival mean "
        "0.1 day (~3,650 customers/year); 365 days"
    ),
    ("supplynetpy", "b"): (
        "infinite_supplier -> warehouse -> distributor -> retailer, each SSReplenishment s=S-1 (base-stock) "
        "with S=30/30/40, links lead_time 2; daily max(1, Poisson(10)) demand at the retailer, backordered; "
        "365 days"
    ),
    ("stockpyl", "a"): (
        "single_stage_system, policy_type='sS' reorder_point=20 order_up_to_level=60, demand_type='P' "
        "mean 10, shipment_lead_time=2, initial_inventory_level=60, periodic review each day; 365 periods"
    ),
    ("stockpyl", "b"): (
        "serial_system(3), policy_type='BS' local base_stock_level=[30, 30, 40] (upstream->retailer), "
        "demand_type='P' mean 10 at the retailer, shipment_lead_time=2 at every stage; 365 periods"
    ),
}

# The timing script run inside the venv. argv[1] is a JSON dict {peer, model, reps, seed}; it prints one line
# JSON_TAG + JSON with per-replication build/run times (after one untimed warm-up) and sanity statistics.
_WORKER = textwrap.dedent(
    """
    import contextlib, json, sys, time, traceback, warnings
    from importlib.metadata import version

    TAG = "@@BENCH-JSON@@"
    HORIZON = 365


    def snp_models():
        import numpy as np
        import SupplyNetPy.Components as scm

        def demand(rng, unit):
            if unit:
                return {"order_arrival_model": lambda: float(rng.exponential(0.1)),
                        "order_quantity_model": lambda: 1}
            # SupplyNetPy rejects a 0-unit order: a zero-demand day (p = 4.5e-5) becomes 1 unit.
            return {"order_arrival_model": lambda: 1,
                    "order_quantity_model": lambda: max(1, int(rng.poisson(10.0)))}

        def site(nid, ntype, s, S, init):
            return {"ID": nid, "name": nid, "node_type": ntype, "capacity": 10**9, "initial_level": init,
                    "inventory_holding_cost": 1.0, "replenishment_policy": scm.SSReplenishment,
                    "policy_param": {"s": s, "S": S}, "product_buy_price": 1.0, "product_sell_price": 2.0}

        def build(model, seed):
            rng = np.random.default_rng(seed)
            sup = {"ID": "S0", "name": "S0", "node_type": "infinite_supplier"}
            if model in ("a", "a_unit"):
                nodes = [sup, site("W1", "warehouse", 20, 60, 60)]
            elif model != "b":
                raise ValueError("unknown model %r" % model)
            else:
                nodes = [sup, site("W3", "warehouse", 29, 30, 30), site("W2", "distributor", 29, 30, 30),
                         site("W1", "retailer", 39, 40, 40)]
            links = [{"ID": "L%d" % i, "source": a["ID"], "sink": b["ID"], "cost": 0, "lead_time": lambda: 2}
                     for i, (a, b) in enumerate(zip(nodes, nodes[1:]))]
            dem = {"ID": "d1", "name": "customers", "demand_node": "W1", "tolerance": float("inf"),
                   "order_min_split_ratio": 1e-9, **demand(rng, model == "a_unit")}
            return scm.create_sc_net(nodes=nodes, links=links, demands=[dem])

        def run(net):
            return scm.simulate_sc_net(net, sim_time=HORIZON, logging=False)

        def check(net):
            stats = [n.stats.get_statistics() for k, n in net["nodes"].items() if k != "S0"]
            st = stats[-1]  # W1, the customer-facing site
            dem = st["demand_received"][1]
            return {"customer_units": dem, "customer_orders": st["demand_received"][0],
                    "fill_rate": 1 - st["shortage"][1] / dem if dem else None,
                    "avg_on_hand": st["avg_inventory_level"], "replenishment_orders": st["demand_placed"][0],
                    "avg_on_hand_by_stage": [x["avg_inventory_level"] for x in stats]}

        return build, run, check, version("supplynetpy")


    def stockpyl_models():
        from stockpyl.sim import simulation
        from stockpyl.supply_chain_network import serial_system, single_stage_system

        seed_box = [0]

        def build(model, seed):
            seed_box[0] = seed
            common = dict(holding_cost=1.0, stockout_cost=10.0, demand_type="P", mean=10.0)
            if model not in ("a", "b"):
                raise ValueError("unknown model %r for stockpyl" % model)
            if model == "a":
                return single_stage_system(policy_type="sS", reorder_point=20, order_up_to_level=60,
                                           shipment_lead_time=2, initial_inventory_level=60, **common)
            return serial_system(3, policy_type="BS", base_stock_level=[30, 30, 40],
                                 shipment_lead_time=[2, 2, 2], initial_inventory_level=[30, 30, 40], **common)

        def run(net):
            simulation(net, HORIZON, rand_seed=seed_box[0], progress_bar=False, consistency_checks="N")
            return net

        def on_hand(node):
            prod = node.product_indices[0]
            return sum(max(s.inventory_level[prod], 0.0) for s in node.state_vars[:HORIZON]) / HORIZON

        def check(net):
            nodes = sorted(net.nodes, key=lambda n: n.index)  # upstream first; the last one faces demand
            node = nodes[-1]
            prod = node.product_indices[0]
            sv = node.state_vars[:HORIZON]
            last = sv[-1]
            return {"customer_units": float(last.demand_cumul[prod]), "customer_orders": HORIZON,
                    "fill_rate": float(last.fill_rate[prod]), "avg_on_hand": on_hand(node),
                    "replenishment_orders": sum(1 for s in sv if sum(
                        q for d in s.order_quantity.values() for q in d.values()) > 0),
                    "avg_on_hand_by_stage": [on_hand(n) for n in nodes]}

        return build, run, check, version("stockpyl")


    def count_simpy_steps(fn):
        # SimPy events processed by fn(): Environment.step calls, as simsop's floor counts them. Counted in a
        # separate, untimed replication, so the counting costs nothing in the timings.
        import simpy

        orig = simpy.Environment.step
        box = [0]

        def step(self):
            box[0] += 1
            return orig(self)

        simpy.Environment.step = step
        try:
            fn()
        finally:
            simpy.Environment.step = orig
        return box[0]


    def mean_of(checks):
        # Average each statistic over the replications (element-wise for per-stage lists).
        out = {}
        for key, first in checks[0].items():
            if isinstance(first, list):
                out[key] = [sum(c[key][j] for c in checks) / len(checks) for j in range(len(first))]
            elif first is not None:
                out[key] = sum(c[key] for c in checks) / len(checks)
        return out


    def main():
        args = json.loads(sys.argv[1])
        warnings.simplefilter("ignore")
        out = {"peer": args["peer"], "model": args["model"]}
        try:
            with contextlib.redirect_stdout(sys.stderr):
                factory = snp_models if args["peer"] == "supplynetpy" else stockpyl_models
                build, run, check, ver = factory()
                out["version"] = ver
                seed = int(args["seed"])
                run(build(args["model"], seed - 1))  # untimed warm-up
                build_s, run_s, checks = [], [], []
                for i in range(int(args["reps"])):
                    t0 = time.perf_counter()
                    net = build(args["model"], seed + i)
                    t1 = time.perf_counter()
                    net = run(net)
                    t2 = time.perf_counter()
                    build_s.append(t1 - t0)
                    run_s.append(t2 - t1)
                    checks.append(check(net))  # outside the timed part
                out.update(build_seconds=build_s, run_seconds=run_s, check=mean_of(checks))
                if args["peer"] == "supplynetpy":
                    out["events_per_rep"] = count_simpy_steps(lambda: run(build(args["model"], seed)))
        except Exception as exc:
            out["error"] = "%s: %s" % (type(exc).__name__, exc)
            out["traceback"] = traceback.format_exc(limit=5)
        print(TAG + json.dumps(out))


    main()
    """
)


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _tail(text: str, n: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def ensure_venv(venv_dir: Path = VENV_DIR, timeout: float = 900.0) -> tuple[Path | None, dict[str, Any]]:
    """Create the peers' venv if needed and install the peer packages into it, each once (cached).

    Returns the venv's Python (or None if the venv cannot be made) and the install state: for each package
    ``{"ok": bool, "version" or "error": ...}``. A package already installed by an earlier run (recorded in
    ``bench-install.json`` in the venv) is not reinstalled; one that failed is retried.
    """
    py = _venv_python(venv_dir)
    state_path = venv_dir / STATE_FILE
    try:
        if not py.exists():
            venv_dir.parent.mkdir(parents=True, exist_ok=True)
            proc = _run([sys.executable, "-m", "venv", "--clear", str(venv_dir)], timeout)
            if proc.returncode != 0 or not py.exists():
                return None, {"venv": {"ok": False, "error": "venv creation failed: " + _tail(proc.stderr)}}
            # Keep the venv out of version control (Python >= 3.13 does this itself).
            (venv_dir / ".gitignore").write_text("*\n")
        state: Any = json.loads(state_path.read_text()) if state_path.exists() else {}
        if not isinstance(state, dict):
            state = {}
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return None, {"venv": {"ok": False, "error": f"venv creation failed: {exc}"}}

    changed = False
    for pkg in PACKAGES:
        if state.get(pkg, {}).get("ok"):
            continue
        changed = True
        try:
            cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q", pkg]
            proc = _run(cmd, timeout)
            if proc.returncode != 0:
                state[pkg] = {"ok": False, "error": "pip install failed: " + _tail(proc.stderr)}
                continue
            code = f"from importlib.metadata import version; print(version({pkg!r}))"
            ver = _run([str(py), "-c", code], 60)
            state[pkg] = {"ok": True, "version": ver.stdout.strip()}
        except (OSError, subprocess.SubprocessError) as exc:
            state[pkg] = {"ok": False, "error": f"pip install failed: {exc}"}
    if changed:
        with contextlib.suppress(OSError):  # no cache file only means a re-check next time
            state_path.write_text(json.dumps(state, indent=2))
    return py, state


def _import_seconds(py: Path, stmt: str, samples: int) -> tuple[float | None, str | None]:
    """Median time of ``stmt`` in ``samples`` fresh interpreters (interpreter start-up excluded)."""
    code = f"import time; t0 = time.perf_counter(); {stmt}; print(repr(time.perf_counter() - t0))"
    times: list[float] = []
    for _ in range(samples):
        try:
            proc = _run([str(py), "-W", "ignore", "-c", code], 300)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"import failed: {exc}"
        if proc.returncode != 0:
            return None, "import failed: " + _tail(proc.stderr)
        try:
            times.append(float(proc.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            return None, "import timing unreadable: " + _tail(proc.stdout)
    return statistics.median(times), None


def _run_worker(py: Path, peer: str, model: str, reps: int, seed: int, timeout: float) -> dict[str, Any]:
    """Run the timing script for one (peer, model) in a fresh venv subprocess and parse its JSON line."""
    args = json.dumps({"peer": peer, "model": model, "reps": reps, "seed": seed})
    try:
        proc = _run([str(py), "-c", _WORKER, args], timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"could not run the worker: {exc}"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(JSON_TAG):
            try:
                return dict(json.loads(line[len(JSON_TAG) :]))
            except ValueError:
                break
    return {"error": f"worker exited {proc.returncode} without a result: " + _tail(proc.stderr)}


def _row(peer: str, model: str) -> dict[str, Any]:
    return {
        "peer": peer,
        "package": PEERS[peer]["package"],
        "version": None,
        "model": model,
        "horizon_days": 365,
        "import_seconds": None,
        "seconds_per_rep": None,
        "build_seconds_per_rep": None,
        "run_seconds_per_rep": None,
        "reps": 0,
        "note": NOTES[(peer, model)],
        "check": None,
        "events_per_rep": None,
        "error": None,
    }


def measure_peers(quick: bool = False, venv_dir: Path = VENV_DIR, seed: int = 12345) -> list[dict[str, Any]]:
    """Time each peer on each model; one row per (peer, model), never raises.

    Row keys: ``peer``, ``package``, ``version``, ``model`` (``a``, ``a_unit`` or ``b``, see the module
    docstring), ``horizon_days``, ``import_seconds`` (median over fresh interpreters), ``seconds_per_rep``
    (median of build + run over the timed replications, import excluded), ``build_seconds_per_rep`` and
    ``run_seconds_per_rep`` (medians of each part), ``reps`` (replications timed, after one untimed warm-up),
    ``events_per_rep`` (SupplyNetPy only: SimPy ``step()`` calls in one replication, counted untimed),
    ``note`` (what exactly was simulated), ``check`` (sanity statistics of the customer-facing site, averaged
    over the timed replications: customer units and orders, fill rate from stock, average on-hand, number of
    replenishment orders, average on-hand per stage from upstream to downstream) and
    ``error`` (None, or why the row has no figures).
    """
    reps = 3 if quick else 15
    import_samples = 1 if quick else 5
    rows = [_row(peer, model) for peer, model in MODELS]
    try:
        py, state = ensure_venv(venv_dir)
    except Exception as exc:  # the benchmark must degrade, never crash
        py, state = None, {"venv": {"ok": False, "error": f"{type(exc).__name__}: {exc}"}}
    if py is None:
        for row in rows:
            row["error"] = state.get("venv", {}).get("error", "venv unavailable")
        return rows

    import_cache: dict[str, tuple[float | None, str | None]] = {}
    for row in rows:
        peer, model = row["peer"], row["model"]
        try:
            needed = [PEERS[peer]["package"], "numpy"]
            broken = [p for p in needed if not state.get(p, {}).get("ok")]
            if broken:
                why = (f"{p}: {state.get(p, {}).get('error', 'not installed')}" for p in broken)
                row["error"] = "; ".join(why)
                continue
            row["version"] = state[PEERS[peer]["package"]].get("version")
            if peer not in import_cache:
                import_cache[peer] = _import_seconds(py, PEERS[peer]["import"], import_samples)
            row["import_seconds"], import_error = import_cache[peer]
            if import_error:
                row["error"] = import_error
                continue
            result = _run_worker(py, peer, model, reps, seed, timeout=600.0)
            if result.get("error"):
                row["error"] = result["error"]
                continue
            build_s, run_s = result["build_seconds"], result["run_seconds"]
            row.update(
                version=result.get("version", row["version"]),
                reps=len(run_s),
                seconds_per_rep=statistics.median(b + r for b, r in zip(build_s, run_s, strict=True)),
                build_seconds_per_rep=statistics.median(build_s),
                run_seconds_per_rep=statistics.median(run_s),
                check=result.get("check"),
                events_per_rep=result.get("events_per_rep"),
            )
        except Exception as exc:  # one bad row must not take the others down
            row["error"] = f"{type(exc).__name__}: {exc}"
    return rows


if __name__ == "__main__":
    import time

    t_start = time.perf_counter()
    print(json.dumps(measure_peers(quick="--full" not in sys.argv), indent=2))
    print(f"total wall time: {time.perf_counter() - t_start:.1f} s", file=sys.stderr)
