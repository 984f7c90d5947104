"""A shock injected into a workshop is told to the teams in words that name what it hits: every shock type
gets its detail (an outage that did not name its supplier left the class asking which one)."""

from __future__ import annotations

from typing import Any

import pytest

from simsop.shocks import SHOCK_TYPES
from simsop.workshop.dashboard import shock_text

EXAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "demand_step": ({"magnitude": -0.3}, "demand -30%"),
    "demand_spike": ({"magnitude": 1.0}, "demand +100%"),
    "demand_ramp": ({"magnitude": 0.5}, "demand ramps to +50%"),
    "collapse_rebound": ({"magnitude": -0.4, "rebound": 0.2}, "then a rebound of +20%"),
    "promotion": ({"lift": 0.3, "pull_forward": 0.5}, "demand +30%"),
    "launch": ({"products": ["new"]}, "new"),
    "phase_out": ({"products": ["old"]}, "old"),
    "factory_outage": ({"factory": "Plant"}, "Plant makes nothing"),
    "capacity_loss": ({"factory": "Plant", "factor": 0.6}, "Plant at 60% of its capacity"),
    "lane_delay": ({"lane": {"from": "Plant", "to": "DC"}, "extra_days": 7}, "Plant -> DC: lead time +7 days"),
    "supplier_delay": ({"supplier": "Acme", "factor": 1.5}, "Acme: lead time x1.5"),
    "supplier_outage": ({"supplier": "Acme"}, "Acme accepts no orders"),
}


@pytest.mark.parametrize("kind", SHOCK_TYPES)
def test_every_shock_type_is_told_with_what_it_hits(kind: str) -> None:
    fields, said = EXAMPLES[kind]
    text = shock_text({"type": kind, "start": 40, "duration": 28, **fields})
    assert text.startswith(kind.replace("_", " ") + ": ") and said in text, text
    assert text.endswith("days 40-67"), text
