"""Small builders shared by the tests: scenarios as dicts, and replications summarised."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simsop.model.records import Records
from simsop.planning.cycle import PlanningCycle, policy_params
from simsop.planning.policy import make_policy
from simsop.replication import ReplicationResult, build_world, run_replication
from simsop.scenario import Scenario, parse_scenario


def product(pid: str = "A", **kw: Any) -> dict[str, Any]:
    base = {"id": pid, "price": 10.0, "unit_cost": 6.0, "holding_cost": 0.01, "backorder_penalty": 0.5}
    base.update(kw)
    return base


def single_stock_point(demand: dict[str, Any], policy: dict[str, Any], lead_time: Any = 2, initial: float = 0,
                       horizon: int = 1000, warmup: int = 0, unmet: str = "backorder",
                       requested_lead_time: float = 0, **extra: Any) -> dict[str, Any]:
    """One product, one warehouse ordering from a supplier with the given lead time, one customer."""
    data = {
        "name": "single",
        "horizon": horizon,
        "warmup": warmup,
        "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "unmet": unmet, "requested_lead_time": requested_lead_time,
                       "demand": [{"product": "A", **demand}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": initial, "policy": policy,
                                              "source": "S"}]}],
        "suppliers": [{"id": "S", "lead_time": lead_time}],
    }
    data.update(extra)
    return data


def scenario(data: dict[str, Any]) -> Scenario:
    return parse_scenario(copy.deepcopy(data), "<test>")


def kpi_samples(sc: Scenario, n: int, seed: int = 1, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """KPIs of n independent replications, as arrays."""
    rows = [run_replication(sc, seed=seed, replication=r).kpis for r in range(n)]
    return {k: np.array([r[k] for r in rows], dtype=float) for k in (keys or tuple(rows[0]))}


def assert_close_to_theory(samples: np.ndarray, exact: float, name: str, k: float = 4.0,
                           floor: float = 0.0) -> None:
    """|mean - exact| <= k standard errors of the replications' mean (plus an optional absolute floor)."""
    mean = float(np.mean(samples))
    se = float(np.std(samples, ddof=1) / np.sqrt(len(samples)))
    assert abs(mean - exact) <= k * se + floor, (
        f"{name}: simulated {mean:.5f} ± {se:.5f} (SE, n={len(samples)}) vs exact {exact:.5f}; "
        f"off by {abs(mean - exact) / max(se, 1e-12):.1f} SE")


def small_network(horizon: int = 60, warmup: int = 5) -> dict[str, Any]:
    """A small valid company touching every kind of site: a plant, a supplier, a central and a regional DC.

    Product A is made by plant F and stocked at DC (base stock) and at East (an (r, Q) fed by DC); product
    B is bought from supplier S and stocked at DC ((s, S)). Customer ``retail`` buys A and B at DC,
    ``east`` buys A at East.
    """
    return {
        "name": "small", "horizon": horizon, "warmup": warmup, "seed": 3,
        "products": [{"id": "A", "price": 10.0, "unit_cost": 6.0, "holding_cost": 0.01, "backorder_penalty": 0.5},
                     {"id": "B", "price": 12.0, "unit_cost": 7.0, "lost_sale_cost": 1.0}],
        "customers": [
            {"id": "retail", "warehouse": "DC", "requested_lead_time": 1, "patience": 3,
             "demand": [{"product": "A", "daily": {"dist": "poisson", "mean": 4}},
                        {"product": "B", "orders_per_day": 2, "quantity": {"dist": "poisson", "mean": 2}}]},
            {"id": "east", "warehouse": "East", "unmet": "lost_sale",
             "demand": [{"product": "A", "orders_per_day": 1.5, "quantity": 1}]},
        ],
        "warehouses": [
            {"id": "DC", "stock": [
                {"product": "A", "initial": 20, "source": "F", "policy": {"type": "base_stock", "level": 20}},
                {"product": "B", "initial": 10, "source": "S", "policy": {"type": "sS", "s": 4, "S": 12}}]},
            {"id": "East", "stock": [
                {"product": "A", "initial": 5, "source": "DC", "policy": {"type": "rQ", "r": 2, "Q": 5}}]},
        ],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 6, "overtime": 2, "overtime_cost": 1.0},
                       "yield": {"dist": "uniform", "low": 0.9, "high": 1.0}}],
        "suppliers": [{"id": "S", "lead_time": {"dist": "uniform", "low": 1, "high": 3}}],
        "lanes": [{"from": "F", "to": "DC", "lead_time": 1},
                  {"from": "DC", "to": "East", "lead_time": {"dist": "uniform", "low": 0.5, "high": 1.5}}],
    }


def add_reordering_shop(data: dict[str, Any], product: str, customer: str, source: str = "DC") -> None:
    """Add a shop (warehouse ``Shop``) that reorders ``product`` from ``source`` (base stock 60, a lane of 2
    days), with walk-in customers ``customer`` buying Poisson(5) a day who wait up to 30 days; its reorder
    level follows the plan when the scenario sets ``planning.set_execution_levels``."""
    data["customers"].append({"id": customer, "warehouse": "Shop", "requested_lead_time": 0, "patience": 30,
                              "demand": [{"product": product, "daily": {"dist": "poisson", "mean": 5}}]})
    data["warehouses"].append({"id": "Shop", "stock": [
        {"product": product, "initial": 60, "source": source, "policy": {"type": "base_stock", "level": 60}}]})
    data["lanes"].append({"from": source, "to": "Shop", "lead_time": 2})


def debrief_figures(data: dict[str, Any], monkeypatch: Any) -> dict[str, Any]:
    """A workshop debrief's figures by their title (matplotlib objects, drawn in this process, before they
    become PNGs)."""
    import simsop.report.debrief as rd

    figs: list[Any] = []

    def draw_here(makers: Any, dpi: int, workers: int | None = None) -> list[tuple[bytes, None]]:
        figs.extend(make() for make in makers)
        return [(b"", None) for _ in makers]

    monkeypatch.setattr(rd.drawing, "draw_all", draw_here)
    rd.debrief_html(data)
    return {f.get_suptitle(): f for f in figs}


# ---------------------------------------------------------------------------------------------- exact event logs


def logged_run(data: dict[str, Any], **kw: Any) -> tuple[ReplicationResult, Records]:
    """One replication (seed 1, replication 0) of a scenario dict, keeping its records."""
    res = run_replication(scenario(data), seed=1, replication=0, keep_records=True, **kw)
    assert res.records is not None
    return res, res.records


def rows(records: Records, table: str) -> list[tuple[Any, ...]]:
    """A table's records as plain tuples."""
    return [tuple(r) for r in getattr(records, table).rows()]


def column(records: Records, field: str, sku: int = 0) -> list[float]:
    """One stock-keeping unit's end-of-day snapshots of ``field`` (on_hand, backlog, on_order, lost)."""
    return getattr(records.snapshots, field)[:, sku].tolist()


def once(days: int) -> dict[str, Any]:
    """Seasonality that keeps a daily demand on day 0 only (factor 1 on day 0, 0 on the other days)."""
    return {"pattern": [1.0] + [0.0] * (days - 1), "period": days}


def break_replication(monkeypatch: Any, index: int, error: BaseException) -> Any:
    """Make the experiment runner's replication ``index`` raise ``error`` (in this process: the serial executor).
    Returns the real ``run_replication``, to put back with ``monkeypatch.setattr(simsop.experiment, ...)``."""
    import simsop.experiment as ex

    real = ex.run_replication

    def broken(scenario: Scenario, seed: int, replication: int, **kw: Any) -> Any:
        if replication == index:
            raise error
        return real(scenario, seed=seed, replication=replication, **kw)

    monkeypatch.setattr(ex, "run_replication", broken)
    return real


COLLAPSE_GAME = Path(__file__).resolve().parent.parent / "scenarios" / "teach_collapse_rebound.yaml"


def collapse_workshop(tmp: Path, edit: Callable[[dict[str, Any]], None]) -> tuple[Path, dict[str, Any]]:
    """A one-team (A), two-round workshop of the collapse game as ``edit`` changes its scenario: the workshop's
    folder, and the scenario data it was made from."""
    import yaml
    from click.testing import CliRunner

    from simsop.cli import main

    data = yaml.safe_load(COLLAPSE_GAME.read_text(encoding="utf-8"))
    edit(data)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "game.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    folder = tmp / "ws"
    r = CliRunner().invoke(main, ["workshop", "new", str(path), "--teams", "A", "--dir", str(folder),
                                  "--rounds", "2"])
    assert r.exit_code == 0, r.output
    return folder, data


def first_plan(sc: Scenario) -> tuple[Any, Any, Any]:
    """Cycle 0's planning state, the policy and its plan, without running the simulation."""
    world = build_world(sc, seed=1)
    params = policy_params(sc.planning.params, sc.planning.policy)
    pol = make_policy(sc.planning.policy, params)
    assert pol is not None, "a scenario whose planning policy plans"
    cyc = PlanningCycle(world, sc, pol, params)
    snap = cyc.cutoff(cyc.first)
    state = cyc.state(0, snap, cyc.demand_review(0, snap), cyc.first)
    return state, pol, pol.plan(state)
