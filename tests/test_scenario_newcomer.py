"""What a newcomer writing their own scenario files runs into (found writing a spare-parts network, a
make-to-order furniture maker and a fresh-food company from the README alone).

* A plant whose customers order more than it can make is valid, but its queue and backlog grow for the whole run
  (a queue with utilisation rho >= 1 has no steady state: it grows by lambda - mu a day), which no policy or plan
  mends: validate notes it, and the simulation bears the note out.
* A supplier or plant that no warehouse orders from never acts (a dairy's milk supplier: there is no bill of
  materials): validate notes it.
* A weekly S&OP cycle that leaves the review days out was refused for 'day 7 of a bucket of at most 7 days', days
  the file does not show: the message says they are the monthly defaults and which keys to write.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from simsop.cli import main
from simsop.replication import run_replication
from simsop.scenario import ScenarioError
from simsop.scenario_notes import scenario_notes
from tests.helpers import scenario, small_network


def _plant(rate: float | None = None, lines: int | None = None, horizon: int = 400) -> dict[str, Any]:
    """One product made by one plant (a rate, or make-to-order lines of exponential unit times of 0.4 days)
    for one DC whose customers order Poisson(9) a day and wait for ever."""
    plant: dict[str, Any] = {"id": "P", "products": ["A"]}
    if rate is not None:
        plant["capacity"] = {"regular": rate}
    else:
        plant.update(lines=lines, mode="make_to_order", processing_time={"dist": "exponential", "mean": 0.4})
    policy = {"type": "none"} if lines else {"type": "base_stock", "level": 30, "review_period": 1}
    return {
        "name": "plant", "horizon": horizon, "seed": 5,
        "products": [{"id": "A", "price": 10.0, "unit_cost": 6.0, "holding_cost": 0.01, "backorder_penalty": 0.5}],
        "customers": [{"id": "c", "warehouse": "DC", "requested_lead_time": 1,
                       "demand": [{"product": "A", "daily": {"dist": "poisson", "mean": 9}}]}],
        "warehouses": [{"id": "DC", "stock": [{"product": "A", "initial": 30, "source": "P", "policy": policy}]}],
        "factories": [plant],
        "lanes": [{"from": "P", "to": "DC", "lead_time": 1}],
    }


def _backlog_growth(data: dict[str, Any], n: int = 8, first: int = 100) -> np.ndarray:
    """Per replication, the customer backlog's growth a day from day ``first`` to the last day."""
    sc = scenario(data)
    out = []
    for r in range(n):
        stock = run_replication(sc, replication=r, keep_records=True).records.to_frames()["stock"]
        b = stock.set_index("day")["backlog"]
        out.append((b.iloc[-1] - b.loc[first]) / (b.index[-1] - first))
    return np.array(out)


@pytest.mark.parametrize(("kind", "capacity"), [("rate", {"rate": 7.5}), ("lines", {"lines": 3})])
def test_a_plant_its_customers_overload_is_noted_and_its_backlog_grows_by_the_excess(kind: str,
                                                                                     capacity: dict[str, Any]) -> None:
    """7.5 units a day (a rate, or 3 lines at 0.4 days a unit) against 9 ordered: 120% of capacity. The note names
    the plant, both numbers and the load; the backlog grows by lambda - mu = 1.5 a day (the mean of 8 replications
    within 4 standard errors, plus 0.1 for the lines' queue still settling). With 4 lines (10 a day, 90%) there is
    no note and the backlog does not grow."""
    over = _plant(**capacity)
    notes = scenario_notes(scenario(over))
    assert [w for w, _ in notes] == ["factories[0]"], notes
    assert "7.5 good units a day" in notes[0][1] and "9 units a day" in notes[0][1] and "120%" in notes[0][1]
    growth = _backlog_growth(over)
    se = growth.std(ddof=1) / np.sqrt(len(growth))
    assert abs(growth.mean() - 1.5) <= 4 * se + 0.1, (growth.mean(), se)
    enough = _plant(rate=10.0) if kind == "rate" else _plant(lines=4)
    assert scenario_notes(scenario(enough)) == []
    calm = _backlog_growth(enough)
    assert calm.mean() < 0.05, calm


def test_an_overload_note_counts_yield_and_only_the_plant_s_own_products() -> None:
    """The small network's plant makes 8 units a day at a mean yield of 0.95 (7.6 good ones) for 5.5 a day of A:
    no note; at 8 a day from the retail customer (9.5) it is 125%. A product the plant makes but a supplier also
    sources is not charged to it, and neither is a plant a plan may staff up."""
    data = small_network()
    assert scenario_notes(scenario(data)) == []
    data["customers"][0]["demand"][0]["daily"] = {"dist": "poisson", "mean": 8}
    notes = scenario_notes(scenario(data))
    assert [w for w, _ in notes] == ["factories[0]"] and "125%" in notes[0][1] and "yield of 0.95" in notes[0][1]
    shared = yaml.safe_load(yaml.safe_dump(data))
    shared["suppliers"][0]["products"] = None
    shared["warehouses"][1]["stock"][0]["source"] = "S"
    shared["lanes"].append({"from": "S", "to": "East", "lead_time": 1})
    assert scenario_notes(scenario(shared)) == []
    staffed = {**data, "planning": {"policy": "chase", "workforce": [
        {"factory": "F", "workers": 8, "units_per_worker_day": 1}]}}
    assert "factories[0]" not in [w for w, _ in scenario_notes(scenario(staffed))]


def test_a_supplier_or_plant_nobody_orders_from_is_noted(tmp_path: Any) -> None:
    """A dairy's milk cooperative written in as a supplier is valid but supplies nothing (no bill of materials);
    so does a plant no stock item names as its source."""
    data = small_network()
    data["suppliers"].append({"id": "MilkCoop", "lead_time": 1})
    data["factories"].append({"id": "Idle", "products": ["B"], "capacity": {"regular": 5}})
    notes = dict(scenario_notes(scenario(data)))
    assert set(notes) == {"suppliers[1]", "factories[1]"}, notes
    assert "'MilkCoop'" in notes["suppliers[1]"] and "supplies nothing" in notes["suppliers[1]"]
    assert "'Idle'" in notes["factories[1]"] and "makes nothing" in notes["factories[1]"]
    path = tmp_path / "dairy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 0 and "note: suppliers[1]: supplier 'MilkCoop' is no warehouse's 'source'" in out.output


def test_a_weekly_cycle_without_its_days_is_told_they_are_the_monthly_defaults_and_what_to_write() -> None:
    """bucket: week alone was refused for 'day 7 of a bucket of at most 7 days' (and day 12), days the file does
    not show. The message says they are defaults and gives the three keys; written as suggested, the file is
    valid. A day the file does give keeps the plain message."""
    data = small_network()
    data["planning"] = {"policy": "chase", "bucket": "week"}
    with pytest.raises(ScenarioError) as info:
        scenario(data)
    lines = str(info.value).splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["planning.supply_review_day", "planning.executive_meeting_day"]
    suggestion = "demand_review_day: 1, supply_review_day: 2, executive_meeting_day: 3"
    assert all("the default day" in ln and suggestion in ln for ln in lines), lines
    data["planning"].update(yaml.safe_load("{" + suggestion + "}"))
    scenario(data)
    data["planning"]["executive_meeting_day"] = 9
    with pytest.raises(ScenarioError, match=r"planning.executive_meeting_day: day 9 of a bucket of at most 7 days"):
        scenario(data)


def test_weekly_holt_winters_without_two_seasons_of_history_is_noted() -> None:
    """Holt-Winters needs two seasons (2 x 52 weekly buckets) to start; the cycle keeps 36 buckets by default,
    so every weekly demand review fell back to exponential smoothing without a word. Monthly (2 x 12 <= 36) and
    a weekly cycle keeping 104 buckets are not noted."""
    from pathlib import Path

    from simsop.scenario import parse_scenario

    root = Path(__file__).resolve().parent.parent
    data = yaml.safe_load((root / "scenarios" / "sop_seasonal.yaml").read_text())
    data["planning"]["forecast"] = {"method": "holt_winters_additive"}
    assert not [k for k, _ in scenario_notes(parse_scenario(data, "monthly"))]
    data["planning"].update(bucket="week", demand_review_day=1, supply_review_day=2, executive_meeting_day=3)
    notes = dict(scenario_notes(parse_scenario(data, "weekly")))
    assert "two seasons of history (2 x 52 = 104 buckets)" in notes["planning.history_buckets"]
    data["planning"]["history_buckets"] = 104
    assert "planning.history_buckets" not in dict(scenario_notes(parse_scenario(data, "weekly, 104")))
