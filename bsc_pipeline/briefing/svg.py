"""The strategy map and the sparklines as inline SVG, built from the model.

Every text that comes from the spec goes through `escape`, so a name cannot become markup. Each
node and link carries `data-` attributes naming what it shows, which is also what tests read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bsc_pipeline.briefing.model import LinkView, PerspectiveBlock, SparkPoint, status_label

COLOURS = {
    "green": ("#1a7f37", "#e6f4ea"),
    "amber": ("#9a6700", "#fff4d6"),
    "red": ("#c62828", "#fde8e8"),
    "no_data": ("#5f6368", "#f1f3f4"),
    "held": ("#6f42c1", "#f0eafa"),
}
"""Stroke and fill per status; every use also shows the status word and a shape."""

MAP_WIDTH = 960
BAND_HEIGHT = 124
LABEL_WIDTH = 170
NODE_HEIGHT = 78
NODE_MAX_WIDTH = 180
CHAR_WIDTH = {11: 6.4, 12: 6.9}
"""Average glyph width (px) of the sans-serif faces at these sizes, to keep text inside a node."""
MARKED = "#b3261e"
SPARK_WIDTH = 132
SPARK_HEIGHT = 34


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float
    band: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def status_shape(status: str, x: float, y: float, size: float = 10) -> str:
    """The status's own shape centred on (x, y): circle, triangle, square, ring or bars."""
    stroke, _ = COLOURS.get(status, COLOURS["no_data"])
    r = size / 2
    if status == "green":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{stroke}"/>'
    if status == "amber":
        points = f"{x:.1f},{y - r:.1f} {x + r:.1f},{y + r:.1f} {x - r:.1f},{y + r:.1f}"
        return f'<polygon points="{points}" fill="{stroke}"/>'
    if status == "red":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}" '
            f'fill="{stroke}"/>'
        )
    if status == "held":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size / 3:.1f}" height="{size:.1f}" '
            f'fill="{stroke}"/><rect x="{x + r / 3:.1f}" y="{y - r:.1f}" '
            f'width="{size / 3:.1f}" height="{size:.1f}" fill="{stroke}"/>'
        )
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 1:.1f}" fill="none" stroke="{stroke}" '
        f'stroke-width="2"/>'
    )


def status_icon(status: str) -> Markup:
    """A small standalone SVG of the status shape, for tables and the legend."""
    return Markup(  # noqa: S704 (spec text inside went through escape)
        '<svg class="icon" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
        f"{status_shape(status, 6, 6, 10)}</svg>"
    )


def strategy_map(perspectives: Sequence[PerspectiveBlock], links: Sequence[LinkView]) -> Markup:
    """Perspectives as bands (the first on top), measures as nodes, links as arrows of cause."""
    height = BAND_HEIGHT * max(len(perspectives), 1)
    boxes: dict[str, _Box] = {}
    parts = [
        f'<svg class="strategy-map" viewBox="0 0 {MAP_WIDTH} {height}" width="100%" role="img" '
        'aria-labelledby="map-title">',
        '<title id="map-title">Strategy map: measures by perspective, arrows from cause to '
        "effect</title>",
        "<defs>",
        _marker("arrow", "#3c4043"),
        _marker("arrow-muted", "#80868b"),
        _marker("arrow-marked", MARKED),
        "</defs>",
    ]
    for band, perspective in enumerate(perspectives):
        top = band * BAND_HEIGHT
        shade = "#f8f9fa" if band % 2 == 0 else "#ffffff"
        parts.append(
            f'<g class="band" data-perspective="{escape(perspective.perspective_id)}">'
            f'<rect x="0" y="{top}" width="{MAP_WIDTH}" height="{BAND_HEIGHT}" fill="{shade}" '
            'stroke="#dadce0"/>'
            f'<text x="12" y="{top + 28}" class="band-name">{escape(perspective.name)}</text>'
            f'<text x="12" y="{top + 48}" class="band-status">'
            f"{escape(status_label(perspective.status))}</text></g>"
        )
        measures = perspective.measures
        slot = (MAP_WIDTH - LABEL_WIDTH - 10) / max(len(measures), 1)
        width = min(NODE_MAX_WIDTH, slot - 16)
        for i, m in enumerate(measures):
            x = LABEL_WIDTH + i * slot + (slot - width) / 2
            box = _Box(x, top + (BAND_HEIGHT - NODE_HEIGHT) / 2, width, NODE_HEIGHT, band)
            boxes[m.measure_id] = box
    drawn = [link for link in links if link.driver in boxes and link.outcome in boxes]
    for link, ends in zip(drawn, _ports(drawn, boxes), strict=True):
        parts.append(_link(link, boxes[link.driver], boxes[link.outcome], ends))
    for perspective in perspectives:
        for m in perspective.measures:
            parts.append(_node(m.measure_id, m.name, m.status, m.actual.text, boxes[m.measure_id]))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (spec text inside went through escape)


def _marker(name: str, colour: str) -> str:
    return (
        f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _node(measure_id: str, name: str, status: str, actual: str, box: _Box) -> str:
    stroke, fill = COLOURS.get(status, COLOURS["no_data"])
    dash = ' stroke-dasharray="5 3"' if status in ("held", "no_data") else ""
    inner = box.w - 20
    lines = _wrap(name, max(8, int(inner / CHAR_WIDTH[12])))
    text = "".join(
        f'<tspan x="{box.x + 10:.1f}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    label = status_label(status)
    return (
        f'<g class="node" data-measure="{escape(measure_id)}" data-status="{escape(status)}">'
        f"<title>{escape(name)}: {escape(label)}, {escape(actual)}</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"{dash}/>'
        f'<text class="node-name" x="{box.x + 10:.1f}" y="{box.y + 17:.1f}">{text}</text>'
        + _fitted("node-actual", actual, box.x + 10, box.y + 51, inner, 12)
        + status_shape(status, box.x + 15, box.y + box.h - 12, 10)
        + _fitted("node-status", label, box.x + 25, box.y + box.h - 8, inner - 15, 11, stroke)
        + "</g>"
    )


def _fitted(
    cls: str, text: str, x: float, y: float, width: float, size: int, fill: str = ""
) -> str:
    """One line of text, squeezed to `width` when it would run past the node's edge."""
    squeeze = ""
    if len(text) * CHAR_WIDTH[size] > width:
        squeeze = f' textLength="{width:.1f}" lengthAdjust="spacingAndGlyphs"'
    colour = f' fill="{fill}"' if fill else ""
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}"{colour}{squeeze}>{escape(text)}</text>'


def _wrap(text: str, width: int, max_lines: int = 2) -> list[str]:
    """Words onto at most two lines of about `width` characters, cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1] + " …"]
    return [line if len(line) <= width + 2 else line[: width - 1] + "…" for line in lines]


def _ports(
    links: Sequence[LinkView], boxes: dict[str, _Box]
) -> list[tuple[float, float, float, float]]:
    """Where each arrow leaves its driver and enters its outcome.

    Arrows run up (or down) between bands and over the top within a band; the arrows meeting one
    side of a node are spread along it, ordered by where their other end is, so they do not merge.
    """
    sides: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for i, link in enumerate(links):
        driver, outcome = boxes[link.driver], boxes[link.outcome]
        if outcome.band > driver.band:
            out_side, in_side = "bottom", "top"
        elif outcome.band < driver.band:
            out_side, in_side = "top", "bottom"
        else:
            out_side, in_side = "top", "top"
        sides.setdefault((link.driver, out_side), []).append((outcome.cx, i, 0))
        sides.setdefault((link.outcome, in_side), []).append((driver.cx, i, 1))
    ends: list[list[float]] = [[0.0, 0.0, 0.0, 0.0] for _ in links]
    for (measure_id, side), attached in sides.items():
        box = boxes[measure_id]
        y = box.y if side == "top" else box.y + box.h
        for k, (_, i, end) in enumerate(sorted(attached)):
            ends[i][2 * end] = box.x + box.w * (k + 1) / (len(attached) + 1)
            ends[i][2 * end + 1] = y
    return [(e[0], e[1], e[2], e[3]) for e in ends]


def _link(
    link: LinkView, driver: _Box, outcome: _Box, ends: tuple[float, float, float, float]
) -> str:
    """A curve from the driver to the outcome; dashed and labelled when the data objects."""
    x1, y1, x2, y2 = ends
    same_band = outcome.band == driver.band
    mid_y = y1 - 26 if same_band else (y1 + y2) / 2
    path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid_y:.1f} {x2:.1f},{mid_y:.1f} {x2:.1f},{y2:.1f}"
    if link.marked:
        style = f'stroke="{MARKED}" stroke-width="2.5" stroke-dasharray="7 5"'
        marker = "arrow-marked"
    elif link.holds is True:
        style = 'stroke="#3c4043" stroke-width="2"'
        marker = "arrow"
    else:
        style = 'stroke="#80868b" stroke-width="1.5"'
        marker = "arrow-muted"
    lag = f", lag {link.lag_months} mo" if link.lag_months else ""
    title = f"{link.driver_name} → {link.outcome_name}: {link.verdict}{lag}"
    if link.note:
        title += f" ({link.note})"
    label = ""
    if link.marked:
        lx, ly = (x1 + x2) / 2, (mid_y - 2 if same_band else (y1 + y2) / 2 + 4)
        label = (
            f'<text class="link-label" x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" '
            f'fill="{MARKED}">{escape(link.verdict)}</text>'
        )
    return (
        f'<g class="link" data-driver="{escape(link.driver)}" '
        f'data-outcome="{escape(link.outcome)}" data-verdict="{escape(link.verdict)}">'
        f"<title>{escape(title)}</title>"
        f'<path d="{path}" fill="none" {style} marker-end="url(#{marker})"/>{label}</g>'
    )


def sparkline(points: Sequence[SparkPoint], description: str) -> Markup:
    """The months as a line with the target dashed; a month without a value is a gap."""
    values = [v for p in points for v in (p.actual, p.target) if v is not None]
    head = (
        f'<svg class="spark" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
        f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" '
        f'aria-label="{escape(description)}"><title>{escape(description)}</title>'
    )
    if not any(p.actual is not None for p in points):
        return Markup(  # noqa: S704 (spec text inside went through escape)
            f'{head}<text x="4" y="{SPARK_HEIGHT / 2 + 4}" class="spark-empty">no data</text></svg>'
        )
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (SPARK_WIDTH - 8) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{4 + i * step:.1f},{SPARK_HEIGHT - 4 - (v - low) / span * (SPARK_HEIGHT - 8):.1f}"

    parts = [head]
    for segment in _segments([(i, p.target) for i, p in enumerate(points)]):
        if len(segment) == 1:
            continue
        coords = " ".join(xy(i, v) for i, v in segment)
        parts.append(
            f'<polyline class="spark-target" points="{coords}" fill="none" stroke="#80868b" '
            'stroke-width="1" stroke-dasharray="3 2"/>'
        )
    for segment in _segments([(i, p.actual) for i, p in enumerate(points)]):
        if len(segment) == 1:
            cx, cy = xy(*segment[0]).split(",")
            parts.append(
                f'<circle class="spark-actual" cx="{cx}" cy="{cy}" r="1.6" fill="#1f3b73"/>'
            )
            continue
        coords = " ".join(xy(i, v) for i, v in segment)
        parts.append(
            f'<polyline class="spark-actual" points="{coords}" fill="none" stroke="#1f3b73" '
            'stroke-width="1.6"/>'
        )
    last = [(i, p) for i, p in enumerate(points) if p.actual is not None][-1]
    x, y = xy(last[0], last[1].actual or 0.0).split(",")
    parts.append(status_shape(last[1].status, float(x), float(y), 7))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (spec text inside went through escape)


def _segments(values: Sequence[tuple[int, float | None]]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive months that have a value."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, v in values:
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, v))
    if current:
        runs.append(current)
    return runs
