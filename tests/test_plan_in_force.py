"""The plan in force of a bucket (what KPIs and the report compare actuals with), from the plan versions."""

from __future__ import annotations

import math

import numpy as np

from simsop.model.records import Meta, PlanLine, Records, Snapshots
from simsop.planning.kpis import plan_in_force

NAN = math.nan


def _records(lines: list[PlanLine]) -> Records:
    z = np.zeros(0, dtype=int)
    meta = Meta(products=["A", "B"], customers=[], warehouses=[], factories=[], sites=[], sku_warehouse=z,
                sku_product=z, sku_review_period=z, sku_review_offset=z, sku_has_demand=z.astype(bool), horizon=120,
                warmup=0)
    rec = Records(meta, Snapshots.empty(0, 0))
    for line in lines:
        rec.plan.append(tuple(line))
    rec.freeze()
    return rec


def _line(cycle: int, made: float, product: int, bucket: int, start: int, demand: float, production: float
          ) -> PlanLine:
    return PlanLine(cycle, made, made + 2, product, bucket, start, 30, demand, production, NAN, 0.0, 0.0)


def test_the_plan_in_force_is_the_last_version_made_by_the_bucket_start_value_by_value() -> None:
    rec = _records([
        _line(0, 10.0, 0, 1, 30, demand=100.0, production=90.0),
        _line(0, 10.0, 0, 2, 60, demand=110.0, production=95.0),
        _line(0, 10.0, 1, 1, 30, demand=5.0, production=4.0),
        # Cycle 1 (made on day 28) revises bucket 1 but does not set its production yet (NaN: the bucket starts
        # before the version takes effect): bucket 1 keeps cycle 0's production with cycle 1's demand plan.
        _line(1, 28.0, 0, 1, 30, demand=120.0, production=NAN),
        _line(1, 28.0, 0, 2, 60, demand=130.0, production=125.0),
        # Made after bucket 1 started: not in force for it; in force for bucket 2 only from cycle 2 on.
        _line(2, 40.0, 0, 1, 30, demand=999.0, production=999.0),
        _line(2, 40.0, 0, 2, 60, demand=140.0, production=135.0),
    ])
    got = plan_in_force(rec)
    assert got["bucket"].tolist() == [1, 1, 2] and got["product"].tolist() == [0, 1, 0]
    assert got["demand_plan"].tolist() == [120.0, 5.0, 140.0]
    assert got["production"].tolist() == [90.0, 4.0, 135.0]
    assert got["bucket_start"].tolist() == [30, 30, 60] and got["bucket_days"].tolist() == [30, 30, 30]


def test_a_bucket_no_version_ever_set_keeps_nan_and_no_plan_gives_empty_arrays() -> None:
    got = plan_in_force(_records([_line(0, 10.0, 1, 3, 90, demand=7.0, production=NAN)]))
    assert got["demand_plan"].tolist() == [7.0] and math.isnan(got["production"][0])
    assert all(len(v) == 0 for v in plan_in_force(_records([])).values())
