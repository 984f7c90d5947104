"""The workshop: a folder of files, and the operations the facilitator and the teams run on it.

::

    ws = Workshop.create("scenarios/beer_game.yaml", "beer", teams=["A", "B", "C"])
    ws.dashboard("A")                      # what team A sees before deciding round 1
    ws.submit("A", {"retailer": 8})        # or edit beer/decisions/A.csv
    report = ws.advance()                  # plays round 1 for every team; report["leaderboard"]
    ws.inject_shock({"type": "demand_spike", "magnitude": 1.0})   # before the next round
    ws.replay(20)                          # each team's decisions against 20 other random futures
    ws.write_debrief()                     # debrief.html

Every operation checks all its input before it writes anything, and writes each file atomically, with
``workshop.yaml`` last (it says how many rounds were played): a bad decision file, an impossible shock or
a crash leaves the workshop as it was.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from simsop.planning.labels import BucketNames
from simsop.results import atomic_write_json, atomic_write_text, rows_to_csv
from simsop.scenario import Scenario, ScenarioError, load_scenario, parse_scenario, parse_yaml, scenario_hash
from simsop.workshop import decisions as dec
from simsop.workshop.dashboard import orders_dashboard, plan_dashboard
from simsop.workshop.metrics import METRICS, flows, metrics, rank, score_of
from simsop.workshop.sim import Calendar, TeamRun, orders_calendar, plan_calendar, run_team
from simsop.workshop.spec import (
    ScoreSpec,
    WorkshopSpec,
    bot_label,
    orders_bot_problems,
    per_role,
    role_bots,
    with_rhythm,
    workshop_problems,
)
from simsop.workshop.state import (
    CONFIG_FILE,
    SCENARIO_FILE,
    TEAM_NAME,
    LogEntry,
    ShockEntry,
    TeamEntry,
    WorkshopConfig,
    WorkshopError,
    config_text,
    read_config,
)
from simsop.workshop.supply import (
    buyers,
    overload_text,
    overloads,
    plans_in_force,
    plant_capacity,
    project_plants,
    shipping_excesses,
    shipping_text,
    spans_from,
)

__all__ = ["DecisionError", "Workshop", "WorkshopError"]

DecisionError = dec.DecisionError

LEADERBOARD_COLUMNS = ("rank", "team", "score", "profit", "otif", "total_cost", "fill_rate", "round_profit",
                       "bot_rounds")

README = """\
A simsop workshop. Files:
  workshop.yaml          settings and state (teams, seed, rounds played, visibility, scoring, bot, shocks, log)
  scenario.yaml          the scenario as played (validated copy of {source})
  decisions/<team>.csv   each team's decisions: {format}
                         Rows of played rounds are the log: never change or remove them. Add the next
                         round's rows, or run `simsop workshop decide {root} --team NAME`.{targets}
  results/round-<k>/     <team>.json (decisions, metrics, dashboard) and leaderboard.csv after round k
  results/replay.csv     `simsop workshop replay {root} -n N`: decisions against N other random futures
  debrief.html           `simsop workshop debrief {root}`
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _round(x: Any) -> float | None:
    """A leaderboard number: 6 decimals are plenty, and they hide float dust (47.99999999999999)."""
    f = _finite(x)
    return None if f is None else round(f, 6)


def _note_key(note: str) -> str:
    """What a note about a decision file is about (``decisions.FileNote.key``; another note: its text)."""
    return str(getattr(note, "key", note))


class Workshop:
    """A workshop folder: its settings, the scenario as played, the teams' decisions and the results."""

    def __init__(self, root: Path, cfg: WorkshopConfig, base: Scenario) -> None:
        self.root = root
        self.cfg = cfg
        self.base = base
        self._scenario: Scenario | None = None
        self._calendar: Calendar | None = None
        self._next_runs: dict[tuple[Any, ...], TeamRun] = {}
        self._played_bots: list[Any] | None = None

    # ------------------------------------------------------------------ opening and creating

    @classmethod
    def open(cls, root: str | Path) -> Workshop:
        """Open an existing workshop folder (checks that its scenario is the one it was created with)."""
        root = Path(root)
        cfg = read_config(root)
        path = root / cfg.scenario
        try:
            base = load_scenario(path)
        except ScenarioError as exc:
            raise WorkshopError(str(exc)) from None
        if scenario_hash(base) != cfg.scenario_sha256:
            raise WorkshopError(f"{path}: the scenario changed since the workshop was created (its SHA-256 is not "
                                f"the one in {CONFIG_FILE}); results would not be comparable. Restore it.")
        ws = cls(root, cfg, base)
        ws._check_teams()
        ws._check_bot()
        ws._check_played()
        return ws

    def _check_played(self) -> None:
        """The settings the rounds played were played with, against ``workshop.yaml`` (a hand edit): the seed, the
        rounds' days and who plays which role decide what the bot did in those rounds, and changing them would
        change the results the class was shown. The bot itself may change: the rounds played keep theirs."""
        if self.played == 0:
            return
        k = self.played
        where = f"{self.root / CONFIG_FILE}"
        how = (f"put it back as it was, or take the rounds back with `simsop workshop undo {self.root}` (once per "
               "round) and edit it then")
        changed: list[str] = []
        for team in self.teams:
            try:
                doc = self._results(team, k)
            except WorkshopError:
                continue  # a team added by hand: read_all names its file
            if "seed" in doc and doc["seed"] != self.cfg.seed and not any("seed" in c for c in changed):
                changed.append(f"seed: the rounds played used {doc['seed']}, now {self.cfg.seed}")
            if "decision_day" in doc and doc["decision_day"] != self.calendar.start(k) and not any(
                    "day" in c for c in changed):
                changed.append(f"round_days/first_day: round {k} was decided on day {doc['decision_day']}, now it "
                               f"would be day {self.calendar.start(k)}")
            if "roles" in doc and tuple(doc["roles"]) != self.roles(team):
                changed.append(f"teams.{team}.roles: round {k} was played with {list(doc['roles'])}, now "
                               f"{list(self.roles(team))} (the bot plays the roles a team does not)")
            if "game_roles" in doc and tuple(doc["game_roles"]) != self.cfg.roles and not any(
                    c.startswith("roles") for c in changed):
                changed.append(f"roles: round {k} was played with {list(doc['game_roles'])}, now "
                               f"{list(self.cfg.roles)}")
        if changed:
            raise WorkshopError(f"{where}: changed since round {k} was played; the rounds played would change:\n"
                                + "\n".join(f"  {c}" for c in changed) + f"\nTo go on, {how}.")
        if self.cfg.kind == "orders":
            self._check_switch()

    def _check_switch(self) -> None:
        """A role whose bot changed since a round played must not review continuously (after every demand): such
        a bot cannot hand over to another on a round's day (see ``sim.BotHistoryRule``)."""
        from pydantic import TypeAdapter

        from simsop.model.replenishment import make_rule
        from simsop.scenario import PolicySpec

        per = [role_bots(b, self.cfg.roles) for b in [*self.played_bots(), self.current_bot]]
        own = {w.id: w.stock[0].policy for w in self.base.warehouses if w.id in self.cfg.roles}
        for role in self.cfg.roles:
            mine = [b[role] for b in per]
            if all(b == mine[0] for b in mine):
                continue
            for b in mine:
                spec = own[role] if b == "scenario" else TypeAdapter(PolicySpec).validate_python(b)
                if make_rule(spec).continuous:
                    was = next(i for i, x in enumerate(mine) if x != mine[-1])
                    raise WorkshopError(
                        f"{self.root / CONFIG_FILE}: bot: the bot of {role} changed since round {was} was played, and "
                        f"{bot_label(b, str(own[role].type))} reviews continuously (after every demand), so it cannot "
                        f"take over from another bot, or hand over to one, on a round's day. Put the bot back as it "
                        f"was, give {role} a bot that reviews on the rounds' days, or take the rounds back with "
                        f"`simsop workshop undo {self.root}`.")

    def _check_teams(self) -> None:
        import re

        for team, entry in self.cfg.teams.items():
            if not re.match(TEAM_NAME, team):
                raise WorkshopError(f"{self.root / CONFIG_FILE}: team name {team!r}: use letters, digits, - and _")
            bad = [r for r in entry.roles if r not in self.cfg.roles]
            if bad:
                raise WorkshopError(f"{self.root / CONFIG_FILE}: teams.{team}.roles: unknown role {bad[0]!r}; "
                                    f"expected some of {list(self.cfg.roles)}")

    def _check_bot(self) -> None:
        # The facilitator may edit the bot between rounds: a role misspelt in a per-role bot must not leave
        # that role to the scenario's rule without a word.
        if self.cfg.kind == "orders":
            probs = orders_bot_problems(self.cfg.bot, self.cfg.roles, "bot")
            if probs:
                raise WorkshopError("\n".join(f"{self.root / CONFIG_FILE}: {p}" for p in probs))

    @classmethod
    def create(cls, scenario_file: str | Path, root: str | Path, teams: Sequence[str], seed: int | None = None,
               rounds: int | None = None, roles: Sequence[str] | None = None, bot: str | dict[str, Any] | None = None,
               visibility: str | None = None, score: str | None = None) -> Workshop:
        """Make a new workshop folder from a scenario file.

        Args:
            scenario_file: the scenario (its ``workshop`` section gives the defaults below).
            root: the folder to create (it must not exist, or be empty).
            teams: team names (letters, digits, - and _).
            seed: the workshop's random future (default: the scenario's seed).
            rounds: rounds to play (default: the scenario's, else all the horizon holds).
            roles: in an ``orders`` game, the roles every team plays (default: all of the game's roles).
            bot: who decides for a team that has not (see ``WorkshopSpec``).
            visibility: ``none`` or ``full``.
            score: the leaderboard's metric (default: the scenario's).
        """
        import re

        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise WorkshopError(f"{root}: exists and is not an empty folder; choose a new --dir")
        teams = [t.strip() for t in teams if t.strip()]
        if not teams:
            raise WorkshopError("give at least one team (--teams A,B,C)")
        for t in teams:
            if not re.match(TEAM_NAME, t):
                raise WorkshopError(f"team name {t!r}: use letters, digits, - and _ (it names the team's file)")
        if len(set(teams)) != len(teams):
            raise WorkshopError(f"team names must differ: {teams}")
        src = Path(scenario_file)
        try:
            sc = load_scenario(src)
        except ScenarioError as exc:
            raise WorkshopError(str(exc)) from None
        spec = sc.workshop or WorkshopSpec()
        upd: dict[str, Any] = {}
        if rounds is not None:
            upd["rounds"] = rounds
        if bot is not None:
            upd["bot"] = bot
        if visibility is not None:
            upd["visibility"] = visibility
        if score is not None:
            upd["score"] = ScoreSpec(metric=score)  # type: ignore[arg-type]
        if roles and not spec.roles:
            upd["roles"] = tuple(roles)
        spec = WorkshopSpec.model_validate({**spec.model_dump(exclude_unset=True), **upd})
        probs = workshop_problems(sc, spec, path="workshop")
        game_roles = tuple(spec.roles)
        team_roles = tuple(roles) if roles else game_roles
        bad = [r for r in team_roles if r not in game_roles]
        if bad:
            probs_txt = f"--roles: {bad[0]!r} is not a role of this game; expected some of {list(game_roles)}"
            raise WorkshopError(probs_txt)
        if probs:
            raise WorkshopError("\n".join(f"{src}: {p}" for p in probs))
        round_days = first_day = None
        if spec.kind == "orders":
            pol = next(it.policy for w in sc.warehouses if w.id == game_roles[0] for it in w.stock)
            # workshop_problems checked that the roles share one periodic review when round_days is not given.
            round_days = spec.round_days or int(getattr(pol, "review_period", 1))
            first_day = spec.first_day if spec.first_day is not None else (
                int(getattr(pol, "review_offset", 0)) if spec.round_days is None else 0)
            cal = orders_calendar(sc, round_days, first_day, spec.rounds)
            spec = spec.model_copy(update={"bot": with_rhythm(spec.bot, round_days, first_day)})
        else:
            cal = plan_calendar(sc, spec.rounds)
        if cal.rounds == 0:
            raise WorkshopError(f"{src}: the horizon ({sc.horizon} days) holds no round")
        if spec.rounds is not None and cal.rounds < spec.rounds:
            where = f"--rounds {rounds}" if rounds is not None else f"{src}: workshop.rounds"
            raise WorkshopError(f"{where}: the horizon ({sc.horizon} days) holds only {cal.rounds} rounds; "
                                f"expected at most {cal.rounds}")
        text, copy = _scenario_copy(src, sc, root)
        cfg = WorkshopConfig(
            name=sc.name, created=_now(), scenario_sha256=scenario_hash(copy), source=str(src.resolve()),
            kind=spec.kind, seed=sc.seed if seed is None else seed,
            teams={t: TeamEntry(roles=team_roles) for t in teams}, roles=game_roles, round_days=round_days,
            first_day=first_day, rounds=cal.rounds, visibility=spec.visibility, score=spec.score, bot=spec.bot,
            log=(LogEntry(round=0, action="new", detail=f"teams {', '.join(teams)}", time=_now()),))
        ws = cls(root, cfg, copy)
        # Everything is computed before the first file is written.
        round0 = {t: ws._round_zero(t) for t in teams}
        item_col = ws._item_col([])
        fmt = ("round,role,order[,source]" if cfg.kind == "orders" else
               "cycle,product|family,bucket,production[,inventory_target][,source]  (cycle = round - 1)")
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(root / SCENARIO_FILE, text)
        for t in teams:
            atomic_write_text(ws.decisions_path(t), dec.header_line(cfg.kind, item_col))
            atomic_write_json(ws.round_dir(0) / f"{t}.json", round0[t])
        atomic_write_text(ws.round_dir(0) / "leaderboard.csv", rows_to_csv(
            ws._leaderboard_rows(round0), LEADERBOARD_COLUMNS))
        targets = ("" if cfg.kind == "orders" else "\n" + " " * 25 + (
            "inventory_target (units; empty: what the plan proposes, days_of_cover days of forecast\n"
            + " " * 25 + ("+ safety stock) " if sc.planning.safety_stock is not None else ") ")
            + "sets the reorder levels of the warehouses that reorder from\n" + " " * 25 + "another stock point."
            if sc.planning.set_execution_levels
            else "inventory_target changes nothing in this game (planning.set_execution_levels is off)."))
        atomic_write_text(root / "README.txt", README.format(source=src, format=fmt, root=root, targets=targets))
        atomic_write_text(root / CONFIG_FILE, config_text(cfg))
        return ws

    # ------------------------------------------------------------------ basics

    @property
    def scenario(self) -> Scenario:
        """The scenario as played: the base with the injected shocks."""
        if self._scenario is None:
            sc = self.base
            if self.cfg.shocks:
                from simsop.shocks import apply_shocks

                sc = apply_shocks(sc, [s.shock for s in self.cfg.shocks], source=str(self.root / CONFIG_FILE))
            self._scenario = sc
        return self._scenario

    @property
    def calendar(self) -> Calendar:
        if self._calendar is None:
            cfg = self.cfg
            if cfg.kind == "orders":
                assert cfg.round_days is not None and cfg.first_day is not None
                self._calendar = orders_calendar(self.base, cfg.round_days, cfg.first_day, cfg.rounds)
            else:
                self._calendar = plan_calendar(self.base, cfg.rounds)
        return self._calendar

    @property
    def teams(self) -> list[str]:
        return list(self.cfg.teams)

    @property
    def played(self) -> int:
        return self.cfg.played

    @property
    def over(self) -> bool:
        return self.cfg.played >= self.calendar.rounds

    @property
    def bot_name(self) -> str:
        """The bot in words: ``hold``, ``the chase policy``, ``anchor_and_adjust`` ...; with a bot per role, each
        role's (``retailer: anchor_and_adjust; wholesaler, distributor: its own rule: pass_through``)."""
        return self.describe_bot(self.cfg.bot)

    def describe_bot(self, bot: str | dict[str, Any]) -> str:
        """A bot in words (see ``bot_name``)."""
        if self.cfg.kind == "orders" and per_role(bot):
            # Roles with the same bot together; two bots of one type with other parameters stay apart.
            names = self.role_bot_names(bot)
            groups: dict[str, list[str]] = {}
            for role, b in role_bots(bot, self.cfg.roles).items():
                groups.setdefault(json.dumps(b, sort_keys=True), []).append(role)
            return "; ".join(f"{', '.join(roles)}: {names[roles[0]]}" for roles in groups.values())
        if isinstance(bot, dict):
            return str(bot.get("type", "a replenishment rule"))
        if bot == "scenario":
            if self.cfg.kind == "orders":
                types = sorted({str(it.policy.type) for w in self.base.warehouses if w.id in self.cfg.roles
                                for it in w.stock})
                return f"the roles' own rule: {', '.join(types)}"
            pol = self.base.planning.policy
            return f"the {pol if pol not in ('none', 'replay') else 'chase'} policy"
        return bot if bot == "hold" else f"the {bot} policy"

    def role_bot_names(self, bot: str | dict[str, Any] | None = None) -> dict[str, str]:
        """An ``orders`` game's bot of each role, in words (``anchor_and_adjust``, ``its own rule: pass_through``);
        default: the workshop's bot."""
        own = {w.id: str(w.stock[0].policy.type) for w in self.base.warehouses if w.id in self.cfg.roles}
        bot = self.cfg.bot if bot is None else bot
        return {role: bot_label(b, own[role]) for role, b in role_bots(bot, self.cfg.roles).items()}

    def span_text(self, a: int, b: int) -> str:
        """Days [a, b) in the game's own terms: ``weeks 1-12`` (orders games), ``1 Jan - 31 Mar`` (monthly
        plans), else ``days a-(b-1)``."""
        from simsop.planning.labels import day_label

        if b <= a:
            return "nothing yet"
        if self.cfg.kind == "orders" and self.cfg.round_days:
            rd = self.cfg.round_days
            name = "week" if rd == 7 else "period"
            p, q = a // rd + 1, (b - 1) // rd + 1
            return f"{name} {p}" if p == q else f"{name}s {p}-{q}"
        if self.base.planning.bucket == "month":
            return f"{day_label('month', a)} - {day_label('month', b - 1)}"
        return f"days {a}-{b - 1}"

    def decisions_path(self, team: str) -> Path:
        return self.root / "decisions" / f"{team}.csv"

    def round_dir(self, k: int) -> Path:
        return self.root / "results" / f"round-{k}"

    def roles(self, team: str) -> tuple[str, ...]:
        return self.cfg.teams[team].roles

    def _label(self, path: Path) -> str:
        return str(path)  # as the facilitator named the folder, so the message points at the file

    def _need_team(self, team: str) -> None:
        if team not in self.cfg.teams:
            raise WorkshopError(f"no team {team!r} in this workshop (teams: {', '.join(self.teams)})")

    def _save(self, cfg: WorkshopConfig) -> None:
        atomic_write_text(self.root / CONFIG_FILE, config_text(cfg))
        self.cfg = cfg
        self._scenario = None
        self._next_runs.clear()
        self._played_bots = None

    # ------------------------------------------------------------------ decisions

    def _results(self, team: str, k: int) -> dict[str, Any]:
        path = self.round_dir(k) / f"{team}.json"
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise WorkshopError(f"{path}: cannot read the results of round {k}: {exc}") from None

    def _noted(self, team: str, k: int) -> set[str]:
        """The rows of a team's file that round k's advance noted (late rows, played rows missing)."""
        try:
            return set(self._results(team, k).get("file_notes", [])) if k >= 1 else set()
        except WorkshopError:
            return set()

    def _log(self, team: str) -> dict[Any, Any]:
        """The played decisions of a team, from the results of each round (what the file should still say), with
        who made them (``team`` or ``bot``)."""
        out: dict[Any, Any] = {}
        for k in range(1, self.played + 1):
            for d in self._results(team, k)["decisions"]:
                src = str(d.get("source") or "team")
                if self.cfg.kind == "orders":
                    out[(int(d["round"]), d["role"])] = (float(d["order"]), src)
                else:
                    t = d.get("inventory_target")
                    out[(int(d["cycle"]), d["item"], int(d["bucket"]))] = (float(d["production"]),
                                                                          None if t is None else float(t), src)
        return out

    def _plan_items(self) -> tuple[list[str], dict[str, list[str]]]:
        sc = self.base
        made = {p for f in sc.factories for p in f.products}
        products = [p.id for p in sc.products if p.id in made]
        fams = {f: [p.id for p in sc.products if p.family == f and p.id in made] for f in sc.families}
        return products, {f: ps for f, ps in fams.items() if ps}

    def _item_col(self, items: Sequence[str]) -> str:
        """What a plan file's item column is called for these rows (``product``, ``family`` or ``item``);
        with no rows, what teams plan by default (families when there are fewer families than products)."""
        products, _ = self._plan_items()
        default = "family" if len(self.base.families) < len(self.base.products) else "product"
        return dec.item_column(items, products, default)

    def bucket_names(self) -> BucketNames:
        """Buckets as messages name them: ``Feb (bucket 1)``."""
        return BucketNames(self.base.planning.bucket, self.calendar.bucket_starts)

    def check_text(self, team: str, text: str, notes: list[str] | None = None,
                   stale: list[int] | None = None) -> list[Any]:
        """Check a team's decision file text against the workshop's state; its rows (the played rounds' as
        played, and the team's own for the next round), or DecisionError. ``notes`` receives what the team
        should know about its file (rows of played rounds that are ignored, played rows missing); ``stale`` the
        lines of the bot's rows for the next round (see ``simsop.workshop.decisions``)."""
        label = self._label(self.decisions_path(team))
        cal = self.calendar
        if self.cfg.kind == "orders":
            return dec.read_orders(text, label, team, self.roles(team), self.cfg.roles, self.played, cal.rounds,
                                   self._log(team), notes, stale)
        products, fams = self._plan_items()
        return dec.read_plan(text, label, team, products, fams, self.played, cal.rounds, cal.first_bucket,
                             cal.plan_buckets, self._log(team), self.bucket_names(), notes, stale,
                             targets_count=self.base.planning.set_execution_levels)

    def read_decisions(self, team: str) -> list[Any]:
        return self.read_team(team)[0]

    def read_team(self, team: str) -> tuple[list[Any], list[str], list[int]]:
        """A team's checked rows, the notes about its file, and the lines of the bot's rows for the next round
        (left by an interrupted advance or undo)."""
        path = self.decisions_path(team)
        notes: list[str] = []
        stale: list[int] = []
        rows = self.check_text(team, dec.read_text(path, self._label(path)), notes, stale)
        return rows, notes, stale

    def file_notes(self, team: str) -> list[str]:
        """What a team should know about its decision file: rows for rounds already played that are ignored (a
        late decision, an edit of a played row), played rows missing from the file. Empty when all is well."""
        return self.read_team(team)[1]

    def read_all(self) -> dict[str, list[Any]]:
        """Every team's checked decisions; DecisionError listing every problem of every file."""
        return self._read_all()[0]

    def _read_all(self) -> tuple[dict[str, list[Any]], dict[str, list[str]], dict[str, list[int]]]:
        """Every team's checked decisions, the notes about its file and the lines of the bot's rows for the next
        round (see ``read_team``); DecisionError listing every problem of every file."""
        problems: list[str] = []
        folder = self.root / "decisions"
        for f in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
            if f.stem not in self.cfg.teams:
                problems.append(f"{self._label(f)}: no team {f.stem!r} in this workshop (teams: "
                                f"{', '.join(self.teams)}); rename or remove the file")
        out: dict[str, list[Any]] = {}
        notes: dict[str, list[str]] = {}
        stale: dict[str, list[int]] = {}
        for team in self.teams:
            try:
                out[team], notes[team], stale[team] = self.read_team(team)
            except DecisionError as exc:
                problems += exc.problems
        if problems:
            raise DecisionError(problems)
        return out, notes, stale

    def submit(self, team: str, values: Mapping[Any, Any]) -> list[Any]:
        """Write a team's decisions for the next round (replacing its earlier rows for the same things).

        ``values``: in an ``orders`` game role -> units; in a ``plan`` game (item, bucket) -> production or
        (production, inventory target). The whole new file is checked before it is written.
        """
        new_text, checked = self._with(team, values)
        atomic_write_text(self.decisions_path(team), new_text)
        return checked

    def _with(self, team: str, values: Mapping[Any, Any]) -> tuple[str, list[Any]]:
        """The text of a team's decision file with ``values`` for the next round (see ``submit``), and its rows;
        nothing is written."""
        self._need_team(team)
        if self.over:
            raise WorkshopError(f"the workshop is over ({self.cfg.rounds} rounds played)")
        path = self.decisions_path(team)
        text = dec.read_text(path, self._label(path))
        stale: list[int] = []
        rows = self.check_text(team, text, stale=stale)
        k = self.played + 1
        if self.cfg.kind == "orders":
            drop = {r.line for r in rows if r.round == k and r.role in values}
            new = [{"round": k, "role": role, "order": dec.fmt(float(q)), "source": ""} for role, q in values.items()]
        else:
            c = k - 1
            _, fams = self._plan_items()

            def overlaps(a: str, b: str) -> bool:
                return a == b or b in fams.get(a, ()) or a in fams.get(b, ())

            keys = list(values)
            drop = {r.line for r in rows
                    if r.cycle == c and any(r.bucket == b and overlaps(r.item, i) for i, b in keys)}
            new = []
            for (item, bucket), v in values.items():
                q, t = (v if isinstance(v, tuple) else (v, None))
                new.append({"cycle": c, "item": item, "bucket": bucket, "production": dec.fmt(float(q)),
                            "inventory_target": dec.fmt(t), "source": ""})
        drop |= set(stale)  # the bot's rows of an interrupted advance: the team decides now
        item_col = (self._item_col([*(r.item for r in rows if r.line not in drop), *(n["item"] for n in new)])
                    if self.cfg.kind == "plan" else None)
        new_text = dec.replace_rows(text, drop, new, dec.header_line(self.cfg.kind, item_col or "family"), item_col)
        return new_text, self.check_text(team, new_text)

    def supply_check(self, team: str, values: Mapping[Any, Any] | None = None) -> list[str]:
        """The supply review of a team's plan for the next round, before it is played: a warning for every
        month it plans in which a plant is asked for more than its capacity, counting the queue carried into the
        month (see ``supply_review``).

        ``values`` (as ``submit`` takes them) are checked as if submitted; without them, the decision file's
        rows for the next round. Nothing is written.
        """
        if self.cfg.kind != "plan":
            return []
        rows = self._with(team, values)[1] if values is not None else self.read_decisions(team)
        k = self.played + 1
        rows = [r for r in rows if r.round <= k]
        if self.over or not any(r.cycle == k - 1 for r in rows):
            return []
        return self.supply_review(team, k, rows, self._next_round_run(team, rows))

    def _next_round_run(self, team: str, rows: Sequence[Any]) -> TeamRun:
        """The next round played with ``rows`` (the played rounds' and the next round's) up to its end, having
        looked at the plants' queues on its decision day: what the supply review and the dashboard's "your
        plan" read. Kept for the same rows, so that ``show`` simulates the round once for both."""
        cal = self.calendar
        k = self.played + 1
        key = (team, k, tuple(rows))
        if key not in self._next_runs:
            self._next_runs.clear()  # one is enough: show asks for the same rows twice
            self._next_runs[key] = self.run(team, rows, cal.end(k), look_at=(cal.start(k),))
        return self._next_runs[key]

    def supply_review(self, team: str, k: int, rows: Sequence[Any], run: TeamRun) -> list[str]:
        """Round k's plan against capacity: a warning for every month the team planned in round k in which what a
        plant has to make is above its regular + overtime capacity as the team's dashboard showed it, and for
        every such month whose plan sends more out of a plant (made and bought) than its lanes carry. What it has
        to make is the queue carried into the month (what the plant holds on the decision day and cannot make
        before the month starts, worked first come first served as the dashboard projects it) and the month's
        planned production (all the plant makes, as the plan agreed at the executive meeting says). The plan
        stands: teams may make bad decisions, but not unknowingly. ``run`` must reach round k's executive
        meeting and have looked at the plants' queues on its decision day (``Workshop.run``'s ``look_at``)."""
        cal = self.calendar
        sc = self.scenario
        c = k - 1
        mine = [r for r in rows if r.cycle == c]
        if self.cfg.kind != "plan" or not mine:
            return []
        day = cal.start(k)
        if day not in run.queues:
            raise ValueError(f"the supply review of round {k} needs the plants' queues on day {day}")
        # The plan in force once the meeting agreed round k's plan: the team's months, and before them the
        # rest of the month under way as earlier plans left it.
        load = plans_in_force(run.records.plan, c + 1, cal.record_offset)
        plants, _ = plant_capacity(run.world, run.records, sc, day)
        spans = spans_from(day, max(r.bucket for r in mine), cal.bucket_starts)
        projected = project_plants(run.queues[day], plants, load, spans, cal.bucket_span)
        products = [p.id for p in sc.products]
        family = {p.id: p.family for p in sc.products}

        def items(b: int, made: Sequence[int]) -> tuple[str, ...]:
            # As the team wrote them (a family, or its products), else the products the bot planned there.
            names = {products[p] for p in made}
            own = [r.item for r in mine if r.bucket == b and (r.item in names or any(family[n] == r.item
                                                                                     for n in names))]
            return tuple(dict.fromkeys(own)) or tuple(sorted(names, key=products.index))

        names = self.bucket_names()
        end = cal.final_end
        found = overloads(projected, {r.bucket for r in mine}, plants, end, items, load)
        first = cal.first_bucket[c]
        # Before the first plan goes live the warehouses order from the plants as they need: orders to come,
        # which the decision day cannot know, join the queue ahead of the plan (the projection leaves them out).
        unplanned = {f for f, pc in plants.items() for ld in projected.get(f, ())
                     if ld.bucket < first and all((p, ld.bucket) not in load for p in pc.products)}
        ordering = {f: buyers(sc, f) for f in unplanned}
        said = [overload_text(o, names, names.label, cal.bucket_span(o.bucket)[1] >= end) + (
            f" Not counted: the orders {', '.join(ordering[o.factory])} will place with {o.factory} until the first "
            f"plan goes live ({names.label(first)}); what it cannot make of them before then comes first, so the "
            "excess may be larger." if ordering.get(o.factory) else "") for o in found]
        # What the plants send out, made and bought, against what their lanes carry (none limited: no warning).
        bought = plans_in_force(run.records.plan, c + 1, cal.record_offset, "subcontract")
        ships = shipping_excesses(run.world, sc, load, bought, {r.bucket for r in mine}, cal.bucket_span, end, items)
        said += [shipping_text(e, names, names.label, cal.bucket_span(e.bucket)[1] >= end) for e in ships]
        return said

    # ------------------------------------------------------------------ simulating

    def run(self, team: str, rows: Sequence[Any], end: int, replication: int = 0,
            scenario: Scenario | None = None, look_at: Sequence[int] = ()) -> TeamRun:
        """Simulate a team from day 0 to ``end`` with the given decision rows (rounds ending by then);
        ``look_at``: days on which to keep the plants' queues (``TeamRun.queues``)."""
        cal = self.calendar
        last = cal.round_of_day(end - 1)  # decisions of rounds that start before `end`
        bot = self.current_bot
        if self.cfg.kind == "orders":
            orders = {(r.round, r.role): r.order for r in rows if r.round <= last}
            plan_rows: list[Any] = []
        else:
            orders = {}
            plan_rows = [r.decision() for r in rows if r.round <= last]
        # The rounds played are played again by the bots that played them; the current bot decides the rest.
        bots = [*self.played_bots(), bot]
        return run_team(scenario or self.scenario, cal, self.cfg.roles, self.roles(team), orders, plan_rows,
                        bot, self.cfg.seed, replication, end, label=f"decisions/{team}.csv", look_at=look_at,
                        bots=bots if any(b != bot for b in bots) else None)

    @property
    def current_bot(self) -> Any:
        """The bot of the next round, as it plays: ``workshop.yaml``'s, with the rounds' rhythm written into a
        periodic bot of an ``orders`` game (``create`` wrote it in; a bot the facilitator edited in later gets
        it here)."""
        if self.cfg.kind != "orders":
            return self.cfg.bot
        assert self.cfg.round_days is not None and self.cfg.first_day is not None
        return with_rhythm(self.cfg.bot, self.cfg.round_days, self.cfg.first_day)

    def played_bots(self) -> list[Any]:
        """The bot that played each round so far (index k: round k, 0 the days before the first decision), as
        the rounds' results keep it. Before round 1 is played none is kept: the facilitator may still set the bot
        up, and the days before the first decision are played again with it. Results of an older simsop keep
        none: their rounds count as played by the current bot, as that simsop replayed them."""
        if self._played_bots is None:
            out: list[Any] = []
            for k in range(self.played + 1 if self.played else 0):
                try:
                    out.append(self._results(self.teams[0], k).get("bot", self.current_bot))
                except WorkshopError:
                    out.append(self.current_bot)
            self._played_bots = out
        return list(self._played_bots)

    def _dashboard(self, team: str, run: TeamRun, next_round: int, pending: Any = None) -> dict[str, Any]:
        vis = self.cfg.visibility
        cal = self.calendar
        k = next_round - 1  # rounds played
        counted = (cal.account_end(k - 1) if k > 0 else 0, cal.round_end(k))
        if self.cfg.kind == "orders":
            d = orders_dashboard(run, self.scenario, cal, team, self.roles(team), self.cfg.roles, vis,
                                 next_round, cal.account_end(k), pending)
            names = self.role_bot_names()
            for role, st in d["stages"].items():
                st["bot"] = names[role]
        else:
            d = plan_dashboard(run, self.scenario, cal, team, vis, next_round, counted, cal.account_end(k), pending)
            d["bot"] = self.bot_name
        d["score"] = {"metric": self.cfg.score.metric, "higher_is_better": self.cfg.score.higher_is_better}
        d["decisions_file"] = f"decisions/{team}.csv"
        return d

    def dashboard(self, team: str) -> dict[str, Any]:
        """What a team sees before deciding the next round (at the end, the final state), with the decision it
        has already made for that round (its own rows in its file, not played yet) beside what is in force."""
        self._need_team(team)
        every = self.read_decisions(team)
        rows = [r for r in every if r.round <= self.played]
        end = self.calendar.end(self.played)
        return self._dashboard(team, self.run(team, rows, end), self.played + 1, self._pending(team, every))

    def _pending(self, team: str, rows: Sequence[Any]) -> Any:
        """The team's own decision for the next round, not played yet (None: it has none; the bot's rows of an
        interrupted advance are not the team's). An orders game: role -> units. A plan game: what the round will
        play from the rows (``dashboard.PendingPlan``), read from the round simulated up to its end, so that a
        family's units are split over its products and the buckets the rows leave out are filled exactly as
        ``advance`` will."""
        from simsop.workshop.dashboard import PendingPlan

        if self.over:
            return None
        k = self.played + 1
        mine = [r for r in rows if r.round == k and r.source != "bot"]
        if not mine:
            return None
        if self.cfg.kind == "orders":
            return {r.role: float(r.order) for r in mine}
        cal = self.calendar
        run = self._next_round_run(team, [r for r in rows if r.round <= k])
        plan = {key: q for key, q in plans_in_force(run.records.plan, k, cal.record_offset).items()
                if key[1] >= cal.first_bucket[k - 1]}
        targets = {key: q for key, q in plans_in_force(run.records.plan, k, cal.record_offset,
                                                       "inventory_target").items()
                   if key[1] >= cal.first_bucket[k - 1]}
        pidx = {p.id: i for i, p in enumerate(self.base.products)}
        _, fams = self._plan_items()
        written = {(pidx[p], r.bucket) for r in mine for p in ([r.item] if r.item in pidx else fams.get(r.item, []))}
        return PendingPlan(k, plan, targets, frozenset(written))

    def _round_zero(self, team: str) -> dict[str, Any]:
        cal = self.calendar
        run = self.run(team, [], cal.end(0))
        m = metrics(run.records, self.scenario, 0, cal.account_end(0))
        return self._result_doc(team, 0, run, [], [], m, m)

    def _result_doc(self, team: str, k: int, run: TeamRun, rows: Sequence[dict[str, Any]], warnings: list[str],
                    cum: dict[str, Any], rnd: dict[str, Any], tail: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        cal = self.calendar
        # Rounds so far in which the bot decided for the team (in part or in full).
        bot_rounds = (int(self._results(team, k - 1).get("bot_rounds", 0)) if k > 1 else 0) + int(
            any(r.get("source") == "bot" for r in rows))
        strip = {key: v for key, v in cum.items() if key != "stage_costs"}
        return {
            "team": team, "round": k, "decision_day": cal.start(k), "simulated_to": run.end,
            "counted": [cal.account_end(k - 1) if k > 0 else 0, cal.round_end(k)], "seed": self.cfg.seed,
            **({"tail": [cal.round_end(k), cal.account_end(k)], "tail_metrics": {key: tail[key] for key in METRICS}}
               if tail is not None else {}),
            "scenario_sha256": self.cfg.scenario_sha256, "roles": list(self.roles(team)),
            "game_roles": list(self.cfg.roles),
            # The bot that played the round: a later run plays it again with this one (Workshop.played_bots).
            "bot": self.current_bot, "decisions": list(rows), "warnings": warnings, "bot_rounds": bot_rounds,
            "score": score_of(cum, self.cfg.score), "metrics": strip, "stage_costs": cum["stage_costs"],
            "round_metrics": {key: rnd[key] for key in METRICS},
            "dashboard": self._dashboard(team, run, k + 1),
        }

    def _leaderboard_rows(self, docs: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for team, d in docs.items():
            m = d["metrics"]
            rows.append({"team": team, "score": _round(d["score"]), "profit": _round(m["profit"]),
                         "otif": _round(m["otif"]), "total_cost": _round(m["total_cost"]),
                         "fill_rate": _round(m["fill_rate"]), "round_profit": _round(d["round_metrics"]["profit"]),
                         "bot_rounds": d.get("bot_rounds", 0)})
        return rank(rows, self.cfg.score)

    # ------------------------------------------------------------------ playing a round

    def undecided(self, all_rows: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
        """Teams with no decision of their own for the next round (the bot's rows do not count)."""
        all_rows = self.read_all() if all_rows is None else all_rows
        k = self.played + 1
        return [t for t in self.teams if not any(r.round == k and r.source != "bot" for r in all_rows[t])]

    def advance(self, progress: Callable[[str], None] | None = None, all_bots: bool = True) -> dict[str, Any]:
        """Play the next round for every team; returns the leaderboard, the warnings and the round played.

        With ``all_bots=False`` (what ``simsop workshop advance`` passes without ``--yes``), a round no team has
        decided anything for is not played: a second ``advance`` typed by mistake would otherwise play it with
        the bot for every team. A script that plays bots on purpose keeps the default.

        Every file is computed before the first is written, and ``workshop.yaml`` (the rounds played) is written
        last; an ``advance`` interrupted before that is done again exactly by the next one (the bot's rows it
        wrote for the round are set apart and written again, the round's results are overwritten).

        Raises:
            DecisionError: a decision file has a problem (nothing was written).
            WorkshopError: the workshop is over, or nobody decided and ``all_bots`` is not set.
        """
        if self.over:
            raise WorkshopError(f"the workshop is over: all {self.cfg.rounds} rounds were played")
        k = self.played + 1
        cal = self.calendar
        all_rows, notes, stale = self._read_all()
        waiting = self.undecided(all_rows)
        if not all_bots and len(waiting) == len(self.teams):
            raise WorkshopError(
                f"round {k} not played: no team has decided it yet ({', '.join(waiting)} have no rows for round {k}"
                f"{f', cycle {k - 1}' if self.cfg.kind == 'plan' else ''}). Teams decide with `simsop workshop "
                f"decide {self.root} --team NAME` (or by editing decisions/NAME.csv); to let the bot "
                f"({self.bot_name}) play every team, run `simsop workshop advance {self.root} --yes`."
                + (f" (Round {self.played} was just played; `simsop workshop undo {self.root}` takes it back.)"
                   if self.played else "") + "".join(f"\nnote: {n}" for team in self.teams for n in notes[team]))
        end = cal.end(k)
        docs: dict[str, dict[str, Any]] = {}
        files: dict[str, str] = {}
        # A note about a row is said once, at the first advance that sees it: the results keep which rows each
        # advance saw, and show and status keep naming them until the file is mended.
        said = {team: self._noted(team, k - 1) for team in self.teams}
        warnings: list[str] = [n for team in self.teams for n in notes[team] if _note_key(n) not in said[team]]
        before = (self.played_bots() or [self.current_bot])[-1]
        switched = (f"the bot changed after round {k - 1} (it was {self.describe_bot(before)}): the rounds played "
                    f"keep the bots that played them, and from round {k} on the bot is {self.bot_name}"
                    if k > 1 and before != self.current_bot else "")
        if switched:
            warnings.append(switched)
        by_bot: list[str] = []
        for team in self.teams:
            if progress:
                progress(team)
            rows = [r for r in all_rows[team] if r.round <= k]
            # A plan game's supply review needs the plants' queues on the decision day.
            run = self.run(team, rows, end, look_at=(cal.start(k),) if self.cfg.kind == "plan" else ())
            applied, bot_rows, warn = self._round_decisions(team, k, rows, run)
            warnings += warn
            if bot_rows:
                by_bot.append(team)
            if bot_rows or stale[team]:
                # The bot's rows of an interrupted advance (stale) are replaced by this round's.
                path = self.decisions_path(team)
                text = dec.read_text(path, self._label(path))
                item_col = (self._item_col([*(r.item for r in all_rows[team]), *(b["item"] for b in bot_rows)])
                            if self.cfg.kind == "plan" else None)
                header = dec.header_line(self.cfg.kind, item_col or "family")
                files[team] = dec.replace_rows(text, set(stale[team]), bot_rows, header, item_col)
            fl = flows(run.records, self.scenario, end)
            cum = metrics(run.records, self.scenario, 0, cal.account_end(k), fl)
            # The round's own period; after the last round of a plan game, the tail where its plan plays out
            # (counted in the totals) apart, so that "this round" is one month like every other round's.
            rnd = metrics(run.records, self.scenario, cal.account_end(k - 1), cal.round_end(k), fl)
            tail = (metrics(run.records, self.scenario, cal.round_end(k), cal.account_end(k), fl)
                    if cal.round_end(k) < cal.account_end(k) else None)
            docs[team] = self._result_doc(team, k, run, applied, warn, cum, rnd, tail)
            docs[team]["file_notes"] = [_note_key(n) for n in notes[team]]
        board = self._leaderboard_rows(docs)
        # Nothing was written so far; write the results, then the logs, and workshop.yaml last. Each file is
        # written atomically; until workshop.yaml says round k was played, the round's results are not read and
        # the bot's rows for it are set apart, so a rerun after a crash plays the round again exactly.
        for team, d in docs.items():
            atomic_write_json(self.round_dir(k) / f"{team}.json", d)
        atomic_write_text(self.round_dir(k) / "leaderboard.csv", rows_to_csv(board, LEADERBOARD_COLUMNS))
        for team, text in files.items():
            atomic_write_text(self.decisions_path(team), text)
        detail = f"round {k} played" + (f"; the bot played for {len(by_bot)} team(s) ({', '.join(by_bot)})"
                                        if by_bot else "") + (f"; {switched}" if switched else "")
        cfg = self.cfg.model_copy(update={"played": k, "log": (*self.cfg.log, LogEntry(
            round=k, action="advance", detail=detail, time=_now()))})
        self._save(cfg)
        after = (cal.round_end(k), cal.account_end(k))
        return {"round": k, "rounds": cal.rounds, "counted": (cal.account_end(k - 1), cal.round_end(k)),
                "tail": after if after[1] > after[0] else None,
                "tail_metrics": {t: d["tail_metrics"] for t, d in docs.items() if "tail_metrics" in d},
                "leaderboard": board, "warnings": warnings, "over": self.over}

    def _round_decisions(self, team: str, k: int, rows: Sequence[Any], run: TeamRun
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        """Round k's decisions as applied (the team's, and the bot's where the team had none)."""
        cal = self.calendar
        applied: list[dict[str, Any]] = []
        bot_rows: list[dict[str, Any]] = []
        warnings: list[str] = []
        if self.cfg.kind == "orders":
            day = cal.days[k - 1]
            rp = run.records.replenishments
            wh = rp["warehouse"].astype(int)
            at = rp["time"].astype(float) == day
            names = run.records.meta.warehouses
            mine = {r.role: r for r in rows if r.round == k}
            by_bot: list[tuple[str, str]] = []  # (role, units ordered)
            for role in self.roles(team):
                if role in mine:
                    r = mine[role]
                    applied.append({"round": k, "role": role, "order": r.order, "source": r.source})
                    continue
                q = float(rp["qty"][at & (wh == names.index(role))].sum())
                applied.append({"round": k, "role": role, "order": q, "source": "bot"})
                bot_rows.append({"round": k, "role": role, "order": dec.fmt(q), "source": "bot"})
                by_bot.append((role, f"{round(q, 2):g}"))
            if by_bot:
                # One line per team: a team that forgot a round of four roles is one warning, not four.
                partial = len(by_bot) < len(self.roles(team))
                which = f" for {', '.join(role for role, _ in by_bot)}" if partial else ""
                whose = self.role_bot_names()
                bots = {whose[role] for role, _ in by_bot}
                if per_role(self.cfg.bot) and len(bots) > 1:
                    # Bots differ by role: each order says whose it is.
                    said = "the bots ordered " + ", ".join(f"{role} {q} ({whose[role]})" for role, q in by_bot)
                else:
                    name = bots.pop() if per_role(self.cfg.bot) else self.bot_name
                    said = f"the bot ({name}) ordered " + ", ".join(f"{role} {q}" for role, q in by_bot)
                warnings.append(f"team {team} did not decide round {k}{which}: {said}")
            return applied, bot_rows, warnings
        c = k - 1
        mine_p = [r for r in rows if r.cycle == c]
        if mine_p:
            applied = [{"cycle": c, "item": r.item, "bucket": r.bucket, "production": r.production,
                        "inventory_target": r.inventory_target, "source": r.source} for r in mine_p]
            warnings += [f"team {team}: {w}" for w in self.supply_review(team, k, rows, run)]
            if not self.base.planning.set_execution_levels and any(r.inventory_target is not None for r in mine_p):
                warnings.append(f"team {team}: the inventory targets of round {k} change nothing in this game "
                                "(its plans do not set reorder levels: planning.set_execution_levels is off); "
                                "production is what counts")
            return applied, [], warnings
        plan = run.records.plan
        made = {p for f in self.base.factories for p in f.products}
        products = run.records.meta.products
        sel = plan["cycle"] == c
        for p, b, q in zip(plan["product"][sel].tolist(), plan["bucket"][sel].tolist(),
                           plan["production"][sel].tolist(), strict=True):
            if products[p] not in made:
                continue
            # The bot's target is what a row without one replays (the bot's proposal is the base of a decided
            # cycle: see TeamPlanPolicy), so it is not written: a team's file holds what the team decides.
            b = int(b) - cal.record_offset
            applied.append({"cycle": c, "item": products[p], "bucket": b, "production": float(q),
                            "inventory_target": None, "source": "bot"})
            bot_rows.append({"cycle": c, "item": products[p], "bucket": b, "production": dec.fmt(float(q)),
                             "inventory_target": "", "source": "bot"})
        warnings.append(f"team {team} did not decide round {k}: the bot ({self.bot_name}) made its plan")
        return applied, bot_rows, warnings

    # ------------------------------------------------------------------ facilitator

    def inject_shock(self, shock: Mapping[str, Any]) -> dict[str, Any]:
        """Add a shock from the next round on (default start: the next round's decision day).

        The shock must start on or after the next round's decision day, and must not change what already
        happened to any team (demand drawn for earlier days, or forecasts made before); otherwise
        WorkshopError and nothing changes.
        """
        from simsop.shocks import apply_shocks

        if self.over:
            raise WorkshopError("the workshop is over; there is no round left to shock")
        k = self.played + 1
        day0 = self.calendar.start(k)
        data = dict(shock)
        data.setdefault("name", f"workshop-r{k}-{len(self.cfg.shocks) + 1}")
        if "start" not in data and "window" not in data:
            data["start"] = day0
        try:
            new_sc = apply_shocks(self.scenario, [data], source="shock")
        except ScenarioError as exc:
            raise WorkshopError(str(exc)) from None
        added = new_sc.shocks[-1]
        first = added.window[0] if added.window is not None else int(added.start or 0)
        if first < day0:
            raise WorkshopError(f"shock {added.name!r} starts on day {first}, before the next round (round {k} starts "
                                f"on day {day0}): the past cannot change")
        all_rows = self.read_all()
        for team in self.teams:
            rows = [r for r in all_rows[team] if r.round <= self.played]
            before = _digest(self.run(team, rows, day0))
            after = _digest(self.run(team, rows, day0, scenario=new_sc))
            if before != after:
                raise WorkshopError(f"shock {added.name!r} would change what team {team} already played (the "
                                    "scenario's random demand draws or forecasts depend on it); it cannot be injected "
                                    "now")
        stored = added.model_dump(mode="json", by_alias=True, exclude_unset=True)
        stored["type"] = added.type
        stored["name"] = added.name
        if "start" not in stored and "window" not in stored:
            stored["start"] = day0
        cfg = self.cfg.model_copy(update={
            "shocks": (*self.cfg.shocks, ShockEntry(before_round=k, shock=stored)),
            "log": (*self.cfg.log, LogEntry(round=self.played, action="shock",
                                            detail=json.dumps(stored, sort_keys=True), time=_now()))})
        self._save(cfg)
        return stored

    def set_visibility(self, level: str) -> None:
        """What teams see from the next round on: ``none`` (their own roles) or ``full`` (every stage)."""
        if level not in ("none", "full"):
            raise WorkshopError(f"visibility is 'none' or 'full', got {level!r}")
        cfg = self.cfg.model_copy(update={"visibility": level, "log": (*self.cfg.log, LogEntry(
            round=self.played, action="visibility", detail=level, time=_now()))})
        self._save(cfg)

    def undo(self) -> dict[str, Any]:
        """Take back the last round played: the rounds played go back by one (``workshop.yaml``, whose log says
        so), the bot's rows for that round leave the teams' decision files, and ``results/round-<k>`` goes. The
        teams' own rows for the round stay: they are the next round's decisions again, and may be changed
        before the round is played again. Shocks and visibility stay as set.

        ``workshop.yaml`` is written first: from then on the round is the next one, its results are not read
        and the bot's rows for it are set apart (and replaced by the next ``advance``), so a crash part way
        leaves a workshop every command handles; the next ``undo`` then only finishes the clean-up (it does not
        take back another round), as it does after an interrupted ``advance``.

        Returns ``{"round": k, "finished": bool, "bot_rows": {team: n}}``: ``finished`` when it only cleaned up
        after an interrupted advance or undo of round k.

        Raises:
            WorkshopError: no round was played (and nothing is left to clean up).
            DecisionError: a decision file has a problem (nothing was changed).
        """
        import shutil

        k = self.played + 1
        leftover = self.round_dir(k).exists()
        _, _, stale = self._read_all()
        if leftover or any(stale.values()):
            finished = True  # an interrupted advance (or undo) of round k: clean up, take back nothing more
        else:
            if self.played == 0:
                raise WorkshopError("no round has been played: nothing to undo")
            finished = False
            k = self.played
            cfg = self.cfg.model_copy(update={"played": k - 1, "log": (*self.cfg.log, LogEntry(
                round=k - 1, action="undo", detail=f"round {k} taken back", time=_now()))})
            self._save(cfg)
            _, _, stale = self._read_all()  # round k's bot rows are now the next round's
        removed: dict[str, int] = {}
        for team, lines in stale.items():
            if lines:
                path = self.decisions_path(team)
                text = dec.read_text(path, self._label(path))
                atomic_write_text(path, dec.replace_rows(text, set(lines), [], dec.header_line(self.cfg.kind)))
                removed[team] = len(lines)
        replay = self.root / "results" / "replay.csv"
        if replay.exists():
            import csv

            with replay.open(newline="", encoding="utf-8") as fh:
                upto = {int(r["rounds"]) for r in csv.DictReader(fh) if str(r.get("rounds", "")).isdigit()}
            if any(n >= k for n in upto):
                replay.unlink()  # it replayed the round taken back, which may now be played otherwise
        if self.round_dir(k).exists():
            # Renamed first, so the folder is either all there or gone from results/.
            trash = self.root / "results" / f".undone-round-{k}"
            if trash.exists():
                shutil.rmtree(trash)
            self.round_dir(k).rename(trash)
            shutil.rmtree(trash)
        return {"round": k, "finished": finished, "bot_rows": removed}

    def leaderboard(self, k: int | None = None) -> list[dict[str, Any]]:
        """The leaderboard after round k (default: the last played), as written by ``advance``."""
        import csv

        k = self.played if k is None else k
        if not 0 <= k <= self.played:
            raise WorkshopError(f"round {k} has not been played (rounds played: {self.played})")
        path = self.round_dir(k) / "leaderboard.csv"
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                return list(csv.DictReader(fh))
        except OSError as exc:
            raise WorkshopError(f"{path}: cannot read: {exc.strerror or exc}") from None

    def status(self) -> dict[str, Any]:
        """Rounds played, and which teams have decided the next round (rows in their files)."""
        k = self.played + 1
        decided: dict[str, Any] = {}
        notes: dict[str, list[str]] = {}
        for team in self.teams:
            try:
                rows, notes[team], _ = self.read_team(team)
            except DecisionError as exc:
                decided[team] = f"file has problems ({len(exc.problems)})"
                continue
            rows = [r for r in rows if r.round == k and r.source != "bot"]
            if self.cfg.kind == "orders":
                got = sorted({r.role for r in rows})
                decided[team] = ", ".join(got) if got else "not yet"
            else:
                decided[team] = "yes" if rows else "not yet"
        return {"notes": notes, "name": self.cfg.name, "kind": self.cfg.kind, "played": self.played,
                "rounds": self.cfg.rounds, "next_round": k if not self.over else None,
                "visibility": self.cfg.visibility, "score": self.cfg.score.metric, "bot": self.cfg.bot,
                "decided": decided, "shocks": [s.shock for s in self.cfg.shocks]}

    # ------------------------------------------------------------------ replay and debrief

    def replay(self, replications: int, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Each team's logged decisions against ``replications`` other random futures (1..N; 0 is the
        workshop's own): per-team scores, ranks, and how often each team would have won."""
        if self.played == 0:
            raise WorkshopError("no round played yet: nothing to replay")
        if replications < 1:
            raise WorkshopError("replications must be >= 1")
        all_rows = self.read_all()
        end = self.calendar.end(self.played)
        counted = self.calendar.account_end(self.played)
        rows_out: list[dict[str, Any]] = []
        for rep in range(replications + 1):
            batch = []
            for team in self.teams:
                rows = [r for r in all_rows[team] if r.round <= self.played]
                run = self.run(team, rows, end, replication=rep)
                m = metrics(run.records, self.scenario, 0, counted)
                batch.append({"replication": rep, "rounds": self.played, "team": team,
                              "score": _round(score_of(m, self.cfg.score)),
                              "profit": _round(m["profit"]), "otif": _round(m["otif"]),
                              "total_cost": _round(m["total_cost"])})
            rows_out += rank(batch, self.cfg.score)
            if progress:
                progress(rep)
        cols = ("replication", "rounds", "team", "rank", "score", "profit", "otif", "total_cost")
        atomic_write_text(self.root / "results" / "replay.csv", rows_to_csv(rows_out, cols))
        return {"rows": rows_out, "summary": replay_summary(rows_out, self.teams), "rounds": self.played,
                "replications": replications}

    def debrief_data(self) -> dict[str, Any]:
        from simsop.workshop.debrief import debrief_data

        return debrief_data(self)

    def write_debrief(self, out: str | Path | None = None) -> Path:
        """Write the HTML debrief (default ``debrief.html`` in the workshop folder)."""
        from simsop.report.debrief_service import debrief_page

        html = debrief_page(self)
        path = Path(out) if out is not None else self.root / "debrief.html"
        atomic_write_text(path, html)
        return path


def replay_summary(rows: Sequence[dict[str, Any]], teams: Sequence[str]) -> list[dict[str, Any]]:
    """Per team over the other futures (replication >= 1): mean, sd, min, max of the score, mean rank,
    share of futures it ranks first; and its score and rank in the workshop's own future."""
    out = []
    for team in teams:
        mine = [r for r in rows if r["team"] == team]
        own = next((r for r in mine if r["replication"] == 0), None)
        other = [r for r in mine if r["replication"] > 0]
        s = np.array([np.nan if r["score"] is None else r["score"] for r in other], dtype=float)
        ranks = np.array([r["rank"] for r in other], dtype=float)
        out.append({"team": team, "workshop_score": own["score"] if own else None,
                    "workshop_rank": own["rank"] if own else None,
                    "mean": _finite(np.nanmean(s)) if len(s) else None,
                    "sd": _finite(np.nanstd(s, ddof=1)) if len(s) > 1 else None,
                    "min": _finite(np.nanmin(s)) if len(s) else None, "max": _finite(np.nanmax(s)) if len(s) else None,
                    "mean_rank": _finite(ranks.mean()) if len(ranks) else None,
                    "first": float((ranks == 1).mean()) if len(ranks) else None})
    return out


def _digest(run: TeamRun) -> str:
    """A fingerprint of everything that happened in a run (except which shocks exist)."""
    h = hashlib.sha256()
    snap = run.records.snapshots
    for f in ("on_hand", "backlog", "internal_backlog", "on_order", "lost"):
        h.update(np.ascontiguousarray(getattr(snap, f)[: run.end]).tobytes())
    for name, t in sorted(run.records.tables.items()):
        if name == "shocks":
            continue
        for col, arr in sorted(t.columns().items()):
            h.update(f"{name}.{col}:{len(arr)}".encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _scenario_copy(src: Path, sc: Scenario, root: Path) -> tuple[str, Scenario]:
    """The text of the workshop's scenario file and the scenario it loads as.

    The original file is copied verbatim (with its facilitator's guide) when it loads to the same scenario
    from the workshop folder; a scenario that reads other files by relative path is written out as the
    validated data instead.
    """
    import yaml

    text = src.read_text(encoding="utf-8")
    try:
        copy = parse_scenario(parse_yaml(text, str(src)), str(src), root)
        if scenario_hash(copy) == scenario_hash(sc):
            return text, copy
    except ScenarioError:
        pass
    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    text = (f"# The validated scenario of {src}, as the workshop plays it (see the original for its comments).\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110))
    copy = parse_scenario(parse_yaml(text, str(src)), str(src), root)
    if scenario_hash(copy) != scenario_hash(sc):  # pragma: no cover - a schema that does not round-trip
        raise WorkshopError(f"{src}: cannot make a faithful copy of the scenario for the workshop")
    return text, copy
