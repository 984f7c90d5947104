"""Assemble one self-contained HTML file: inline CSS, PNGs embedded as data: URIs, no scripts, no links out."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

from simsop.report.colors import label as policy_label

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 0; padding: 0 16px 48px; color: #1d1d1f; background: #fff; line-height: 1.45; }
main { max-width: 1120px; margin: 0 auto; }
header { max-width: 1120px; margin: 0 auto; padding: 24px 0 8px; border-bottom: 3px solid #0072B2; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.35rem; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin: 22px 0 6px; }
p, li { max-width: 75ch; overflow-wrap: anywhere; }
.meta { color: #555; font-size: 0.92rem; }
nav { margin: 10px 0 0; font-size: 0.95rem; }
nav a { margin-right: 14px; color: #0072B2; text-decoration: none; }
.headline { font-size: 1.12rem; background: #eef6fb; border-left: 5px solid #0072B2; padding: 12px 16px;
            margin: 16px 0; max-width: none; }
.findings li { margin: 6px 0; }
.missing { color: #7a4b00; background: #fff7e6; border-left: 4px solid #E69F00; padding: 6px 10px; }
figure { margin: 18px 0 26px; }
.fig-scroll { max-width: 100%; overflow-x: auto; overscroll-behavior-x: contain; }
figure img { display: block; max-width: 100%; min-width: var(--min-w, 0); height: auto; border: 1px solid #eee; }
.fig-hint { display: none; color: #666; font-size: 0.8rem; margin: 2px 0 0; }
figcaption { color: #444; font-size: 0.9rem; margin-top: 4px; max-width: 90ch; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: 10px 0 18px; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 5px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f5f7; font-weight: 600; }
td .ci { display: block; color: #666; font-size: 0.8rem; white-space: nowrap; }
td .ci.verdict { display: inline-block; font-style: italic; }
table.kpi td:first-child { min-width: 11em; }
table.kpi td + td, table.kpi th + th { white-space: nowrap; }
table.kv td { min-width: 14em; overflow-wrap: anywhere; }
td.best { font-weight: 700; background: #eaf5ea; }
td.tip { text-decoration: underline dotted #999; text-underline-offset: 3px; cursor: help; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 5px;
          vertical-align: baseline; }
code { font-size: 0.85rem; background: #f5f5f7; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
@media (max-width: 520px) { .fig-hint { display: block; } }
@media print { nav { display: none; } figure { break-inside: avoid; } figure img { min-width: 0; }
               .fig-hint { display: none; } }
"""


@dataclass
class Section:
    """A titled part of the report: HTML blocks in order."""

    id: str
    title: str
    blocks: list[str] = field(default_factory=list)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# Charts are drawn at 100 dpi, so their text is 14 px (10 pt) in the PNG. Shrunk to a phone's 330 px, a
# 1,100 px chart's text would be 4 px; never below this share of its size, it stays about 10 px and the chart
# scrolls sideways in its own box instead (the caption and the page still fit the screen).
MIN_SCALE = 0.75
# Above this width a phone (up to ~430 px, less the page margins) must scroll: say so there.
_HINT_ABOVE_PX = 480


def png_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels from a PNG's IHDR chunk; None when the bytes are not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def figure(png: bytes, alt: str, caption: str, key: str) -> str:
    """An embedded chart with its caption. Desktop: the chart at its own size, shrunk to fit the column. A
    narrow screen: never shrunk below :data:`MIN_SCALE` of its size, so its text stays readable; it scrolls
    sideways in its box (keyboard-scrollable, named for screen readers), the caption wraps to the screen."""
    size, hint, min_w = png_size(png), "", 0
    if size is not None:
        min_w = math.ceil(MIN_SCALE * size[0])
        size_attrs = f' width="{size[0]}" height="{size[1]}" style="--min-w: {min_w}px"'
    else:  # not a PNG we can measure: shrunk to fit, as before
        size_attrs = ""
    if min_w > _HINT_ABOVE_PX:
        hint = '<p class="fig-hint" aria-hidden="true">Swipe sideways to see the whole chart.</p>'
    return (f'<figure id="fig-{escape(key)}"><div class="fig-scroll" role="region" tabindex="0" '
            f'aria-label="{escape(alt)}"><img src="{data_uri(png)}" alt="{escape(alt)}"{size_attrs}></div>{hint}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def para(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text)}</p>"


def missing(text: str) -> str:
    """A sentence saying what is missing instead of a chart."""
    return para(text, "missing")


def bullet_list(items: Sequence[str], cls: str = "") -> str:
    lis = "".join(f"<li>{escape(i)}</li>" for i in items)
    return f'<ul class="{cls}">{lis}</ul>' if cls else f"<ul>{lis}</ul>"


def kpi_table(df: pd.DataFrame, policies: Sequence[str], colors: Mapping[str, str]) -> str:
    """KPI × policy table of ``summary.kpi_table`` output: mean on top, CI below, the significantly best cell
    highlighted ('no clear best' under the KPI when none is); the baseline's column is labelled as such."""
    if df.empty:
        return ""
    head = "".join(f'<th><span class="swatch" style="background:{escape(colors[p])}"></span>'
                   f"{escape(policy_label(colors, p))}</th>" for p in policies)
    body = []
    for _, r in df.iterrows():
        # Jargon (OTIF, MAPE, bias's sign) explained where it is read: hovering the label shows its definition.
        tip = str(r.get("tip") or "")
        # "no clear best" under the label: the policies' means differ, but not significantly enough to name one.
        verdict = str(r.get("verdict") or "")
        label = escape(str(r["KPI"])) + (f'<br><span class="ci verdict">{escape(verdict)}</span>' if verdict else "")
        cells = [f'<td title="{escape(tip)}" class="tip">{label}</td>' if tip else f"<td>{label}</td>"]
        for p in policies:
            mean, ci = r[p]
            cls = ' class="best"' if r["best"] == p else ""
            ci_html = f'<span class="ci">{escape(ci)}</span>' if ci else ""
            cells.append(f"<td{cls}>{escape(mean)}{ci_html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="table-wrap"><table class="kpi"><thead><tr><th>KPI (mean; 95% CI below)</th>'
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def key_value_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td style='text-align:left'>{escape(v)}</td></tr>" for k, v in rows)
    return f'<div class="table-wrap"><table class="kv"><tbody>{body}</tbody></table></div>'


def document(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole page."""
    nav = "".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in sections)
    parts = [f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>{"".join(s.blocks)}</section>'
             for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{escape(title)}</h1><div class=\"meta\">{escape(subtitle)}</div><nav>{nav}</nav></header>"
            f"<main>{''.join(parts)}</main></body></html>\n")
