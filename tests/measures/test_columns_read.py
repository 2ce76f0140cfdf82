"""The staged columns a spec reads: enough for every measure, and no more."""

from __future__ import annotations

from bsc_pipeline.measures.dependencies import columns_read
from bsc_pipeline.settings import PROJECT_ROOT
from bsc_pipeline.sources import load_contracts
from bsc_pipeline.spec.loader import load_spec

TINY_SPEC = PROJECT_ROOT / "tests" / "e2e" / "tiny_company" / "spec.yaml"


def test_tiny_spec_reads_only_the_columns_its_measures_name() -> None:
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    read = columns_read(load_spec(TINY_SPEC), contracts)
    assert read == {
        # revenue and cogs: sum of amount, filtered on account, placed by posting_date.
        "gl_lines": ["account", "amount", "posting_date"],
        # promoters/detractors filter on score; responses count rows by response_date.
        "survey_responses": ["response_date", "score"],
        # median resolution by resolved_at; created_at is the contract's month column; an
        # incremental dataset also needs its key and version to keep the newest version.
        "tickets": ["created_at", "resolution_hours", "resolved_at", "ticket_id", "updated_at"],
        "employees": ["hire_date", "termination_date"],
        "training": ["completed_date", "hours"],
    }


def test_budget_targets_read_the_budget_columns() -> None:
    contracts = load_contracts(PROJECT_ROOT / "sources" / "contracts.yaml")
    read = columns_read(load_spec(PROJECT_ROOT / "specs" / "minimal.yaml"), contracts)
    assert read["budget"] == ["account", "amount", "month"]
