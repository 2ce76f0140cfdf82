"""Warehouse fixtures: a migrated database on SQLite and on PostgreSQL, a small spec, scored frames.

Every test that takes `url`/`engine` runs once per backend. PostgreSQL tests run in a schema
created and migrated for this test session (selected through `search_path`, dropped at the end),
emptied before each test, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bsc_pipeline.periods import FiscalCalendar, Month
from bsc_pipeline.spec.models import Spec
from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse
from bsc_pipeline.warehouse.schema import metadata

POSTGRES_ENV = "BSC_TEST_POSTGRES_URL"

SPEC: dict[str, Any] = {
    "scorecard": {"name": "Test Co", "fiscal_year_start_month": 1},
    "owners": [
        {"id": "cfo", "name": "Chief Financial Officer", "email": "cfo@example.test"},
        {"id": "sales_lead", "name": "Sales Lead"},
    ],
    "perspectives": [
        {"id": "financial", "name": "Financial", "order": 1},
        {"id": "customer", "name": "Customer", "order": 2},
    ],
    "objectives": [
        {"id": "grow_revenue", "name": "Grow revenue", "perspective": "financial"},
        {"id": "keep_customers", "name": "Keep customers", "perspective": "customer"},
    ],
    "measures": [
        {
            "kind": "base",
            "id": "revenue",
            "name": "Revenue",
            "objective": "grow_revenue",
            "owner": "cfo",
            "unit": "EUR",
            "source": "gl_lines",
            "agg": "sum",
            "column": "amount",
            "target": {"kind": "constant", "value": 100.0},
        },
        {
            "kind": "base",
            "id": "churned_customers",
            "name": "Churned customers",
            "unit": "count",
            "source": "crm_accounts",
            "agg": "count",
        },
        {
            "kind": "base",
            "id": "churn_rate",
            "name": "Churn rate",
            "objective": "keep_customers",
            "owner": "sales_lead",
            "unit": "%",
            "direction": "lower",
            "lead_lag": "leading",
            "source": "crm_accounts",
            "agg": "mean",
            "column": "churned",
            "target": {"kind": "constant", "value": 5.0},
        },
    ],
    "links": [{"driver": "churn_rate", "outcome": "revenue", "lag_months": 1}],
    "initiatives": [
        {
            "id": "loyalty_programme",
            "name": "Loyalty programme",
            "owner": "sales_lead",
            "objective": "keep_customers",
            "start": "2025-01-01",
        }
    ],
}

CALENDAR = FiscalCalendar(1)


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec.model_validate(SPEC)


def measure_rows(
    month: str, values: dict[str, float | None], *, status: dict[str, str] | None = None
) -> pd.DataFrame:
    """A scored frame for `month`: month, quarter and YTD rows per measure, values as given.

    Longer periods carry the monthly value times the months covered, enough for the views.
    """
    as_of = Month.parse(month)
    rows = []
    for measure_id, value in values.items():
        for period in (
            CALENDAR.periods_for(as_of)[0],
            CALENDAR.quarter(as_of),
            CALENDAR.ytd(as_of),
        ):
            covered = len(period.months_through(as_of))
            actual = None if value is None else value * covered
            target = 100.0 * covered if measure_id == "revenue" else 5.0
            state = (status or {}).get(measure_id) or ("no_data" if value is None else "green")
            rows.append(
                {
                    "measure_id": measure_id,
                    "period_type": period.period_type,
                    "period": period.label,
                    "period_start": pd.Timestamp(period.start),
                    "period_end": pd.Timestamp(period.end),
                    "as_of_month": month,
                    "is_partial": period.is_partial(as_of),
                    "numerator": actual,
                    "denominator": None,
                    "value": actual,
                    "target": target,
                    "target_high": None,
                    "green_bound": 1.0,
                    "amber_bound": 0.9,
                    "threshold_basis": "relative",
                    "prior_period_value": None if value is None else value - 1,
                    "prior_year_value": None if value is None else value - 10,
                    "data_state": "no_data" if value is None else "complete",
                    "data_note": "no rows" if value is None else None,
                    "status": state,
                    "score": None if value is None else 6.6,
                    "variance": None if actual is None else actual - target,
                    "variance_pct": None if actual is None else (actual - target) / target,
                    "trend": None if value is None else "up",
                    "balance_flag": None,
                    "is_official": True,
                }
            )
    frame = pd.DataFrame(rows)
    for column in ("numerator", "denominator", "value", "target_high", "score"):
        frame[column] = frame[column].astype("float64")
    return frame


def rollup_rows(month: str, score: float = 6.6) -> pd.DataFrame:
    """Roll-ups of every level for the month row only."""
    nodes = [
        ("objective", "grow_revenue"),
        ("objective", "keep_customers"),
        ("perspective", "financial"),
        ("perspective", "customer"),
        ("scorecard", "test_co"),
    ]
    return pd.DataFrame(
        [
            {
                "level": level,
                "node_id": node,
                "period_type": "month",
                "period": month,
                "as_of_month": month,
                "score": score,
                "status": "green",
                "data_confidence": 1.0,
                "children": 1,
                "children_with_data": 1,
            }
            for level, node in nodes
        ]
    )


@pytest.fixture
def publish_args(spec: Spec) -> Any:
    """Keyword arguments for `publish_month` with sensible defaults for a month."""

    def build(month: str, values: dict[str, float | None], **overrides: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "run_id": f"run-{month}-{uuid.uuid4().hex[:6]}",
            "measures": measure_rows(month, values, status=overrides.pop("status", None)),
            "rollups": rollup_rows(month),
            "spec": spec,
            "files": [
                {
                    "dataset": "gl_lines",
                    "file": f"finance/gl_{month}.csv",
                    "size": 123,
                    "sha256": "ab" * 32,
                    "mtime": 1_740_000_000.0,
                }
            ],
            "gate_results": None,
            "quarantine": None,
            "alert_events": None,
        }
        args.update(overrides)
        return args

    return build


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file migrated once; each test gets a copy (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("template") / "scorecard.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_warehouse(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """One freshly created, migrated schema per test session, dropped at the end."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set, so the PostgreSQL variant does not run")
    schema_name = f"bsc_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    address = make_url(base).update_query_dict({"options": f"-csearch_path={schema_name}"})
    rendered = address.render_as_string(hide_password=False)
    try:
        upgrade_warehouse(rendered)
        yield rendered
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    """Every table emptied, so each test starts from a just-migrated warehouse."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty warehouse URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "scorecard.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    address: str = request.getfixturevalue("postgres_schema")
    _empty_postgres(address)
    return address


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    created = make_engine(url)
    yield created
    created.dispose()


def table_rows(engine: Engine, name: str, *, where: str | None = None) -> list[tuple[Any, ...]]:
    """Every row of a table, sorted, for before/after comparisons."""
    table = sa.table(name)
    query = sa.select(sa.text("*")).select_from(table)
    if where:
        query = query.where(sa.text(where))
    with engine.connect() as connection:
        return sorted((tuple(row) for row in connection.execute(query)), key=repr)


def count(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        )


class Helpers:
    """Builders and readers the tests share (conftest functions are not importable)."""

    measure_rows = staticmethod(measure_rows)
    rollup_rows = staticmethod(rollup_rows)
    table_rows = staticmethod(table_rows)
    count = staticmethod(count)


@pytest.fixture(scope="session")
def wh() -> type[Helpers]:
    return Helpers
