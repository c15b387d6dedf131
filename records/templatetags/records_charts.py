"""Server-rendered SVG trend charts: readable without JavaScript; the table next to each chart
is its text alternative. Presentation attributes only (the CSP forbids style attributes)."""

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from records import measures
from records.selectors import Trend

register = template.Library()

WIDTH, HEIGHT = 440, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 12, 34
BAND_FILLS = ["#eef6f0", "#f8f6e6", "#fbf0e2", "#fbe7e1", "#f6dcdc"]


def _n(value: float) -> str:
    return f"{value:.1f}"


def _y(score: int, max_score: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / max_score)


@register.simple_tag
def trend_chart(trend: Trend, chart_id: str) -> SafeString:
    max_score = trend.max_score
    bands = measures.BANDS[trend.instrument]
    plot_w = WIDTH - LEFT - RIGHT
    parts: list[str] = []
    # Severity bands as soft background stripes, labelled on the left axis.
    for index, (low, _key, label) in enumerate(bands):
        high = bands[index + 1][0] - 1 if index + 1 < len(bands) else max_score
        y_top, y_bottom = _y(high + 1 if high < max_score else max_score, max_score), _y(low, max_score)
        parts.append(format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            LEFT, _n(y_top), plot_w, _n(y_bottom - y_top), BAND_FILLS[index % len(BAND_FILLS)], label))
        parts.append(format_html(
            '<text x="{}" y="{}" font-size="13" text-anchor="end" fill="#5b6975">{}</text>',
            LEFT - 6, _n(y_bottom - 2), low))
    parts.append(format_html(
        '<text x="{}" y="{}" font-size="13" text-anchor="end" fill="#5b6975">{}</text>',
        LEFT - 6, _n(_y(max_score, max_score) + 10), max_score))
    points = trend.points
    if points:
        count = len(points)
        coords = []
        for i, point in enumerate(points):
            x = LEFT + (plot_w / 2 if count == 1 else plot_w * i / (count - 1))
            coords.append((x, _y(point.score, max_score), point))
        if count > 1:
            parts.append(format_html(
                '<polyline points="{}" fill="none" stroke="#2f6f7e" stroke-width="3" '
                'stroke-linejoin="round"/>',
                " ".join(f"{x:.1f},{y:.1f}" for x, y, _p in coords)))
        for x, y, point in coords:
            when = formats.date_format(timezone.localtime(point.when), "j M Y")
            parts.append(format_html(
                '<circle cx="{}" cy="{}" r="5" fill="#235561"><title>{}: {} ({})</title>'
                '</circle>', _n(x), _n(y), when, point.score, point.band_label))
        first, last = coords[0][2], coords[-1][2]
        parts.append(format_html(
            '<text x="{}" y="{}" font-size="13" fill="#5b6975">{}</text>', LEFT, HEIGHT - 12,
            formats.date_format(timezone.localtime(first.when), "j M Y")))
        if count > 1:
            parts.append(format_html(
                '<text x="{}" y="{}" font-size="13" text-anchor="end" fill="#5b6975">{}</text>',
                WIDTH - RIGHT, HEIGHT - 12,
                formats.date_format(timezone.localtime(last.when), "j M Y")))
        summary = _("%(title)s: %(count)s results, latest %(score)s of %(max)s (%(band)s).") % {
            "title": trend.title, "count": count, "score": last.score, "max": max_score,
            "band": last.band_label}
    else:
        summary = _("%(title)s: no results yet.") % {"title": trend.title}
    return format_html(
        '<svg class="trend-chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH, HEIGHT, chart_id, chart_id, chart_id, trend.title, chart_id, summary,
        mark_safe("".join(parts)),  # noqa: S308 - every part above is built with format_html
    )


@register.filter
def band_label(response) -> str:
    return measures.band_label(response.instrument, response.band)


@register.simple_tag
def join_html(items, template_str: str) -> SafeString:
    return format_html_join("", template_str, items)
