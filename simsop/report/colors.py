"""One colour per policy, the same in every chart of a report.

Colours come from the Okabe-Ito palette (safe for the common forms of colour blindness), assigned in the
manifest's policy order, so the baseline is always blue and a policy keeps its colour whichever subset of
policies a chart shows. Yellow comes last: it is the hardest to see on white.
"""

from __future__ import annotations

from collections.abc import Iterable

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Past eight policies: tab20, so colours stay distinct (at some cost to colour-blind readers).
EXTRA = (
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
    "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
    "#17becf", "#9edae5",
)
NEUTRAL = "#555555"  # things that belong to no policy: demand, reference lines
SHOCK = "#B0B0B0"  # shaded shock windows


def policy_colors(policies: Iterable[str]) -> dict[str, str]:
    """Map each policy (in the given order, duplicates ignored) to its colour."""
    palette = OKABE_ITO + EXTRA
    names = list(dict.fromkeys(str(p) for p in policies))
    return {p: palette[i % len(palette)] for i, p in enumerate(names)}
