"""Charts drawn on the server as inline SVG: the console needs no JavaScript and no chart
library, the page renders in any browser (and in a screenshot) exactly as sent, and a
screen reader gets each chart's figures from its title and labels.

Every label passes through ``format_html``, so an error class a worker chose cannot inject
markup. Colours come from the admin's CSS variables where the admin has one, so the charts
follow its light and dark themes.
"""

import unicodedata
from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

BAR = "var(--secondary, #417690)"
MUTED = "var(--body-quiet-color, #666)"
GRID = "var(--hairline-color, #e8e8e8)"
TEXT = "var(--body-fg, #333)"
WARN = "#c57b00"
BAD = "var(--error-fg, #ba2121)"
GOOD = "#2e7d32"


def _svg(width: int, height: int, label: str, body: SafeString, css: str = "chart") -> SafeString:
    return format_html(
        '<svg class="{}" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        css,
        label,
        width,
        height,
        width,
        height,
        label,
        body,
    )


LABEL_CHARS = 28  # longer labels are cut with an ellipsis; the bar's title keeps them whole


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _text_px(label: str) -> float:
    """About how wide ``label`` is at 12 px: 6.5 px a Latin character, 12 px a wide one
    (Chinese, full-width punctuation)."""
    return sum(12 if unicodedata.east_asian_width(ch) in "WF" else 6.5 for ch in label)


def bar_chart(
    items: Sequence[tuple[str, int]], *, label: str, width: int = 420, unit: str = ""
) -> SafeString:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    row, value_room = 22, 56
    # Room for the longest label shown (at most 200 px).
    gutter = min(max((_text_px(_short(name)) for name, _ in items), default=52) + 12, 200)
    gutter = round(max(gutter, 60))
    height = max(len(items), 1) * row + 4
    peak = max((value for _, value in items), default=0) or 1
    span = width - gutter - value_room

    def bar(value: int) -> int:
        return max(round(span * value / peak), 1) if value else 0

    bars = format_html_join(
        "",
        '<g transform="translate(0 {})"><title>{}: {}{}</title>'
        '<text x="{}" y="15" text-anchor="end" font-size="12" fill="{}">{}</text>'
        '<rect x="{}" y="4" width="{}" height="14" rx="2" fill="{}"></rect>'
        '<text x="{}" y="15" font-size="12" fill="{}">{}{}</text></g>',
        (
            (
                n * row,
                name,
                value,
                unit,
                gutter - 6,
                TEXT,
                _short(name),
                gutter,
                bar(value),
                BAR,
                gutter + bar(value) + 6,
                TEXT,
                value,
                unit,
            )
            for n, (name, value) in enumerate(items)
        ),
    )
    return _svg(width, height, label, bars)


def sparkline(
    points: Sequence[tuple[date, int]], *, label: str, width: int = 420, height: int = 60
) -> SafeString:
    """A filled line of a count per day, with the peak and today marked."""
    if not points:
        return _svg(width, height, label, mark_safe(""))
    pad = 4
    peak = max(value for _, value in points) or 1
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def xy(n: int, value: int) -> tuple[float, float]:
        return round(pad + n * step, 1), round(height - pad - (height - 2 * pad) * value / peak, 1)

    coords = [xy(n, value) for n, (_, value) in enumerate(points)]
    line = " ".join(f"{x},{y}" for x, y in coords)
    area = f"{coords[0][0]},{height - pad} {line} {coords[-1][0]},{height - pad}"
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="6" fill="transparent"><title>{}: {}</title></circle>',
        (
            (x, y, day.isoformat(), value)
            for (x, y), (day, value) in zip(coords, points, strict=True)
        ),
    )
    last_x, last_y = coords[-1]
    body = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"></line>'
        '<polygon points="{}" fill="{}" fill-opacity="0.15"></polygon>'
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>'
        '<circle cx="{}" cy="{}" r="3" fill="{}"></circle>{}',
        pad,
        height - pad,
        width - pad,
        height - pad,
        GRID,
        area,
        BAR,
        line,
        BAR,
        last_x,
        last_y,
        BAR,
        dots,
    )
    return _svg(width, height, label, body, css="chart sparkline")


# Approval latency buckets: upper bound in seconds and label.
LATENCY_BUCKETS = [
    (5 * 60, "< 5 min"),
    (30 * 60, "5-30 min"),
    (60 * 60, "30-60 min"),
    (4 * 3600, "1-4 h"),
    (24 * 3600, "4-24 h"),
    (None, "≥ 24 h"),
]


def latency_histogram(latencies: Sequence[float], *, label: str, width: int = 420) -> SafeString:
    """How long approvals took: the decided requests per latency bucket."""
    counts = [0] * len(LATENCY_BUCKETS)
    for seconds in latencies:
        for n, (upper, _) in enumerate(LATENCY_BUCKETS):
            if upper is None or seconds < upper:
                counts[n] += 1
                break
    return bar_chart(
        [(name, counts[n]) for n, (_, name) in enumerate(LATENCY_BUCKETS)],
        label=label,
        width=width,
    )


def budget_bar(use: float | None, *, width: int = 120, height: int = 12) -> SafeString:
    """A worker's spend against its monthly budget; amber from 80 %, red from 100 %."""
    if use is None:
        return format_html('<span class="quiet">{}</span>', gettext("no budget"))
    shown = min(use, 1.0)
    colour = BAD if use >= 1 else WARN if use >= 0.8 else GOOD
    percent = round(use * 100)
    body = format_html(
        '<rect x="0" y="0" width="{}" height="{}" rx="3" fill="{}"></rect>'
        '<rect x="0" y="0" width="{}" height="{}" rx="3" fill="{}"></rect>',
        width,
        height,
        GRID,
        round(width * shown),
        height,
        colour,
    )
    return format_html(
        '{}<span class="budget-figure">{} %</span>',
        _svg(
            width,
            height,
            gettext("%(percent)s %% of the monthly budget") % {"percent": percent},
            body,
            css="chart budget",
        ),
        percent,
    )
