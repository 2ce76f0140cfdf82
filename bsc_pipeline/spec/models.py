"""Typed model of a scorecard spec: the strategy written down as data.

The YAML spec is parsed into these pydantic models. Cross-references (a measure's objective,
a link's measures, formula names) are checked by `bsc_pipeline.spec.validate`, which collects
every problem at once; the models themselves only check the shape of each block.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""Ids are lower snake_case: they become SQL values, file names and dedup keys."""

MonthText = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]

Direction = Literal["higher", "lower", "range"]
LeadLag = Literal["leading", "lagging"]
Review = Literal["monthly", "quarterly"]
Aggregation = Literal["sum", "count", "count_distinct", "mean", "median", "p90", "min", "max"]
FilterOp = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "ge",
    "lt",
    "le",
    "is_null",
    "not_null",
    "starts_with",
    "not_starts_with",
    "matches",
    "not_matches",
]
TEXT_OPS = frozenset({"starts_with", "not_starts_with", "matches", "not_matches"})
"""Filter ops on text: a prefix (`value`, or any of `values`) or an anchored regular expression."""
MAX_PATTERN = 200
"""Longest regular expression a `matches` filter accepts: a pattern, not a program."""


@functools.lru_cache(maxsize=256)
def filter_pattern(text: str) -> re.Pattern[str]:
    """A `matches` filter's pattern, compiled once per process; anchored by `fullmatch` use.

    Raises ValueError saying why a pattern is refused (not text, too long, not valid).
    """
    if not isinstance(text, str) or not text:
        raise ValueError("op 'matches' needs a regular expression as text in `value`")
    if len(text) > MAX_PATTERN:
        raise ValueError(f"regular expression longer than {MAX_PATTERN} characters")
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"regular expression {text!r} is not valid: {exc}") from None


def pattern_problem(value: object) -> str | None:
    """Why a `matches` filter's value cannot be used, or None."""
    try:
        filter_pattern(value)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


class SpecModel(BaseModel):
    """Base for every block: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(SpecModel):
    """A person or team that answers for measures or datasets.

    Webhook addresses are secrets, so the spec names the environment variable that holds them.
    """

    id: Identifier
    name: str = Field(description="shown in alerts and reports")
    email: str | None = Field(default=None, description="where e-mail alerts go")
    slack_webhook_env: str | None = Field(
        default=None, description="Environment variable holding the Slack incoming-webhook URL"
    )
    webhook_env: str | None = Field(
        default=None, description="Environment variable holding a generic JSON webhook URL"
    )


class Perspective(SpecModel):
    """A view of the strategy (financial, customer, internal process, learning and growth)."""

    id: Identifier
    name: str
    weight: float = Field(default=1.0, ge=0, description="weight in the scorecard roll-up")
    order: int = Field(default=0, description="position on reports, lowest first")


class Objective(SpecModel):
    """A strategic goal within one perspective, measured by one or more measures."""

    id: Identifier
    name: str
    perspective: Identifier = Field(description="id of the perspective it belongs to")
    weight: float = Field(default=1.0, ge=0, description="weight in the perspective's roll-up")
    description: str | None = None


class Filter(SpecModel):
    """A declarative row filter: never evaluated as code."""

    column: str = Field(description="canonical column of the measure's dataset")
    op: FilterOp = Field(
        default="eq",
        description=(
            "comparison; in/not_in take `values`; starts_with/not_starts_with take a prefix in "
            "`value` (or any of `values`); matches/not_matches take a regular expression that "
            "must match the whole value"
        ),
    )
    value: str | int | float | bool | None = Field(
        default=None,
        description="compared value for eq, ne, gt, ge, lt, le; prefix or pattern for text ops",
    )
    values: list[str | int | float | bool] | None = Field(
        default=None, description="list of values for in and not_in, or prefixes for starts_with"
    )


class ConstantTarget(SpecModel):
    """The same target in every period."""

    kind: Literal["constant"] = "constant"
    value: float


class RangeTarget(SpecModel):
    """For `direction: range`: green between low and high inclusive."""

    kind: Literal["range"] = "range"
    low: float
    high: float


class PriorYearTarget(SpecModel):
    """Target = the same period last year × factor (e.g. 1.1 for 10 % growth)."""

    kind: Literal["prior_year_factor"] = "prior_year_factor"
    factor: float


class BudgetTarget(SpecModel):
    """Target = the budget dataset summed over the period for the filtered accounts × scale."""

    kind: Literal["budget"] = "budget"
    filters: list[Filter] = Field(default_factory=list)
    scale: float = 1.0


Target = Annotated[
    ConstantTarget | RangeTarget | PriorYearTarget | BudgetTarget, Field(discriminator="kind")
]


class Thresholds(SpecModel):
    """Where green and amber end, checked green first (first match wins), otherwise red.

    `relative`: bounds are multiples of the target (1.0 = on target). `absolute`: bounds are in the
    measure's unit. For `higher`, a value at or above `green` is green; for `lower`, at or below;
    for `range`, `green` is unused and `amber` widens the range on each side (relative: by
    that fraction of the range's midpoint, absolute: by that amount).
    """

    basis: Literal["relative", "absolute"] = "relative"
    green: float = 1.0
    amber: float = 0.9
    from_period: MonthText | None = Field(
        default=None, description="First month these bounds apply to (YYYY-MM); null: always"
    )


class MeasureBase(SpecModel):
    """Fields every measure has. A measure without an objective is a component: not scored."""

    id: Identifier
    name: str
    description: str | None = None
    objective: Identifier | None = Field(
        default=None, description="objective it measures; null: a component, not scored"
    )
    owner: Identifier | None = Field(
        default=None, description="owner id told when it turns red; required when scored"
    )
    unit: str = Field(description="e.g. EUR, %, hours, count, score, per_100_customers")
    direction: Direction = Field(
        default="higher", description="which way is good: higher, lower, or within a range"
    )
    lead_lag: LeadLag = Field(default="lagging", description="leading (driver) or lagging")
    review: Review = Field(default="monthly", description="how often its status is official")
    weight: float = Field(default=1.0, ge=0, description="weight in its objective's roll-up")
    decimals: int = Field(default=1, ge=0, le=6, description="decimals shown on reports")
    target: Target | None = Field(
        default=None, description="target rule; null: from the targets file (or no status)"
    )
    thresholds: list[Thresholds] = Field(
        default_factory=lambda: [Thresholds()],
        description="green/amber bounds; several sets apply from their from_period on",
    )
    valid_range: tuple[float, float] | None = Field(
        default=None,
        description="[lo, hi]: a reported value outside it is refused (quarantined); null: any",
    )


class BaseMeasure(MeasureBase):
    """An aggregation of one canonical column of one dataset over the period's rows."""

    kind: Literal["base"] = "base"
    source: Identifier = Field(description="canonical dataset, e.g. gl_lines")
    agg: Aggregation = Field(description="aggregation of `column` over the period's rows")
    column: str | None = Field(default=None, description="not needed for count")
    filters: list[Filter] = Field(default_factory=list)
    date_column: str | None = Field(
        default=None, description="date that places a row in a period; default the contract's"
    )
    scale: float = Field(default=1.0, description="multiplier, e.g. -1 to turn credits positive")


class RatioMeasure(MeasureBase):
    """sum(numerator) / sum(denominator) over the period, never an average of monthly ratios."""

    kind: Literal["ratio"] = "ratio"
    numerator: Identifier = Field(description="measure id summed over the period")
    denominator: Identifier = Field(description="measure id summed over the period")
    scale: float = Field(default=1.0, description="e.g. 100 for a percentage")
    annualise: bool = Field(default=False, description="× 12 / months in the period")


class SnapshotMeasure(MeasureBase):
    """A balance taken at a point in time (headcount), semi-additive over periods.

    A row counts at date d when `active_from` <= d and (`active_to` is null or `active_to` > d).
    """

    kind: Literal["snapshot"] = "snapshot"
    source: Identifier = Field(description="canonical dataset, e.g. employees")
    agg: Literal["count", "count_distinct", "sum"] = "count"
    column: str | None = Field(default=None, description="not needed for count")
    filters: list[Filter] = Field(default_factory=list)
    active_from: str = Field(description="date column from which a row counts")
    active_to: str | None = Field(
        default=None, description="date column from which a row no longer counts; null: never"
    )
    rollup: Literal["period_end", "mean_of_month_ends"] = Field(
        default="period_end", description="value of a longer period: its last month-end or mean"
    )


class RetentionMeasure(MeasureBase):
    """Share of the keys active in the previous period that are active again in this one.

    A key (a customer) is active in a month when a matching row of `source` falls in it.
    value = |active in the period ∩ active in the previous period| / |active in the previous
    period| × scale, with the previous period the one of the same type just before (M−1, the
    previous quarter, the previous fiscal year, the twelve months before a TTM); a YTD compares
    with the whole previous fiscal year. The counts of distinct keys are stored as numerator and
    denominator; no key active in the previous period gives no value.
    """

    kind: Literal["retention"] = "retention"
    source: Identifier = Field(description="canonical dataset, e.g. gl_lines or opportunities")
    key: str = Field(description="column whose distinct values are retained, e.g. account_id")
    filters: list[Filter] = Field(default_factory=list)
    date_column: str | None = Field(
        default=None, description="date that places a row in a period; default the contract's"
    )
    scale: float = Field(default=1.0, description="e.g. 100 for a percentage")


class DerivedMeasure(MeasureBase):
    """Arithmetic over other measures' values in the same period, parsed by a safe grammar."""

    kind: Literal["derived"] = "derived"
    formula: str = Field(description="numbers, measure ids, + - * /, parentheses, min, max, abs")


class ChangeMeasure(MeasureBase):
    """Change of another measure against the prior period or the same period last year."""

    kind: Literal["change"] = "change"
    of: Identifier = Field(description="measure id whose change this is")
    versus: Literal["prior_period", "prior_year"] = "prior_year"
    change_as: Literal["percent", "absolute"] = "percent"


class ManualMeasure(MeasureBase):
    """A value no system holds (an audit score, a % complete): its owner reports it each month.

    Values arrive in the monthly update files (`updates` dataset). A longer period takes the
    last month's value (like a balance), or the sum or mean of the months reported.
    """

    kind: Literal["manual"] = "manual"
    aggregation: Literal["last", "sum", "mean"] = Field(
        default="last", description="value of a quarter or year: last month reported, sum, mean"
    )


Measure = Annotated[
    BaseMeasure
    | RatioMeasure
    | SnapshotMeasure
    | RetentionMeasure
    | DerivedMeasure
    | ChangeMeasure
    | ManualMeasure,
    Field(discriminator="kind"),
]


class Link(SpecModel):
    """A cause-and-effect link of the strategy map: `driver` moves `outcome` after `lag_months`."""

    driver: Identifier = Field(description="measure or objective id that drives")
    outcome: Identifier = Field(description="measure or objective id that is driven")
    lag_months: int = Field(default=0, ge=0, le=24, description="months until the effect shows")
    expected_sign: Literal["positive", "negative"] | None = Field(
        default=None,
        description="sign of the correlation of raw values; null: derived from the directions",
    )


class Initiative(SpecModel):
    """A funded project meant to move an objective."""

    id: Identifier
    name: str
    owner: Identifier = Field(description="owner id")
    objective: Identifier = Field(description="objective id it drives")
    budget: float | None = Field(default=None, description="in the scorecard's currency")
    start: date | None = None
    end: date | None = None
    status: Literal["planned", "active", "done", "stopped"] = "planned"


class DatasetOwnership(SpecModel):
    """Who is told when a dataset fails its gate or stops arriving."""

    owner: Identifier


class AlertSettings(SpecModel):
    """How often alerts repeat and who hears about what nobody owns."""

    repeat_after_periods: int = Field(default=1, ge=1, description="re-alert a measure still red")
    fallback_owner: Identifier | None = Field(
        default=None, description="owner told when a measure or dataset has no owner"
    )
    engineers: Identifier | None = Field(
        default=None, description="owner told of pipeline failures and dead letters"
    )
    max_attempts: int = Field(default=5, ge=1, description="delivery attempts before dead")


class ScorecardSettings(SpecModel):
    """The scorecard as a whole."""

    name: str
    fiscal_year_start_month: int = Field(
        default=1, ge=1, le=12, description="first month of the fiscal year (4 = April)"
    )
    currency: str = "EUR"
    targets_file: str | None = Field(
        default=None,
        description="CSV of measure_id, period, target[, target_high, green, amber]; "
        "a relative path starts at the spec's folder",
    )


class Spec(SpecModel):
    """A whole scorecard."""

    scorecard: ScorecardSettings
    owners: list[Owner]
    perspectives: list[Perspective]
    objectives: list[Objective]
    measures: list[Measure]
    links: list[Link] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    datasets: dict[Identifier, DatasetOwnership] = Field(default_factory=dict)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def scored_measures(self) -> list[Measure]:
        """Measures that appear on the scorecard (those attached to an objective)."""
        return [m for m in self.measures if m.objective is not None]
