"""The Beer Game debrief's orders chart names the bot that ordered for each stage nobody played, now that each
role may have its own bot (a bare "(bot)" left the class guessing which rule made which swing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simsop.workshop.game import Workshop
from tests.helpers import debrief_figures

BEER = Path(__file__).resolve().parent.parent / "scenarios" / "beer_game.yaml"


def test_the_orders_chart_names_each_stages_bot(tmp_path: Path, monkeypatch: Any) -> None:
    bot = {"factory": {"type": "base_stock", "level": 28}, "default": "scenario"}
    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], rounds=3, roles=["retailer"], bot=bot)
    ws.submit("A", {"retailer": 5})
    for _ in range(3):
        ws.advance()
    figs = debrief_figures(ws.debrief_data(), monkeypatch)
    chart = next(f for f in figs.values() if any(ln.get_gid() == "orders:retailer" for ln in f.axes[0].lines))
    labels = {ln.get_gid(): ln.get_label() for ln in chart.axes[0].lines if str(ln.get_gid()).startswith("orders:")}
    assert labels["orders:retailer"] == "retailer orders"  # the team's own
    assert labels["orders:factory"] == "factory orders (bot: base_stock)"
    assert labels["orders:wholesaler"].startswith("wholesaler orders (bot: its own rule: ")
