"""Planning buckets and days named as a planner sees them: months and dates in monthly plans (day 0 is 1 January),
day spans otherwise. The dashboard, the prompts and every message about a plan's buckets use these names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_STARTS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def bucket_label(bucket: str | int, b: int) -> str:
    """A planning bucket's name: its month for monthly buckets (day 0 is 1 January; a second year is
    marked), else ``b<index>``."""
    if bucket == "month" and b >= 0:
        return MONTHS[b % 12] + (f" Y{b // 12 + 1}" if b >= 12 else "")
    return f"b{b}"


def day_label(bucket: str | int, day: int) -> str:
    """A day as a date for monthly games (``7 Apr``), else ``day N``."""
    if bucket != "month" or day < 0:
        return f"day {day}"
    d = day % 365
    m = int(np.searchsorted(_MONTH_STARTS, d, side="right")) - 1
    return f"{d - _MONTH_STARTS[m] + 1} {MONTHS[m]}" + (f" Y{day // 365 + 1}" if day >= 365 else "")


class BucketNames:
    """Names of a plan game's absolute buckets for messages: ``Feb (bucket 1)`` in a monthly game,
    ``days 14-20 (bucket 2)`` otherwise; the number is what a decision file's ``bucket`` column says."""

    def __init__(self, bucket: str | int, starts: Sequence[int]) -> None:
        self.bucket = bucket
        self.starts = tuple(starts)

    def label(self, b: int) -> str:
        """The bucket as the dashboard names it: ``Feb`` (monthly), else its days, ``days 14-20``."""
        if self.bucket == "month" and b >= 0:
            return bucket_label("month", b)
        if 0 <= b < len(self.starts) - 1:
            return f"days {self.starts[b]}-{self.starts[b + 1] - 1}"
        return f"bucket {b}"

    def __call__(self, b: int) -> str:
        label = self.label(b)
        return label if label == f"bucket {b}" else f"{label} (bucket {b})"

    def span(self, a: int, z: int) -> str:
        """Buckets a..z (inclusive): ``Feb to Jul (buckets 1 to 6)``."""
        if a == z:
            return self(a)
        return f"{self.label(a)} to {self.label(z)} (buckets {a} to {z})"
