"""The array helpers that replaced Python loops in the KPI code give what those loops gave, to the bit.

A KPI is a pure function of the records: computing it faster must not move a single bit, or the golden files and
every comparison between simsop versions would drift. ``last_value_at`` stands for a dict built from the records
(the last row of a repeated key wins, a missing key gets the default) and ``sum_in_order`` for ``total += x`` in a
loop: floating-point addition is not associative, and numpy's own sum adds pairwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from simsop.planning.kpis import last_value_at, sum_in_order


def _dict_lookup(keys: tuple[np.ndarray, ...], values: np.ndarray, queries: tuple[np.ndarray, ...],
                 default: float) -> list[float]:
    table = dict(zip(zip(*(k.tolist() for k in keys), strict=True), values.tolist(), strict=True))
    return [table.get(q, default) for q in zip(*(c.tolist() for c in queries), strict=True)]


@pytest.mark.parametrize("columns", [1, 2, 3])
def test_last_value_at_is_the_dict_of_the_rows(columns: int) -> None:
    rng = np.random.default_rng(11)
    n, m = 400, 300
    # Few distinct values per column: many repeated keys (the last row must win) and many missing ones.
    keys = tuple(rng.integers(-3, 5, n) for _ in range(columns))
    queries = tuple(rng.integers(-5, 7, m) for _ in range(columns))
    values = rng.normal(size=n)
    got, found = last_value_at(keys, values, queries, np.nan)
    want = _dict_lookup(keys, values, queries, np.nan)
    assert np.array_equal(got, np.array(want), equal_nan=True)
    assert found.tolist() == [not np.isnan(w) for w in want]
    assert 0 < found.sum() < m  # both cases were exercised


def test_last_value_at_keeps_integer_values_and_handles_empty_tables() -> None:
    rows, found = last_value_at((np.array([7, 3, 7]),), np.arange(3), (np.array([7, 3, 5]),), -1)
    assert rows.dtype.kind == "i" and rows.tolist() == [2, 1, -1] and found.tolist() == [True, True, False]
    rows, found = last_value_at((np.empty(0, dtype=int),), np.empty(0, dtype=int), (np.array([1, 2]),), -1)
    assert rows.dtype.kind == "i" and rows.tolist() == [-1, -1] and not found.any()
    got, found = last_value_at((np.array([1]),), np.array([0.5]), (np.empty(0, dtype=int),), np.nan)
    assert len(got) == 0 and len(found) == 0


def test_sum_in_order_is_a_python_loop_to_the_bit() -> None:
    rng = np.random.default_rng(5)
    # Magnitudes 20 orders apart: pairwise and left-to-right addition round differently.
    x = rng.normal(size=1000) * 10.0 ** rng.integers(-10, 10, 1000)
    total = 0.0
    for v in x.tolist():
        total += v
    assert float(sum_in_order(x)).hex() == total.hex()
    assert float(np.sum(x)).hex() != total.hex()  # the reason the helper exists
    assert float(sum_in_order(np.empty(0))) == 0.0


def test_a_window_shorter_than_a_planning_bucket_has_no_production_variation() -> None:
    # A workshop's first days see no whole planning bucket: no bucket's planned production to compare, so the
    # production variation is unknown (nan), and every other KPI is still computed.
    from pathlib import Path

    from simsop.kpi import compute_kpis, window_view
    from simsop.replication import run_replication
    from simsop.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "red_tomato_lp.yaml")
    rec = run_replication(sc, seed=3, replication=0, keep_records=True).records
    assert rec is not None and len(rec.plan) > 0
    k = compute_kpis(window_view(rec, 0, 10), sc)
    assert np.isnan(k["production_variation"]) and np.isnan(k["plan_revenue"])
    assert k["orders"] > 0
