"""``workshop.yaml``: a workshop's settings and state, validated when read, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError

from simsop.dists import StrictModel
from simsop.workshop.spec import ScoreSpec

CONFIG_FILE = "workshop.yaml"
SCENARIO_FILE = "scenario.yaml"
TEAM_NAME = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"

HEADER = """\
# A simsop workshop (see `simsop workshop --help`). The commands keep this file up to date; between rounds
# the facilitator may edit team roles (before round 1), rounds, score and bot - nothing else.
#   simsop workshop decide DIR --team NAME      enter a team's decisions (or edit decisions/NAME.csv)
#   simsop workshop advance DIR                 play the next round for every team
#   simsop workshop undo DIR                    take back the last round played
#   simsop workshop shock DIR '<shock>'         inject a shock before the next round
#   simsop workshop visibility DIR none|full    what teams see from the next round on
#   simsop workshop leaderboard|replay|debrief DIR
"""


class WorkshopError(RuntimeError):
    """A workshop command that cannot be done; the message says why (exit code 2 on the command line)."""


class _Model(StrictModel):
    """Unknown keys are errors; numbers are finite and written as numbers (see simsop.dists.StrictModel)."""


class TeamEntry(_Model):
    """A team: in an ``orders`` game, the roles it plays (the others are the bot's)."""

    roles: tuple[str, ...] = ()


class ShockEntry(_Model):
    """A shock the facilitator injected, in force from ``before_round`` on (its days are in the shock)."""

    before_round: PositiveInt
    shock: dict[str, Any]


class LogEntry(_Model):
    """One facilitator action."""

    round: NonNegativeInt = Field(description="rounds played when it happened")
    action: str
    detail: str = ""
    time: str = ""


class WorkshopConfig(_Model):
    """Everything about a workshop except the teams' decisions and the results."""

    format: Literal[1] = 1
    name: str
    created: str
    scenario: str = SCENARIO_FILE
    scenario_sha256: str
    source: str = Field(description="the scenario file the workshop was made from")
    kind: Literal["plan", "orders"]
    seed: int
    teams: dict[str, TeamEntry] = Field(min_length=1)
    roles: tuple[str, ...] = Field(default=(), description="every role of an orders game")
    round_days: PositiveInt | None = None
    first_day: NonNegativeInt | None = None
    rounds: PositiveInt
    played: NonNegativeInt = 0
    visibility: Literal["none", "full"] = "none"
    score: ScoreSpec = Field(default_factory=ScoreSpec)
    bot: str | dict[str, Any] = "scenario"
    shocks: tuple[ShockEntry, ...] = ()
    log: tuple[LogEntry, ...] = ()


def read_config(root: Path) -> WorkshopConfig:
    from simsop.scenario import ScenarioError, read_yaml, validation_problems

    path = root / CONFIG_FILE
    if not path.is_file():
        raise WorkshopError(f"{root}: not a workshop folder (no {CONFIG_FILE}); create one with "
                            "`simsop workshop new SCENARIO --teams A,B --dir DIR`")
    try:
        data = read_yaml(path)  # a key given twice (a facilitator's edit) is an error, not a silent override
    except ScenarioError as exc:
        raise WorkshopError(str(exc)) from None
    if not isinstance(data, dict):
        raise WorkshopError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    try:
        return WorkshopConfig.model_validate(data)
    except ValidationError as exc:
        raise WorkshopError("\n".join(f"{path}: {p}" for p in validation_problems(exc))) from None


def config_text(cfg: WorkshopConfig) -> str:
    import yaml

    data = cfg.model_dump(mode="json")
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
