"""The ``workshop`` section of a scenario: how the company is played as a classroom game.

It says what teams decide each round (``plan``: production by family or product through the S&OP cycle,
the ``replay`` policy's format; ``orders``: the replenishment order of each role, a warehouse, as in the
Beer Game), how many rounds there are, how teams are ranked, which bot stands in for a team that has not
decided (and plays the roles nobody plays), and what teams see of the company by default.

This module imports nothing from :mod:`simsop.scenario` at import time, because ``simsop.scenario``
imports the schema from here; the cross-checks against a scenario import it lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from simsop.dists import StrictModel

if TYPE_CHECKING:
    from simsop.scenario import Problem, Scenario

# Metrics a leaderboard can rank on, and which way is better by default.
SCORE_METRICS = {"profit": "higher", "total_cost": "lower", "otif": "higher", "fill_rate": "higher",
                 "revenue": "higher", "gross_margin": "higher", "avg_backlog": "lower"}


class _Model(StrictModel):
    """Unknown keys are errors; numbers are finite and written as numbers (see simsop.dists.StrictModel)."""


class ScoreSpec(_Model):
    """How teams are ranked: one metric over the rounds played, and whether more of it is better."""

    metric: Literal["profit", "total_cost", "otif", "fill_rate", "revenue", "gross_margin", "avg_backlog"] = "profit"
    better: Literal["higher", "lower"] | None = Field(default=None, description="default: lower for total_cost "
                                                      "and avg_backlog, higher otherwise")

    @property
    def higher_is_better(self) -> bool:
        return (self.better or SCORE_METRICS[self.metric]) == "higher"


class WorkshopSpec(_Model):
    """How the scenario is played by teams in ``simsop workshop`` (all keys optional).

    * ``decisions``: ``plan`` (production per family or product each S&OP cycle; one round per planning
      bucket) or ``orders`` (each role's replenishment order; one round per review period of the roles).
      Default: ``orders`` when ``roles`` are given, else ``plan``.
    * ``roles``: the warehouses whose orders teams decide (each holds one product and has a source).
    * ``round_days``/``first_day``: the rhythm of an ``orders`` game (default: the roles' review period
      and first review day).
    * ``rounds``: rounds to play (default: as many as the horizon holds).
    * ``score``: the leaderboard's metric. ``bot``: who decides for a team that has not (and plays the
      roles nobody plays): ``scenario`` (the roles' own policies; for ``plan`` games the scenario's
      planning policy), ``hold`` (``plan`` games: keep the plan in force), a planning policy name
      (``plan``) or a replenishment policy such as ``{type: anchor_and_adjust}`` (``orders``). An
      ``orders`` game may give a bot per role: a mapping role -> bot (``scenario`` or a policy), with
      ``default`` for the roles it leaves out (default ``scenario``), e.g.
      ``{retailer: {type: anchor_and_adjust}, default: scenario}``.
    * ``visibility``: what a team sees: ``none`` (its own roles / network totals) or ``full`` (every
      stage and the customers' demand).
    """

    decisions: Literal["plan", "orders"] | None = None
    roles: tuple[str, ...] = ()
    round_days: PositiveInt | None = None
    first_day: NonNegativeInt | None = None
    rounds: PositiveInt | None = None
    score: ScoreSpec = Field(default_factory=ScoreSpec)
    bot: str | dict[str, Any] = "scenario"
    visibility: Literal["none", "full"] = "none"

    @property
    def kind(self) -> Literal["plan", "orders"]:
        if self.decisions is not None:
            return self.decisions
        return "orders" if self.roles else "plan"


def workshop_problems(sc: Scenario, spec: WorkshopSpec | None = None, path: str = "workshop") -> list[Problem]:
    """Cross-checks of a workshop spec against its scenario (roles exist and can order, the bot is known)."""
    from simsop.scenario import Problem

    spec = spec if spec is not None else sc.workshop
    if spec is None:
        return []
    probs: list[Problem] = []
    wh = {w.id: w for w in sc.warehouses}
    if spec.kind == "orders":
        if not spec.roles:
            probs.append(Problem(f"{path}.roles", "an 'orders' workshop needs the warehouses teams play"))
        periods: set[tuple[int, int]] = set()
        for i, r in enumerate(spec.roles):
            w = wh.get(r)
            if w is None:
                probs.append(Problem(f"{path}.roles[{i}]", f"unknown warehouse {r!r}; expected one of {sorted(wh)}"))
                continue
            if len(w.stock) != 1:
                probs.append(Problem(f"{path}.roles[{i}]", f"warehouse {r!r} holds {len(w.stock)} products; a role "
                                     "holds exactly one (its order is one number)"))
                continue
            item = w.stock[0]
            if item.source is None:
                probs.append(Problem(f"{path}.roles[{i}]", f"warehouse {r!r} has no source to order from"))
            rp = getattr(item.policy, "review_period", 0)
            if rp and rp > 0:
                periods.add((rp, getattr(item.policy, "review_offset", 0)))
        if len(spec.roles) != len(set(spec.roles)):
            probs.append(Problem(f"{path}.roles", "a role appears twice"))
        if spec.round_days is None and len(periods) != 1:
            probs.append(Problem(f"{path}.round_days", "give round_days (and first_day): the roles' policies do not "
                                 "share one periodic review to take the rhythm from"))
        probs += orders_bot_problems(spec.bot, spec.roles, f"{path}.bot")
    else:
        if spec.roles:
            probs.append(Problem(f"{path}.roles", "roles go with decisions: orders"))
        if not sc.factories:
            probs.append(Problem(f"{path}.decisions", "a 'plan' workshop needs a factory to plan"))
        if isinstance(spec.bot, dict):
            probs.append(Problem(f"{path}.bot", "a 'plan' game's bot is 'scenario', 'hold' or a planning policy name"))
        elif spec.bot not in ("scenario", "hold"):
            from simsop.planning.policy import available_policies

            known = [p for p in available_policies() if p not in ("none", "replay")]
            if spec.bot not in known and ":" not in spec.bot:
                probs.append(Problem(f"{path}.bot", f"unknown bot {spec.bot!r}; expected 'scenario', 'hold' or one of "
                                     f"{known}"))
    return probs


# ---------------------------------------------------------------------------------------------- orders bots

DEFAULT_BOT = "default"  # the key of a per-role bot mapping that stands for the roles it does not name
# Policies that review every ``review_period`` days; a bot of these follows the game's rounds by default.
PERIODIC_BOTS = ("pass_through", "anchor_and_adjust", "base_stock", "sS", "forecast_base_stock")


def per_role(bot: str | dict[str, Any]) -> bool:
    """Whether an ``orders`` game's bot is a mapping role -> bot (a policy always has a ``type``)."""
    return isinstance(bot, dict) and "type" not in bot


def role_bots(bot: str | dict[str, Any], roles: Sequence[str]) -> dict[str, str | dict[str, Any]]:
    """Each role's bot in an ``orders`` game: ``scenario`` (the role's own policy) or a policy mapping."""
    if not per_role(bot):
        return dict.fromkeys(roles, bot)
    assert isinstance(bot, dict)
    each: dict[str, str | dict[str, Any]] = bot
    rest = each.get(DEFAULT_BOT, "scenario")
    return {r: each.get(r, rest) for r in roles}


def with_rhythm(bot: str | dict[str, Any], round_days: int, first_day: int) -> str | dict[str, Any]:
    """The bot with the game's rhythm written into each periodic policy that does not give its own review
    (a bot deciding on other days than the teams would place orders nobody sees coming)."""
    def one(b: Any) -> Any:
        if isinstance(b, dict) and b.get("type") in PERIODIC_BOTS:
            return {"type": b["type"], "review_period": round_days, "review_offset": first_day, **b}
        return b

    if per_role(bot):
        assert isinstance(bot, dict)
        return {r: one(b) for r, b in bot.items()}
    return one(bot)


def orders_bot_problems(bot: str | dict[str, Any], roles: Sequence[str], path: str) -> list[Problem]:
    """What is wrong with an ``orders`` game's bot: ``scenario``, a replenishment policy, or a mapping role ->
    either of them (plus ``default``); each problem's path names the role (``workshop.bot.retailer``)."""
    from simsop.scenario import Problem

    if per_role(bot):
        assert isinstance(bot, dict)
        if not bot:
            return [Problem(path, "an empty mapping: give 'scenario', a replenishment policy such as "
                            "{type: anchor_and_adjust}, or a bot per role (role: bot, and 'default' for the rest)")]
        probs: list[Problem] = []
        if DEFAULT_BOT in roles:
            probs.append(Problem(path, f"a role is called {DEFAULT_BOT!r}, which a per-role bot mapping reads as "
                                 "the bot of the roles it leaves out; give one bot for every role"))
        for key, b in bot.items():
            where = f"{path}.{key}"
            if key != DEFAULT_BOT and key not in roles:
                import difflib

                close = difflib.get_close_matches(str(key), [*roles, DEFAULT_BOT], n=1, cutoff=0.75)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                probs.append(Problem(where, f"unknown role {key!r}{hint}; expected one of {list(roles)} or "
                                     f"{DEFAULT_BOT!r} (the bot of the roles not named)"))
                continue
            probs += _one_bot_problems(b, where)
        return probs
    return _one_bot_problems(bot, path)


def _one_bot_problems(bot: Any, path: str) -> list[Problem]:
    from simsop.scenario import Problem

    if isinstance(bot, dict):
        from pydantic import TypeAdapter, ValidationError

        from simsop.scenario import PolicySpec, _problem_from_error

        try:
            TypeAdapter(PolicySpec).validate_python(bot)
        except ValidationError as exc:
            return [Problem(path + (f".{p.path}" if p.path else ""), p.message)
                    for p in map(_problem_from_error, exc.errors())]
        return []
    if bot != "scenario":
        return [Problem(path, f"an 'orders' game's bot is 'scenario' or a replenishment policy such as "
                        f"{{type: anchor_and_adjust}}, got {bot!r}")]
    return []


def bot_label(bot: str | dict[str, Any], own_rule: str) -> str:
    """One bot in words: the policy's type, or the role's own rule (``own_rule``) for ``scenario``."""
    if isinstance(bot, dict):
        return str(bot.get("type", "a replenishment rule"))
    return f"its own rule: {own_rule}" if bot == "scenario" else str(bot)
