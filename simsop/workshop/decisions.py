"""Teams' decision files: read, check against the workshop's state, and (re)write.

Two formats, one row per decision, with optional ``source`` (``team`` or ``bot``: a default the workshop
filled in) and ``team`` columns:

* ``orders`` games: ``round, role, order`` (units the role orders from its supplier in that round);
* ``plan`` games: the ``replay`` policy's format ``cycle, product|family, bucket, production
  [, inventory_target]``, with ``cycle`` = round - 1 and ``bucket`` the absolute planning bucket (0 starts on
  day 0), so a team's file replays with ``simsop run`` and ``planning: {policy: replay}``.

Rows of played rounds are the log: they should all be there and unchanged. What was played is kept in the
results (``results/round-<k>/<team>.json``), and a played round stays as played: a row for a played round that
is not what was played (a late decision, an edit) is ignored with a note, and a played row missing from the
file is taken from the results, with a note (``notes``), so one team's late row never blocks the class. The
next round's rows are optional (a team that has not decided gets the bot's decision); the bot's rows for the
next round (``source`` bot, left by an interrupted ``advance`` or ``undo``) are not the team's decision: they
are set apart (``stale``) and replaced. Every problem is reported with the file and line; nothing is written
when a file has a problem. A row with more values than the header has columns is one (even if the extra values
are empty): an unquoted ``1,200`` is two values, and the columns after it shift.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simsop.planning.decision_csv import csv_rows as _rows
from simsop.planning.decision_csv import integer as _integer
from simsop.planning.decision_csv import number as _number
from simsop.planning.decision_csv import quantity_problem as _quantity_problem
from simsop.planning.decision_csv import split_fix as _split_fix
from simsop.planning.decision_csv import split_number
from simsop.planning.policies import Decision

ORDER_COLUMNS = ("round", "role", "order", "source")

_THOUSANDS = re.compile(r"^\s*\d{1,3}(,\d{3})+(\.\d*)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*\d+,\d+\s*$")


def number_hint(text: str) -> str:
    """A hint for a number typed the way a person writes it but a computer does not read it ('' if none)."""
    if _THOUSANDS.match(text):
        return f" (write it without the thousands separator: {text.strip().replace(',', '')})"
    if _DECIMAL_COMMA.match(text):
        return f" (use a point for decimals: {text.strip().replace(',', '.')})"
    return ""


def _split_in_row(header: Sequence[str], row: Mapping[str, str], width: int, quantity: str,
                  targets_count: bool) -> str:
    """The number a thousands separator cut in two within a row no wider than the header (``'1,200'`` read as
    production 1 and then 200 in the next column; '' if none); ``width``: the row's number of values. The next
    column's value must be no decision for the row to be taken for a cut one: a source or team of '200', or
    an inventory target that the game ignores (``targets_count`` false) on a row that ends with it (a team
    that meant a target would write the row out, or leave it empty)."""
    if quantity not in header or header.index(quantity) + 1 >= len(header):
        return ""
    at = header.index(quantity) + 1
    nxt = header[at]
    if nxt == "inventory_target" and (targets_count or width != at + 1):
        return ""
    cells = [row.get(quantity, ""), row.get(nxt, "")]
    typed = split_number(cells)
    return typed if typed and typed.startswith(cells[0] + ",") else ""


def _split_problem(label: str, n: int, header: Sequence[str], row: Mapping[str, str], typed: str,
                   quantity: str) -> str:
    nxt = header[header.index(quantity) + 1]
    ignored = (" (inventory targets change nothing in this game: leave that column empty)"
               if nxt == "inventory_target" else "")
    return (f"{label}: line {n}: '{typed}' is read as two values, {quantity} {row[quantity]} and {nxt} {row[nxt]}: "
            f"a thousands separator cuts it in two; {_split_fix(typed)}{ignored}")


def _quantity(what: str, text: str, x: float | None) -> str:
    why = _quantity_problem(what, text, x)
    return why + number_hint(text) if why and x is None else why


def _played_how(sources: Iterable[str]) -> str:
    return "by the bot" if set(sources) == {"bot"} else "as decided"


class FileNote(str):
    """A note about a decision file (its text), with ``key``: the row it is about, the same from round to round
    while the row stays as it is (the text names the next round, which changes), so that ``advance`` can say it
    once, the round it first sees it."""

    key: str

    def __new__(cls, text: str, key: str) -> FileNote:
        note = super().__new__(cls, text)
        note.key = key
        return note


class DecisionError(ValueError):
    """Decision files that cannot be used; one line per problem, each naming the file and line."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class OrderRow:
    line: int
    round: int
    role: str
    order: float
    source: str = "team"


@dataclass(frozen=True)
class PlanRow:
    line: int
    cycle: int
    item: str
    bucket: int
    production: float
    inventory_target: float | None
    source: str = "team"

    @property
    def round(self) -> int:
        return self.cycle + 1

    def decision(self) -> Decision:
        return Decision(self.line, self.cycle, self.item, self.bucket, self.production, self.inventory_target)


def read_text(path: Path, label: str) -> str:
    """A decision file's text (a missing file reads as empty)."""
    if not path.exists():
        return ""
    try:
        # -sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which is not part of the header.
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DecisionError([f"{label}: cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise DecisionError([f"{label}: not a UTF-8 text file"]) from None


def _common(label: str, n: int, row: dict[str, str], team: str, problems: list[str]) -> str:
    t = row.get("team", "")
    if t and t != team:
        problems.append(f"{label}: line {n}: team {t!r} in the file of team {team!r} (wrong team's file?)")
    src = row.get("source", "") or "team"
    if src not in ("team", "bot"):
        problems.append(f"{label}: line {n}: source must be 'team' or 'bot', got {src!r}")
    return src


def read_orders(text: str, label: str, team: str, roles: Sequence[str], game_roles: Sequence[str],
                played: int, rounds: int, log: Mapping[tuple[int, str], tuple[float, str]],
                notes: list[str] | None = None, stale: list[int] | None = None) -> list[OrderRow]:
    """Check the text of an ``orders`` game's decision file of one team.

    Args:
        label: how messages name the file (e.g. ``decisions/A.csv``).
        roles: the roles the team plays; ``game_roles``: every role of the game.
        played: rounds played so far; rows may go up to round ``played + 1``.
        rounds: rounds in the workshop.
        log: (round, role) -> (units, source) of the played rounds, as played.
        notes: receives a line for every row of a played round that is not what was played (it is ignored)
            and every played decision missing from the file (it is taken from ``log``).
        stale: receives the line numbers of the bot's rows for the next round (they are not returned).

    Returns the played rounds' decisions as played and the team's rows for the next round.

    Raises:
        DecisionError: one line per problem.
    """
    problems: list[str] = []
    notes = [] if notes is None else notes
    widths: dict[int, int] = {}
    header, rows = _rows(text, label, ("round", "role", "order"), problems, "order", widths)
    out: list[OrderRow] = []
    seen: dict[tuple[int, str], int] = {}
    late: set[tuple[int, str]] = set()
    nxt = played + 1
    following = (f"your next decision is for round {nxt}" if nxt <= rounds else "the workshop is over")
    for n, row in rows:
        if typed := _split_in_row(header, row, widths.get(n, 0), "order", True):
            problems.append(_split_problem(label, n, header, row, typed, "order"))
            continue
        src = _common(label, n, row, team, problems)
        r = _integer(row["round"])
        q = _number(row["order"])
        role = row["role"]
        if r is not None and 1 <= r <= played:
            key = (r, role)
            if key in log and log[key][0] == q and key not in seen:
                seen[key] = n
                out.append(OrderRow(n, r, role, q, log[key][1]))
                continue
            # A late decision, or an edit of a played one: the round stays as it was played.
            how = _played_how(s for (k, _), (_, s) in log.items() if k == r)
            was = (f": {role} ordered {log[key][0]:g}; this row says {row['order']}" if key in log and key not in seen
                   else "")
            notes.append(FileNote(
                f"{label}: line {n}: round {r} was already played ({how}{was}); {following}. This row is ignored"
                + (f" (give round {nxt}'s order on a row of round {nxt})" if nxt <= rounds else "") + ".",
                f"late {r},{role},{row['order']}"))
            late.add(key)
            continue
        bad = False
        if r is None or r < 1:
            problems.append(f"{label}: line {n}: round must be a whole number >= 1, got {row['round']!r}")
            bad = True
        elif r > min(nxt, rounds):
            what = (f"the workshop has {rounds} rounds" if r > rounds
                    else f"round {r} has not started (the next round to play is {nxt})")
            problems.append(f"{label}: line {n}: {what}")
            bad = True
        if src == "bot" and r == nxt:
            if stale is not None:
                stale.append(n)
            continue  # the bot's row of an interrupted advance or undo: not the team's decision
        if role not in roles:
            why = (f"team {team!r} does not play {role!r} (it plays {', '.join(roles)})" if role in game_roles
                   else f"unknown role {role!r}; expected one of {', '.join(roles)}")
            problems.append(f"{label}: line {n}: {why}")
            bad = True
        if why := _quantity("order", row["order"], q):
            problems.append(f"{label}: line {n}: {why}")
            bad = True
        if bad:
            continue
        assert r is not None and q is not None
        key = (r, role)
        if key in seen:
            problems.append(f"{label}: line {n}: a second order for round {r}, role {role} (first on line {seen[key]})")
            continue
        seen[key] = n
        out.append(OrderRow(n, r, role, q, src))
    for (r, role), (q, src) in sorted(log.items()):
        if r <= played and role in roles and (r, role) not in seen:
            if (r, role) not in late:
                notes.append(FileNote(
                    f"{label}: round {r} (role {role}) is missing from the file; it stays as played (order {q:g}, "
                    f"kept in results/round-{r}): put the row back so the file tells the game", f"missing {r},{role}"))
            out.append(OrderRow(0, r, role, q, src))
    if problems:
        raise DecisionError(problems)
    return out


def item_column(items: Iterable[str], products: Sequence[str], default: str) -> str:
    """The column that names what a plan file's rows are: ``product`` when every row is a product (a product
    named like its family is the product), ``family`` when every row is a family, ``item`` when they mix
    (the bot's rows are products; a team may plan families); ``default`` when there are no rows."""
    kinds = {"product" if i in products else "family" for i in items}
    return kinds.pop() if len(kinds) == 1 else ("item" if kinds else default)


def _item_problem(col: str, item: str, products: Sequence[str], families: Mapping[str, Sequence[str]]) -> str:
    """Why a row's product/family/item cell does not fit its column ('' when it does)."""
    if item in products and col in ("product", "item"):
        return ""
    if item in families and col in ("family", "item"):
        return ""
    mix = "; or name the column item to mix products and families"
    if col == "product" and item in families:
        return (f"column product: {item!r} is a family, not a product; name the column family to plan families{mix}")
    if col == "family" and item in products:
        fam = next((f for f, ps in families.items() if item in ps), "?")
        return (f"column family: {item!r} is a product (of family {fam}), not a family; name the column product to "
                f"plan products{mix}")
    known = {"product": list(products), "family": list(families), "item": [*families, *products]}[col]
    what = {"product": "product", "family": "family", "item": "product or family"}[col]
    return f"column {col}: unknown {what} {item!r}; expected one of {', '.join(known)}"


def _no_name(b: int) -> str:
    return f"bucket {b}"


def _span(name: Callable[[int], str], a: int, z: int) -> str:
    span = getattr(name, "span", None)
    return str(span(a, z)) if callable(span) else f"buckets {a} to {z}"


def read_plan(text: str, label: str, team: str, products: Sequence[str], families: Mapping[str, Sequence[str]],
              played: int, rounds: int, first_bucket: Sequence[int], plan_buckets: int,
              log: Mapping[tuple[int, str, int], tuple[float, float | None, str]],
              name: Callable[[int], str] = _no_name, notes: list[str] | None = None,
              stale: list[int] | None = None, targets_count: bool = True) -> list[PlanRow]:
    """Check the text of a ``plan`` game's decision file of one team (the ``replay`` format; cycle = round - 1).

    Args:
        products: products made in a factory (plannable); ``families``: family -> its plannable products.
        first_bucket: first bucket each round may plan (index round - 1); ``plan_buckets``: how many.
        log: (cycle, item, bucket) -> (production, inventory target, source) of the played rounds.
        name: a bucket as messages name it (``Feb (bucket 1)``: see ``simsop.planning.labels.BucketNames``).
        notes: receives a line for every row of a played cycle that is not what was played (it is ignored) and
            every played decision missing from the file (it is taken from ``log``).
        stale: receives the line numbers of the bot's rows for the next cycle (they are not returned).
        targets_count: the game's plans set reorder levels from inventory targets
            (``planning.set_execution_levels``); when they do not, a row that ends with a three-digit target
            after a production of one to three digits is taken for a number cut at its thousands separator.

    The header's ``product``, ``family`` or ``item`` column says what the rows are; a row that is not what its
    column says (a product under ``family``) is a problem naming the line and the column.

    Returns the played cycles' decisions as played and the team's rows for the next cycle.

    Raises:
        DecisionError: one line per problem.
    """
    problems: list[str] = []
    notes = [] if notes is None else notes
    widths: dict[int, int] = {}
    header, rows = _rows(text, label, ("cycle", "bucket", "production"), problems, "production", widths)
    item_col = next((c for c in ("product", "family", "item") if c in header), None)
    if rows and item_col is None:
        problems.append(f"{label}: line 1: missing column product (or family, or item); found {header}")
        raise DecisionError(problems)
    out: list[PlanRow] = []
    seen: dict[tuple[int, str, int], int] = {}
    late: set[tuple[int, str, int]] = set()
    nxt = played + 1
    following = (f"your next decision is for cycle {played} (round {nxt})" if nxt <= rounds
                 else "the workshop is over")
    cycles_seen: set[int] = set()
    for n, row in rows:
        assert item_col is not None
        if typed := _split_in_row(header, row, widths.get(n, 0), "production", targets_count):
            problems.append(_split_problem(label, n, header, row, typed, "production"))
            continue
        src = _common(label, n, row, team, problems)
        c = _integer(row["cycle"])
        b = _integer(row["bucket"])
        q = _number(row["production"])
        t_text = row.get("inventory_target", "")
        t = _number(t_text) if t_text else None
        item = row[item_col]
        if c is not None and 0 <= c < played:
            key = (c, item, b if b is not None else -1)
            if key in log and log[key][:2] == (q, t) and key not in seen:
                if why := _item_problem(item_col, item, products, families):
                    problems.append(f"{label}: line {n}: {why}")  # the header was changed: the file misreads
                seen[key] = n
                cycles_seen.add(c)
                out.append(PlanRow(n, c, item, key[2], log[key][0], log[key][1], log[key][2]))
                continue
            # A late decision, or an edit of a played one: the cycle stays as it was played.
            how = _played_how(s for (k, _, _), (_, _, s) in log.items() if k == c)
            was = (f": production {log[key][0]:g} of {item} in {name(key[2])}; this row says {row['production']}"
                   if key in log and key not in seen else "")
            notes.append(FileNote(
                f"{label}: line {n}: cycle {c} (round {c + 1}) was already played ({how}{was}); {following}. This "
                "row is ignored" + (f" (give round {nxt}'s plan on rows of cycle {played})" if nxt <= rounds else "")
                + ".", f"late {c},{item},{row['bucket']},{row['production']},{t_text}"))
            late.add(key)
            continue
        bad = False
        if c is None or c < 0:
            problems.append(f"{label}: line {n}: cycle must be a whole number >= 0 (round - 1), got {row['cycle']!r}")
            bad = True
        elif c + 1 > min(nxt, rounds):
            what = (f"the workshop has {rounds} rounds (cycles 0 to {rounds - 1})" if c + 1 > rounds
                    else f"cycle {c} is round {c + 1}, which has not started (the next round is {nxt}, "
                    f"cycle {nxt - 1})")
            problems.append(f"{label}: line {n}: {what}")
            bad = True
        if src == "bot" and c == played:
            if stale is not None:
                stale.append(n)
            continue  # the bot's row of an interrupted advance or undo: not the team's decision
        if why := _item_problem(item_col, item, products, families):
            problems.append(f"{label}: line {n}: {why}")
            bad = True
        if why := _quantity("production", row["production"], q):
            problems.append(f"{label}: line {n}: {why}")
            bad = True
        if t_text and (why := _quantity("inventory_target", t_text, t)):
            problems.append(f"{label}: line {n}: {why.replace('>= 0,', '>= 0 or empty,')}")
            bad = True
        if b is None:
            problems.append(f"{label}: line {n}: bucket must be a whole number, got {row['bucket']!r}")
            bad = True
        elif c is not None and 0 <= c < len(first_bucket):
            lo = first_bucket[c]
            if not lo <= b < lo + plan_buckets:
                when = "is already under way or past" if b < lo else "is beyond the plan"
                problems.append(f"{label}: line {n}: {name(b)} {when}: cycle {c} (round {c + 1}) plans "
                                f"{_span(name, lo, lo + plan_buckets - 1)}")
                bad = True
        if bad:
            continue
        assert c is not None and b is not None and q is not None
        key = (c, item, b)
        if key in seen:
            problems.append(f"{label}: line {n}: a second row for cycle {c}, {item}, {name(b)} (first on line "
                            f"{seen[key]})")
            continue
        seen[key] = n
        cycles_seen.add(c)
        out.append(PlanRow(n, c, item, b, q, t, src))
    for key, (q, t, src) in log.items():
        c, item, b = key
        if c < played and key not in seen:
            if key not in late:
                notes.append(FileNote(
                    f"{label}: cycle {c} (round {c + 1}: {item}, {name(b)}) is missing from the file; it stays as "
                    f"played (production {q:g}, kept in results/round-{c + 1}): put the row back so the file tells "
                    "the game", f"missing {c},{item},{b}"))
            seen[key] = 0
            cycles_seen.add(c)
            out.append(PlanRow(0, c, item, b, q, t, src))
    for (c, item, b), n in seen.items():
        if item in products:
            continue  # a product named like its family is the product (as the replay policy reads it)
        for fam, members in families.items():
            if item == fam:
                both = [p for p in members if (c, p, b) in seen]
                if both:
                    problems.append(f"{label}: line {n}: family {fam} and its product {both[0]} both planned for "
                                    f"{name(b)} in cycle {c}; give one or the other")
    if not problems:
        for c in range(played):
            if c not in cycles_seen:
                problems.append(f"{label}: missing round {c + 1} (cycle {c}): played rounds stay in the log")
    if problems:
        raise DecisionError(problems)
    return out


# ---------------------------------------------------------------------------------------------- writing


def _line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def fmt(x: float | None) -> str:
    """A quantity as written to a decision file: integers without a decimal point, others exactly (the bot's
    quantities are rounded before they are played: see ``simsop.workshop.sim.round_plan``)."""
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def header_line(kind: str, item_col: str = "family") -> str:
    if kind == "orders":
        return _line(ORDER_COLUMNS)
    return _line(("cycle", item_col, "bucket", "production", "inventory_target", "source"))


def replace_rows(text: str, drop_lines: set[int], new_rows: Sequence[Mapping[str, Any]], header: str,
                 item_col_name: str | None = None) -> str:
    """The file's text without the given lines (1-based, not the header), with ``new_rows`` appended.

    Lines are kept verbatim (a team's own formatting and order stay). New rows are dicts with the keys of
    ``header``; ``item`` goes to the file's product/family/item column, and a missing column that a row
    needs (e.g. ``source``) is added to the header. ``item_col_name`` renames that column so that the header
    says what the rows now are (see :func:`item_column`).
    """
    lines = text.splitlines(keepends=True) if text.strip() else []
    if not lines:
        lines = [header]
    cols = _header_cols(lines[0])
    item_col: str | None = next((c for c in ("product", "family", "item") if c in cols), None)
    if item_col is not None and item_col_name is not None and item_col_name != item_col:
        cols[cols.index(item_col)] = item_col_name
        item_col = item_col_name
        lines[0] = _line(cols)
    kept = [ln for i, ln in enumerate(lines, start=1) if i == 1 or i not in drop_lines]
    kept = [ln if ln.endswith("\n") else ln + "\n" for ln in kept]
    for row in new_rows:
        values = dict(row)
        if "item" in values:
            col: str = item_col if item_col is not None else next(
                c for c in ("product", "family", "item") if c in _header_cols(header))
            values[col] = values.pop("item")
        missing_cols = [k for k, v in values.items() if k not in cols and v not in ("", None)]
        if missing_cols:
            cols += missing_cols
            kept[0] = _line(cols)
        kept.append(_line([values.get(c, "") for c in cols]))
    return "".join(kept)


def _header_cols(header: str) -> list[str]:
    return [h.strip().lower() for h in next(csv.reader([header]), [])]
