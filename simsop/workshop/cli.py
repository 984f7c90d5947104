"""``simsop workshop``: the commands of a classroom workshop (registered on the main ``simsop`` group).

Every command prints what went wrong on standard error and exits with code 2 when its input is bad (a
decision file, a shock, a folder that is not a workshop); the workshop is then unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _errors(fn: F, changes: bool = True) -> F:
    """Turn workshop, decision and scenario errors into a message and exit code 2 (``changes``: whether the
    command would have changed anything, so that its message may say nothing was)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from simsop.scenario import ScenarioError
        from simsop.workshop.decisions import DecisionError
        from simsop.workshop.state import WorkshopError

        try:
            return fn(*args, **kwargs)
        except DecisionError as exc:
            click.echo("Bad decision file(s); nothing was changed:" if changes else "Bad decision file(s):", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
            sys.exit(2)
        except (WorkshopError, ScenarioError) as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _read_only(fn: F) -> F:
    """``_errors`` for a command that never changes anything (its messages do not say nothing was changed)."""
    return _errors(fn, changes=False)


def _open(folder: str) -> Any:
    from simsop.workshop.game import Workshop

    return Workshop.open(folder)


def _period(ws: Any) -> str:
    """What a round's period is called: week (the Beer Game), month (monthly S&OP), else period."""
    if ws.cfg.kind == "orders":
        return "week" if ws.cfg.round_days == 7 else "period"
    bucket = ws.base.planning.bucket
    return bucket if bucket in ("month", "week") else "period"


class _Units(click.ParamType):
    """A quantity a team types: a number of units, 0 or more (and not absurd)."""

    name = "units"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from simsop.planning.decision_csv import MAX_QUANTITY
        from simsop.workshop.decisions import number_hint

        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number{number_hint(str(value))}; type a number of units, e.g. 1200",
                      param, ctx)
        if x != x or x < 0:
            self.fail(f"{value} is below 0; type a number of units, 0 or more", param, ctx)
        if x > MAX_QUANTITY:
            self.fail(f"{value} is more than {MAX_QUANTITY:.0e} units; check the number", param, ctx)
        return x


UNITS = _Units()


def _default(x: float) -> int | float:
    """A prompt's default as a person would type it: whole units ("4", not "4.0")."""
    return round(x) if abs(x - round(x)) < 1e-9 or abs(x) >= 10 else round(x, 2)


def _parse_yaml(text: str, what: str) -> Any:
    from simsop.scenario import ScenarioError, parse_yaml

    try:
        return parse_yaml(text, what)
    except ScenarioError as exc:
        raise click.BadParameter("; ".join(str(p) for p in exc.problems), param_hint=what) from None


def _print_leaderboard(ws: Any, rows: list[dict[str, Any]], title: str) -> None:
    from simsop.workshop.dashboard import leaderboard_view, table

    headers, body = leaderboard_view(rows, ws.cfg.score.metric, ws.cfg.score.higher_is_better)
    click.echo(table(title, headers, body, right=[i for i in range(len(headers)) if i != 1]))


@click.group()
def workshop() -> None:
    """Run a classroom workshop: teams decide, the simulator plays the round, a debrief shows why.

    \b
    simsop workshop new scenarios/beer_game.yaml --teams A,B,C --dir beer
    simsop workshop decide beer --team A          (or edit beer/decisions/A.csv)
    simsop workshop advance beer                  (plays the round for every team)
    simsop workshop shock beer '{type: demand_spike, magnitude: 1.0, duration: 7}'
    simsop workshop shock beer '{type: supplier_outage, supplier: brewery, duration: 28}'
    simsop workshop leaderboard beer
    simsop workshop replay beer -n 20             (skill or luck: other random futures)
    simsop workshop debrief beer                  (beer/debrief.html)
    """


@workshop.command("new")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--teams", required=True, help="Team names, comma-separated (e.g. A,B,C).")
@click.option("--dir", "folder", required=True, type=click.Path(file_okay=False), help="The workshop folder to create.")
@click.option("--seed", type=click.IntRange(min=0), help="The workshop's random future (default: the scenario's).")
@click.option("--rounds", type=click.IntRange(min=1), help="Rounds to play (default: the scenario's / all).")
@click.option("--roles", help="Orders games: the roles each team plays, comma-separated (default: all).")
@click.option("--bot", help="Who decides for teams that have not: scenario, hold, a policy name, or a policy as "
              "YAML, e.g. '{type: anchor_and_adjust, ...}'; orders games also a bot per role, e.g. "
              "'{factory: {type: anchor_and_adjust}, default: scenario}'.")
@click.option("--visibility", type=click.Choice(["none", "full"]), help="What teams see (default: the scenario's).")
@click.option("--score", type=click.Choice(["profit", "total_cost", "otif", "fill_rate", "revenue", "gross_margin",
                                            "avg_backlog"]), help="The leaderboard's metric (default: the scenario's).")
@_errors
def new(scenario: str, teams: str, folder: str, seed: int | None, rounds: int | None, roles: str | None,
        bot: str | None, visibility: str | None, score: str | None) -> None:
    """Create a workshop folder from SCENARIO: settings, one decision file per team, round 0's state."""
    from simsop.workshop.game import Workshop

    bot_value = _parse_yaml(bot, "--bot") if bot else None
    ws = Workshop.create(scenario, folder, teams.split(","), seed=seed, rounds=rounds,
                         roles=[r.strip() for r in roles.split(",") if r.strip()] if roles else None, bot=bot_value,
                         visibility=visibility, score=score)
    cfg = ws.cfg
    click.echo(f"Workshop {cfg.name!r} in {folder}: {len(cfg.teams)} teams, {cfg.rounds} rounds "
               f"({'orders' if cfg.kind == 'orders' else 'S&OP plans'}), seed {cfg.seed}, score {cfg.score.metric}, "
               f"bot: {ws.bot_name}, visibility {cfg.visibility}.")
    if cfg.kind == "orders":
        click.echo(f"Roles: {', '.join(cfg.roles)}; each team plays {', '.join(ws.roles(ws.teams[0])) or 'none'}.")
    click.echo(f"Teams decide with `simsop workshop decide {folder} --team NAME` or by editing "
               f"{folder}/decisions/NAME.csv; then `simsop workshop advance {folder}`.")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@_read_only
def status(folder: str) -> None:
    """Rounds played, who has decided the next round, shocks."""
    ws = _open(folder)
    s = ws.status()
    click.echo(f"{s['name']}: {s['played']} of {s['rounds']} rounds played; "
               + (f"next round {s['next_round']}" if s["next_round"] else "the workshop is over")
               + f"; visibility {s['visibility']}; score {s['score']}; bot: {ws.bot_name}")
    from simsop.workshop.dashboard import shock_text

    if s["next_round"]:
        k = s["next_round"]
        for team, what in s["decided"].items():
            if what == "not yet":
                click.echo(f"  team {team}: round {k} not decided yet (the bot will decide if it stays so)")
            elif what == "yes":
                click.echo(f"  team {team}: round {k} decided")
            elif what.startswith("file has problems"):
                click.echo(f"  team {team}: its decision file has problems; `simsop workshop show {folder} --team "
                           f"{team}` lists them")
            else:
                click.echo(f"  team {team}: round {k} decided for {what}")
    _notes([n for ns in s["notes"].values() for n in ns])
    for sh in s["shocks"]:
        click.echo(f"  shock {sh.get('name')} ({shock_text(sh, ws.span_text)})")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--team", required=True, help="The team.")
@_read_only
def show(folder: str, team: str) -> None:
    """Print a team's dashboard (what it sees before deciding the next round)."""
    from simsop.workshop.dashboard import render

    ws = _open(folder)
    click.echo(render(ws.dashboard(team), _period(ws)))
    _notes(ws.file_notes(team), "\n")
    if not ws.over:
        warnings = ws.supply_check(team)
        if warnings:
            click.echo(f"\nSupply review of your plan for round {ws.played + 1} (decisions/{team}.csv):")
            _supply_warnings(warnings)


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--team", required=True, help="The team deciding.")
@click.option("--role", "roles", multiple=True, help="Orders games: decide only these roles (repeat the option).")
@click.option("--by", type=click.Choice(["family", "product"]), help="Plan games: plan families or products "
              "(default: families when there are fewer families than products).")
@_errors
def decide(folder: str, team: str, roles: tuple[str, ...], by: str | None) -> None:
    """Show TEAM's dashboard and ask for its decisions for the next round; saves them to its decision file."""
    from simsop.workshop.dashboard import render
    from simsop.workshop.state import WorkshopError

    ws = _open(folder)
    ws._need_team(team)
    if ws.over:
        raise WorkshopError(f"the workshop is over: all {ws.cfg.rounds} rounds were played")
    d = ws.dashboard(team)
    click.echo(render(d, _period(ws)))
    _notes(ws.file_notes(team), "\n")
    click.echo("")
    k = ws.played + 1
    values: dict[Any, Any] = {}
    if ws.cfg.kind == "orders":
        mine = ws.roles(team)
        bad = [r for r in roles if r not in mine]
        if bad:
            raise WorkshopError(f"team {team} does not play {bad[0]!r} (it plays {', '.join(mine)})")
        decided = {r.role: r.order for r in ws.read_decisions(team) if r.round == k}
        for role in roles or mine:
            st = d["stages"][role]
            again = f"; decided {decided[role]:g}" if role in decided else ""
            values[role] = click.prompt(f"Round {k}: {role}'s order (orders in this {_period(ws)}: "
                                        f"{st['incoming']:g}{again})", type=UNITS,
                                        default=_default(decided.get(role, st["incoming"])))
    else:
        values = _ask_plan(ws, team, d, k, by)
    ws.submit(team, values)
    click.echo(f"Saved team {team}'s decisions for round {k} to {ws.decisions_path(team)}.")


def _notes(notes: list[str], before: str = "") -> None:
    """Rows of a decision file that the game does not play (late, or edits of played rounds), or missing."""
    from simsop.workshop.dashboard import wrap

    if notes:
        click.echo(before + "About the decision files:")
    for n in notes:
        click.echo(wrap(f"note: {n}", indent="  "))


def _supply_warnings(warnings: list[str], err: bool = False) -> None:
    """Warnings wrapped as the dashboard's prose is (``err``: on standard error, as ``advance`` says them)."""
    from simsop.workshop.dashboard import wrap

    for w in warnings:
        click.echo(wrap(f"warning: {w}", indent="" if err else "  ", subsequent="  " if err else None), err=err)


def _ask_plan(ws: Any, team: str, d: dict[str, Any], k: int, by: str | None) -> dict[Any, Any]:
    """A plan game's decisions for the bucket to plan, checked against capacity as soon as they are typed (the
    supply review): a plan above what the plants can make is taken when the team confirms it (teams may make
    bad decisions, not unknowingly); otherwise it is asked again."""
    fams = d["families"]
    n_products = len(d["products"])
    by = by or ("family" if len(fams) < n_products else "product")
    items = fams if by == "family" else d["products"]
    b = d["buckets"][0]
    typed: dict[str, float] = {}
    while True:
        values: dict[Any, Any] = {}
        for item, row in items.items():
            plan, fc = row["plan_in_force"][0], row["forecast"][0]
            # A team deciding again starts from its own decision (its rows set this item's month), as it sees it.
            mine = (row["plan_decided"][0] if row.get("plan_decided") and not row["decided_elsewhere"][0]
                    else None)
            default = mine if mine is not None else plan if plan is not None else (fc if fc == fc else 0)
            hint = [f"forecast {fc:,.0f}" if fc == fc else "no forecast"]
            if plan is not None:
                hint.append(f"plan in force {plan:,.0f}")
            if mine is not None:
                hint.append(f"your decision {mine:,.0f}")
            q = click.prompt(
                f"Round {k}: units of {item.strip()} to make in {b['label']} (days {b['start']}-"
                f"{b['start'] + b['days'] - 1}; {', '.join(hint)})",
                type=UNITS, default=_default(typed.get(item, default)))
            typed[item] = q
            values[(item.strip(), b["bucket"])] = q
            if d.get("inventory_targets"):
                values[(item.strip(), b["bucket"])] = (q, _ask_target(k, item.strip(), b["label"], row,
                                                                     d["inventory_targets"]["days_of_cover"]))
        warnings = ws.supply_check(team, values)
        if not warnings:
            return values
        _supply_warnings(warnings)
        if click.confirm(f"Keep this plan for {b['label']} anyway?", default=True):
            return values
        click.echo("Then plan it again (Enter keeps what you typed).")


def _ask_target(k: int, item: str, label: str, row: dict[str, Any], cover: float) -> float:
    """A plan game's inventory target for one product or family (when the plan sets the reorder levels): the
    cycle's proposal (days of cover of the forecast, plus the safety stock when the scenario sets one) by
    default, else the target in force, else 0."""
    proposed, in_force, ss = row.get("target"), row.get("target_in_force"), row.get("target_safety_stock")
    mine = row.get("target_decided") if row.get("decided_elsewhere") and not row["decided_elsewhere"][0] else None
    what = f"{cover:g} days of forecast" + (f" + safety stock {ss:,.0f}" if ss is not None else "")
    hint = [f"proposed {proposed:,.0f}: {what}" if proposed is not None else "no forecast"]
    if in_force is not None:
        hint.append(f"in force {in_force:,.0f}")
    if mine is not None:
        hint.append(f"your decision {mine:,.0f}")
    default = (mine if mine is not None else proposed if proposed is not None else
               (in_force if in_force is not None else 0.0))
    return float(click.prompt(f"Round {k}: inventory target of {item} for {label} (units of stock the reordering "
                              f"warehouses aim to hold; {', '.join(hint)})", type=UNITS, default=_default(default)))


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--yes", "all_bots", is_flag=True, help="Play the round even if no team has decided it (the bot "
              "decides for every team).")
@_errors
def advance(folder: str, all_bots: bool) -> None:
    """Play the next round for every team (a team that has not decided gets the bot's decision).

    It refuses when no team has decided the round (a second `advance` by mistake), unless --yes is given;
    `simsop workshop undo FOLDER` takes back the last round played.
    """
    ws = _open(folder)
    out = ws.advance(all_bots=all_bots)
    _supply_warnings(out["warnings"], err=True)
    a, b = out["counted"]
    z = out["tail"][1] if out.get("tail") else b
    _print_leaderboard(ws, out["leaderboard"], f"Leaderboard after round {out['round']} of {out['rounds']} "
                       f"({ws.span_text(0, z)}; this round counted {ws.span_text(a, b)}):" if b > a else
                       f"Leaderboard after round {out['round']} of {out['rounds']}:")
    if out.get("tail"):
        from simsop.workshop.dashboard import money

        ta, tb = out["tail"]
        click.echo(f"The totals also count {ws.span_text(ta, tb)}, after the last round, where its plan plays out "
                   f"until the game ends; profit then: " + ", ".join(
                       f"{t} {money(m['profit'])}" for t, m in out["tail_metrics"].items()) + ".")
    if out["over"]:
        click.echo(f"The workshop is over. Debrief: simsop workshop debrief {folder}")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@_errors
def undo(folder: str) -> None:
    """Take back the last round played (its results and the bot's rows for it); teams' own rows stay.

    After an interrupted advance or undo it only finishes the clean-up of that round.
    """
    ws = _open(folder)
    out = ws.undo()
    k = out["round"]
    bots = ", ".join(f"{t} ({n} row{'s' if n != 1 else ''})" for t, n in out["bot_rows"].items())
    if out["finished"]:
        click.echo(f"Cleaned up after an interrupted advance or undo of round {k}: its results and the bot's rows "
                   f"for it are gone{f' ({bots})' if bots else ''}. Rounds played: {ws.played}.")
        return
    click.echo(f"Round {k} taken back: {ws.played} of {ws.cfg.rounds} rounds played; round {k} is next. "
               + (f"The bot's rows for it were removed from: {bots}. " if bots else "")
               + f"Teams' own rows for round {k} stay; change them, then `simsop workshop advance {folder}`.")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("shock", required=False)
@click.option("--file", "shock_file", type=click.Path(dir_okay=False), help="Read the shock from a YAML file.")
@_errors
def shock(folder: str, shock: str | None, shock_file: str | None) -> None:
    """Inject a shock before the next round, given as YAML/JSON (the `shocks:` entries of a scenario).

    It starts on the next round's decision day (the day its teams decide, as `show` says) unless it says
    `start` or `window`. Example:
    '{type: demand_step, magnitude: -0.3, duration: 28}'.
    """
    if (shock is None) == (shock_file is None):
        raise click.UsageError("give the shock as an argument or with --file, not both")
    if shock_file:
        from simsop.scenario import read_yaml

        data = read_yaml(shock_file)  # a ScenarioError names the file: see _errors
    else:
        data = _parse_yaml(str(shock), "SHOCK")
    if not isinstance(data, dict):
        raise click.BadParameter("a shock is a mapping, e.g. '{type: demand_step, magnitude: 0.5}'",
                                 param_hint="SHOCK")
    from simsop.workshop.dashboard import shock_text

    ws = _open(folder)
    stored = ws.inject_shock(data)
    click.echo(f"Shock {stored['name']!r} injected before round {ws.played + 1}: {shock_text(stored, ws.span_text)}.")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("level", type=click.Choice(["none", "full"]))
@_errors
def visibility(folder: str, level: str) -> None:
    """What teams see from the next round on: none (their own roles) or full (every stage, customer demand)."""
    ws = _open(folder)
    ws.set_visibility(level)
    click.echo(f"Visibility {level} from round {ws.played + 1}.")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--round", "k", type=click.IntRange(min=0), help="After this round (default: the last played).")
@_read_only
def leaderboard(folder: str, k: int | None) -> None:
    """Print the leaderboard (profit, OTIF, total cost; ranked by the workshop's score)."""
    ws = _open(folder)
    k = ws.played if k is None else k
    _print_leaderboard(ws, ws.leaderboard(k), f"Leaderboard after round {k} of {ws.cfg.rounds}:")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("-n", "--replications", type=click.IntRange(min=1), default=20, show_default=True,
              help="Other random futures to replay each team's decisions against.")
@_errors
def replay(folder: str, replications: int) -> None:
    """Replay every team's decisions against other random futures: how much of the ranking is skill?"""
    from simsop.workshop.dashboard import money, pct, table

    ws = _open(folder)
    out = ws.replay(replications)
    metric = ws.cfg.score.metric
    better = "higher" if ws.cfg.score.higher_is_better else "lower"

    def num(x: Any) -> str:
        return "-" if x is None else money(x) if metric not in ("otif", "fill_rate") else pct(x)

    rows = [[s["team"], num(s["workshop_score"]), str(s["workshop_rank"]), num(s["mean"]), num(s["sd"]),
             num(s["min"]), num(s["max"]), "-" if s["mean_rank"] is None else f"{s['mean_rank']:.1f}",
             "-" if s["first"] is None else f"{100 * s['first']:.0f}%"] for s in out["summary"]]
    click.echo(table(f"{metric.replace('_', ' ')} ({better} is better) of each team's decisions, rounds 1-"
                     f"{out['rounds']}, in the workshop's future and in {replications} others:",
                     ["team", "workshop", "rank", "mean", "sd", "min", "max", "mean rank", "ranked 1st"], rows,
                     right=range(1, 9)))
    if all(s["sd"] is not None and s["sd"] < 1e-9 for s in out["summary"]):
        click.echo("Every future gave the same scores: nothing random touched this game (its demand and shocks "
                   "are fixed), so the ranking is all decisions. Inject a shock with a random start (window) or "
                   "probability to see luck at work.")
    else:
        click.echo("A team whose rank holds in most futures won by its decisions; a rank that changes from "
                   "future to future was partly luck.")
    click.echo(f"rows: {ws.root / 'results' / 'replay.csv'}")


@workshop.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="The HTML file (default: FOLDER/debrief.html).")
@_errors
def debrief(folder: str, out: str | None) -> None:
    """Write the HTML debrief: leaderboard, orders against demand, stock and backlog, cost by stage, bias."""
    ws = _open(folder)
    path = ws.write_debrief(out)
    click.echo(f"debrief: {path}")
