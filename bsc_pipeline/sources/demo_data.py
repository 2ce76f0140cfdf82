"""A demo company's source extracts, generated so the scorecard has a story to reveal.

The company sells a subscription service. From story month 10 it cuts training and platform
maintenance; service slows down 1-3 months later, customers grow unhappy and leave, staff quit,
and revenue growth and margin follow. From story month 22 it reinvests and recovers. Revenue stays
on plan for months while the leading measures are already red. The numbers come from smooth story
curves plus seeded noise, so a seed always gives the same bytes. Story months are stretched to fit
`months` (month 10 of 36 is month 20 of 72).

Files are written in the demo format agreed with the reader:
`<out>/<dataset>/<dataset>_<YYYY-MM>.csv`, UTF-8, comma separated, canonical column names as an
unquoted header, ISO dates, UTC datetimes without a zone, `.` decimals, empty = missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import typer
from rich.console import Console
from rich.table import Table

from bsc_pipeline.periods import Month, PeriodError, month_range
from bsc_pipeline.settings import Settings

PERIOD_DATASETS = ("gl_lines", "survey_responses", "training", "engagement")
INCREMENTAL_DATASETS = ("opportunities", "tickets")
SNAPSHOT_DATASETS = ("chart_of_accounts", "budget", "accounts", "employees")
UPDATES_DATASET = "updates"
DATASETS = SNAPSHOT_DATASETS + PERIOD_DATASETS + INCREMENTAL_DATASETS + (UPDATES_DATASET,)
AUDIT_TARGET, ON_TRACK_TARGET, AMBER_SHARE = 80.0, 80.0, 0.9
"""Targets of the demo's two manual measures (specs/demo.yaml) and its default amber bound."""

STORY_MONTHS = 36
SECONDS_PER_DAY = 86_400

CHART = [
    ("1000", "Cash at bank", "asset", "cash"),
    ("1200", "Accounts receivable", "asset", "receivables"),
    ("2100", "Accounts payable", "liability", "payables"),
    ("3000", "Retained earnings", "equity", "equity"),
    ("4000", "Subscription revenue", "revenue", "subscription"),
    ("4100", "Professional services revenue", "revenue", "services"),
    ("4900", "Service credits", "revenue", "credits"),
    ("5000", "Hosting", "cogs", "hosting"),
    ("5100", "Support payroll", "cogs", "support"),
    ("5150", "Support contractors", "cogs", "support"),
    ("5200", "Platform maintenance", "cogs", "maintenance"),
    ("6100", "Salaries", "opex", "payroll"),
    ("6200", "Marketing", "opex", "marketing"),
    ("6300", "Training", "opex", "training"),
    ("6400", "Software", "opex", "software"),
    ("6500", "Rent", "opex", "facilities"),
]

DEPARTMENTS = np.array(["support", "engineering", "sales", "customer_success", "finance", "people"])
DEPARTMENT_SHARE = np.array([0.40, 0.25, 0.15, 0.10, 0.05, 0.05])
MONTHLY_SALARY = np.array([5_500.0, 8_000.0, 7_000.0, 6_000.0, 6_500.0, 6_000.0])
JOB_TITLES = np.array(
    [
        "Support agent",
        "Engineer",
        "Account executive",
        "Success manager",
        "Accountant",
        "HR partner",
    ]
)
SEGMENTS = np.array(["smb", "mid_market", "enterprise"])
SEGMENT_SHARE = np.array([0.6, 0.3, 0.1])
SEGMENT_MRR = np.array([2_500.0, 8_000.0, 25_000.0])
REGIONS = np.array(["north", "south", "east", "west"])
NAME_FIRST = np.array(["Alder", "Birch", "Cedar", "Dune", "Elm", "Fjord", "Granite", "Harbor"])
NAME_SECOND = np.array(["Logistics", "Foods", "Health", "Retail", "Energy", "Media", "Labs"])
PRIORITIES = np.array(["low", "normal", "high", "urgent"])
PRIORITY_SHARE = np.array([0.20, 0.55, 0.20, 0.05])
PRIORITY_SLA_HOURS = np.array([72.0, 24.0, 8.0, 4.0])
PRIORITY_MEDIAN_HOURS = np.array([20.0, 10.0, 3.5, 1.6])
OPEN_STATUSES = np.array(["new", "open", "pending", "hold"])
COURSES = np.array(["Product deep dive", "Troubleshooting", "Customer empathy", "Security basics"])
COURSE_HOURS = np.array([1.0, 2.0, 4.0, 8.0])


Rows = dict[str, np.ndarray]
"""Column arrays of rows being simulated, before they become a table."""
Sink = Callable[[str, str, pa.Table], None]
"""Receives (dataset, month, table) for each file."""


class DemoDataError(ValueError):
    """Arguments the generator cannot work with."""


@dataclass(frozen=True)
class DemoSummary:
    """What a run of the generator wrote."""

    out: Path
    first_month: str
    last_month: str
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """Per-month story curves (index 0 = first generated month), noise-free."""

    invest: np.ndarray
    """Training and maintenance funding relative to plan (1 = as planned)."""
    strain: np.ndarray
    """Service strain: 0 normal, > 0 slow and error-prone, < 0 better than normal."""
    disloyalty: np.ndarray
    """Customer unhappiness: 0 normal, > 0 detractors, churn and lost deals."""
    engagement: np.ndarray
    """Mean staff engagement on the 1-5 pulse."""


def story(months: int) -> Story:
    """The company's story stretched over `months`: cuts, strain, disloyalty, recovery."""
    clock = np.arange(months) * STORY_MONTHS / months
    knots = [0, 9, 10.5, 18, 20, 22, 30, 35]
    levels = [1.0, 1.0, 0.35, 0.35, 0.6, 1.3, 1.15, 1.0]
    invest = np.interp(clock, knots, levels)
    capability = np.ones(months)
    loyalty = np.ones(months)
    for t in range(1, months):  # recursions over months, not rows: the lags of the story
        capability[t] = capability[t - 1] + 0.45 * (invest[t - 1] - capability[t - 1])
        loyalty[t] = loyalty[t - 1] + 0.35 * (capability[max(t - 2, 0)] - loyalty[t - 1])
    strain = 1.0 - capability
    disloyalty = 1.0 - loyalty
    lagged_invest = np.concatenate([[1.0], invest[:-1]])
    engagement = (
        3.95 - 0.5 * (1.0 - np.minimum(lagged_invest, 1.0)) - 0.8 * np.maximum(strain, 0.0)
    ) + 0.3 * np.maximum(-strain, 0.0)
    return Story(invest, strain, disloyalty, engagement)


def default_end(today: date | None = None) -> Month:
    """The last complete calendar month before `today`."""
    return Month.of(today or date.today()).shift(-1)


def generate_demo(
    out: Path, *, months: int = 36, seed: int = 7, scale: float = 1.0, end: str | None = None
) -> DemoSummary:
    """Write the demo company's extracts under `out`; the same arguments give the same bytes."""
    if months < 2:
        raise DemoDataError(f"months must be at least 2, got {months}")
    if not scale > 0:
        raise DemoDataError(f"scale must be a positive number, got {scale}")
    last = Month.parse(end) if end else default_end()
    calendar = month_range(last.shift(-(months - 1)), last)
    out = Path(out)
    files: list[Path] = []
    rows: dict[str, int] = dict.fromkeys(DATASETS, 0)

    def write(dataset: str, month: str, table: pa.Table) -> None:
        path = out / dataset / f"{dataset}_{month}.csv"
        _write_csv(table, path)
        files.append(path)
        rows[dataset] += table.num_rows

    _Generator(calendar, np.random.default_rng(seed), scale, story(months)).run(write)
    return DemoSummary(out, str(calendar[0]), str(last), files, rows)


def _write_csv(table: pa.Table, path: Path) -> None:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink:
        sink.write((",".join(table.column_names) + "\n").encode())
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)
        # pyarrow writes garbage for an empty leading batch without a header: drop empty ones
        batches = [batch for batch in table.to_batches() if batch.num_rows]
        if batches:
            pa_csv.write_csv(pa.Table.from_batches(batches, table.schema), sink, options)
    tmp.replace(path)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 (negative = missing) as a date column."""
    return pa.array(days.astype("int32"), pa.date32(), mask=days < 0)


def _datetimes(seconds: np.ndarray) -> pa.Array:
    """Seconds since the epoch (negative = missing) as ISO text without a zone (UTC)."""
    stamps = pa.array(seconds.astype("int64"), pa.timestamp("s"), mask=seconds < 0)
    return pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S")


def _money(cents: np.ndarray) -> pa.Array:
    return pa.array(np.round(cents / 100.0, 2), pa.float64())


def _count(rng: np.random.Generator, mean: float) -> int:
    return int(rng.poisson(max(mean, 0.0)))


def _day(month: Month) -> int:
    return (month.start - date(1970, 1, 1)).days


def _days_in(month: Month) -> int:
    return (month.end - month.start).days


def _seasonal(month: Month, amplitude: float, peak_month: int) -> float:
    return 1.0 + amplitude * float(np.cos(2 * np.pi * (month.month - peak_month) / 12))


class _Generator:
    """Simulates the company month by month; every step is vectorized over the month's rows."""

    def __init__(
        self, calendar: list[Month], rng: np.random.Generator, scale: float, curves: Story
    ) -> None:
        self.calendar = calendar
        self.rng = rng
        self.scale = scale
        self.story = curves
        self.first_day = _day(calendar[0])
        self.end_second = _day(calendar[-1].shift(1)) * SECONDS_PER_DAY

    def run(self, sink: Sink) -> None:
        """Hand every month's files to `sink` as soon as they are complete, then the snapshots.

        Only the rows still open at a month's end are kept, so memory does not grow with months.
        """
        self._init_customers()
        self._init_employees()
        self.revenue_actual = np.zeros(len(self.calendar))
        self.counters = {"entry": 0, "ticket": 0, "opp": 0, "survey": 0, "train": 0, "pulse": 0}
        opening = np.flatnonzero(np.concatenate(self.cust_created) < self.first_day)
        open_deals: Rows | None = None
        for back in range(4, 0, -1):  # deals already in the pipeline when the extracts begin
            early = self._opportunities_month(0, self.calendar[0].shift(-back), opening)
            open_deals = _concat_rows(open_deals, early)
        open_tickets: Rows | None = None
        for t, month in enumerate(self.calendar):
            label = str(month)
            customers = self._customers_month(t, month)
            staff = self._employees_month(t, month)
            tickets, complaints = self._tickets_month(t, month, customers)
            table, open_tickets = self._incremental_month(
                month, open_tickets, tickets, self._ticket_table
            )
            sink("tickets", label, table)
            deals = self._opportunities_month(t, month, customers)
            table, open_deals = self._incremental_month(
                month, open_deals, deals, self._opportunity_table
            )
            sink("opportunities", label, table)
            sink("gl_lines", label, self._gl_month(t, month, customers, staff, complaints))
            sink("survey_responses", label, self._survey_month(t, month, customers))
            sink("training", label, self._training_month(t, month, staff))
            sink("engagement", label, self._engagement_month(t, month, staff))
            sink(UPDATES_DATASET, label, self._updates_month(t, month))
        last = str(self.calendar[-1])
        sink("chart_of_accounts", last, _chart_table())
        sink("budget", last, self._budget_table())
        sink("accounts", last, self._accounts_table())
        sink("employees", last, self._employees_table())

    def _updates_month(self, t: int, month: Month) -> pa.Table:
        """The owners' returned update file: the two manual measures' values from the story
        (noise-free, so no random draw moves the other extracts), commentary where they are red
        and in the newest month."""
        strain = float(self.story.strain[t])
        invest = float(self.story.invest[t])
        audit = float(np.clip(round(88 - 40 * max(strain, 0) + 5 * max(-strain, 0)), 0, 100))
        on_track = float(np.clip(round(95 - 60 * (1 - min(invest, 1.0))), 0, 100))
        newest = t == len(self.calendar) - 1
        rows = [
            (
                "platform_security_audit",
                "cto",
                "score",
                audit,
                AUDIT_TARGET,
                "Open patching findings grew while maintenance was deferred",
                "Restore the maintenance budget and close critical findings within 30 days",
                "Findings closed after the maintenance catch-up",
            ),
            (
                "initiatives_on_track_pct",
                "ceo",
                "%",
                on_track,
                ON_TRACK_TARGET,
                "Initiatives slipped after the training and maintenance cuts",
                "Re-plan the portfolio and fund the support academy",
                "The portfolio is back on plan",
            ),
        ]
        columns: dict[str, list[object]] = {
            c: [] for c in ("measure_id", "period", "owner", "unit", "value")
        }
        columns.update(analysis=[], recommendation=[])
        columns.update({c: [None] * len(rows) for c in ("name", "actual", "target", "status")})
        columns["trend"] = [None] * len(rows)
        for measure, owner, unit, value, target, why, plan, fine in rows:
            red = value < AMBER_SHARE * target
            columns["measure_id"].append(measure)
            columns["owner"].append(owner)
            columns["period"].append(month.start.isoformat())
            columns["unit"].append(unit)
            columns["value"].append(f"{value:g}")
            columns["analysis"].append(why if red else fine if newest else None)
            columns["recommendation"].append(plan if red else None)
        return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})

    def _incremental_month(
        self,
        month: Month,
        still_open: Rows | None,
        new: Rows,
        build: Callable[[Rows, bool], pa.Table],
    ) -> tuple[pa.Table, Rows]:
        """The month's file of an incremental dataset, and the rows still open after it.

        A row created this month appears in its open state unless it is also finished this month;
        every row finished this month appears in its final state. A row never finished stays open.
        """
        start, end = _day(month) * SECONDS_PER_DAY, _day(month.shift(1)) * SECONDS_PER_DAY
        rows = _concat_rows(still_open, new)
        finished = (rows["done_s"] >= start) & (rows["done_s"] < end)
        opened = (new["created_s"] >= start) & ~((new["done_s"] >= start) & (new["done_s"] < end))
        table = pa.concat_tables(
            [build(_take_rows(new, opened), False), build(_take_rows(rows, finished), True)]
        )
        return table, _take_rows(rows, rows["done_s"] >= end)

    def _new_customers(self, n: int, first_day: int, span_days: int) -> None:
        rng = self.rng
        segment = rng.choice(3, size=n, p=SEGMENT_SHARE)
        mrr = SEGMENT_MRR[segment] * rng.lognormal(0.0, 0.25, size=n)
        self.cust_created.append(first_day + rng.integers(0, span_days, size=n))
        self.cust_churned.append(np.full(n, -1, dtype=np.int64))
        self.cust_segment.append(segment)
        self.cust_region.append(rng.integers(0, len(REGIONS), size=n))
        self.cust_mrr_cents.append(np.round(mrr * 100))

    def _init_customers(self) -> None:
        self.cust_created: list[np.ndarray] = []
        self.cust_churned: list[np.ndarray] = []
        self.cust_segment: list[np.ndarray] = []
        self.cust_region: list[np.ndarray] = []
        self.cust_mrr_cents: list[np.ndarray] = []
        self._new_customers(max(1, round(600 * self.scale)), self.first_day - 3 * 365, 3 * 365)

    def _customers_month(self, t: int, month: Month) -> np.ndarray:
        """Churn and win customers in `month`; returns the ids active during the month."""
        created = np.concatenate(self.cust_created)
        churned = np.concatenate(self.cust_churned)
        start, days = _day(month), _days_in(month)
        active = np.flatnonzero((created < start) & (churned < 0))
        d = self.story.disloyalty[t]
        hazard = 0.006 + 0.035 * max(d, 0.0)
        leaving = active[self.rng.random(active.size) < hazard]
        churn_days = start + self.rng.integers(0, days, size=leaving.size)
        churned[leaving] = churn_days
        self.cust_churned = [churned]
        self.cust_created = [created]
        growth = 0.022 * (1.0 - 1.2 * d) * _seasonal(month, 0.15, 3)
        self._new_customers(_count(self.rng, active.size * max(growth, 0.002)), start, days)
        return active

    def _new_employees(self, n: int, first_day: int, span_days: int, dept: np.ndarray) -> None:
        rng = self.rng
        hire = first_day + rng.integers(0, span_days, size=n)
        rehire = rng.random(n) < 0.05
        original = np.where(rehire, hire - rng.integers(400, 2000, size=n), -1)
        self.emp_hire.append(hire)
        self.emp_original.append(original)
        self.emp_term.append(np.full(n, -1, dtype=np.int64))
        self.emp_type.append(np.zeros(n, dtype=np.int8))
        self.emp_dept.append(dept)

    def _init_employees(self) -> None:
        self.emp_hire: list[np.ndarray] = []
        self.emp_original: list[np.ndarray] = []
        self.emp_term: list[np.ndarray] = []
        self.emp_type: list[np.ndarray] = []  # 0 active, 1 voluntary, 2 involuntary
        self.emp_dept: list[np.ndarray] = []
        n = max(len(DEPARTMENTS), round(300 * self.scale))
        dept = np.concatenate(
            [np.arange(len(DEPARTMENTS)), self.rng.choice(6, size=n - 6, p=DEPARTMENT_SHARE)]
        )
        self._new_employees(n, self.first_day - 8 * 365, 8 * 365 - 30, dept)
        self.headcount_plan = float(n)

    def _employees_month(self, t: int, month: Month) -> np.ndarray:
        """Leavers and hires of `month`; returns the ids employed during the month."""
        hire = np.concatenate(self.emp_hire)
        term = np.concatenate(self.emp_term)
        kind = np.concatenate(self.emp_type)
        start, days = _day(month), _days_in(month)
        active = np.flatnonzero((hire < start) & (term < 0))
        gap = max(3.95 - self.story.engagement[t], 0.0)
        voluntary = 0.008 + 0.03 * gap
        draw = self.rng.random(active.size)
        quit_ = active[draw < voluntary]
        fired = active[(draw >= voluntary) & (draw < voluntary + 0.003)]
        term[quit_] = start + self.rng.integers(0, days, size=quit_.size)
        term[fired] = start + self.rng.integers(0, days, size=fired.size)
        kind[quit_], kind[fired] = 1, 2
        self.emp_term, self.emp_type, self.emp_hire = [term], [kind], [hire]
        self.headcount_plan *= 1.006
        fill = 0.5 * min(self.story.invest[t], 1.0) ** 2
        staying = active.size - quit_.size - fired.size
        hires = _count(self.rng, max(self.headcount_plan - staying, 0.0) * fill)
        dept = self.rng.choice(6, size=hires, p=DEPARTMENT_SHARE)
        self._new_employees(hires, start, days, dept)
        return active

    def _tickets_month(self, t: int, month: Month, customers: np.ndarray) -> tuple[Rows, int]:
        """Tickets created in `month`, and how many of them are complaints."""
        rng = self.rng
        strain = self.story.strain[t]
        n = _count(
            rng, customers.size * 0.6 * (1 + 0.4 * max(strain, 0)) * _seasonal(month, 0.1, 1)
        )
        start = _day(month) * SECONDS_PER_DAY
        created = start + rng.integers(0, _days_in(month) * SECONDS_PER_DAY, size=n)
        priority = rng.choice(4, size=n, p=PRIORITY_SHARE)
        complaint_share = 0.04 + 0.18 * max(strain, 0)
        other = (1 - complaint_share) / 3
        category = rng.choice(
            np.array(["incident", "request", "complaint", "question"]),
            size=n,
            p=[other, other, complaint_share, other],
        )
        slow = max(1.0 + 1.8 * strain, 0.75)
        hours = PRIORITY_MEDIAN_HOURS[priority] * slow * rng.lognormal(0.0, 0.6, size=n)
        resolved = created + np.round(hours * 3600).astype(np.int64)
        resolved = np.where(resolved < self.end_second, resolved, -1)
        reopen_p = 0.05 + 0.15 * max(strain, 0)
        reopens = (rng.random(n) < reopen_p).astype(np.int64) + (rng.random(n) < reopen_p / 4)
        bad_p = np.clip(0.04 + 0.05 * hours / PRIORITY_MEDIAN_HOURS[priority], 0, 0.9)
        rated = rng.random(n) < 0.4
        satisfaction = np.where(rng.random(n) < bad_p, "bad", "good")
        satisfaction = np.where(rated & (resolved >= 0), satisfaction, "")
        account = customers[rng.integers(0, max(customers.size, 1), size=n)]
        month_end = _day(month.shift(1)) * SECONDS_PER_DAY - 1
        first_touch = np.minimum(created + rng.integers(60, 7200, size=n), month_end)
        rows = {
            "number": self.counters["ticket"] + np.arange(n),
            "account": account,
            "created": created,
            "resolved": resolved,
            "sla_due": created + np.round(PRIORITY_SLA_HOURS[priority] * 3600).astype(int),
            "priority": PRIORITIES[priority],
            "category": category,
            "open_status": OPEN_STATUSES[rng.integers(0, 4, size=n)],
            "closed": rng.random(n) < 0.7,
            "reopens": reopens,
            "satisfaction": satisfaction,
            "open_updated": first_touch,
            "created_s": created,
            "done_s": resolved,
        }
        self.counters["ticket"] += n
        return rows, int((category == "complaint").sum())

    def _ticket_table(self, r: Rows, final: bool) -> pa.Table:
        missing = np.full(r["created"].size, -1)
        return pa.table(
            {
                "ticket_id": _ids("T", r["number"], 8),
                "account_id": _ids("C", r["account"], 6),
                "created_at": _datetimes(r["created"]),
                "resolved_at": _datetimes(r["resolved"] if final else missing),
                "sla_due_at": _datetimes(r["sla_due"]),
                "priority": pa.array(r["priority"]),
                "category": pa.array(r["category"]),
                "status": pa.array(
                    np.where(r["closed"], "closed", "solved") if final else r["open_status"]
                ),
                "reopens": pa.array(r["reopens"] if final else np.zeros_like(r["reopens"])),
                "satisfaction": pa.array(
                    r["satisfaction"] if final else np.full(missing.size, ""),
                    mask=(r["satisfaction"] == "") if final else np.full(missing.size, True),
                ),
                "updated_at": _datetimes(r["resolved"] if final else r["open_updated"]),
            }
        )

    def _opportunities_month(self, t: int, month: Month, customers: np.ndarray) -> Rows:
        """Opportunities created in `month`, with the month they will close in (if any)."""
        rng = self.rng
        n = _count(rng, customers.size * 0.25 * _seasonal(month, 0.15, 11))
        start = _day(month)
        created_day = start + rng.integers(0, _days_in(month), size=n)
        close_day = created_day + rng.integers(5, 120, size=n)
        starts = np.array([_day(m) for m in self.calendar])
        close_t = np.clip(np.searchsorted(starts, close_day, side="right") - 1, 0, None)
        in_horizon = close_day < _day(self.calendar[-1].shift(1))
        d = self.story.disloyalty[close_t]
        won = rng.random(n) < np.clip(0.32 - 0.3 * d, 0.05, 0.6)
        segment = rng.choice(3, size=n, p=SEGMENT_SHARE)
        amount = SEGMENT_MRR[segment] * 6 * rng.lognormal(0.0, 0.5, size=n)
        rows = {
            "number": self.counters["opp"] + np.arange(n),
            "account": customers[rng.integers(0, max(customers.size, 1), size=n)],
            "created": created_day,
            "closed": np.where(in_horizon, close_day, -1),
            "stage": np.where(won, "won", "lost"),
            "amount": np.round(amount * 100),
            "open_updated": created_day * SECONDS_PER_DAY + rng.integers(0, 36_000, size=n),
            "closed_updated": close_day * SECONDS_PER_DAY + rng.integers(0, 36_000, size=n),
            "created_s": created_day * SECONDS_PER_DAY,
            "done_s": np.where(in_horizon, close_day * SECONDS_PER_DAY, -1),
        }
        self.counters["opp"] += n
        return rows

    def _opportunity_table(self, r: Rows, final: bool) -> pa.Table:
        closed = r["closed"] if final else np.full(r["created"].size, -1)
        return pa.table(
            {
                "opportunity_id": _ids("O", r["number"], 7),
                "account_id": _ids("C", r["account"], 6),
                "stage": pa.array(r["stage"] if final else np.full(closed.size, "open")),
                "amount": _money(r["amount"]),
                "created_date": _dates(r["created"]),
                "close_date": _dates(closed),
                "updated_at": _datetimes(r["closed_updated"] if final else r["open_updated"]),
            }
        )

    def _gl_month(
        self, t: int, month: Month, customers: np.ndarray, staff: np.ndarray, complaints: int
    ) -> pa.Table:
        """Balanced two-line entries: every debit has its credit in the same entry."""
        rng, s = self.rng, self.story
        mrr = np.concatenate(self.cust_mrr_cents)[customers]
        price = (1.02 ** (t / 12)) * (1 - 0.12 * max(s.disloyalty[t], 0))
        subscription = np.round(mrr * price)
        revenue = subscription.sum()
        n_services = _count(rng, customers.size * 0.1 * _seasonal(month, 0.3, 11))
        services = np.round(rng.lognormal(np.log(300_000), 0.5, size=n_services))
        n_credits = _count(rng, complaints * 0.8)
        credits = np.round(rng.lognormal(np.log(250_000), 0.5, size=n_credits))
        dept = np.concatenate(self.emp_dept)[staff]
        salaries = np.round(MONTHLY_SALARY[dept] * 100 * rng.lognormal(0, 0.1, size=staff.size))
        support_staff = int((dept == 0).sum())
        n_contract = _count(rng, support_staff * 0.6 * max(s.strain[max(t - 3, 0)], 0))
        contractors = np.round(rng.lognormal(np.log(900_000), 0.3, size=n_contract))
        hosting = _split(rng, revenue * 0.12, max(1, round(customers.size / 20)))
        maintenance = _split(rng, revenue * 0.06 * s.invest[t], max(1, round(20 * self.scale)))
        training = _split(rng, revenue * 0.012 * s.invest[t], max(1, round(15 * self.scale)))
        marketing = _split(rng, revenue * 0.05, max(1, round(10 * self.scale)))
        software = _split(rng, revenue * 0.03, max(1, round(10 * self.scale)))
        rent = _split(rng, 400_000 * 100 * self.scale / 12, max(1, round(4 * self.scale)))
        self.revenue_actual[t] = (revenue + services.sum() - credits.sum()) / 100
        salary_account = np.where(dept == 0, "5100", "6100")
        blocks = [
            ("1200", np.full(customers.size, "4000"), -subscription, "", "Subscription invoice"),
            ("1200", np.full(n_services, "4100"), -services, "", "Services invoice"),
            ("1200", np.full(n_credits, "4900"), credits, "support", "Service credit"),
            ("1000", salary_account, salaries, DEPARTMENTS[dept], "Payroll"),
            ("2100", np.full(n_contract, "5150"), contractors, "support", "Support contractors"),
            ("2100", np.full(hosting.size, "5000"), hosting, "engineering", "Hosting"),
            ("2100", np.full(maintenance.size, "5200"), maintenance, "engineering", "Maintenance"),
            ("2100", np.full(training.size, "6300"), training, "people", "Training"),
            ("2100", np.full(marketing.size, "6200"), marketing, "sales", "Marketing"),
            ("2100", np.full(software.size, "6400"), software, "engineering", "Software"),
            ("2100", np.full(rent.size, "6500"), rent, "finance", "Rent"),
        ]
        accounts = np.concatenate([b[1] for b in blocks])
        amounts = np.concatenate([b[2] for b in blocks])
        contra = np.concatenate([np.full(b[1].size, b[0]) for b in blocks])
        departments = np.concatenate([np.broadcast_to(b[3], b[1].shape) for b in blocks])
        memos = np.concatenate([np.full(b[1].size, b[4]) for b in blocks])
        n = amounts.size
        posting = _day(month) + rng.integers(0, _days_in(month), size=n)
        number = self.counters["entry"] + np.arange(n)
        self.counters["entry"] += n
        entry = _ids(f"JE{month.year:04d}{month.month:02d}-", number, 8)
        return pa.table(
            {
                "entry_id": pc.take(entry, np.repeat(np.arange(n), 2)),
                "line_no": np.tile(np.array([1, 2]), n),
                "posting_date": _dates(np.repeat(posting, 2)),
                "account": _interleave(accounts, contra),
                "amount": _money(_interleave(amounts, -amounts)),
                "department": pa.array(
                    np.repeat(departments, 2), mask=np.repeat(departments == "", 2)
                ),
                "memo": np.repeat(memos, 2),
            }
        )

    def _budget_table(self) -> pa.Table:
        """The plan finance set each January from the run rate, in the GL's sign convention."""
        months = self.calendar + month_range(
            self.calendar[-1].shift(1), Month(self.calendar[-1].year, 12)
        )
        anchor, base = 0, self.revenue_actual[0]
        plan = np.zeros(len(months))
        for i, month in enumerate(months):
            if month.month == 1 and 0 < i < len(self.calendar):
                anchor, base = i - 1, self.revenue_actual[i - 1]
            plan[i] = base * 1.013 ** (i - anchor)
        shares = {
            "4000": -0.93, "4100": -0.08, "4900": 0.01, "5000": 0.12, "5100": 0.17,
            "5150": 0.01, "5200": 0.055, "6100": 0.30, "6200": 0.05, "6300": 0.011,
            "6400": 0.03,
        }  # fmt: skip
        accounts = np.array(list(shares))
        share = np.array(list(shares.values()))
        month_days = np.array([_day(m) for m in months])
        return pa.table(
            {
                "month": _dates(np.repeat(month_days, accounts.size)),
                "account": np.tile(accounts, len(months)),
                "amount": _money(np.round(np.outer(plan, share).ravel() * 100)),
            }
        )

    def _survey_month(self, t: int, month: Month, customers: np.ndarray) -> pa.Table:
        rng = self.rng
        n = _count(rng, customers.size * 0.3)
        d = self.story.disloyalty[t]
        promoter = float(np.clip(0.50 - 0.45 * d, 0.05, 0.8))
        detractor = float(np.clip(0.15 + 0.35 * d, 0.03, 0.8))
        group = rng.choice(3, size=n, p=[detractor, 1 - promoter - detractor, promoter])
        detractor_scores = rng.choice(7, size=n, p=[0.03, 0.03, 0.06, 0.1, 0.13, 0.25, 0.4])
        score = np.select(
            [group == 0, group == 1], [detractor_scores, 7 + rng.integers(0, 2, size=n)], 9
        ) + np.where(group == 2, rng.integers(0, 2, size=n), 0)
        number = self.counters["survey"] + np.arange(n)
        self.counters["survey"] += n
        return pa.table(
            {
                "response_id": _ids("S", number, 8),
                "account_id": _ids("C", customers[rng.integers(0, max(customers.size, 1), n)], 6),
                "response_date": _dates(_day(month) + rng.integers(0, _days_in(month), size=n)),
                "score": pa.array(score.astype(np.int64)),
            }
        )

    def _training_month(self, t: int, month: Month, staff: np.ndarray) -> pa.Table:
        rng = self.rng
        n = _count(rng, staff.size * 0.8 * self.story.invest[t] * _seasonal(month, 0.25, 3))
        course = rng.integers(0, len(COURSES), size=n)
        number = self.counters["train"] + np.arange(n)
        self.counters["train"] += n
        return pa.table(
            {
                "training_id": _ids("TR", number, 8),
                "employee_id": _ids("E", staff[rng.integers(0, max(staff.size, 1), n)], 6),
                "completed_date": _dates(_day(month) + rng.integers(0, _days_in(month), size=n)),
                "course": pa.array(COURSES[course]),
                "hours": pa.array(COURSE_HOURS[course] * rng.choice([0.5, 1.0], size=n)),
            }
        )

    def _engagement_month(self, t: int, month: Month, staff: np.ndarray) -> pa.Table:
        rng = self.rng
        n = _count(rng, staff.size * 0.6)
        dept = np.concatenate(self.emp_dept)[staff[rng.integers(0, max(staff.size, 1), n)]]
        score = np.clip(rng.normal(self.story.engagement[t], 0.7, size=n), 1, 5).round(1)
        number = self.counters["pulse"] + np.arange(n)
        self.counters["pulse"] += n
        return pa.table(
            {
                "response_id": _ids("P", number, 8),
                "department": pa.array(DEPARTMENTS[dept]),
                "response_date": _dates(_day(month) + rng.integers(0, _days_in(month), size=n)),
                "score": pa.array(score),
            }
        )

    def _accounts_table(self) -> pa.Table:
        created = np.concatenate(self.cust_created)
        n = created.size
        number = np.arange(n)
        names = pc.binary_join_element_wise(
            pa.array(NAME_FIRST[number % NAME_FIRST.size]),
            pa.array(NAME_SECOND[(number // NAME_FIRST.size) % NAME_SECOND.size]),
            pc.cast(pa.array(number), pa.string()),
            " ",
        )
        return pa.table(
            {
                "account_id": _ids("C", number, 6),
                "account_name": names,
                "segment": pa.array(SEGMENTS[np.concatenate(self.cust_segment)]),
                "region": pa.array(REGIONS[np.concatenate(self.cust_region)]),
                "created_date": _dates(created),
                "churned_date": _dates(np.concatenate(self.cust_churned)),
            }
        )

    def _employees_table(self) -> pa.Table:
        hire = np.concatenate(self.emp_hire)
        term = np.concatenate(self.emp_term)
        kind = np.concatenate(self.emp_type)
        dept = np.concatenate(self.emp_dept)
        number = np.arange(hire.size)
        manager = np.where(number < len(DEPARTMENTS), -1, dept)  # the first six lead departments
        return pa.table(
            {
                "employee_id": _ids("E", number, 6),
                "hire_date": _dates(hire),
                "original_hire_date": _dates(np.concatenate(self.emp_original)),
                "termination_date": _dates(term),
                "termination_type": pa.array(
                    np.array(["", "voluntary", "involuntary"])[kind], mask=kind == 0
                ),
                "department": pa.array(DEPARTMENTS[dept]),
                "job_title": pa.array(JOB_TITLES[dept]),
                "manager_id": pc.if_else(
                    pa.array(manager < 0), pa.scalar(None, pa.string()), _ids("E", manager, 6)
                ),
            }
        )


def _concat_rows(first: Rows | None, second: Rows) -> Rows:
    if first is None:
        return second
    return {k: np.concatenate([first[k], second[k]]) for k in second}


def _take_rows(rows: Rows, mask: np.ndarray) -> Rows:
    return {k: v[mask] for k, v in rows.items()}


def _chart_table() -> pa.Table:
    columns = list(zip(*CHART, strict=True))
    names = ["account", "account_name", "account_type", "account_group"]
    return pa.table(
        {name: pa.array(list(values)) for name, values in zip(names, columns, strict=True)}
    )


def _split(rng: np.random.Generator, total_cents: float, parts: int) -> np.ndarray:
    """`total_cents` spread over `parts` bills of uneven size."""
    weights = rng.gamma(4.0, size=parts)
    return np.round(total_cents * weights / weights.sum())


def _interleave(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    out = np.empty(first.size * 2, dtype=np.result_type(first, second))
    out[0::2], out[1::2] = first, second
    return out


def demo_data(
    months: Annotated[int, typer.Option(help="How many months to generate.")] = 36,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same bytes.")
    ] = 7,
    scale: Annotated[
        float, typer.Option(help="Row volume multiplier (1: about 600 customers, 300 staff).")
    ] = 1.0,
    out: Annotated[
        Path | None, typer.Option(help="Landing folder (default: BSC_LANDING_DIR).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last month as YYYY-MM (default: the last complete month).")
    ] = None,
) -> None:
    """Generate the demo company's extracts (finance, CRM, ticketing, HR) into a landing folder."""
    target = out if out is not None else Settings.from_env().landing_dir
    try:
        summary = generate_demo(target, months=months, seed=seed, scale=scale, end=end)
    except (DemoDataError, PeriodError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(title=f"Demo extracts {summary.first_month} .. {summary.last_month}")
    table.add_column("dataset")
    table.add_column("files", justify="right")
    table.add_column("rows", justify="right")
    for dataset in DATASETS:
        files = sum(1 for f in summary.files if f.parent.name == dataset)
        table.add_row(dataset, str(files), f"{summary.rows.get(dataset, 0):,}")
    console = Console()
    console.print(table)
    console.print(f"Written to [bold]{summary.out}[/bold]")
