"""Decision files whose values a comma cut in two: an unquoted thousands separator (``1,200``) makes two values
of one, the columns after it shift, and a row read that way plays numbers nobody wrote. Every such row is
refused with the file, the line and the fix, and nothing is changed (as for every other decision-file error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from simsop.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROMO = ROOT / "scenarios" / "teach_promotion.yaml"
BEER = ROOT / "scenarios" / "beer_game.yaml"
PLAN_HEADER = "cycle,family,bucket,production,inventory_target,source\n"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["workshop", *args])


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def promo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("promo") / "ws"
    assert cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "2").exit_code == 0
    return folder


def _refused(folder: Path, team: str, text: str) -> str:
    """Write ``text`` as the team's file; show and advance both refuse it and change nothing. Their message."""
    (folder / "decisions" / f"{team}.csv").write_text(text, encoding="utf-8")
    before = files(folder)
    r = cli("show", str(folder), "--team", team)
    assert r.exit_code == 2, r.output
    said = " ".join(r.stderr.split())
    r = cli("advance", str(folder))
    assert r.exit_code == 2 and "Bad decision file(s); nothing was changed" in r.stderr, r.output
    assert files(folder) == before
    return said


@pytest.mark.parametrize("row, values", [
    ("0,snacks,1,1,200,,", 7),  # the workshop's own rows end ",,": a team copying them
    ("0,snacks,1,1,200,,team", 7),
    ('0,snacks,1,1,200,"",', 7),
])
def test_a_number_cut_by_its_thousands_separator_in_a_row_too_long_is_refused(promo: Path, row: str,
                                                                             values: int) -> None:
    said = _refused(promo, "A", PLAN_HEADER + row + "\n")
    assert (f"decisions/A.csv: line 2: {values} values for 6 columns (cycle, family, bucket, production, "
            "inventory_target, source): '1,200' is cut in two at its thousands separator; write 1200, or quote "
            "it: \"1,200\"") in said


def test_a_row_too_long_without_a_number_to_name_is_refused_all_the_same(promo: Path) -> None:
    said = _refused(promo, "A", PLAN_HEADER + "0,snacks,1,900,,,\n")
    assert "decisions/A.csv: line 2: 7 values for 6 columns" in said and "a comma inside a value cuts it" in said


def test_a_cut_number_in_a_row_as_wide_as_the_header_is_refused(promo: Path) -> None:
    """'0,snacks,1,1,200' reads as production 1 and an inventory target of 200, which this game ignores: no team
    plans 1 bag of snacks and writes a target it was told changes nothing, so it is taken for 1,200."""
    said = _refused(promo, "A", PLAN_HEADER + "0,snacks,1,1,200\n")
    assert ("decisions/A.csv: line 2: '1,200' is read as two values, production 1 and inventory_target 200: a "
            "thousands separator cuts it in two; write 1200, or quote it: \"1,200\" (inventory targets change "
            "nothing in this game: leave that column empty)") in said
    # Rows that only look alike are read: a target written out (a source cell follows it), a plain number.
    for text in ("0,snacks,1,700,500,\n", "0,snacks,1,1200,,\n"):
        (promo / "decisions" / "A.csv").write_text(PLAN_HEADER + text, encoding="utf-8")
        r = cli("show", str(promo), "--team", "A")
        assert r.exit_code == 0, (text, r.output)


def test_an_order_cut_by_its_thousands_separator_is_refused(tmp_path: Path) -> None:
    """Orders files have no second quantity: '1,retailer,1,200' reads 200 as the source (or as a fifth value)."""
    folder = tmp_path / "beer"
    assert cli("new", str(BEER), "--teams", "A", "--dir", str(folder), "--rounds", "3").exit_code == 0
    header = "round,role,order,source\n"
    said = _refused(folder, "A", header + "1,retailer,1,200\n")
    assert ("decisions/A.csv: line 2: '1,200' is read as two values, order 1 and source 200: a thousands separator "
            "cuts it in two; write 1200, or quote it: \"1,200\"") in said
    said = _refused(folder, "A", header + "1,retailer,1,200,team\n")
    assert "line 2: 5 values for 4 columns (round, role, order, source): '1,200' is cut in two" in said


def test_split_number_finds_the_cut_number() -> None:
    from simsop.workshop.decisions import split_number

    assert split_number(["0", "snacks", "1", "1", "200", ""], 3) == "1,200"
    assert split_number(["1", "250", "000.5", "x"]) == "1,250,000.5"
    assert split_number(["0", "snacks", "1", "900", ""], 3) == ""
    assert split_number(["12", "34"]) == ""


def test_a_late_row_is_noted_once_at_advance_and_kept_in_show_and_status(tmp_path: Path) -> None:
    """A row written for a round already played is ignored. The class hears it once, at the first advance that
    sees it, not at every later round while it stays in the file; the team's show and the facilitator's status
    keep naming it, and a row changed again is a new note."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "4").exit_code == 0
    assert cli("advance", str(folder), "--yes").exit_code == 0
    path = folder / "decisions" / "A.csv"
    path.write_text(path.read_text(encoding="utf-8") + "0,snacks,1,900,,\n", encoding="utf-8")  # late
    late = "cycle 0 (round 1) was already played"
    heard = []
    for k in (2, 3, 4):
        r = CliRunner().invoke(main, ["workshop", "decide", str(folder), "--team", "B"], input="800\n")
        assert r.exit_code == 0, r.output
        for args in (("show", str(folder), "--team", "A"), ("status", str(folder))):
            r = cli(*args)
            assert r.exit_code == 0 and late in " ".join(r.output.split()), (k, args, r.output)
        if k == 4:  # the team changes its late row: that is news again
            path.write_text(path.read_text(encoding="utf-8").replace("0,snacks,1,900,,", "0,snacks,1,950,,"),
                            encoding="utf-8")
        r = cli("advance", str(folder))
        assert r.exit_code == 0, r.output
        heard.append(" ".join(r.stderr.split()).count(late))
    assert heard == [1, 0, 1]
