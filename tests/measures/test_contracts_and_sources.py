"""The engine against the real contracts file, and what datasets each measure reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bsc_pipeline.measures import compute_measure_values, dataset_infos, measure_sources
from bsc_pipeline.measures.loading import DatasetInfo
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources.contracts import load_contracts

CONTRACTS_FILE = Path(PROJECT_ROOT) / "sources" / "contracts.yaml"


def test_contract_infos_read_models_dicts_and_raw_yaml_alike():
    models = dataset_infos(load_contracts(CONTRACTS_FILE))
    raw = dataset_infos(
        {"datasets": {"gl_lines": {"mode": "period", "month_column": "posting_date"}}}
    )
    assert models["gl_lines"] == raw["gl_lines"]
    assert models["gl_lines"] == DatasetInfo("gl_lines", "period", "posting_date")
    assert models["employees"] == DatasetInfo("employees", "snapshot", None)
    assert models["tickets"].mode == "incremental"


def test_survey_promoters_filtered_on_a_computed_bool_column(loader_class, spec_of, row):
    contracts = load_contracts(CONTRACTS_FILE)
    loader = loader_class({name: c.model_dump() for name, c in contracts.items()})
    loader.stage(
        "survey_responses",
        "2025-03",
        pd.DataFrame(
            {
                "response_id": ["r1", "r2", "r3", "r4"],
                "account_id": ["a", "b", "a", "c"],
                "response_date": pd.to_datetime(
                    ["2025-03-01", "2025-03-02", "2025-03-20", "2025-03-31"]
                ),
                "score": [10, 9, 3, 7],
                "is_promoter": pd.array([True, True, False, False], dtype="boolean"),
                "is_detractor": pd.array([False, False, True, False], dtype="boolean"),
            }
        ),
    )
    measures = [
        {
            "id": "responses",
            "name": "R",
            "unit": "count",
            "kind": "base",
            "source": "survey_responses",
            "agg": "count",
        },
        {
            "id": "promoters",
            "name": "P",
            "unit": "count",
            "kind": "base",
            "source": "survey_responses",
            "agg": "count",
            "filters": [{"column": "is_promoter", "value": True}],
        },
        {
            "id": "detractors",
            "name": "D",
            "unit": "count",
            "kind": "base",
            "source": "survey_responses",
            "agg": "count",
            "filters": [{"column": "is_detractor", "op": "eq", "value": "true"}],
        },
        {
            "id": "nps",
            "name": "NPS",
            "unit": "score",
            "kind": "derived",
            "formula": "(promoters - detractors) / responses * 100",
        },
        {
            "id": "respondents",
            "name": "A",
            "unit": "count",
            "kind": "base",
            "source": "survey_responses",
            "agg": "count_distinct",
            "column": "account_id",
        },
    ]
    frame = compute_measure_values(spec_of(measures), "2025-03", loader, contracts=contracts)
    assert row(frame, "nps", "month")["value"] == 25.0  # (2 - 1) / 4
    assert row(frame, "respondents", "month")["value"] == 3


def test_measure_sources_follow_parts_through_ratios_formulas_and_changes(spec_of):
    spec = spec_of(
        [
            {
                "id": "won",
                "name": "W",
                "unit": "count",
                "kind": "base",
                "source": "sales",
                "agg": "count",
            },
            {
                "id": "visits",
                "name": "V",
                "unit": "count",
                "kind": "base",
                "source": "visits",
                "agg": "count",
            },
            {
                "id": "conversion",
                "name": "C",
                "unit": "%",
                "kind": "ratio",
                "numerator": "won",
                "denominator": "visits",
            },
            {
                "id": "conversion_yoy",
                "name": "Y",
                "unit": "%",
                "kind": "change",
                "of": "conversion",
            },
            {
                "id": "per_head",
                "name": "H",
                "unit": "x",
                "kind": "derived",
                "formula": "won / headcount",
            },
            {
                "id": "headcount",
                "name": "HC",
                "unit": "count",
                "kind": "snapshot",
                "source": "staff",
                "active_from": "hired",
            },
        ]
    )
    assert measure_sources(spec, "conversion_yoy") == ["sales", "visits"]
    assert sorted(measure_sources(spec, "per_head")) == ["sales", "staff"]
    assert measure_sources(spec, "headcount") == ["staff"]
