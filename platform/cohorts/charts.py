"""Server-rendered SVG charts for the dashboard, with axes, labels and units: coordinates
computed here and drawn as markup here too (see bar_chart_html and heatmap_body)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 420, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 58


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    value_label: str


def nice_top(largest: float) -> float:
    """A round number at or above the largest value, for the top of the y axis."""
    if largest <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= largest:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str,
    y_max: float | None = None,
    unit: str = "",
    label_every: int = 1,
    width: int = WIDTH,
) -> dict:
    """A vertical bar chart: one bar per value, the y axis from 0 to a round top."""
    top = y_max if y_max is not None else nice_top(max(values, default=0))
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(1, len(values))
    bars = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * min(value, top) / top if top else 0
        bars.append(
            Bar(
                x=round(PAD_LEFT + i * slot + slot * 0.12, 1),
                y=round(PAD_TOP + plot_h - h, 1),
                width=round(slot * 0.76, 1),
                height=round(h, 1),
                label=label if i % label_every == 0 else "",
                value=value,
                value_label=f"{label}: {value:g}{unit}",
            )
        )
    ticks = [
        {"y": round(PAD_TOP + plot_h * (1 - f), 1), "label": f"{top * f:g}{unit}"}
        for f in (0, 0.5, 1)
    ]
    return {
        "title": title,
        "x_title": x_title,
        "y_title": y_title,
        "width": width,
        "height": HEIGHT,
        "bars": bars,
        "ticks": ticks,
        "left": PAD_LEFT,
        "right": width - PAD_RIGHT,
        "bottom": PAD_TOP + plot_h,
        "label_y": PAD_TOP + plot_h + 14,
        "x_title_y": HEIGHT - 6,
        "y_title_x": 12,
        "y_title_y": PAD_TOP + plot_h / 2,
    }


HEAT_STEPS = 10


def bar_figure(values: Sequence[float], labels: Sequence[str], **options) -> str:
    """bar_chart() drawn by bar_chart_html(): the markup a page includes as it is."""
    return bar_chart_html(bar_chart(values, labels, **options))


def bar_chart_html(chart: dict) -> str:
    """A bar_chart() as an SVG figure. Built here with string formatting, like the
    heatmap: a dashboard has a dozen of these, and drawing them through the template
    language took a quarter of the page's time. Every text from data goes through
    escape(); every number was computed above."""
    left, right, bottom, label_y = chart["left"], chart["right"], chart["bottom"], chart["label_y"]
    title = escape(chart["title"])
    parts = [
        '<figure class="chart card cohort-chart">',
        f'<svg viewBox="0 0 {chart["width"]} {chart["height"]}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
    ]
    for tick in chart["ticks"]:
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{tick["y"]}" y2="{tick["y"]}" class="grid"/>'
            f'<text x="{left - 6}" y="{tick["y"]}" class="axis" text-anchor="end"'
            f' dominant-baseline="middle">{escape(tick["label"])}</text>'
        )
    for bar in chart["bars"]:
        parts.append(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}"'
            f' class="bar"><title>{escape(bar.value_label)}</title></rect>'
        )
        if bar.label:
            parts.append(
                f'<text x="{bar.x}" y="{label_y}" class="axis tick-label"'
                f' transform="rotate(30 {bar.x} {label_y})">{escape(bar.label)}</text>'
            )
    y_x, y_y = chart["y_title_x"], chart["y_title_y"]
    parts += [
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" class="baseline"/>',
        f'<text x="{right}" y="{chart["x_title_y"]}" class="axis" text-anchor="end">'
        f"{escape(chart['x_title'])} →</text>",
        f'<text x="{y_x}" y="{y_y}" class="axis" text-anchor="middle"'
        f' transform="rotate(-90 {y_x} {y_y})">{escape(chart["y_title"])}</text>',
        "</svg>",
        f'<figcaption class="muted">{title}</figcaption>',
        "</figure>",
    ]
    return mark_safe("\n".join(parts))  # every data-derived part was escaped above


def skill_bars(mastery: dict[str, float], *, title: str) -> str:
    """Mastery per skill as a table of bars: each skill's full name on its own row (names
    are long, and rotated labels under an SVG axis were cut off), its percent, and a bar
    drawn by the stylesheet from --percent."""
    rows = [
        f'<tr><th scope="row">{escape(skill)}</th><td><span class="skill-bar"'
        f' style="--percent: {max(0.0, min(100.0, value)):.0f}%"></span>'
        f" {value:.0f}%</td></tr>"
        for skill, value in mastery.items()
    ]
    return mark_safe(
        '<figure class="chart card cohort-chart skills">'
        f'<table class="skill-bars"><caption class="muted">{escape(title)}, mean counted score'
        "</caption><tbody>" + "".join(rows) + "</tbody></table></figure>"
    )


def heat_class(percent: float | None) -> str:
    """A cell's colour class, h0 (0%) to h10 (100%) in steps of 10 points: one hue, darker
    for higher scores, so the scale still reads in grey (and every cell also prints its
    number). The colours are in the stylesheet, not repeated in each of thousands of cells."""
    if percent is None:
        return ""
    return f"h{round(max(0.0, min(100.0, percent)) / (100 / HEAT_STEPS))}"


def heatmap_body(rows, learner_url) -> str:
    """The heatmap's <tbody> rows as HTML. Built here with plain string formatting rather
    than in the template (or format_html, per cell) because a 500 × 12 grid that way costs
    most of the page's time; every text that comes from data goes through escape().

    A cell shows the counted score (as the gradebook counts it) and the attempts; work
    the late policy touched says so in the cell, with the reason in its title."""
    parts = []
    for row in rows:
        risk = (
            f' <span class="risk-mark" title="{escape("; ".join(row.risks))}">at risk</span>'
            if row.risks
            else ""
        )
        cells = []
        for cell in row.cells:
            if not cell.attempts:
                cells.append('<td class="empty">–</td>')
                continue
            marks = late_marks(cell)
            if cell.best is None:
                cells.append(
                    f'<td class="empty">–<span class="tries">×{cell.attempts}</span>{marks}</td>'
                )
                continue
            passed = cell.passed
            cells.append(
                f'<td class="{heat_class(cell.best)}{PASSED_CLASS if passed else ""}">'
                f'<strong>{cell.best:.0f}</strong><span class="tries">×{cell.attempts}</span>'
                f"{PASSED_NOTE if passed else ''}{marks}</td>"
            )
        parts.append(
            f'<tr><th scope="row"><a href="{escape(learner_url(row.user_id))}">'
            f"{escape(row.username)}</a>{risk}</th>{''.join(cells)}"
            f'<td class="mean">{row.mean_best:.0f}</td></tr>'
        )
    return mark_safe("\n".join(parts))  # every data-derived part was escaped above


def late_marks(cell) -> str:
    """The cell's marks for late and for uncounted work, each with its reason."""
    marks = []
    if cell.late_note:
        marks.append(f'<span class="late" title="{escape(cell.late_note)}">late</span>')
    if cell.uncounted_note:
        marks.append(
            f'<span class="late" title="{escape(cell.uncounted_note)}">'
            f"+{cell.uncounted_attempts} not counted</span>"
        )
    return "".join(marks)


PASSED_CLASS = " passed"
PASSED_NOTE = '<span class="sr"> passed</span>'
