"""Plots for the results pages, written as SVG at build time (no script, no network): rates with their 95 %
intervals, lag windows (median, p95, max) and plain bars. Each function answers one `<svg>` element as text,
well-formed XML, sized by its viewBox so it scales with the page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH = 860
LABEL_WIDTH = 290  # the left column of row labels
TEXT_WIDTH = 270  # the right column of figures
ROW = 26
TOP = 34
BOTTOM = 34
PLOT_LEFT = LABEL_WIDTH
PLOT_RIGHT = WIDTH - TEXT_WIDTH


@dataclass(frozen=True)
class IntervalRow:
    """A measured rate (0..1) with its 95 % interval; `broken` when the rule broke at least once."""

    label: str
    rate: float
    low: float
    high: float
    text: str
    broken: bool


@dataclass(frozen=True)
class WindowRow:
    """A write kind's lags in milliseconds."""

    label: str
    median: float
    p95: float
    maximum: float


@dataclass(frozen=True)
class BarRow:
    label: str
    value: float
    text: str
    css: str = "bar"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (1 for 0 and below)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, rows: int, body: list[str], axis: list[str]) -> str:
    height = TOP + rows * ROW + BOTTOM
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
        f'<text class="plot-title" x="0" y="18">{escape(title)}</text>',
        *axis,
        *body,
        "</svg>",
    ])


def _axis(rows: int, maximum: float, unit: str) -> list[str]:
    bottom = TOP + rows * ROW
    leading = maximum / 10 ** math.floor(math.log10(maximum))
    ticks = 4 if round(leading, 3) == 2 else 5  # steps of 0.5 for 2, of 0.2, 0.5 or 1 for 1, 2.5 and 5
    out = [f'<line class="axis" x1="{PLOT_LEFT}" y1="{bottom}" x2="{PLOT_RIGHT}" y2="{bottom}"/>']
    for i in range(ticks + 1):
        value = maximum * i / ticks
        x = _x(value, maximum)
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{bottom}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(_fmt(value) + unit)}</text>')
    return out


def _x(value: float, maximum: float) -> float:
    return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * min(max(value, 0.0), maximum) / maximum


def _label(y: float, text: str) -> str:
    shown = text if len(text) <= 44 else text[:43] + "…"
    return f'<text class="label" x="{PLOT_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end"><title>{escape(text)}</title>{escape(shown)}</text>'


def _figure(y: float, text: str) -> str:
    return f'<text class="figure" x="{PLOT_RIGHT + 8}" y="{y + 4:.1f}">{escape(text)}</text>'


def interval_plot(title: str, rows: Sequence[IntervalRow]) -> str:
    """Each rate as a dot on its 95 % interval, in percent; red where the rule broke."""
    maximum = nice_ceiling(max((r.high for r in rows), default=0.0) * 100) / 100
    body: list[str] = []
    for index, row in enumerate(rows):
        y = TOP + index * ROW + ROW / 2
        low, high, rate = _x(row.low, maximum), _x(row.high, maximum), _x(row.rate, maximum)
        css = "broken" if row.broken else "held"
        body += [
            _label(y, row.label),
            f'<g class="{css}"><title>{escape(row.label + ": " + row.text)}</title>'
            f'<line class="interval" x1="{low:.1f}" y1="{y:.1f}" x2="{high:.1f}" y2="{y:.1f}"/>'
            f'<line class="cap" x1="{low:.1f}" y1="{y - 5:.1f}" x2="{low:.1f}" y2="{y + 5:.1f}"/>'
            f'<line class="cap" x1="{high:.1f}" y1="{y - 5:.1f}" x2="{high:.1f}" y2="{y + 5:.1f}"/>'
            f'<circle class="rate" cx="{rate:.1f}" cy="{y:.1f}" r="4"/></g>',
            _figure(y, f"{100 * row.rate:.1f} % ({100 * row.low:.1f}–{100 * row.high:.1f} %)"),
        ]
    return _frame(title, len(rows), body, _axis(len(rows), maximum * 100, " %"))


def window_plot(title: str, rows: Sequence[WindowRow]) -> str:
    """Each write kind's lags: a bar to the maximum, the p95 as a darker bar, the median as a mark."""
    maximum = nice_ceiling(max((r.maximum for r in rows), default=0.0))
    body: list[str] = []
    for index, row in enumerate(rows):
        y = TOP + index * ROW + ROW / 2
        left = _x(0.0, maximum)
        text = f"median {_fmt(row.median)} ms, p95 {_fmt(row.p95)} ms, max {_fmt(row.maximum)} ms"
        body += [
            _label(y, row.label),
            f'<g class="window"><title>{escape(row.label + ": " + text)}</title>'
            f'<rect class="max" x="{left:.1f}" y="{y - 8:.1f}" width="{_x(row.maximum, maximum) - left:.1f}" height="16"/>'
            f'<rect class="p95" x="{left:.1f}" y="{y - 8:.1f}" width="{_x(row.p95, maximum) - left:.1f}" height="16"/>'
            f'<line class="median" x1="{_x(row.median, maximum):.1f}" y1="{y - 11:.1f}" x2="{_x(row.median, maximum):.1f}" y2="{y + 11:.1f}"/></g>',
            _figure(y, f"{_fmt(row.median)} / {_fmt(row.p95)} / {_fmt(row.maximum)} ms"),
        ]
    return _frame(title, len(rows), body, _axis(len(rows), maximum, " ms"))


def bar_plot(title: str, rows: Sequence[BarRow], unit: str) -> str:
    """Plain horizontal bars (one a run: seconds waited for throttling, canary ages)."""
    maximum = nice_ceiling(max((r.value for r in rows), default=0.0))
    body: list[str] = []
    for index, row in enumerate(rows):
        y = TOP + index * ROW + ROW / 2
        left = _x(0.0, maximum)
        body += [
            _label(y, row.label),
            f'<rect class="{escape(row.css)}" x="{left:.1f}" y="{y - 8:.1f}" width="{max(_x(row.value, maximum) - left, 1.0):.1f}" height="16">'
            f"<title>{escape(row.label + ': ' + row.text)}</title></rect>",
            _figure(y, row.text),
        ]
    return _frame(title, len(rows), body, _axis(len(rows), maximum, unit))
