"""The briefing book as a reader's browser shows it: the tiny company, real Chromium.

February 2025 of the tiny company, worked out by hand in tests/e2e/test_month_run.py: revenue
€1,500 against €1,000 (green), gross margin 40 % against 50 % (red), NPS −33.3 (red), median
resolution 61 h against 8 h (red), headcount 3 against 3 (green), training 2.7 h per employee
against 3 (red). In January all but headcount (2 against 3) were green.
"""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from bsc_pipeline.cli import _mount_sub_apps, app

pytestmark = pytest.mark.slow

FEBRUARY = {
    "revenue": ("On track", "€1,500.0", "€1,000.0", "+\u2060€500.0"),
    "gross_margin_pct": ("Off track", "40.0 %", "50.0 %", "−10.0 %"),
    "nps": ("Off track", "−33.3 score", "20.0 score", "−53.3 score"),
    "resolution_hours_median": ("Off track", "61.0 hours", "8.0 hours", "+53.0 hours"),
    "headcount": ("On track", "3.0 employees", "3.0 employees", "0.0 employees"),
    "training_hours_per_employee": ("Off track", "2.7 hours", "3.0 hours", "−0.3 hours"),
}
TRENDS = {
    "revenue": "↑",
    "gross_margin_pct": "↓",
    "nps": "↓",
    "resolution_hours_median": "↑",
    "headcount": "↑",
    "training_hours_per_employee": "↓",
}
"""February against January."""
LINKS = {
    ("training_hours_per_employee", "resolution_hours_median"),
    ("resolution_hours_median", "nps"),
    ("nps", "revenue"),
}


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    _mount_sub_apps()
    return CliRunner()


@pytest.fixture(scope="module")
def february(published, rendered_dom):
    """The report the nightly job's `scorecard_report` asset wrote, as Chromium renders it."""
    page = published.lake_dir / "reports" / "2025-02.html"
    return page, rendered_dom(page)


def _report(cli: CliRunner, settings, *args: str):
    env = {
        "BSC_WAREHOUSE_URL": settings.warehouse_url,
        "BSC_SPEC": str(settings.spec_path),
        "BSC_LAKE_DIR": str(settings.lake_dir),
    }
    return cli.invoke(app, ["report", *args], env=env)


def test_the_asset_wrote_one_report_per_published_month(published) -> None:
    reports = sorted(p.name for p in (published.lake_dir / "reports").iterdir())
    assert reports == ["2025-01.html", "2025-02.html", "2025-03.html"]


def test_every_measure_of_the_month_shows_its_status_in_words_and_figures(february) -> None:
    _, dom = february
    rows = {r.attrs["data-measure"]: r for r in dom.find_all("tr", class_="measure")}
    assert set(rows) == set(FEBRUARY)
    for measure, (label, actual, target, variance) in FEBRUARY.items():
        cells = rows[measure].find_all("td")
        assert cells[0].text == label, measure
        assert cells[0].find("svg"), f"{measure}: the status has a shape, not only a colour"
        assert [cells[1].text, cells[2].text] == [f"{actual} {TRENDS[measure]}", target], measure
        assert cells[3].text.startswith(variance), measure
    revenue = rows["revenue"].find_all("td")
    assert revenue[5].text == "€2,500.0 FY2025-Q1 to date · On track"  # Jan 1,000 + Feb 1,500
    assert revenue[6].text == "€2,500.0 On track"
    assert revenue[7].text == "Casey Finance"


def test_a_month_without_extracts_shows_held_measures_with_the_reason_never_zero(
    published, rendered_dom
) -> None:
    dom = rendered_dom(published.lake_dir / "reports" / "2025-03.html")
    rows = {r.attrs["data-measure"]: r for r in dom.find_all("tr", class_="measure")}
    # Headcount reads the employee file, a snapshot rather than a monthly extract.
    held = set(FEBRUARY) - {"headcount"}
    assert {m for m, r in rows.items() if r.attrs["data-status"] == "held"} == held
    revenue = rows["revenue"].find_all("td")
    assert revenue[0].text == "Held" and revenue[1].text == "–"
    assert "gate failed: gl_lines 2025-03" in revenue[8].text
    spark = revenue[4].find("svg")
    assert len(spark.find_all("polyline", class_="spark-actual")) == 1  # Jan–Feb, no March point
    counts = {li.attrs["data-status"]: li.text for li in dom.find_all("li", data_status="")}
    assert counts["held"] == "5 Held" and counts["green"] == "1 On track"
    assert dom.find("li", data_measure="revenue").text == "Revenue : On track → Held"


def test_headline_counts_scores_and_what_changed(february) -> None:
    _, dom = february
    counts = {
        li.attrs["data-status"]: li.text for li in dom.find("ul", class_="counts").find_all("li")
    }
    assert counts["green"] == "2 On track" and counts["red"] == "4 Off track"
    assert counts["amber"] == "0 At risk" and counts["no_data"] == "0 No data"
    # The scorecard rolled up to 2.45 (red) from 6.67 (green) in January.
    tile = dom.find(id="scorecard-score").text
    assert "2.5 / 10" in tile and "Off track" in tile and "−4.2 since 2025-01" in tile
    changes = {li.attrs["data-measure"]: li.text for li in dom.find_all("li", data_measure="")}
    assert set(changes) == set(FEBRUARY) - {"revenue"}
    assert changes["gross_margin_pct"] == "Gross margin : On track → Off track"
    assert changes["headcount"].endswith("Off track → On track")
    order = [
        tr.attrs["data-perspective"]
        for tr in dom.find("table", class_="perspective-scores").find_all("tr", data_perspective="")
    ]
    assert order == ["financial", "customer", "internal", "learning"]


def test_strategy_map_draws_every_measure_and_link_with_financial_on_top(february) -> None:
    _, dom = february
    svg = dom.find("svg", class_="strategy-map")
    nodes = {g.attrs["data-measure"]: g for g in svg.find_all("g", class_="node")}
    assert set(nodes) == set(FEBRUARY)
    for measure, (label, actual, *_) in FEBRUARY.items():
        assert label in nodes[measure].text and actual in nodes[measure].text
    links = svg.find_all("g", class_="link")
    assert {(g.attrs["data-driver"], g.attrs["data-outcome"]) for g in links} == LINKS
    for g in links:
        path = g.find("path")
        assert path.attrs["marker-end"].startswith("url(#arrow")
        # Two tiny months are too little history to judge a link: drawn plain, not marked.
        assert g.attrs["data-verdict"] == "not judged" and "stroke-dasharray" not in path.attrs
    bands = [g.attrs["data-perspective"] for g in svg.find_all("g", class_="band")]
    assert bands == ["financial", "customer", "internal", "learning"]
    tops = {
        b: float(g.find("rect").attrs["y"])
        for b, g in zip(bands, svg.find_all("g", class_="band"), strict=True)
    }
    assert tops["financial"] < tops["customer"] < tops["internal"] < tops["learning"]


def test_a_measure_named_like_a_script_is_shown_as_text(february, hostile) -> None:
    page, dom = february
    assert dom.find_all("script") == []
    row = dom.find("tr", data_measure="headcount")
    assert row.find("th").text == hostile["measure"]
    assert hostile["measure"] in dom.find("g", data_measure="headcount").text
    initiative = dom.find("tr", data_initiative="coaching")
    assert initiative.find("th").text == hostile["initiative"]
    assert initiative.find_all("b") == []
    assert "€12,500" in initiative.text and "active" in initiative.text
    assert "<script>" not in page.read_text(encoding="utf-8")


def test_the_file_asks_for_nothing_outside_itself(february) -> None:
    page, dom = february
    html = page.read_text(encoding="utf-8")
    csp = dom.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert csp == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html, re.I)
    assert "<script" not in html.lower() and "@import" not in html


class _Sink(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_csp_blocks_a_request_planted_in_the_page(february, chromium, tmp_path: Path) -> None:
    """A loopback sink receives the planted request without the CSP, and none with it."""
    page, _ = february
    server = http.server.HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        planted = f'<img src="{url}/img"><link rel="stylesheet" href="{url}/css"></body>'
        html = page.read_text(encoding="utf-8").replace("</body>", planted)
        guarded = tmp_path / "guarded.html"
        guarded.write_text(html, encoding="utf-8")
        bare = tmp_path / "bare.html"
        bare.write_text(re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html))
        for name, target in (("guarded", guarded), ("bare", bare)):
            done = chromium("--dump-dom", target.as_uri(), profile=tmp_path / f"profile-{name}")
            assert done.returncode == 0, done.stderr[-2000:]
            if name == "guarded":
                assert _Sink.seen == [], "the CSP let a request leave the page"
        assert sorted(_Sink.seen) == ["/css", "/img"], "the sink must see the unguarded page"
    finally:
        server.shutdown()
        server.server_close()
        _Sink.seen.clear()


def test_owner_view_shows_their_measures_drivers_and_outcomes(
    published, cli, rendered_dom, tmp_path
) -> None:
    out = tmp_path / "ops.html"
    result = _report(cli, published, "--period", "2025-02", "--owner", "ops", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(out))
    dom = rendered_dom(out)
    rows = {r.attrs["data-measure"]: r for r in dom.find_all("tr", class_="measure")}
    # Olly Ops owns median resolution time; training drives it, and it drives NPS.
    assert set(rows) == {"resolution_hours_median", "training_hours_per_employee", "nps"}
    assert "driver" in rows["training_hours_per_employee"].find("th").text
    assert "outcome" in rows["nps"].find("th").text
    links = dom.find("svg", class_="strategy-map").find_all("g", class_="link")
    assert {(g.attrs["data-driver"], g.attrs["data-outcome"]) for g in links} == {
        ("training_hours_per_employee", "resolution_hours_median"),
        ("resolution_hours_median", "nps"),
    }
    assert dom.find("strong", data_owner="ops").text == "Olly Ops"
    assert dom.find_all("tr", data_initiative="coaching")


def test_unknown_owner_and_unpublished_month_are_refused(published, cli, tmp_path) -> None:
    result = _report(
        cli,
        published,
        "--period",
        "2025-02",
        "--owner",
        "nobody",
        "--out",
        str(tmp_path / "x.html"),
    )
    assert result.exit_code == 2 and "unknown owner 'nobody'" in result.output
    result = _report(cli, published, "--period", "2025-07", "--out", str(tmp_path / "y.html"))
    assert result.exit_code == 1 and "no published scorecard for 2025-07" in result.output
    assert not list(tmp_path.iterdir())


def test_pdf_is_printed_by_chromium(published, cli, chromium, tmp_path) -> None:
    out = tmp_path / "book.pdf"
    result = _report(cli, published, "--period", "2025-02", "--format", "pdf", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000
    assert b"/Type /Page" in data or b"/Type/Page" in data


def test_pdf_without_chromium_says_how_to_get_it(published, cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = _report(
        cli, published, "--period", "2025-02", "--format", "pdf", "--out", str(tmp_path / "b.pdf")
    )
    assert result.exit_code == 2
    assert "apt-get install -y chromium" in result.output
    assert not (tmp_path / "b.pdf").exists()
