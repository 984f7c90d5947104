"""Draw a report's charts to PNG: here, or in forked worker processes when the machine has cores to spare.

Drawing is matplotlib's Python work (layout, text, ticks) at about 0.3 s a chart, and a report has ten or
more: on two cores, two processes draw them in a little over half the time. The workers are forked, so they
start at once and already hold the data the charts are drawn from (a chart is a closure, which could not be
sent to a fresh process). Forking is only used where it is the safe default (Linux) and while no other
Python thread runs; anywhere else, or if the workers cannot start, the charts are drawn here, one by one.
The PNG bytes are the same either way.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

Drawn = tuple[bytes | None, str | None]  # the PNG, or None and why the chart could not be drawn

_MAKERS: Sequence[Callable[[], Any]] = ()  # what forked workers draw (inherited, never pickled)


class ChartPlaces:
    """Charts that keep their place in a page's blocks until all are drawn together by :meth:`draw`; a chart
    that cannot be drawn becomes a sentence saying why (a chart never costs the whole page)."""

    def __init__(self) -> None:
        self._waiting: list[tuple[list[str], int, Any, str, str, str, Callable[[], Any]]] = []

    def add(self, blocks: list[str], key: str, title: str, caption: str, make: Callable[[], Any],
            tag: Any = None) -> None:
        """Keep a place at the end of ``blocks`` for the chart ``make()`` draws (``tag``: the caller's, given
        back by :meth:`draw`)."""
        self._waiting.append((blocks, len(blocks), tag, key, title, caption, make))
        blocks.append("")

    def draw(self, dpi: int, workers: int | None = None) -> list[tuple[Any, str, str, str, bytes]]:
        """Draw every waiting chart into its place; returns ``(tag, key, title, caption, png)`` of those drawn."""
        from simsop.report import html

        waiting, self._waiting = self._waiting, []
        out = []
        for (blocks, at, tag, key, title, caption, _), (png, error) in zip(
                waiting, draw_all([w[-1] for w in waiting], dpi, workers), strict=True):
            if png is None:
                blocks[at] = html.missing(f"The chart '{title}' could not be drawn ({error}).")
                continue
            blocks[at] = html.figure(png, title, caption, key)
            out.append((tag, key, title, caption, png))
        return out


def draw(make: Callable[[], Any], dpi: int) -> Drawn:
    """One chart: ``make()`` gives a matplotlib Figure, saved as PNG; an error becomes its description."""
    try:
        fig = make()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    except Exception as exc:  # a broken chart must not cost the whole report
        return None, f"{type(exc).__name__}: {exc}"
    return buf.getvalue(), None


def draw_all(makers: Sequence[Callable[[], Any]], dpi: int, workers: int | None = None) -> list[Drawn]:
    """Every chart, in order; ``workers`` processes where forking is safe (default: the cores available)."""
    n = _cores() if workers is None else workers
    if n > 1 and len(makers) > 2 and _fork_is_safe():
        try:
            return _draw_forked(makers, dpi, min(n, len(makers)))
        except Exception:  # workers that cannot start, or died: draw here instead
            pass
    return [draw(make, dpi) for make in makers]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _fork_is_safe() -> bool:
    import multiprocessing

    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def _draw_index(task: tuple[int, int]) -> Drawn:
    i, dpi = task
    return draw(_MAKERS[i], dpi)


def _draw_forked(makers: Sequence[Callable[[], Any]], dpi: int, workers: int) -> list[Drawn]:
    import multiprocessing

    global _MAKERS
    _MAKERS = makers
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_draw_index, [(i, dpi) for i in range(len(makers))]))
    finally:
        _MAKERS = ()
