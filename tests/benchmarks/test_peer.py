"""The DuckDB peer's SQL on a hand-made landing zone, every value worked out by hand."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from benchmarks.peer import Difference, PeerError, PeerQuery, differences, peer_values
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import load_contracts
from bsc_pipeline.spec.loader import load_spec

GL_HEADER = "entry_id,line_no,posting_date,account,amount,department,memo"
TICKET_HEADER = (
    "ticket_id,account_id,created_at,resolved_at,sla_due_at,priority,category,status,"
    "reopens,satisfaction,updated_at"
)
FILES = {
    "gl_lines/gl_lines_2026-06.csv": [
        GL_HEADER,
        "E1,1,2026-06-03,4000,-100.50,sales,",
        "E1,2,2026-06-03,1200,100.50,sales,",
        "E2,1,2026-06-20,4000,-49.50,,",
        "E3,1,2026-07-01,4000,-999,,late line in the June file",
    ],
    "gl_lines/gl_lines_2025-06.csv": [GL_HEADER, "E9,1,2025-06-10,4000,-120,,"],
    "tickets/tickets_2026-05.csv": [
        TICKET_HEADER,
        "T1,A1,2026-05-30T10:00:00,,2026-06-01T10:00:00,normal,incident,open,0,,2026-05-30T10:00:00",
    ],
    "tickets/tickets_2026-06.csv": [
        TICKET_HEADER,
        "T1,A1,2026-05-30T10:00:00,2026-06-02T10:00:00,2026-06-01T10:00:00,normal,incident,"
        "solved,1,good,2026-06-02T10:00:00",
        "T2,A2,2026-06-05T08:00:00,2026-06-05T13:00:00,2026-06-06T08:00:00,high,complaint,"
        "solved,0,bad,2026-06-05T13:00:00",
    ],
}
MEASURES = """
  - {id: revenue, name: Revenue, unit: EUR, kind: base, source: gl_lines, agg: sum,
     column: amount, filters: [{column: account, op: eq, value: "4000"}], scale: -1}
  - {id: revenue_lines, name: Revenue lines, unit: count, kind: base, source: gl_lines,
     agg: count, filters: [{column: account, op: in, values: ["4000"]}]}
  - {id: other_lines, name: Other lines, unit: count, kind: base, source: gl_lines, agg: count,
     filters: [{column: account, op: eq, value: "9999"}]}
  - {id: revenue_per_line, name: Revenue per line, unit: EUR, kind: ratio,
     numerator: revenue, denominator: revenue_lines}
  - {id: per_other_line, name: Per other line, unit: EUR, kind: derived,
     formula: revenue / other_lines}
  - {id: revenue_yoy, name: Revenue growth, unit: "%", kind: change, of: revenue,
     versus: prior_year}
  - {id: tickets_resolved, name: Resolved, unit: count, kind: base, source: tickets, agg: count,
     date_column: resolved_at, filters: [{column: resolved_at, op: not_null}]}
  - {id: median_hours, name: Median hours, unit: hours, kind: base, source: tickets,
     agg: median, column: resolution_hours, date_column: resolved_at,
     objective: fast, owner: ops, target: {kind: constant, value: 10}}
  - {id: within_sla, name: Within SLA, unit: count, kind: base, source: tickets, agg: count,
     date_column: resolved_at, filters: [{column: sla_met, op: eq, value: true}]}
"""
SPEC = f"""
scorecard: {{name: Peer Co, fiscal_year_start_month: 1, currency: EUR}}
owners:
  - {{id: ops, name: Olly Ops, email: ops@peer.example}}
perspectives:
  - {{id: internal, name: Internal}}
objectives:
  - {{id: fast, name: Fast, perspective: internal}}
measures:{MEASURES}
"""


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("peer")
    for name, lines in FILES.items():
        path = root / "landing" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "spec.yaml").write_text(textwrap.dedent(SPEC), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def values(landing: Path) -> dict[str, float | None]:
    spec = load_spec(landing / "spec.yaml")
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    return peer_values(spec, contracts, landing / "landing", "2026-06")


def test_base_sums_and_counts_only_the_months_rows(values: dict[str, float | None]) -> None:
    # -(-100.50 - 49.50); the July line in the June file is not June's
    assert values["revenue"] == pytest.approx(150.0)
    assert values["revenue_lines"] == 2
    assert values["other_lines"] == 0


def test_ratio_formula_and_change(values: dict[str, float | None]) -> None:
    assert values["revenue_per_line"] == pytest.approx(75.0)
    assert values["per_other_line"] is None  # division by zero: no value, never inf or 0
    assert values["revenue_yoy"] == pytest.approx((150 - 120) / 120 * 100)


def test_incremental_keeps_newest_version_and_computes_columns(
    values: dict[str, float | None],
) -> None:
    # T1 resolved in June after 72 hours (its May version was open), T2 after 5 hours
    assert values["tickets_resolved"] == 2
    assert values["median_hours"] == pytest.approx((72 + 5) / 2)
    assert values["within_sla"] == 1  # T1 resolved a day after its SLA


def test_differences_tolerate_summation_order_but_not_values() -> None:
    ours = {"a": 1.0, "b": math.nan, "c": 3.0, "d": 4.0}
    theirs: dict[str, float | None] = {"a": 1.0 + 1e-12, "b": None, "c": 3.1, "d": None}
    found = differences(ours, theirs)
    assert found == [Difference("c", 3.0, 3.1), Difference("d", 4.0, None)]
    assert "pipeline 3.0 vs duckdb 3.1" in str(found[0])


def test_unknown_filter_column_is_refused(landing: Path) -> None:
    text = (landing / "spec.yaml").read_text(encoding="utf-8")
    bad = landing / "bad.yaml"
    bad.write_text(text.replace("column: account, op: eq", "column: acct, op: eq"), "utf-8")
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    query = PeerQuery(load_spec(bad), contracts, landing / "landing", "2026-06")
    with pytest.raises(PeerError, match="acct"):
        query.sql()
