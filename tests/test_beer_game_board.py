"""scenarios/beer_game.yaml against the classic board, step by step, for every week of the game.

The reference below moves chips on the board exactly as the facilitator's instructions say (Sterman 1989;
the MIT board's five steps each week), independently of simsop:

1. receive the beer in the shipping (factory: production) delay next to the stock, advance the other box;
2. read the incoming order (the retailer: the customers'), ship backlog plus order as far as stock goes;
3. record stock and backlog (the week's cost: $0.50 a case on hand, $1.00 a case of backlog);
4. advance the order slips: an order placed last week reaches its supplier's "incoming orders" (the
   factory puts last week's production request into the production delay);
5. place an order.

So a retailer, wholesaler or distributor receives its order of week t in week t + 4 (two weeks of order
delay, two of shipping), while the factory's production request of week t is brewed in week t + 3 (one
week of request delay, two of production). The board starts with 12 cases on hand, 4 in each delay box,
4 on each order slip and on the production request.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from simsop.replication import run_replication
from simsop.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
BEER = ROOT / "scenarios" / "beer_game.yaml"
STAGES = ("retailer", "wholesaler", "distributor", "factory")
WEEKS = 36


@dataclass
class Stage:
    inv: float = 12.0
    backlog: float = 0.0
    boxes: list[float] = field(default_factory=lambda: [4.0, 4.0])  # [next to the supplier, next to the stock]
    slip: float = 4.0  # orders placed, not yet at the supplier (factory: the production request)
    incoming: float = 4.0  # the downstream order waiting in this stage's "incoming orders"
    ordered: float = 0.0
    received: float = 0.0
    expected: float = 4.0


def board(demand: list[float], rule: Any, weeks: int = WEEKS) -> dict[str, dict[str, list[float]]]:
    """Play the board: per stage and week, the order placed, beer received, stock and backlog (step 3)."""
    st = [Stage() for _ in STAGES]
    for i, s in enumerate(st):
        # On order at the start: its slip, the two boxes and (but the factory) the slip its supplier holds.
        s.ordered = s.slip + sum(s.boxes) + (st[i + 1].incoming if i < len(st) - 1 else 0.0)
    out: dict[str, dict[str, list[float]]] = {n: {"orders": [], "received": [], "on_hand": [], "backlog": []}
                                              for n in STAGES}
    for w in range(weeks):
        got = []
        for s in st:  # step 1
            r = s.boxes[1]
            s.boxes = [0.0, s.boxes[0]]
            s.inv += r
            s.received += r
            got.append(r)
        seen = []
        for i, s in enumerate(st):  # step 2
            order = demand[w] if i == 0 else s.incoming
            seen.append(order)
            due = s.backlog + order
            ship = min(s.inv, due)
            s.inv -= ship
            s.backlog = due - ship
            if i > 0:
                st[i - 1].boxes[0] += ship
        for i, s in enumerate(st):  # step 4
            if i < len(st) - 1:
                st[i + 1].incoming = s.slip
            else:
                s.boxes[0] += s.slip  # the factory brews last week's request
            s.slip = 0.0
        for i, s in enumerate(st):  # step 5
            q = rule(i, s, seen[i])
            s.slip = q
            s.ordered += q
            o = out[STAGES[i]]
            o["orders"].append(q)
            o["received"].append(got[i])
            o["on_hand"].append(s.inv)
            o["backlog"].append(s.backlog)
    return out


def pass_through(i: int, s: Stage, incoming: float) -> float:
    return incoming


def anchor_and_adjust(theta: float, alpha_s: float, alpha_sl: float, s_star: float, sl_star: list[float]) -> Any:
    """Sterman's rule on the board: O = max(0, L + alpha_s (S* - S) + alpha_sl (SL* - SL)), S = stock -
    backlog, SL = ordered and not yet received, L smoothed from this week's incoming order."""
    def rule(i: int, s: Stage, incoming: float) -> float:
        s.expected = theta * incoming + (1 - theta) * s.expected
        sl = s.ordered - s.received
        return max(0.0, s.expected + alpha_s * (s_star - (s.inv - s.backlog)) + alpha_sl * (sl_star[i] - sl))
    return rule


def customer_demand() -> list[float]:
    return [4.0] * 4 + [8.0] * (WEEKS - 4)


def simulate(data: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    sc = parse_scenario(data, "<beer>")
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    rp, dep, snap = rec.replenishments, rec.departed, rec.snapshots
    out: dict[str, dict[str, list[float]]] = {}
    for i, name in enumerate(rec.meta.warehouses):
        placed = np.zeros(WEEKS + 1)
        sel = rp["warehouse"] == i
        np.add.at(placed, (rp["time"][sel] // 7).astype(int), rp["qty"][sel])
        got = np.zeros(WEEKS + 1)
        sel = (dep["warehouse"] == i) & (dep["arrival"] < 7 * WEEKS)
        np.add.at(got, (dep["arrival"][sel] // 7).astype(int), dep["qty"][sel])
        days = [7 * w for w in range(WEEKS)]
        out[name] = {"orders": placed[:WEEKS].tolist(), "received": got[:WEEKS].tolist(),
                     "on_hand": snap.on_hand[days, i].tolist(),
                     "backlog": (snap.backlog[days, i] + snap.internal_backlog[days, i]).tolist()}
    return out


def test_pass_through_plays_the_board_for_all_36_weeks() -> None:
    """Every stage's order, receipts, stock and backlog, week by week, equal the board's; nothing moves
    before the step in week 5; the factory's own beer arrives three weeks after its request, so its orders
    of 8 from week 11 arrive from week 14 and it never runs a backlog."""
    got = simulate(yaml.safe_load(BEER.read_text()))
    want = board(customer_demand(), pass_through)
    for st in STAGES:
        for key in ("orders", "received", "on_hand", "backlog"):
            assert got[st][key] == want[st][key], (st, key)
    # Steady state: weeks 1-4 are the initial state at every stage.
    for st in STAGES:
        assert got[st]["orders"][:4] == [4] * 4 and got[st]["received"][:4] == [4] * 4
        assert got[st]["on_hand"][:4] == [12] * 4 and got[st]["backlog"][:4] == [0] * 4
    assert got["factory"]["received"][10:16] == [4, 4, 4, 8, 8, 8]
    assert max(got["factory"]["backlog"]) == 0
    # Costs: $0.50 a case on hand, $1.00 a case of backlog per week and stage; 24 a week in steady state.
    cost = [sum(0.5 * want[s]["on_hand"][w] + want[s]["backlog"][w] for s in STAGES) for w in range(WEEKS)]
    assert cost[:4] == [24.0] * 4 and cost[WEEKS - 1] == 12 + 8 + 4 + 0


def test_pass_through_workshop_charges_the_boards_costs(tmp_path: Path) -> None:
    """A workshop played by the scenario's bot (pass the order on) costs what the board costs, per stage and
    in total, round by round."""
    from simsop.workshop.game import Workshop

    rounds = 16  # the factory's first beer brewed after the step arrives in week 14
    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], rounds=rounds)
    for _ in range(rounds):
        ws.advance()
    want = board(customer_demand(), pass_through, rounds)
    stages = ws.debrief_data()["teams"]["A"]["stages"]
    total = 0.0
    for st in STAGES:
        holding = 0.5 * sum(want[st]["on_hand"])
        backlog = sum(want[st]["backlog"])
        assert stages[st]["holding_cost"] == pytest.approx(holding), st
        assert stages[st]["backlog_cost"] == pytest.approx(backlog), st
        total += holding + backlog
    assert float(ws.leaderboard()[0]["total_cost"]) == pytest.approx(total, abs=0.01)


# Each stage's supply line while it decides, in the steady state: 3 weeks of orders of 4 at the retailer,
# wholesaler and distributor (the slip at the supplier, two shipping boxes), 2 at the factory (two batches
# brewing; this week's request is not yet written).
STEADY_SUPPLY_LINE = [12.0, 12.0, 12.0, 8.0]


def aa_data(theta: float, alpha_s: float, alpha_sl: float, stock: float = 12.0) -> dict[str, Any]:
    data = copy.deepcopy(yaml.safe_load(BEER.read_text()))
    for w, sl in zip(data["warehouses"], STEADY_SUPPLY_LINE, strict=True):
        w["stock"][0]["policy"] = {"type": "anchor_and_adjust", "theta": theta, "alpha_s": alpha_s,
                                   "alpha_sl": alpha_sl, "desired_stock": stock, "desired_supply_line": sl,
                                   "initial_expected": 4, "review_period": 7, "review_offset": 1}
    return data


def _board_aa(theta: float, alpha_s: float, alpha_sl: float, stock: float = 12.0) -> dict[str, Any]:
    return board(customer_demand(), anchor_and_adjust(theta, alpha_s, alpha_sl, stock, STEADY_SUPPLY_LINE))


@pytest.mark.parametrize(("theta", "alpha_s", "beta"), [(0.36, 0.26, 0.34), (1.0, 1.0, 1.0), (0.5, 0.8, 0.0)])
def test_anchor_and_adjust_plays_the_board(theta: float, alpha_s: float, beta: float) -> None:
    """Sterman's rule (his mean estimates, an order-up-to case, a supply line ignored) played on the board
    by hand and in simsop: the same orders, receipts, stock and backlog every week, to rounding."""
    got = simulate(aa_data(theta, alpha_s, beta * alpha_s))
    want = _board_aa(theta, alpha_s, beta * alpha_s)
    for st in STAGES:
        for key in ("orders", "received", "on_hand", "backlog"):
            np.testing.assert_allclose(got[st][key], want[st][key], atol=1e-9, err_msg=f"{st} {key}")
        assert got[st]["orders"][:4] == pytest.approx([4.0] * 4), st  # in equilibrium until the step


def test_anchor_and_adjust_with_full_adjustment_is_an_order_up_to_rule() -> None:
    """alpha_S = 1, beta = 1, theta = 1 (no smoothing): O_t = D_t + (S* + SL*) - (S_t + SL_t), an order-up-to
    rule whose level follows the latest demand D_t. The inventory position after ordering is S* + SL* + D_t,
    so O_t = D_t + (D_t - D_{t-1}) = 2 D_t - D_{t-1}, while that is >= 0. For the step 4 -> 8 in week 5 the
    retailer orders 4, 4, 4, 4, 12, 8, 8, ...; the wholesaler, seeing those two weeks later, 4 x 6, 20, 4, 8,
    ...; the distributor wants 2 x 20 - 4 = 36 in week 9 (then the max(0, .) of the rule binds)."""
    got = simulate(aa_data(1.0, 1.0, 1.0))
    assert got["retailer"]["orders"][:8] == pytest.approx([4, 4, 4, 4, 12, 8, 8, 8])
    assert got["wholesaler"]["orders"][:10] == pytest.approx([4] * 6 + [20, 4, 8, 8])
    assert got["distributor"]["orders"][:10] == pytest.approx([4] * 8 + [36, 0])
    assert got["factory"]["orders"][:10] == pytest.approx([4] * 10)  # nothing moves until week 11


def test_sterman_mean_parameters_give_the_bullwhip() -> None:
    """With Sterman's mean estimates (theta 0.36, alpha_S 0.26, beta 0.34) the one step in demand makes orders
    swing more at every stage upstream (variance over the customers' variance, 36 weeks: about 5, 25, 53 and
    78), the factory's orders peak at about four times demand after the retailer's, and the chain costs over
    three times what it costs when the supply line is fully counted (beta 1): Sterman's (1989) finding that
    underweighting the supply line causes the overordering and the oscillation."""
    def play(beta: float) -> tuple[list[float], list[float], float]:
        got = simulate(aa_data(0.36, 0.26, beta * 0.26))
        d = np.var(customer_demand())
        ratios = [float(np.var(got[st]["orders"]) / d) for st in STAGES]
        weeks = [float(np.argmax(got[st]["orders"]) + 1) for st in STAGES]
        cost = sum(0.5 * sum(got[st]["on_hand"]) + sum(got[st]["backlog"]) for st in STAGES)
        return ratios, weeks, cost

    ratios, weeks, cost = play(0.34)
    assert ratios == sorted(ratios) and ratios[0] > 1 and ratios[-1] > 10 * ratios[0], ratios
    assert weeks[-1] > weeks[0] >= 5, weeks
    _, _, cost_full = play(1.0)
    assert cost > 3 * cost_full, (cost, cost_full)
