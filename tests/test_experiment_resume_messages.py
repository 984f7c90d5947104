"""A resume refused because the scenario changed says what changed, in words.

An analyst resumed an interrupted compare after updating simsop, with the scenario file untouched, and read
'scenario_sha256: the run has 'f1924cc0...', now '69a66d44...'' and the same two hashes again under 'cases':
nothing said the file was fine and simsop read it otherwise. The refusal now tells an edited file from a file
this simsop reads otherwise, and does not repeat it for the cases.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from simsop.experiment import ResumeError, run_experiment
from simsop.scenario import Scenario, load_scenario
from tests.test_experiment import small_data


def _interrupted(tmp_path: Path) -> tuple[Path, Path]:
    """A scenario file and the folder of a run of it that stopped before the end (its manifest says so)."""
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_data()), encoding="utf-8")
    out = tmp_path / "run"
    run_experiment(load_scenario(path), ["none"], 2, executor="serial", out=out, scenario_file=path,
                   series=False, extras=False)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (out / "manifest.json").write_text(json.dumps({**man, "status": "interrupted"}), encoding="utf-8")
    return path, out


def _refusal(sc: Scenario, path: Path, out: Path) -> str:
    with pytest.raises(ResumeError) as info:
        run_experiment(sc, ["none"], 2, executor="serial", out=out, scenario_file=path, series=False,
                       extras=False, resume=True)
    return str(info.value)


def test_an_edited_scenario_file_is_named_as_edited(tmp_path: Path) -> None:
    path, out = _interrupted(tmp_path)
    data = small_data()
    data["products"][0]["price"] += 1
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    msg = _refusal(load_scenario(path), path, out)
    assert f"scenario: {path} was edited since the run began" in msg
    assert "cases:" not in msg and not re.search(r"[0-9a-f]{12}", msg)


def test_an_unchanged_file_read_otherwise_says_so(tmp_path: Path) -> None:
    """The same file, read by a simsop whose defaults moved (here: a price the loader would have set)."""
    path, out = _interrupted(tmp_path)
    sc = load_scenario(path)
    first = sc.products[0]
    sc = sc.model_copy(update={"products": (first.model_copy(update={"price": first.price + 1}), *sc.products[1:])})
    msg = _refusal(sc, path, out)
    assert f"scenario: {path} is unchanged, but this simsop reads it otherwise" in msg
    assert "run it again in a new folder" in msg
    assert "cases:" not in msg and not re.search(r"[0-9a-f]{12}", msg)
