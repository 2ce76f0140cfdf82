"""The `Briefing` as one self-contained HTML file: inline CSS and SVG, no script, strict CSP."""

from __future__ import annotations

import shlex

import jinja2
from markupsafe import Markup, escape

from bsc_pipeline.briefing.formatting import format_score
from bsc_pipeline.briefing.model import STATUSES, Briefing, MeasureRow, status_label
from bsc_pipeline.briefing.svg import sparkline, status_icon, strategy_map

TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
"""Movement against the previous month, beside the actual (the title says it in words)."""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may load or run: no script, font, frame or request; only the inline styles."""

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("bsc_pipeline.briefing", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def badge(status: str | None) -> Markup:
    """A status as shape and word together, never by colour alone."""
    key = status or "no_data"
    return Markup(  # noqa: S704 (spec text inside went through escape)
        f'<span class="status status-{escape(key)}" data-status="{escape(key)}">'
        f"{status_icon(key)}{escape(status_label(key))}</span>"
    )


def _spark(measure: MeasureRow) -> Markup:
    first, last = measure.history[0].month, measure.history[-1].month
    description = f"{measure.name}: {first} to {last}; solid line actual, dashed line target"
    return sparkline(measure.history, description)


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def _signed_score(delta: float) -> str:
    if round(delta, 1) == 0:
        return "unchanged"
    return f"{delta:+.1f}".replace("-", "−")


def _correlation(r: float | None) -> str:
    return "–" if r is None else f"{r:+.2f}".replace("-", "−")


def report_command(month: str, owner: str | None = None) -> str:
    """The `bsc report` line that writes a month's page, or an owner's view of it."""
    parts = ["bsc", "report", "--period", month]
    if owner:
        parts += ["--owner", owner]
    return shlex.join(parts)


def render_html(briefing: Briefing) -> str:
    """The whole page; every text from the spec is escaped by the template's autoescape."""
    template = _ENV.get_template("briefing.html.j2")
    return template.render(
        b=briefing,
        h=briefing.headline,
        csp=CSP,
        statuses=STATUSES,
        arrows=TREND_ARROWS,
        strategy_map=strategy_map(briefing.perspectives, briefing.links),
        command=report_command(briefing.month, briefing.owner_id),
        badge=badge,
        icon=status_icon,
        label=status_label,
        spark=_spark,
        score=format_score,
        percent=_percent,
        signed_score=_signed_score,
        correlation=_correlation,
    )
