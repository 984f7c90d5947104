"""Decision files as CSV text: rows with their line numbers, and the numbers people type in them.

The ``replay`` policy's decisions file and a workshop team's decision file are read the same way, so a
problem is reported the same way: the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence

# The largest quantity a decision may give (as for scenario files): more is a typo, and it overflows the costs.
MAX_QUANTITY = 1e12


def number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def quantity_problem(what: str, text: str, x: float | None) -> str:
    """Why a decided quantity cannot be used ('' when it can)."""
    if x is None or x < 0:
        return f"{what} must be a number >= 0, got {text!r}"
    if x > MAX_QUANTITY:
        return f"{what} must be at most {MAX_QUANTITY:.0e} units, got {text!r}"
    return ""


def integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


# A number cut in two by an unquoted thousands separator: 1,200 -> "1" and "200" (1,200,000: three cells).
_LEAD = re.compile(r"^\d{1,3}$")
_GROUP = re.compile(r"^\d{3}$")
_LAST_GROUP = re.compile(r"^\d{3}(\.\d*)?$")


def split_number(cells: Sequence[str], start: int = 0) -> str:
    """The first number that an unquoted thousands separator cut into cells ``cells[start:]``, as it was typed
    (``'1,200'``; '' if none): a cell of 1 to 3 digits followed by cells of 3 digits (the last may have
    decimals)."""
    cells = [c.strip() for c in cells]
    for i in range(max(start, 0), len(cells) - 1):
        if not _LEAD.match(cells[i]):
            continue
        j = i + 1
        while j + 1 < len(cells) and _GROUP.match(cells[j]) and _LAST_GROUP.match(cells[j + 1]):
            j += 1
        if _LAST_GROUP.match(cells[j]):
            return ",".join(cells[i:j + 1])
    return ""


def split_fix(typed: str) -> str:
    """How to write a number that a thousands separator cut in two."""
    return f"write {typed.replace(',', '')}, or quote it: \"{typed}\""


def csv_rows(text: str, label: str, required: Sequence[str], problems: list[str],
             quantity: str | None = None, widths: dict[int, int] | None = None
             ) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) of a CSV text; problems for missing columns and for rows too long.

    A row with more values than the header has columns is refused even when the extra values are empty: such a
    row is a value cut in two by a comma (``1,200`` unquoted puts 1 and 200 in two columns and shifts the
    columns after them), and reading it would play numbers nobody wrote. The message names the number when it
    sees one, from the ``quantity`` column on. ``widths``, if given, gets how many values each row read has.
    """
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        problems.append(f"{label}: not a CSV file: {exc}")
        return [], []
    if not lines:
        return list(required), []  # an empty (or missing) file: no decisions yet
    header = [h.strip().lower() for h in lines[0]]
    missing = [c for c in required if c not in header]
    if missing:
        hint = next((f" (the file separates values with {sep!r}; save it with commas)" for sep in (";", "\t")
                     if len(header) == 1 and sep in header[0]), "")
        problems.append(f"{label}: line 1: missing column(s) {', '.join(missing)}; found {header}{hint}")
        return header, []
    start = header.index(quantity) if quantity in header else 0
    out = []
    for n, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header):
            typed = split_number(cells, start)
            why = (f"'{typed}' is cut in two at its thousands separator; {split_fix(typed)}" if typed else
                   "a comma inside a value cuts it in two (a thousands separator or a decimal comma?): write "
                   "numbers without separators and with a point for decimals, or quote the value")
            problems.append(f"{label}: line {n}: {len(cells)} values for {len(header)} columns "
                            f"({', '.join(header)}): {why}")
            continue
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        out.append((n, row))
        if widths is not None:
            widths[n] = len(cells)
    return header, out
