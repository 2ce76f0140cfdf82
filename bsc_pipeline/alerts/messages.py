"""Digests worth reading: where the owner's measures stand now, by how much, why, and what it
puts at risk.

One digest per owner per run, rendered as plain text, HTML (escaped by jinja2's autoescape) and a
JSON body for webhooks. It opens with the present state (what is red now, since when), so the
digest after a backfill reads as today's picture, not the path there. Every figure carries its
measure's unit and decimals. Every message carries the dedup keys of its events so a receiver can
recognise the rare duplicate that at-least-once delivery allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from bsc_pipeline.alerts.transitions import SCORECARD_VIEW, AlertEvent
from bsc_pipeline.briefing.render import report_command
from bsc_pipeline.spec.models import Owner

DEDUP_HEADER = "X-BSC-Dedup-Key"

HEADLINES = {
    "pipeline_failure": "PIPELINE FAILED",
    "dead_letter": "UNDELIVERED ALERT",
    "state": "WHERE YOUR MEASURES STAND",
    "red": "RED",
    "repeat": "STILL RED",
    "recovery": "RECOVERED",
    "held": "HELD",
    "no_data": "NO DATA",
    "commentary_reminder": "COMMENTARY NEEDED",
}
"""Headline per event kind, most urgent first (digests list events in this order)."""

_TEXT = """\
{{ intro }}
{% for line in summary %}{{ line }}
{% endfor %}{% for item in items %}
{{ item.headline }}
{% for line in item.lines %}  {{ line }}
{% endfor %}  Dedup key: {{ item.dedup_key }}
{% endfor %}
{{ footer }}
"""

_HTML = """\
<!doctype html>
<html><body style="font-family: sans-serif">
<p>{{ intro }}</p>
{% for line in summary %}<p><strong>{{ line }}</strong></p>
{% endfor %}{% for item in items %}
<h3 style="margin-bottom: 0.2em">{{ item.headline }}</h3>
<ul>{% for line in item.lines %}<li>{{ line }}</li>{% endfor %}</ul>
<p style="color: #666; font-size: small">Dedup key: <code>{{ item.dedup_key }}</code></p>
{% endfor %}
<p>{{ footer }}</p>
</body></html>
"""

# Plain text is never rendered as HTML, so escaping would only garble it.
_TEXT_TEMPLATE = jinja2.Environment(
    autoescape=False,  # noqa: S701
    keep_trailing_newline=True,
).from_string(_TEXT)
_HTML_TEMPLATE = jinja2.Environment(autoescape=True).from_string(_HTML)


@dataclass(frozen=True)
class Message:
    """One rendered digest, ready for any channel."""

    subject: str
    text: str
    html: str
    dedup_keys: tuple[str, ...]
    body: dict[str, Any]

    @property
    def dedup_header(self) -> str:
        return ", ".join(self.dedup_keys)


def render_digest(
    owner: Owner,
    events: Sequence[AlertEvent],
    *,
    scorecard: str,
    run_id: str | None,
    forwarded_to: Owner | None = None,
) -> Message:
    """The digest for one owner: one section per event, in the order given.

    `forwarded_to` is the fallback receiver when no channel reaches the owner themselves.
    """
    items = [_item(event) for event in events]
    months = _as_of_months(events)
    as_of = f" as of {', '.join(months)}" if months else ""
    changes = [item for item in items if item["label"] != HEADLINES["state"]]
    counts = ", ".join(f"{n} {k.lower()}" for k, n in _count(changes).items())
    subject = f"[{scorecard}] {counts or 'no changes'}"
    if events and not changes:
        subject = f"[{scorecard}] where your measures stand{as_of}"
    if any(event.is_restatement for event in events):
        subject = f"{subject} (restatement)"
    items_text = _plural(len(changes), "item")
    verb = "needs" if len(changes) == 1 else "need"
    intro = f"Hello {owner.name}, {items_text} you look after {verb} your attention{as_of}."
    if not changes:
        intro = (
            f"Hello {owner.name}, here is where the measures you look after stand{as_of}. "
            "You will hear again when one turns red or recovers."
        )
    if forwarded_to is not None:
        intro = (
            f"Hello {forwarded_to.name}, no alert channel reaches {owner.name}, so their digest "
            f"comes to you as the fallback receiver: {items_text} {verb} attention{as_of}."
        )
        subject = f"{subject} (for {owner.name})"
    footer = _footer(events, run_id) + _owner_view(owner, events)
    context = {"intro": intro, "summary": _present_state(events), "items": items, "footer": footer}
    keys = tuple(event.dedup_key for event in events)
    body = {
        "scorecard": scorecard,
        "owner": owner.id,
        "run_id": run_id,
        "subject": subject,
        "dedup_keys": list(keys),
        "events": [
            {
                "dedup_key": event.dedup_key,
                "kind": event.kind,
                "measure_id": event.measure_id,
                "period": event.period,
                "status": event.status,
                "previous_status": event.previous_status,
                "is_restatement": event.is_restatement,
                "summary": item["headline"],
                "details": item["lines"],
                "payload": event.payload,
            }
            for event, item in zip(events, items, strict=True)
        ],
    }
    return Message(
        subject=subject,
        text=_TEXT_TEMPLATE.render(context),
        html=_HTML_TEMPLATE.render(context),
        dedup_keys=keys,
        body=body,
    )


def render_test(owner: Owner, *, scorecard: str) -> Message:
    """A harmless message that proves an owner's channels reach them."""
    key = f"test/{owner.id}"
    text = f"Hello {owner.name}, this is a test of the {scorecard} alert channels. No action."
    html = _HTML_TEMPLATE.render({"intro": text, "items": [], "footer": f"Dedup key: {key}"})
    body = {"scorecard": scorecard, "owner": owner.id, "subject": "test", "dedup_keys": [key]}
    return Message(f"[{scorecard}] test message", text, html, (key,), body)


def _count(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item["label"]] = counts.get(item["label"], 0) + 1
    return counts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _as_of_months(events: Sequence[AlertEvent]) -> list[str]:
    return sorted(
        {str(e.payload.get("as_of_month")) for e in events if e.measure_id or e.kind == "state"}
    )


def _present_state(events: Sequence[AlertEvent]) -> list[str]:
    """The owner's picture in one or two lines: what is red now and since when, what recovered."""
    red = [e for e in events if e.kind in ("red", "repeat")]
    recovered = [e for e in events if e.kind == "recovery"]
    lines = []
    if red:
        lines.append("Red now: " + "; ".join(f"{_name(e)} since {_since(e)}" for e in red) + ".")
    if recovered:
        lines.append("Recovered: " + "; ".join(f"{_name(e)} ({e.period})" for e in recovered) + ".")
    return lines


def _name(event: AlertEvent) -> str:
    return str(event.payload.get("measure_name") or event.measure_id)


def _since(event: AlertEvent) -> str:
    """First period of the current red streak; the event's own period when none was recorded."""
    return str(event.payload.get("red_since") or event.period)


def _footer(events: Sequence[AlertEvent], run_id: str | None) -> str:
    months = _as_of_months(events)
    where = [f"Where to look: the {SCORECARD_VIEW} view"]
    if months:
        where.append(f"for {', '.join(months)}")
    if run_id:
        where.append(f"and Dagster run {run_id}")
    return " ".join(where) + "."


def _owner_view(owner: Owner, events: Sequence[AlertEvent]) -> str:
    """The command that writes the owner's briefing-book page for the newest month alerted."""
    months = sorted({str(e.payload["as_of_month"]) for e in events if e.payload.get("as_of_month")})
    if not months:
        return ""
    return f" Your page of the briefing book: {report_command(months[-1], owner.id)}"


def _item(event: AlertEvent) -> dict[str, Any]:
    """Headline and detail lines of one event, shared by the text, HTML and JSON renderings."""
    label = HEADLINES[event.kind]
    if event.kind == "pipeline_failure":
        return _pipeline_failure_item(event, label)
    if event.kind == "dead_letter":
        return _dead_letter_item(event, label)
    if event.kind == "state":
        return _state_item(event, label)
    p = event.payload
    restated = " (restatement of a closed period)" if event.is_restatement else ""
    headline = f"{label}: {p.get('measure_name', event.measure_id)} — {event.period}{restated}"
    lines = [_actual_line(p)]
    if event.kind == "commentary_reminder":
        lines.append(
            f"Red since its publication on {str(p.get('published_at', ''))[:10]}, and no "
            f"analysis or recommendation within {p.get('commentary_days')} days."
        )
        lines.append(f"Say why and what you will do: {p.get('template_command')}.")
    elif event.kind in ("held", "no_data"):
        reason = p.get("data_note") or "no reason recorded"
        lines = [f"The measure could not be judged: {reason}.", *lines]
        lines.append("You receive this as the owner of the data behind this measure.")
    elif event.kind in ("red", "repeat") and p.get("red_since"):
        lines.append(_streak_line(event))
    elif event.previous_status:
        lines.append(
            f"Previously {event.previous_status} ({p.get('previous_period') or 'earlier period'})."
        )
    if p.get("commentary"):
        lines.append(f"Owner's commentary: {p['commentary']}")
    if p.get("history"):
        recent = "; ".join(
            f"{h['period']} {_number(h['value'], p)} ({h['status']})" for h in p["history"]
        )
        lines.append(f"Recent periods: {recent}.")
    if p.get("drivers"):
        lines.append("Why — drivers: " + _linked(p["drivers"], p) + ".")
    if p.get("outcomes"):
        lines.append("Puts at risk — outcomes: " + _linked(p["outcomes"], p) + ".")
    if p.get("data_note") and event.kind not in ("held", "no_data"):
        lines.append(f"Note: {p['data_note']}.")
    return {"label": label, "headline": headline, "lines": lines, "dedup_key": event.dedup_key}


def _streak_line(event: AlertEvent) -> str:
    """Since when the measure is red, and what it was before the streak when that is known."""
    p = event.payload
    since = p["red_since"]
    if since == event.period and event.previous_status:
        before = f"{event.previous_status} ({p.get('previous_period')})"
        return f"Red since {since}; previously {before}."
    return f"Red since {since}."


def _actual_line(p: dict[str, Any]) -> str:
    target = _number(p.get("target"), p)
    if p.get("target_high") is not None:
        low = _number(p.get("target"), p, unit=False)
        target = f"{low} to {_number(p.get('target_high'), p)}"
    line = f"Actual {_number(p.get('value'), p)} vs target {target}"
    details = []
    if p.get("variance") is not None:
        details.append(f"variance {_signed(p['variance'], p)}")
    if p.get("variance_pct") is not None:
        details.append(f"{p['variance_pct']:+.1f} % of target")
    if p.get("trend"):
        details.append(f"trend {p['trend']}")
    return f"{line} ({', '.join(details)})." if details else f"{line}."


def _linked(linked: Sequence[dict[str, Any]], p: dict[str, Any]) -> str:
    """Each linked measure in its own unit and decimals (older payloads lack them: bare figure)."""
    parts = []
    for m in linked:
        shown = m if "unit" in m else {"decimals": p.get("decimals", 1)}
        value = "" if m.get("value") is None else f", {_number(m['value'], shown)}"
        lag = f", lag {m['lag_months']} mo" if m.get("lag_months") else ""
        parts.append(f"{m['measure_name']} is {m['status']}{value}{lag}")
    return "; ".join(parts)


def _number(value: Any, p: dict[str, Any], *, unit: bool = True) -> str:
    """A value in the measure's unit with its decimals; a missing value says so, never 0."""
    if value is None:
        return "no value"
    decimals = int(p.get("decimals", 1))
    text = f"{float(value):,.{decimals}f}"
    # As `bsc show` writes units: `12.5 %`, `300 per 100 customers`.
    return f"{text} {str(p['unit']).replace('_', ' ')}" if unit and p.get("unit") else text


def _signed(value: float, p: dict[str, Any]) -> str:
    text = _number(value, p)
    return text if text.startswith("-") else f"+{text}"


def _state_item(event: AlertEvent, label: str) -> dict[str, Any]:
    """Every measure of the owner, one line each: status (since when, if red), actual vs target."""
    lines = []
    for m in event.payload.get("measures", []):
        status = str(m.get("status") or "no_data").replace("_", " ")
        if m.get("red_since"):
            status = f"{status} since {m['red_since']}"
        figures = _actual_line(m).removeprefix("Actual ").removesuffix(".")
        lines.append(f"{m['measure_name']} ({m['period']}): {status}, {figures}.")
    return {
        "label": label,
        "headline": f"{label} — {event.period}",
        "lines": lines,
        "dedup_key": event.dedup_key,
    }


def _pipeline_failure_item(event: AlertEvent, label: str) -> dict[str, Any]:
    p = event.payload
    lines = [
        f"Job {p.get('job_name')} failed in Dagster run {p.get('run_id')}.",
        f"Error: {p.get('error')}",
        "Published numbers are unchanged until a run of the month succeeds.",
    ]
    return {
        "label": label,
        "headline": f"{label}: {p.get('job_name')}",
        "lines": lines,
        "dedup_key": event.dedup_key,
    }


def _dead_letter_item(event: AlertEvent, label: str) -> dict[str, Any]:
    p = event.payload
    lines = [
        f"Alert {p.get('original_dedup_key')} for {p.get('original_recipient')} was given up "
        f"after {p.get('attempts')} attempts on {p.get('channel')} ({p.get('target')}).",
        f"Last error: {p.get('last_error')}",
        "Fix the channel configuration, then requeue or tell the owner directly.",
    ]
    return {
        "label": label,
        "headline": f"{label}: {p.get('original_dedup_key')}",
        "lines": lines,
        "dedup_key": event.dedup_key,
    }
