"""Small clean months of each canonical dataset, and one GX validator for the whole session."""

from __future__ import annotations

import pandas as pd
import pytest

from bsc_pipeline.quality import GateContext, GXValidator

MONTH = "2025-03"


@pytest.fixture(scope="session")
def validator() -> GXValidator:
    """GX import and context creation cost seconds: pay them once."""
    return GXValidator()


def _lineage(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """Lineage as readers add it: header on line 1, so data rows start at line 2."""
    return frame.assign(_source_file=file, _source_line=range(2, len(frame) + 2))


def chart_of_accounts() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account": ["4000", "5000", "6000", "7000"],
            "account_name": ["Sales", "Cost of sales", "Salaries", "Interest"],
            "account_type": ["revenue", "cogs", "opex", "other_income"],
            "account_group": ["Revenue", "COGS", "Opex", None],
        }
    )
    return _lineage(frame, "finance/coa.csv")


def accounts() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "account_name": ["Acme", "Globex", "Initech", "Umbrella", "Hooli"],
            "segment": ["smb", "enterprise", "smb", None, "mid"],
            "region": ["emea", "na", "na", "apac", None],
            "created_date": pd.to_datetime(["2020-01-01"] * 5),
            "churned_date": pd.to_datetime([None, None, "2024-06-30", None, None]),
        }
    )
    return _lineage(frame, "crm/accounts.csv")


def employees() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "employee_id": [f"E{i}" for i in range(1, 7)],
            "hire_date": pd.to_datetime(["2021-05-01"] * 6),
            "original_hire_date": pd.to_datetime([None] * 6),
            "termination_date": pd.to_datetime([None] * 5 + ["2025-02-15"]),
            "termination_type": [None] * 5 + ["voluntary"],
            "department": ["Sales", "Sales", "Support", "Support", "Finance", "Finance"],
            "job_title": ["AE"] * 6,
            "manager_id": [None, "E1", None, "E3", None, "E5"],
        }
    )
    return _lineage(frame, "hr/employees.csv")


def gl_lines(rows: int = 20) -> pd.DataFrame:
    """Balanced two-line entries on the days of March 2025."""
    entries = rows // 2
    frame = pd.DataFrame(
        {
            "entry_id": [f"J{i // 2:05d}" for i in range(rows)],
            "line_no": [i % 2 + 1 for i in range(rows)],
            "posting_date": pd.to_datetime(
                [f"2025-03-{(i // 2) % 31 + 1:02d}" for i in range(rows)]
            ),
            "account": [
                ["4000", "5000", "6000"][(i // 2) % 3] if i % 2 == 0 else "7000"
                for i in range(rows)
            ],
            "amount": [100.0 * (i // 2 + 1) * (1 if i % 2 == 0 else -1) for i in range(rows)],
            "department": [["Sales", "Support", None][i % 3] for i in range(rows)],
            "memo": [f"entry {i // 2}" for i in range(rows)],
        }
    )
    assert entries * 2 == rows
    return _lineage(frame, "finance/gl_2025-03.csv")


def survey_responses() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "response_id": [f"R{i:02d}" for i in range(20)],
            "account_id": [f"A{i % 5 + 1}" for i in range(20)],
            "response_date": pd.to_datetime([f"2025-03-{i + 1:02d}" for i in range(20)]),
            "score": [i % 11 for i in range(20)],
        }
    )
    return _lineage(frame, "crm/nps_2025-03.csv")


def tickets() -> pd.DataFrame:
    created = pd.to_datetime([f"2025-03-{i + 1:02d} 09:00" for i in range(20)])
    frame = pd.DataFrame(
        {
            "ticket_id": [f"T{i:03d}" for i in range(20)],
            "account_id": [f"A{i % 5 + 1}" if i % 4 else None for i in range(20)],
            "created_at": created,
            "resolved_at": (created + pd.Timedelta(hours=5)).where([i % 3 != 0 for i in range(20)]),
            "sla_due_at": created + pd.Timedelta(hours=8),
            "made_sla": pd.array([None] * 20, dtype="boolean"),  # as read: the column, empty
            "priority": [["low", "normal", "high", "urgent"][i % 4] for i in range(20)],
            "category": [
                ["incident", "request", "complaint", "question"][i % 4] for i in range(20)
            ],
            "status": [["new", "open", "pending", "solved", "closed"][i % 5] for i in range(20)],
            "reopens": [i % 2 for i in range(20)],
            "satisfaction": [["good", "bad", None][i % 3] for i in range(20)],
            "updated_at": created + pd.Timedelta(hours=6),
        }
    )
    return _lineage(frame, "ticketing/tickets_2025-03.csv")


def engagement() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "response_id": [f"G{i:02d}" for i in range(20)],
            "department": [["Sales", "Support", "Finance"][i % 3] for i in range(20)],
            "response_date": pd.to_datetime(["2025-03-14"] * 20),
            "score": [1.0 + (i % 9) * 0.5 for i in range(20)],
        }
    )
    return _lineage(frame, "hr/engagement_2025-03.csv")


CLEAN = {
    "chart_of_accounts": chart_of_accounts,
    "accounts": accounts,
    "employees": employees,
    "gl_lines": gl_lines,
    "survey_responses": survey_responses,
    "tickets": tickets,
    "engagement": engagement,
}


def context(recent_volumes: list[int] | None = None) -> GateContext:
    return GateContext(
        references={
            "chart_of_accounts": chart_of_accounts(),
            "accounts": accounts(),
            "employees": employees(),
        },
        recent_volumes=[20] * 6 if recent_volumes is None else recent_volumes,
    )


@pytest.fixture
def clean() -> dict[str, pd.DataFrame]:
    """A fresh clean month of every dataset the tests corrupt (each test may mutate its copy)."""
    return {name: build() for name, build in CLEAN.items()}


@pytest.fixture
def make_context():
    return context


@pytest.fixture
def make_gl():
    return gl_lines
