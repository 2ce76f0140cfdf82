"""Commentary in the alert digest, the template's layout, and the gate's rules on small frames."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from bsc_pipeline.alerts.messages import render_digest
from bsc_pipeline.alerts.transitions import AlertEvent
from bsc_pipeline.settings import Settings
from bsc_pipeline.spec.loader import load_spec
from bsc_pipeline.updates.gate import gate_updates
from bsc_pipeline.updates.template import (
    TEMPLATE_COLUMNS,
    TemplateError,
    template_rows,
    write_template,
)


def test_the_digest_shows_the_owners_commentary_under_the_measure(tiny_settings: Settings) -> None:
    spec = load_spec(tiny_settings.spec_path)
    owner = next(o for o in spec.owners if o.id == "cfo")
    event = AlertEvent(
        dedup_key="red/nps/2025-02",
        kind="red",
        recipient="cfo",
        run_id="r1",
        measure_id="nps",
        period="2025-02",
        status="red",
        payload={
            "measure_name": "NPS",
            "unit": "score",
            "value": -33.3,
            "target": 20,
            "commentary": "Migration delays — next: call every detractor",
        },
    )
    message = render_digest(owner, [event], scorecard="Tiny", run_id="r1")
    section = message.text.split("RED: NPS")[1]
    assert "Owner's commentary: Migration delays — next: call every detractor" in section
    assert "Owner&#39;s commentary: Migration delays" in message.html


def test_template_rows_are_the_owners_and_manual_values_are_the_only_white_cells(
    tiny_settings: Settings, tmp_path: Path
) -> None:
    spec = load_spec(tiny_settings.spec_path)
    rows = template_rows(spec, None, "2025-02", "cfo")
    assert [r.measure.id for r in rows] == ["revenue", "gross_margin_pct", "nps"]
    assert all(r.actual is None for r in rows), "nothing published: no figures to pre-fill"
    path = write_template(rows, tmp_path / "updates_2025-02_cfo.xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert [c.value for c in sheet[1]] == list(TEMPLATE_COLUMNS)
    assert sheet.cell(2, TEMPLATE_COLUMNS.index("period") + 1).value.strftime("%Y-%m-%d") == (
        "2025-02-01"
    )
    with pytest.raises(TemplateError, match="unknown owner 'nobody'"):
        template_rows(spec, None, "2025-02", "nobody")
    with pytest.raises(TemplateError, match=r"expected a \.xlsx or \.csv"):
        write_template(rows, tmp_path / "updates.txt")


def test_an_empty_month_passes_the_gate(tiny_settings: Settings) -> None:
    spec = load_spec(tiny_settings.spec_path)
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ("measure_id", "owner", "value")})
    outcome = gate_updates("2025-02", frame, spec)
    assert outcome.result.passed and outcome.result.severity == "ok"
    assert outcome.staged.empty and outcome.quarantine.empty
