"""A golden run of every file in scenarios/: replication 0 with the file's seed, KPI by KPI.

Each ``scenarios/<stem>.yaml`` has ``tests/golden/<stem>.json`` with the KPIs of replication 0 at the file's
own seed, horizon and planning policy (nothing shortened). A stress-test file (one with a ``base:``
scenario) has one golden run per case, its shocks applied to the base. Values must match to a relative
tolerance of 1e-9 (NaN equals NaN). A change of numbers is either a bug or an intended change of the model;
after checking which, regenerate the files with

    SIMSOP_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and review the diff of tests/golden/ (a new scenario file needs its golden file made the same way).

The textbook files (``scenarios/textbook_*.yaml``) state their exact theoretical values in their header
comments; the last test checks that the simulation reproduces them.
"""

from __future__ import annotations

import json
import math
import os
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from simsop.experiment import run_replications
from simsop.kpi import ALL_KPI_NAMES
from simsop.replication import run_replication
from simsop.scenario import Scenario, load_scenario
from simsop.shocks import apply_shocks, load_stress
from tests.helpers import assert_close_to_theory

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("SIMSOP_UPDATE_GOLDEN", "") == "1"
REL_TOL = 1e-9
HOW = "SIMSOP_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py"

FILES = sorted(SCENARIOS.glob("*.yaml"))


def golden_path(file: Path) -> Path:
    return GOLDEN / f"{file.stem}.json"


def runs_of(file: Path) -> dict[str, Scenario]:
    """The scenarios a file stands for: itself, or each case of a stress-test file applied to its base."""
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "base" in data:
        base, cases = load_stress(file)
        return {case.name: apply_shocks(base, case.shocks, str(file)) for case in cases}
    sc = load_scenario(file)
    return {sc.name: sc}


def _encode(x: Any) -> Any:
    """A KPI for JSON: floats exactly (repr round-trips), NaN as null, infinities as strings."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _decode(x: Any) -> float:
    return float("nan") if x is None else float(x)


def golden_run(sc: Scenario) -> dict[str, Any]:
    """Replication 0 of a scenario at its own seed, as stored in a golden file."""
    kpis = run_replication(sc, seed=sc.seed, replication=0).kpis
    return {k: _encode(v) for k, v in kpis.items()}


def _same(stored: float, got: float) -> bool:
    if math.isnan(stored) or math.isnan(got):
        return math.isnan(stored) and math.isnan(got)
    return math.isclose(stored, got, rel_tol=REL_TOL, abs_tol=1e-12)


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_golden_run(file: Path) -> None:
    """Replication 0 of every scenario file gives the stored KPIs (regenerate with SIMSOP_UPDATE_GOLDEN=1)."""
    runs = runs_of(file)
    got = {name: golden_run(sc) for name, sc in runs.items()}
    seeds = {name: sc.seed for name, sc in runs.items()}
    path = golden_path(file)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        doc = {"file": f"scenarios/{file.name}", "replication": 0, "seeds": seeds,
               "versions": {lib: version(lib) for lib in ("simsop", "numpy", "simpy", "scipy")}, "runs": got}
        path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{file.relative_to(ROOT)} has no golden file {path.relative_to(ROOT)}; create it with\n"
                    f"    {HOW}\nand check the numbers before committing it.")
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert set(stored["runs"]) == set(got), (
        f"{path.name}: runs {sorted(stored['runs'])} stored, {sorted(got)} now; regenerate with {HOW}")
    problems = []
    for name, kpis in got.items():
        old = stored["runs"][name]
        if set(old) != set(kpis):
            problems.append(f"{name}: KPIs {sorted(set(old) ^ set(kpis))} added or removed")
        for k in kpis.keys() & old.keys():
            a, b = _decode(old[k]), _decode(kpis[k])
            if not _same(a, b):
                problems.append(f"{name}.{k}: stored {a!r}, got {b!r}")
    versions = {lib: version(lib) for lib in ("numpy", "simpy", "scipy")}
    assert not problems, (
        f"{file.name} differs from {path.relative_to(ROOT)} (stored with {stored.get('versions')}, running with "
        f"{versions}):\n  " + "\n  ".join(problems) + f"\nIf the change is intended, regenerate with {HOW}")


def test_every_golden_file_has_its_scenario() -> None:
    """No golden file is left behind by a renamed or removed scenario file."""
    stale = sorted(p.name for p in GOLDEN.glob("*.json") if not (SCENARIOS / f"{p.stem}.yaml").exists())
    assert not stale, f"golden files without a scenarios/<name>.yaml: {stale}; delete them"


def test_golden_runs_cover_every_kpi() -> None:
    """A golden run stores every KPI the simulator reports (so none escapes the comparison)."""
    sc = load_scenario(SCENARIOS / "textbook_base_stock.yaml").model_copy(update={"horizon": 50, "warmup": 5})
    assert list(golden_run(sc)) == list(ALL_KPI_NAMES)


# ---------------------------------------------------------------------------------------------- textbook files

# A header line of a textbook file that states a KPI's exact value: "#   <kpi> <formula> = <number>".
CLAIM = re.compile(r"^#\s+([a-z_]+)\s.*=\s*(-?\d+\.\d+)\s*$")
TEXTBOOK = sorted(SCENARIOS.glob("textbook_*.yaml"))


def stated_theory(file: Path) -> dict[str, float]:
    """The exact KPI values a textbook file's header comment states."""
    out = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        m = CLAIM.match(line)
        if m and m.group(1) in ALL_KPI_NAMES:
            out[m.group(1)] = float(m.group(2))
    return out


@pytest.mark.parametrize("file", TEXTBOOK, ids=[f.stem for f in TEXTBOOK])
def test_textbook_files_reproduce_their_stated_theory(file: Path) -> None:
    """Each textbook file's simulated KPIs are within 4 standard errors (8 replications) of the exact values its
    header states, so the comments and the files cannot drift apart."""
    claims = stated_theory(file)
    assert len(claims) >= 2, f"{file.name} states no exact KPI values in its header"
    rows = run_replications(load_scenario(file), replications=8, executor="serial")
    for kpi, exact in claims.items():
        values = np.array([r[kpi] for r in rows], dtype=float)
        # The stated values are rounded to 5 decimals: allow for that.
        assert_close_to_theory(values, exact, f"{file.name}: {kpi}", floor=1e-5)
