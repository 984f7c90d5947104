"""One colour per policy name, the same in every chart of every report.

Reports are compared side by side and their charts end up on the same slide, so a policy's colour follows its
name, never its place in a run's policy list: ``lp`` is reddish purple whatever else was run. The built-in
policies have fixed colours of the Okabe-Ito palette (safe for the common forms of colour blindness; its
yellow, hard to see on white, and its black, which the charts use for measures, are left out). A custom
policy (``module:Class``, a workshop team) gets a colour picked from its name by a stable hash among a second
colour-blind-safe set (Paul Tol's "muted" colours unlike the built-ins'); when two custom names of one report
pick the same colour, the later one in name order takes the next free one, so no two policies of a report
share a colour. The baseline keeps its name's colour and is labelled "(baseline)" wherever a legend or a table
names the policies (:meth:`PolicyColors.label`).
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Iterable, Mapping

# Okabe-Ito, one per built-in policy name (simsop.planning.policy.available_policies). The order of the
# default comparison (none, chase, hybrid, level, lp) gets the five most distinct ones.
BUILT_IN = {
    "none": "#0072B2",  # blue
    "chase": "#E69F00",  # orange
    "hybrid": "#009E73",  # bluish green
    "level": "#D55E00",  # vermillion
    "lp": "#CC79A7",  # reddish purple
    "replay": "#56B4E9",  # sky blue
}
OKABE_ITO = tuple(BUILT_IN.values())
# Custom names: Paul Tol's muted colours but those close to a built-in one (cyan, purple).
CUSTOM = (
    "#332288",  # indigo
    "#999933",  # olive
    "#882255",  # wine
    "#117733",  # green
    "#DDCC77",  # sand
    "#CC6677",  # rose
    "#44AA99",  # teal
)
# Past those: tab20, so colours stay distinct (at some cost to colour-blind readers), then generated hues.
EXTRA = (
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
    "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
    "#17becf", "#9edae5",
)
NEUTRAL = "#555555"  # things that belong to no policy: demand, reference lines
SHOCK = "#B0B0B0"  # shaded shock windows
BASELINE_MARK = " (baseline)"


class PolicyColors(dict[str, str]):
    """Policy name -> colour, and which policy is the baseline (named as such by :meth:`label`)."""

    baseline: str | None = None

    def label(self, policy: str) -> str:
        """The policy's name as legends and tables print it: 'none (baseline)' for the baseline."""
        return policy + (BASELINE_MARK if policy == self.baseline else "")


def label(colors: Mapping[str, str], policy: str) -> str:
    """:meth:`PolicyColors.label`, or the plain name for a mapping that knows no baseline."""
    return colors.label(policy) if isinstance(colors, PolicyColors) else policy


def _name_slot(name: str, n: int) -> int:
    """A slot in ``range(n)`` from the name alone (sha256: Python's own str hash changes between runs)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % n


def _generated(i: int) -> str:
    """The i-th colour past every list: hues a golden angle apart, mid saturation and value."""
    r, g, b = colorsys.hsv_to_rgb((0.13 + 0.618034 * i) % 1.0, 0.65, 0.72)
    return f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"


def policy_colors(policies: Iterable[str], baseline: str | None = None) -> PolicyColors:
    """Map each policy (duplicates ignored) to its colour: fixed for a built-in name, from the name's hash for
    another one, distinct within ``policies``; ``baseline`` is remembered for labels."""
    names = list(dict.fromkeys(str(p) for p in policies))
    out = PolicyColors()
    out.baseline = baseline
    taken = {BUILT_IN[p] for p in names if p in BUILT_IN}
    # Name order, not run order: a custom name's colour depends only on which names share the report.
    for p in sorted(p for p in names if p not in BUILT_IN):
        start = _name_slot(p, len(CUSTOM))
        color = next((c for c in CUSTOM[start:] + CUSTOM[:start] + EXTRA if c not in taken), None)
        i = 0
        while color is None or color in taken:
            color, i = _generated(i), i + 1
        taken.add(color)
        out[p] = color
    for p in names:
        if p in BUILT_IN:
            out[p] = BUILT_IN[p]
    return _ordered(out, names)


def _ordered(colors: PolicyColors, names: list[str]) -> PolicyColors:
    """The same mapping in the given order (legends iterate it)."""
    out = PolicyColors((p, colors[p]) for p in names)
    out.baseline = colors.baseline
    return out
