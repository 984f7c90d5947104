"""Decision files as CSV text: rows with their line numbers, and the numbers people type in them.

The ``replay`` policy's decisions file and a workshop team's decision file are read the same way, so a
problem is reported the same way: the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import math
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


def csv_rows(text: str, label: str, required: Sequence[str],
          problems: list[str]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) of a CSV text; problems for missing columns."""
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
    out = []
    for n, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            problems.append(f"{label}: line {n}: {len(cells)} values for {len(header)} columns")
            continue
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        out.append((n, row))
    return header, out
