"""Bad scenario files of many kinds all give clear errors, never a traceback.

A table of bad files, each one mutation of a small valid company, proves that every problem is reported as
a ScenarioError naming the file, the exact key path (``factories[0].capacity.regular``) and what was
expected. Property-based tests (hypothesis) mutate the example company at random and prove that the loader
never raises anything but a ScenarioError with a message, and that an unknown key is named wherever it is.
The command line (``simsop validate``, ``simsop schema``) is checked last.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsop.cli import main
from simsop.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from simsop.shocks import load_stress
from tests.helpers import small_network

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
EXAMPLE_FILE = SCENARIOS / "example_company.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8"))
VALID = small_network()

Path_ = tuple[str | int, ...]


def _is_stress_file(path: Path) -> bool:
    """Stress-test files overlay shocks on a ``base`` scenario; they are checked with ``load_stress``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and "base" in data


SCENARIO_FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if not _is_stress_file(p))
STRESS_FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if _is_stress_file(p))


# ---------------------------------------------------------------------------------------------- key paths


def _parse_path(path: str) -> Path_:
    """``customers[0].demand[1].daily`` -> ("customers", 0, "demand", 1, "daily")."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _format_path(parts: Path_) -> str:
    """The inverse of ``_parse_path``: the key path as ScenarioError messages write it."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _get(data: Any, parts: Path_) -> Any:
    for part in parts:
        data = data[part]
    return data


def set_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets the value at a key path (creating the last key)."""
    parts = _parse_path(path)

    def apply(data: dict[str, Any]) -> None:
        _get(data, parts[:-1])[parts[-1]] = value

    return apply


def delete(path: str) -> Callable[[dict[str, Any]], None]:
    """A mutation that removes the key (or list item) at a key path."""
    parts = _parse_path(path)

    def apply(data: dict[str, Any]) -> None:
        del _get(data, parts[:-1])[parts[-1]]

    return apply


def append(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that appends an item to the list at a key path."""
    parts = _parse_path(path)

    def apply(data: dict[str, Any]) -> None:
        _get(data, parts).append(value)

    return apply


# ---------------------------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Bad:
    """One bad scenario file: how it is made, and the problem it must report.

    ``path`` is the exact key path of the problem ("" when the file as a whole is wrong); ``expected`` a
    phrase of the message that says what was expected. The file is VALID with ``mutate`` applied, or
    ``text`` verbatim; ``csv`` is written next to it as history.csv; ``missing`` loads a file that is not there.
    """

    id: str
    path: str
    expected: str
    mutate: tuple[Callable[[dict[str, Any]], None], ...] = ()
    text: str | None = None
    csv: str | None = None
    missing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


EMPIRICAL_FROM_FILE = {"dist": "empirical", "file": "history.csv", "column": "units"}

BAD: tuple[Bad, ...] = (
    # -- missing keys and wrong types
    Bad("missing required top-level key", "horizon", "required key is missing", (delete("horizon"),)),
    Bad("missing required nested key", "products[0].price", "required key is missing",
        (delete("products[0].price"),)),
    Bad("wrong type: text for a number", "products[0].price", "expected a number, got text 'ten'",
        (set_("products[0].price", "ten"),)),
    Bad("wrong type: text for an integer", "warehouses[0].stock[0].policy.review_period",
        "expected an integer, got text 'weekly'",
        (set_("warehouses[0].stock[0].policy.review_period", "weekly"),)),
    Bad("wrong type: mapping for a list", "warehouses", "expected a list, got a mapping",
        (set_("warehouses", {"id": "DC"}),)),
    Bad("wrong type: list for a mapping", "customers[0].demand[0].seasonality", "expected a mapping of keys",
        (set_("customers[0].demand[0].seasonality", [1.0, 1.2]),)),
    Bad("empty list where one item is needed", "products", "expected at least 1 item", (set_("products", []),)),
    Bad("word outside a fixed set", "warehouses[0].allocation", "'fcfs', 'priority' or 'fair_share'",
        (set_("warehouses[0].allocation", "random"),)),
    # -- values out of range
    Bad("negative price", "products[0].price", "greater than or equal to 0", (set_("products[0].price", -1),)),
    Bad("negative factory capacity", "factories[0].capacity.regular", "greater than 0 (got -5)",
        (set_("factories[0].capacity.regular", -5),)),
    Bad("zero horizon", "horizon", "greater than 0", (set_("horizon", 0),)),
    Bad("warmup not shorter than the horizon", "warmup", "must be shorter than the horizon",
        (set_("warmup", 60),)),
    Bad("both holding cost and holding rate", "products[0]", "holding_cost (per unit per day) or holding_rate",
        (set_("products[0].holding_rate", 0.2),)),
    Bad("patience with lost sales", "customers[1]", "'patience' goes with unmet: backorder",
        (set_("customers[1].patience", 3),)),
    # -- unknown keys at several depths
    Bad("unknown key at the top", "horizn", "unknown key 'horizn' (did you mean 'horizon'?)",
        (set_("horizn", 90),)),
    Bad("unknown key in a product", "products[1].colour", "unknown key 'colour'", (set_("products[1].colour", "red"),)),
    Bad("unknown key in a distribution", "customers[0].demand[0].daily.sd", "unknown key 'sd'",
        (set_("customers[0].demand[0].daily.sd", 2),)),
    Bad("unknown key in a policy", "warehouses[0].stock[0].policy.lvl", "unknown key 'lvl' (did you mean 'level'?)",
        (set_("warehouses[0].stock[0].policy.lvl", 3),)),
    Bad("unknown key in factory capacity", "factories[0].capacity.overtme", "unknown key 'overtme'",
        (set_("factories[0].capacity.overtme", 3),)),
    # The suggestion comes from the keys of the mapping the typo is in: a shock's 'suplier' is its 'supplier',
    # not the top level's 'suppliers' (which a search over every key of the file proposed).
    Bad("unknown key in a shock", "shocks[0].suplier", "unknown key 'suplier' (did you mean 'supplier'?)",
        (set_("shocks", [{"name": "s", "type": "supplier_delay", "suplier": "S", "start": 5, "duration": 3,
                          "extra_days": 2}]),)),
    Bad("unknown key in the planning's sales input", "planning.sales.nois",
        "unknown key 'nois' (did you mean 'noise'?)", (set_("planning", {"policy": "level", "sales": {"nois": 0.1}}),)),
    # -- tagged unions: distributions and policies
    Bad("unknown distribution", "customers[0].demand[0].daily", "unknown type 'poison'; expected one of",
        (set_("customers[0].demand[0].daily", {"dist": "poison", "mean": 4}),)),
    Bad("unknown policy type", "warehouses[0].stock[0].policy", "unknown type 'kanban'; expected one of",
        (set_("warehouses[0].stock[0].policy", {"type": "kanban"}),)),
    Bad("policy without its type", "warehouses[0].stock[0].policy", "needs a 'type' key",
        (set_("warehouses[0].stock[0].policy", {"level": 20}),)),
    Bad("distribution without its dist", "suppliers[0].lead_time", "needs a 'dist' key",
        (set_("suppliers[0].lead_time", {"mean": 2}),)),
    Bad("(s, S) with S <= s", "warehouses[0].stock[1].policy", "S (12) must be greater than s (12)",
        (set_("warehouses[0].stock[1].policy.s", 12),)),
    Bad("negative binomial with sd^2 <= mean", "customers[0].demand[1].quantity", "needs sd^2 > mean",
        (set_("customers[0].demand[1].quantity", {"dist": "negative_binomial", "mean": 4, "sd": 2}),)),
    Bad("normal with a negative sd", "customers[0].demand[0].daily.sd", "greater than or equal to 0",
        (set_("customers[0].demand[0].daily", {"dist": "normal", "mean": 4, "sd": -2}),)),
    Bad("seasonality with 11 monthly factors", "customers[0].demand[0].seasonality",
        "'monthly' needs 12 factors, got 11", (set_("customers[0].demand[0].seasonality", {"monthly": [1.0] * 11}),)),
    Bad("both orders_per_day and daily", "customers[0].demand[1]", "give either 'orders_per_day'",
        (set_("customers[0].demand[1].daily", 3),)),
    # -- cross-references
    Bad("customer served by an unknown warehouse", "customers[0].warehouse",
        "unknown warehouse 'Nowhere'; expected one of ['DC', 'East']", (set_("customers[0].warehouse", "Nowhere"),)),
    Bad("demand for a product the warehouse does not stock", "customers[1].demand[0].product",
        "warehouse 'East' has no stock item for 'B'", (set_("customers[1].demand[0].product", "B"),)),
    Bad("demand for an unknown product", "customers[0].demand[0].product", "unknown product 'Z'; expected one of",
        (set_("customers[0].demand[0].product", "Z"),)),
    Bad("unknown source", "warehouses[0].stock[0].source",
        "unknown source 'Mars'; expected a factory, supplier or warehouse id",
        (set_("warehouses[0].stock[0].source", "Mars"),)),
    Bad("source factory that does not make the product", "warehouses[0].stock[1].source",
        "factory 'F' does not make 'B'", (set_("warehouses[0].stock[1].source", "F"),)),
    Bad("missing lane", "warehouses[0].stock[0].source", "no lane from 'F' to 'DC'; add one to 'lanes'",
        (delete("lanes[0]"),)),
    Bad("duplicate customer id", "customers[1].id", "duplicate id 'retail'", (set_("customers[1].id", "retail"),)),
    Bad("duplicate warehouse id", "warehouses[1].id", "duplicate id 'DC'", (set_("warehouses[1].id", "DC"),)),
    Bad("a supplier with a warehouse's id", "suppliers[1].id",
        "site id 'DC' is already used by one of the warehouses; warehouses, factories and suppliers need different",
        (append("suppliers", {"id": "DC", "lead_time": 2}),)),
    Bad("a list where text belongs", "name", "Input should be a valid string (got a list of 2 items)",
        (set_("name", ["a", "b"]),)),
    Bad("lane to a factory", "lanes[2].to", "'F' is not a warehouse (goods go to warehouses)",
        (append("lanes", {"from": "DC", "to": "F"}),)),
    Bad("warehouse sourcing cycle", "warehouses[0].stock[0].source", "loops (DC -> East -> DC)",
        (set_("warehouses[0].stock[0].source", "East"), append("lanes", {"from": "East", "to": "DC"}))),
    Bad("make-to-order factory with a reorder policy", "warehouses[0].stock[0].policy",
        "factory 'F' makes to order", (set_("factories[0].mode", "make_to_order"),)),
    # -- empirical distributions read from a CSV file
    Bad("empirical file missing", "customers[0].demand[0].daily.file", "cannot read",
        (set_("customers[0].demand[0].daily", EMPIRICAL_FROM_FILE),)),
    Bad("empirical file without the column", "customers[0].demand[0].daily.column",
        "has no column 'units'; expected one of ['day', 'demand']",
        (set_("customers[0].demand[0].daily", EMPIRICAL_FROM_FILE),), csv="day,demand\n1,4\n2,5\n"),
    Bad("empirical file with a non-number", "customers[0].demand[0].daily.file",
        "data row 2: expected a number, got 'lots'",
        (set_("customers[0].demand[0].daily", EMPIRICAL_FROM_FILE),), csv="day,units\n1,4\n2,lots\n"),
    Bad("empirical column that is not a name", "customers[0].demand[0].daily.column", "expected a column name",
        (set_("customers[0].demand[0].daily", {**EMPIRICAL_FROM_FILE, "column": ["units"]}),),
        csv="units\n1\n"),
    # -- the file as a whole
    Bad("YAML syntax error", "", "not valid YAML: line 4, column 10",
        text="name: broken\nhorizon: 10\nproducts: [{id: A, price: 1\ncustomers: []\n"),
    Bad("top-level list instead of a mapping", "", "expected a mapping of keys at the top, got a list",
        text="- name: a\n- horizon: 3\n"),
    Bad("empty file", "", "expected a mapping of keys at the top, got an empty file", text=""),
    Bad("text instead of a mapping", "", "expected a mapping of keys at the top, got text", text="hello\n"),
    Bad("not UTF-8 text", "", "expected UTF-8 text", text="\udcffname: x\n"),
    Bad("file not found", "", "cannot read the file", missing=True),
    # -- numbers written as text or yes/no: pydantic alone reads "10" as 10 and yes as 1
    Bad("quoted digits for a number", "products[0].price", "expected a number, got text '10'",
        (set_("products[0].price", "10"),)),
    Bad("yes/no for an integer", "horizon", "expected an integer, got true", (set_("horizon", True),)),
    Bad("quoted digits in a list of numbers", "customers[0].demand[0].seasonality.monthly[3]",
        "expected a number, got text '1.2'",
        (set_("customers[0].demand[0].seasonality", {"monthly": [1.0, 1.0, 1.0, "1.2", *[1.0] * 8]}),)),
    Bad("text for a distribution", "suppliers[0].lead_time", "expected a number or a distribution such as "
        "{dist: poisson, mean: 4}, got text '3 days'", (set_("suppliers[0].lead_time", "3 days"),)),
    Bad("yes/no in a distribution", "customers[0].demand[0].daily.mean", "expected a number, got false",
        (set_("customers[0].demand[0].daily", {"dist": "poisson", "mean": False}),)),
    Bad("text for a pipeline quantity", "warehouses[0].stock[0].pipeline.goods[3]", "expected a number, got text",
        (set_("warehouses[0].stock[0].pipeline", {"goods": {3: "5"}}),)),
    # -- .nan and .inf, which YAML reads as floats
    Bad("NaN price", "products[0].price", "finite number (got nan)", (set_("products[0].price", float("nan")),)),
    Bad("infinite mean demand", "customers[0].demand[0].daily.mean", "finite number (got inf)",
        (set_("customers[0].demand[0].daily", {"dist": "poisson", "mean": float("inf")}),)),
    Bad("infinite patience", "customers[0].patience", "finite number (got inf)",
        (set_("customers[0].patience", float("inf")),)),
    Bad("NaN reorder point", "warehouses[1].stock[0].policy.r", "finite number (got nan)",
        (set_("warehouses[1].stock[0].policy.r", float("nan")),)),
    Bad("NaN empirical weight", "customers[0].demand[0].daily.weights[0]", "finite number (got nan)",
        (set_("customers[0].demand[0].daily", {"dist": "empirical", "values": [1, 2], "weights": [float("nan"), 1]}),)),
    Bad("infinite shock duration", "shocks[0].duration.value", "finite number (got inf)",
        (set_("shocks", [{"name": "s", "type": "demand_step", "start": 3, "magnitude": 0.2,
                          "duration": float("inf")}]),)),
    # -- numbers no company has
    Bad("absurd initial stock", "warehouses[0].stock[0].initial", "number too large (got 1e+300)",
        (set_("warehouses[0].stock[0].initial", 1e300),)),
    Bad("absurd integer horizon", "horizon", "number too large (got a number of over 300 digits)",
        (set_("horizon", 10**400),)),
    Bad("horizon of millions of days", "horizon", "less than or equal to 1000000", (set_("horizon", 2_000_000),)),
    Bad("absurd review period", "warehouses[0].stock[0].policy.review_period", "number too large",
        (set_("warehouses[0].stock[0].policy.review_period", 10**30),)),
    Bad("more orders than can be simulated", "customers[0].demand[1].orders_per_day", "orders over the horizon",
        (set_("customers[0].demand[1].orders_per_day", 1e7),)),
    Bad("yield above 1", "factories[0].yield", "fraction of good units: expected values from 0 to 1, got up to 2",
        (set_("factories[0].yield", 2),)),
    Bad("yield distribution above 1", "factories[0].yield", "got up to 1.2",
        (set_("factories[0].yield", {"dist": "uniform", "low": 0.9, "high": 1.2}),)),
    Bad("bad pipeline day", "warehouses[0].stock[0].pipeline.goods", "key -1: Input should be greater than or equal",
        (set_("warehouses[0].stock[0].pipeline", {"goods": {-1: 5}}),)),
    # -- empirical distributions
    Bad("empirical with both values and a file", "customers[0].demand[0].daily.file", "not both",
        (set_("customers[0].demand[0].daily", {**EMPIRICAL_FROM_FILE, "values": [1, 2]}),), csv="units\n1\n"),
    Bad("empirical column without a file", "customers[0].demand[0].daily.column", "'column' goes with 'file'",
        (set_("customers[0].demand[0].daily", {"dist": "empirical", "values": [1], "column": "units"}),)),
    Bad("empirical file with a nan", "customers[0].demand[0].daily.file",
        "data row 2: expected a finite number >= 0, got 'nan'",
        (set_("customers[0].demand[0].daily", EMPIRICAL_FROM_FILE),), csv="units\n4\nnan\n"),
    Bad("empirical file that is not text", "customers[0].demand[0].daily.file", "expected UTF-8 text",
        (set_("customers[0].demand[0].daily", EMPIRICAL_FROM_FILE),), csv="units\n4\n\udcff\n"),
    # -- the planning policy is built when the file is loaded
    Bad("unknown planning policy", "planning.policy", "unknown policy 'bogus'; expected one of",
        (set_("planning", {"policy": "bogus"}),)),
    Bad("policy class that cannot be imported", "planning.policy", "cannot import policy 'nowhere:Policy'",
        (set_("planning", {"policy": "nowhere:Policy"}),)),
    Bad("bad policy parameter", "planning.params.colour", "unknown key 'colour'",
        (set_("planning", {"policy": "level", "params": {"colour": "red"}}),)),
    Bad("yes/no policy parameter as text", "planning.params.integer_workforce",
        "Input should be a valid boolean (got 'maybe')",
        (set_("planning", {"policy": "lp", "params": {"integer_workforce": "maybe"}}),)),
    Bad("policy parameter of another policy's namespace", "planning.params.hybrid.workforce_quantile",
        "less than or equal to 1 (got 1.5)",
        (set_("planning", {"policy": "hybrid", "params": {"hybrid": {"workforce_quantile": 1.5}}}),)),
    Bad("replay without its decisions file", "planning.params.file", "cannot read the decisions file",
        (set_("planning", {"policy": "replay", "params": {"file": "nope.csv"}}),)),
    Bad("replay file with a bad row", "planning.params.file", "line 3: production must be a number >= 0, got 'lots'",
        (set_("planning", {"policy": "replay", "params": {"file": "history.csv"}}),),
        csv="cycle,product,bucket,production\n0,A,1,5\n1,A,2,lots\n"),
    # The 60-day horizon plans two monthly cycles (supply reviews on days 7 and 38).
    Bad("replay file naming a product the scenario does not have", "planning.params.file",
        "history.csv: line 3: unknown product or family 'Z'; expected one of default, A, B",
        (set_("planning", {"policy": "replay", "params": {"file": "history.csv"}}),),
        csv="cycle,product,bucket,production\n0,A,1,5\n1,Z,2,5\n"),
    Bad("replay file without a cycle the horizon plans", "planning.params.file",
        "history.csv: no decisions for cycle 1 (the simulation plans cycles 0 to 1 within its 60-day horizon)",
        (set_("planning", {"policy": "replay", "params": {"file": "history.csv"}}),),
        csv="cycle,product,bucket,production\n0,A,1,5\n"),
    # -- the S&OP cycle: what the cycle would otherwise clip, ignore or replace silently
    Bad("planning steps out of order", "planning.executive_meeting_day",
        "the executive meeting comes after the supply review (day 7); expected a day >= 7",
        (set_("planning", {"executive_meeting_day": 5}),)),
    Bad("planning day outside any bucket", "planning.executive_meeting_day",
        "day 9 of a bucket of at most 7 days; expected 0 to 6",
        (set_("planning", {"bucket": "week", "demand_review_day": 1, "supply_review_day": 2,
                           "executive_meeting_day": 9}),)),
    Bad("workforce of an unknown factory", "planning.workforce[0].factory", "unknown factory 'Nope'",
        (set_("planning", {"workforce": [{"factory": "Nope", "workers": 3, "units_per_worker_day": 2}]}),)),
    Bad("forecast parameter the method does not take", "planning.forecast.params",
        "unexpected keyword argument 'colour'", (set_("planning", {"forecast": {"method": "ses",
                                                                                "params": {"colour": 1}}}),)),
    Bad("forecast parameter out of range", "planning.forecast.params", "ses: alpha must lie in [0, 1], got 2",
        (set_("planning", {"forecast": {"method": "ses", "params": {"alpha": 2}}}),)),
    Bad("safety stock service level of 100%", "planning.safety_stock.service_level",
        "Input should be less than 1 (got 1)", (set_("planning", {"safety_stock": {"service_level": 1}}),)),
    Bad("safety stock service level as a percentage", "planning.safety_stock.service_level",
        "less than 1 (got 95)", (set_("planning", {"safety_stock": {"service_level": 95}}),)),
    Bad("safety stock without a service level", "planning.safety_stock.service_level", "required",
        (set_("planning", {"safety_stock": {"min_errors": 3}}),)),
    Bad("safety stock with an unknown key", "planning.safety_stock.z", "unknown key 'z'",
        (set_("planning", {"safety_stock": {"service_level": 0.9, "z": 1.3}}),)),
    Bad("safety stock as a bare number", "planning.safety_stock", "",
        (set_("planning", {"safety_stock": 0.95}),)),
    Bad("bucket neither a word nor days", "planning.bucket",
        "Input should be 'month' or 'week' (got 0); or input should be greater than 0 (got 0)",
        (set_("planning", {"bucket": 0}),)),
    # -- YAML that parses but cannot be meant
    Bad("duplicate top-level key", "horizon", "the key is given twice (lines 2 and ",
        text=yaml.safe_dump(VALID, sort_keys=False) + "horizon: 90\n"),
    Bad("duplicate nested key", "products[0].price", "the key is given twice (lines 7 and 8); give it once",
        text=yaml.safe_dump(VALID, sort_keys=False).replace("  price: 10.0\n", "  price: 10.0\n  price: 12.0\n", 1)),
    Bad("duplicate key in a flow mapping", "lanes[0].to", "the key is given twice (both on line",
        text=yaml.safe_dump(VALID, sort_keys=False, default_flow_style=None).replace("to: DC,", "to: DC, to: DC,", 1)),
    Bad("alias inside itself", "a[0]", "a YAML alias refers to a mapping or list that contains it",
        text="a: &a [*a]\n"),
    Bad("aliases that expand without end", "", "expands to 1.23e+07 values through YAML aliases",
        text="".join(f"{k}: &{k} [{', '.join([f'*{p}' if p else 'x'] * 10)}]\n"
                     for k, p in zip("abcdefg", ["", *"abcdef"], strict=True))),
    Bad("nesting too deep", "", "nests lists or mappings too deep", text="[" * 3000 + "]" * 3000),
    Bad("NUL character", "", "not valid YAML: character #x0000 at offset 7", text="name: x\x00\n"),
    Bad("two documents", "", "line 2, column 1: expected a single document in the stream, but found another",
        text="name: a\n---\nname: b\n"),
)


def _write_case(case: Bad, folder: Path) -> Path:
    """The case's scenario file (and history.csv when it has one) in ``folder``."""
    file = folder / "bad.yaml"
    if case.missing:
        return folder / "no_such_scenario.yaml"
    if case.text is not None:
        file.write_bytes(case.text.encode("utf-8", errors="surrogateescape"))
    else:
        data = copy.deepcopy(VALID)
        for mutate in case.mutate:
            mutate(data)
        file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if case.csv is not None:
        (folder / "history.csv").write_bytes(case.csv.encode("utf-8", errors="surrogateescape"))
    return file


def test_the_valid_company_is_valid() -> None:
    """The starting point of every bad case is itself a valid scenario (so each case breaks one thing)."""
    sc = parse_scenario(copy.deepcopy(VALID), "<valid>")
    assert [p.id for p in sc.products] == ["A", "B"]


def test_the_table_is_large_and_distinct() -> None:
    """At least 25 distinct bad files."""
    assert len(BAD) >= 25
    assert len({c.id for c in BAD}) == len(BAD)


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_scenario_gives_a_clear_error(case: Bad, tmp_path: Path) -> None:
    """Each bad file raises ScenarioError whose lines name the file, the exact key path and what was expected."""
    file = _write_case(case, tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    text = str(err)
    assert err.source == str(file)
    assert err.problems, text
    lines = text.splitlines()
    assert len(lines) == len(err.problems)
    assert all(line.startswith(f"{file}: ") for line in lines), text
    at_path = [p for p in err.problems if p.path == case.path]
    assert at_path, f"no problem at {case.path!r}:\n{text}"
    assert any(case.expected in p.message for p in at_path), f"{case.expected!r} not said at {case.path!r}:\n{text}"
    prefix = f"{file}: {case.path}: " if case.path else f"{file}: "
    assert any(line.startswith(prefix) and case.expected in line for line in lines), text
    assert "Traceback" not in text


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several independent mistakes give one line each, not just the first."""
    data = copy.deepcopy(VALID)
    for mutate in (set_("products[0].price", -1), set_("horizn", 3), set_("factories[0].capacity.regular", -5),
                   set_("customers[0].demand[0].daily", {"dist": "poison"})):
        mutate(data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "many.yaml")
    assert {p.path for p in info.value.problems} == {"products[0].price", "horizn", "factories[0].capacity.regular",
                                                     "customers[0].demand[0].daily"}


def test_a_negative_binomial_with_an_absurd_sd_is_an_error_not_an_overflow() -> None:
    """sd: 1e300 used to overflow inside the distribution's check; it is reported at its key path."""
    data = copy.deepcopy(VALID)
    set_("customers[0].demand[1].quantity", {"dist": "negative_binomial", "mean": 4, "sd": 1e300})(data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "huge.yaml")
    assert [p.path for p in info.value.problems] == ["customers[0].demand[1].quantity.sd"]


# ---------------------------------------------------------------------------------------------- hypothesis


def _nodes(node: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every (key path, value) of a parsed YAML document, the root included."""
    out = [(path, node)]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _nodes(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _nodes(v, (*path, i))
    return out


SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.sampled_from([-1, -0.5, -1e9, 0, 1e300]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=2),
)


def _of_another_type(old: Any) -> st.SearchStrategy[Any]:
    """Values whose type differs from ``old``'s."""
    return VALUES.filter(lambda v: type(v) is not type(old))


UNKNOWN_KEYS = st.from_regex(r"unknown_[a-z]{1,8}", fullmatch=True)


@st.composite
def mutated_example(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """The example company with 1-3 random structural mutations, and a log of what was done."""
    data = copy.deepcopy(EXAMPLE)
    log: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        nodes = _nodes(data)
        op = draw(st.sampled_from(("delete", "replace", "insert")))
        if op == "delete":
            path, _ = draw(st.sampled_from([n for n in nodes if n[0]]))
            del _get(data, path[:-1])[path[-1]]
        elif op == "replace":
            path, old = draw(st.sampled_from([n for n in nodes if n[0] and not isinstance(n[1], dict | list)]))
            new = draw(_of_another_type(old))
            _get(data, path[:-1])[path[-1]] = new
        else:
            path, node = draw(st.sampled_from([n for n in nodes if isinstance(n[1], dict)]))
            node[draw(UNKNOWN_KEYS)] = draw(VALUES)
        log.append(f"{op} {_format_path(path)}")
    return data, log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_example())
def test_random_mutations_give_a_scenario_or_a_clear_error(case: tuple[dict[str, Any], list[str]]) -> None:
    """Deleting keys, changing a value's type or adding keys anywhere in the example gives a valid Scenario or
    a ScenarioError whose every problem has a message: never another exception."""
    data, log = case
    try:
        sc = parse_scenario(data, "example_company.yaml", SCENARIOS)
    except ScenarioError as exc:
        assert exc.problems, log
        for p in exc.problems:
            assert isinstance(p.path, str), (log, p)
            assert p.message.strip(), (log, p)
        assert all(line.startswith("example_company.yaml: ") for line in str(exc).splitlines()), (log, str(exc))
    else:
        assert isinstance(sc, Scenario)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_unknown_key_is_named_at_any_depth(data: st.DataObject) -> None:
    """A key the schema does not know, added to any mapping of the example (except free-form ``params``), is
    an error at exactly its key path."""
    doc = copy.deepcopy(EXAMPLE)
    mappings = [n for n in _nodes(doc) if isinstance(n[1], dict) and "params" not in n[0]]
    path, node = data.draw(st.sampled_from(mappings))
    key = data.draw(UNKNOWN_KEYS)
    node[key] = data.draw(VALUES)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(doc, "example_company.yaml", SCENARIOS)
    where = _format_path((*path, key))
    assert any(p.path == where and f"unknown key '{key}'" in p.message for p in info.value.problems), str(info.value)


NUMBER_LEAVES = [(path, v) for path, v in _nodes(EXAMPLE)
                 if isinstance(v, int | float) and not isinstance(v, bool) and "params" not in path]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_number_written_wrong_is_named_at_its_key_path(data: st.DataObject) -> None:
    """Any number of the example written as text ("10"), as a yes/no value, as .nan or .inf, or far too large
    (not a seed: any integer seeds) is an error at exactly its key path, or inside it when the number stands for
    a distribution: never read as a number, never a crash later."""
    doc = copy.deepcopy(EXAMPLE)
    path, value = data.draw(st.sampled_from(NUMBER_LEAVES))
    wrong = [str(value), True, False, float("nan"), float("inf"), -float("inf")]
    bad = data.draw(st.sampled_from(wrong if path[-1] == "seed" else [*wrong, 1e13, -(10**40)]))
    _get(doc, path[:-1])[path[-1]] = bad
    with pytest.raises(ScenarioError) as info:
        parse_scenario(doc, "example_company.yaml", SCENARIOS)
    where = _format_path(path)
    assert any(p.path == where or p.path.startswith(where + ".") for p in info.value.problems), (bad, str(info.value))


# ---------------------------------------------------------------------------------------------- command line


def test_cli_validate_bad_file_prints_every_problem(tmp_path: Path) -> None:
    """`simsop validate` on a bad file exits 2 and prints one line per problem with the file name; no traceback."""
    data = copy.deepcopy(VALID)
    for mutate in (set_("products[0].price", -1), set_("horizn", 3), set_("factories[0].capacity.regular", -5)):
        mutate(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    for path, what in (("products[0].price", "greater than or equal to 0"),
                       ("horizn", "unknown key 'horizn'"),
                       ("factories[0].capacity.regular", "greater than 0")):
        assert any(line.startswith(f"{bad}: {path}: ") and what in line for line in result.stderr.splitlines()), (
            result.stderr)
    assert "Traceback" not in result.output


STRESS_BAD = (
    ("a key given twice", "base: good.yaml\nshocks: []\nshocks: []\n", "shocks", "the key is given twice"),
    ("a base that is a stress file", "base: bad.yaml\nshocks: [{name: s, type: demand_step, start: 3, magnitude: 1}]\n",
     "base", "is a stress file itself; expected the scenario file"),
    ("a grid strength that is not a number", "base: good.yaml\ngrid: {shock: {name: s, type: demand_step, start: 3, "
     "magnitude: 0.2}, strength: [.nan]}\n", "grid.strength[0]", "finite number (got nan)"),
    ("a shock start written as text", "base: good.yaml\nshocks: [{name: s, type: demand_step, start: '3', "
     "magnitude: 0.2}]\n", "shocks[0].start", "expected an integer, got text '3'"),
)


@pytest.mark.parametrize(("what", "text", "path", "expected"), STRESS_BAD, ids=[c[0] for c in STRESS_BAD])
def test_bad_stress_file_gives_one_line_per_problem(tmp_path: Path, what: str, text: str, path: str,
                                                    expected: str) -> None:
    """A stress file is read like a scenario file: exactly one line per problem, at its key path."""
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(VALID), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_stress(bad)
    assert [(p.path, expected in p.message) for p in info.value.problems] == [(path, True)], str(info.value)


def _cli_files(tmp: Path) -> dict[str, str]:
    """Files the bad command lines name: a good scenario, bytes that are not text, stress files, a plain file."""
    good = tmp / "good.yaml"
    good.write_text(yaml.safe_dump(VALID), encoding="utf-8")
    (tmp / "binary.yaml").write_bytes(bytes(range(256)))
    shock = {"name": "s", "type": "demand_step", "start": 3, "magnitude": 0.2}
    (tmp / "stress.yaml").write_text(yaml.safe_dump({"base": "good.yaml", "shocks": [shock]}), encoding="utf-8")
    (tmp / "twice.yaml").write_text("base: good.yaml\nshocks: []\nshocks: []\n", encoding="utf-8")
    (tmp / "chained.yaml").write_text(yaml.safe_dump({"base": "stress.yaml", "shocks": [shock]}), encoding="utf-8")
    (tmp / "plain").write_text("not a folder\n", encoding="utf-8")
    (tmp / "folder").mkdir()
    for name, manifest in (("broken", "{"), ("listed", "[1, 2]"),
                           ("lp_run", json.dumps({"policies": ["lp"], "baseline": "lp", "seed": 1,
                                                  "max_replications": 2, "status": "interrupted"}))):
        (tmp / name).mkdir()
        (tmp / name / "manifest.json").write_text(manifest, encoding="utf-8")
    return {k: str(tmp / k) for k in ("plain", "folder", "broken", "listed", "lp_run")} | {
        k: str(tmp / f"{k}.yaml") for k in ("good", "binary", "twice", "chained")}


# (id, command line with {file} names from _cli_files, a phrase of the one-line message)
CLI_BAD = (
    ("empty --policies", "compare {good} --policies ,", "--policies: expected comma-separated policy names, got ','"),
    ("unknown --policy", "run {good} --policy bogus", "--policy: unknown policy 'bogus'; expected one of"),
    ("unknown policy in --policies", "compare {good} --policies level,bogus", "--policies: unknown policy 'bogus'"),
    ("replay policy without a file", "run {good} --policy replay",
     "--policy replay: planning.params.file: required key is missing"),
    ("policy class that does not import", "run {good} --policy nowhere:Policy",
     "cannot import policy 'nowhere:Policy'"),
    ("--target-ci that is not a number", "run {good} --target-ci otif:abc", "--target-ci otif:abc: "),
    ("--out inside a file", "run {good} --out {plain}/res", "cannot write the results"),
    ("schema --out inside a file", "schema --out {plain}/schema.json", "cannot write the schema"),
    ("stress file that is not text", "stress {binary}", "binary.yaml: cannot read the file: expected UTF-8 text"),
    ("--shocks file that is not text", "stress {good} --shocks {binary}", "expected UTF-8 text"),
    ("stress file with a key given twice", "stress {twice}", "twice.yaml: shocks: the key is given twice"),
    ("stress file over a stress file", "stress {chained}", "chained.yaml: base: "),
    ("validate a folder", "validate {good} {folder}", "folder: cannot read the file"),
    ("--resume with a manifest that is not JSON", "run {good} --resume {broken}",
     "broken/manifest.json: not a manifest of simsop (JSONDecodeError"),
    ("--resume with a manifest that is a list", "run {good} --resume {listed}",
     "listed/manifest.json: not a manifest of simsop (a JSON list)"),
    ("--resume with other policies", "compare {good} --resume {lp_run} --policies level,chase",
     "policies: the run has ['lp'], now ['level', 'chase']"),
    ("--dask-scheduler without the dask executor", "run {good} --dask-scheduler tcp://127.0.0.1:8786",
     "--dask-scheduler tcp://127.0.0.1:8786: goes with --executor dask"),
    # The executor fails after the run folder is made: nothing finished, so the folder is not left behind.
    ("a Dask scheduler address that does not parse", "run {good} --executor dask --dask-scheduler nowhere",
     "nowhere"),
)


@pytest.mark.parametrize(("what", "line", "message"), CLI_BAD, ids=[c[0] for c in CLI_BAD])
def test_bad_command_lines_are_one_clear_line_and_leave_no_folder(tmp_path: Path, what: str, line: str,
                                                                   message: str) -> None:
    """A bad option or file on the command line exits 2 with a message naming what is wrong (the option or the
    file), never a traceback, and changes nothing: no result folder, no file touched."""
    files = _cli_files(tmp_path)
    args = line.format(**files).split()
    if args[0] in ("run", "compare", "stress") and "--out" not in args and "--resume" not in args:
        args += ["--out", str(tmp_path / "out")]
    if args[0] in ("run", "compare", "stress"):
        args += ["-n", "1", "--no-report"] + ([] if "--executor" in args else ["--executor", "serial"])
    if "dask" in args:
        pytest.importorskip("distributed")
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert message in result.stderr, result.stderr
    assert _tree(tmp_path) == before  # no result folder, no file changed (a manifest of --resume included)


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The result folder of a two-replication run of the small company."""
    tmp = tmp_path_factory.mktemp("results")
    (tmp / "good.yaml").write_text(yaml.safe_dump(VALID), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", str(tmp / "good.yaml"), "-n", "2", "--executor", "serial", "--no-report",
                                  "--out", str(tmp / "run")])
    assert r.exit_code == 0, r.output
    return tmp / "run"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("manifest.json", b"{", "cannot read the results: JSONDecodeError"),
    ("series.csv", b"day,\xd8\xff\xfe\n", "cannot read the results: UnicodeDecodeError"),
], ids=["manifest not JSON", "series not text"])
def test_report_on_damaged_results_is_a_message(small_results: Path, tmp_path: Path, name: str, content: bytes,
                                                message: str) -> None:
    """`simsop report` on a result folder with a damaged file says so on one line (it was a traceback)."""
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(small_results, folder)
    (folder / name).write_bytes(content)
    result = CliRunner().invoke(main, ["report", str(folder), "--no-png"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith(f"{folder}: {message}") and len(result.stderr.splitlines()) == 1, result.stderr


def test_cli_validate_reports_each_file(tmp_path: Path) -> None:
    """With a good and two bad files, `simsop validate` says ok for the good one, reports the others, exits 2."""
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(VALID), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["validate", str(good), str(broken), str(missing)])
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    assert f"{broken}: not valid YAML" in result.stderr
    assert f"{missing}: cannot read the file" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("file", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_cli_validate_accepts_every_scenario_file(file: Path) -> None:
    """Every scenario file in scenarios/ passes `simsop validate` (exit 0, one 'ok' line)."""
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{file}: ok (")


@pytest.mark.parametrize("file", STRESS_FILES, ids=[p.stem for p in STRESS_FILES])
def test_stress_files_in_scenarios_are_valid(file: Path) -> None:
    """The stress-test files in scenarios/ (a ``base`` scenario plus shocks) load without problems."""
    base, cases = load_stress(file)
    assert isinstance(base, Scenario) and cases


@pytest.mark.parametrize("file", STRESS_FILES, ids=[p.stem for p in STRESS_FILES])
def test_cli_validate_accepts_every_stress_file(file: Path) -> None:
    """`simsop validate` accepts the stress-test files in scenarios/ too (exit 0)."""
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output


def _schema() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def test_cli_schema_is_json_that_forbids_unknown_keys() -> None:
    """`simsop schema` prints valid JSON: the scenario object lists its keys and forbids any other, and so does
    every object it is made of."""
    schema = _schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert {"name", "horizon", "warmup", "seed", "replications", "products", "customers", "warehouses",
            "factories", "suppliers", "lanes", "planning"} <= set(schema["properties"])
    assert {"horizon", "products", "customers", "warehouses"} <= set(schema["required"])
    models = {name: d for name, d in schema["$defs"].items() if "properties" in d}
    assert {"Product", "Customer", "Warehouse", "Factory", "Lane", "BaseStock", "Poisson"} <= set(models)
    assert all(d.get("additionalProperties") is False for d in models.values()), [
        n for n, d in models.items() if d.get("additionalProperties") is not False]


@pytest.mark.parametrize("file", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_every_scenario_files_top_level_keys_are_in_the_schema(file: Path) -> None:
    """Without a JSON Schema library: the top-level keys of every scenario file are properties of the schema."""
    properties = set(_schema()["properties"])
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert set(data) <= properties, set(data) - properties


def test_schema_accepts_a_valid_scenario() -> None:
    """A valid scenario, written the way the example files write it (bare numbers for deterministic values),
    passes the JSON Schema that editors use (jsonschema is a test dependency)."""
    jsonschema = pytest.importorskip("jsonschema")
    data = copy.deepcopy(VALID)
    assert data["lanes"][0]["lead_time"] == 1  # a bare number for a distribution
    jsonschema.validate(data, _schema())


# ---------------------------------------------------------------------------------------------- the YAML reader


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[1].rglob("*.yaml")), ids=lambda p: p.name)
def test_the_fast_yaml_reader_reads_every_project_file_as_pyyaml_does(path: Path) -> None:
    """parse_yaml takes libyaml's parser when it is there: the same data as PyYAML's own safe loader."""
    from simsop.scenario import parse_yaml

    if any(part in {"build", "results", ".git"} or part.startswith(".") for part in path.parts[-4:-1]):
        pytest.skip("not a project file")
    text = path.read_text(encoding="utf-8-sig")
    assert parse_yaml(text, str(path)) == yaml.load(text, Loader=yaml.SafeLoader)


def test_a_yaml_mistake_is_told_in_pure_pyyaml_words_whichever_parser_read_it() -> None:
    from simsop.scenario import parse_yaml

    text = "name: x\nproducts: [a, b\nhorizon: 3\n"
    with pytest.raises(ScenarioError) as info:
        parse_yaml(text, "f.yaml")
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(text, Loader=yaml.SafeLoader)
    assert str(pure.value.problem) in str(info.value)
    assert f"line {pure.value.problem_mark.line + 1}" in str(info.value)


@pytest.mark.parametrize("key", ["\x1e", "a\nb", "tab\there", "\u2028"])
def test_a_key_with_control_characters_is_named_escaped_on_its_own_line(key: str) -> None:
    """Python splits lines at \\x1c-\\x1e and \\u2028 as well as \\n: a key holding one must not break the
    one-line-per-problem message."""
    data = copy.deepcopy(EXAMPLE)
    data["name"] = {key: 1.0}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "example_company.yaml", SCENARIOS)
    lines = str(info.value).splitlines()
    assert lines and all(line.startswith("example_company.yaml: name") for line in lines), lines


# ---------------------------------------------------------------------------------------------- notes


def test_notes_say_what_a_valid_scenario_will_not_measure(tmp_path: Path) -> None:
    """A plan with nothing to make, a window no order falls due in and a horizon that ends before the first
    plan are valid but say little: validate notes them (key path and why), run says so before it starts; the
    shipped scenarios have none."""
    from click.testing import CliRunner

    from simsop.cli import main
    from simsop.scenario_notes import scenario_notes
    from tests.helpers import scenario, single_stock_point

    base = single_stock_point({"daily": 3}, {"type": "base_stock", "level": 12}, horizon=200,
                              requested_lead_time=2)
    bought = scenario({**base, "planning": {"policy": "lp"}})
    assert [w for w, _ in scenario_notes(bought)] == ["planning.policy"]
    assert "change nothing" in scenario_notes(bought)[0][1]
    assert scenario_notes(bought, ["none"]) == []
    levels = scenario({**base, "planning": {"policy": "lp", "set_execution_levels": True}})
    assert scenario_notes(levels) == []
    late = scenario({**base, "warmup": 198})
    assert [w for w, _ in scenario_notes(late)] == ["warmup"]
    short = scenario({**base, "horizon": 20, "planning": {"policy": "lp", "set_execution_levels": True}})
    assert [w for w, _ in scenario_notes(short)] == ["planning"]
    for f in sorted(SCENARIOS.glob("*.yaml")):
        if "base" not in yaml.safe_load(f.read_text(encoding="utf-8")):  # stress files overlay a scenario
            assert scenario_notes(load_scenario(f)) == [], f.name
    path = tmp_path / "bought.yaml"
    path.write_text(yaml.safe_dump({**base, "planning": {"policy": "lp"}}), encoding="utf-8")
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 0 and "note: planning.policy: no factory makes anything" in out.output
    ran = CliRunner().invoke(main, ["run", str(path), "-n", "1", "--no-report", "--out", str(tmp_path / "r")])
    assert ran.exit_code == 0 and "note: planning.policy" in ran.output


def test_notes_name_parts_of_the_company_that_will_not_act_within_the_run() -> None:
    """A supplier's reliability with no delay (late by 0 days changes nothing), a supplier or lane slower
    than the run, a review period beyond the horizon and a demand stream with a mean of 0 are valid, and
    each is noted at its key path; a sound value of the same key gets no note."""
    from simsop.scenario_notes import scenario_notes
    from tests.helpers import scenario, single_stock_point

    def noted(**changes: Any) -> list[str]:
        data = single_stock_point(changes.pop("demand", {"daily": 3}), changes.pop("policy", {"type": "base_stock",
                                                                                               "level": 12}),
                                  horizon=200, warmup=20, lead_time=changes.pop("lead_time", 2))
        data["suppliers"][0].update(changes)
        return [w for w, _ in scenario_notes(scenario(data))]

    assert noted() == []
    assert noted(reliability=0.9) == ["suppliers[0].reliability"]
    assert noted(reliability=0.9, delay=3) == []
    assert noted(lead_time=200) == ["suppliers[0].lead_time"]
    assert noted(lead_time=150) == []
    assert noted(policy={"type": "base_stock", "level": 12, "review_period": 300}) == [
        "warehouses[0].stock[0].policy.review_period"]
    assert noted(demand={"daily": 0}) == ["customers[0].demand[0]"]
    assert noted(demand={"orders_per_day": 2, "quantity": 0}) == ["customers[0].demand[0]"]
    data = yaml.safe_load((SCENARIOS / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    assert scenario_notes(scenario(data)) == []
    data["factories"][0]["capacity"]["regular"] = 200
    assert [w for w, _ in scenario_notes(scenario(data))] == ["planning.workforce[0].workers"]


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path: Path) -> None:
    """YAML 1.1 reads 1e3 as text (its floats need a dot); a spreadsheet and YAML 1.2 read a number, and so do
    scenario files, with both parsers: 2e12 is then 'too large', not 'text'. Quoted, it stays text."""
    import yaml as pyyaml

    from simsop import scenario as scn

    text = "a: 1e3\nb: -2.5E-2\nc: 1_0e1\nd: '1e3'\ne: e3\nf: 10\n"
    expected = {"a": 1000.0, "b": -0.025, "c": 100.0, "d": "1e3", "e": "e3", "f": 10}
    for name in ("SafeLoader", "CSafeLoader"):
        if hasattr(pyyaml, name):
            assert scn._parse_yaml_with(scn._loader_named(name), text, "t") == expected, name
    assert pyyaml.safe_load("a: 1e3") == {"a": "1e3"}  # PyYAML's own loader is left as it is
    data = yaml.safe_load((SCENARIOS / "textbook_base_stock.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data).replace("price: 10.0", "price: 1e1"), encoding="utf-8")
    assert "price: 1e1" in path.read_text(encoding="utf-8")
    assert load_scenario(path).products[0].price == 10.0
    path.write_text(yaml.safe_dump(data).replace("price: 10.0", "price: 2e12"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"products\[0\]\.price: .*too large"):
        load_scenario(path)


def test_a_parameter_beside_grouped_ones_and_a_stress_file_given_to_run_are_named_for_what_they_are(
        tmp_path: Path) -> None:
    """Policy parameters go flat or grouped under policy names: one added beside the groups used to read as
    'unknown key hybrid'; now the message says where it belongs. A stress file given to 'run' says to use
    'simsop stress' instead of listing its keys as unknown."""
    from click.testing import CliRunner

    from simsop.cli import main

    data = yaml.safe_load((SCENARIOS / "example_company.yaml").read_text(encoding="utf-8"))
    data["planning"]["params"]["integer_workforce"] = True
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).count("\n") == 0
    assert "planning.params: integer_workforce sits beside parameters grouped by policy (hybrid)" in str(err.value)
    assert "put it under the policy it is for" in str(err.value)
    ran = CliRunner().invoke(main, ["run", str(SCENARIOS / "stress_covid.yaml"), "-n", "1"])
    assert ran.exit_code == 2 and "is a stress file" in ran.output and "simsop stress" in ran.output


@pytest.mark.parametrize("spec", [{"dist": "normal", "mean": 0, "sd": 0}, {"dist": "normal", "mean": -0.5, "sd": 0}])
def test_a_yield_of_a_normal_without_spread_at_or_below_zero_is_refused(spec: dict[str, Any]) -> None:
    """A normal with sd 0 always draws max(mean, 0): at mean 0 a plant makes no good unit at all, which the yield
    check refuses for every other law; the normal's bound was infinite whatever its spread, so it passed."""
    from tests.helpers import product, scenario

    data = {"name": "y", "horizon": 10, "products": [product()],
            "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 1}]}],
            "warehouses": [{"id": "W", "stock": [{"product": "A", "source": "F",
                                                  "policy": {"type": "base_stock", "level": 5}}]}],
            "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 5}, "yield": spec}],
            "lanes": [{"from": "F", "to": "W", "lead_time": 1}]}
    with pytest.raises(ScenarioError, match=r"factories\[0\]\.yield.*a yield of 0 makes no good unit"):
        scenario(data)
