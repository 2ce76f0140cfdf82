"""Typed model of a scorecard spec: the strategy written down as data.

The YAML spec is parsed into these pydantic models. Cross-references (a measure's objective,
a link's measures, formula names) are checked by `bsc_pipeline.spec.validate`, which collects
every problem at once; the models themselves only check the shape of each block.
"""

from __future__ import annotations

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
FilterOp = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "is_null", "not_null"]


class SpecModel(BaseModel):
    """Base for every block: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(SpecModel):
    """A person or team that answers for measures or datasets.

    Webhook addresses are secrets, so the spec names the environment variable that holds them.
    """

    id: Identifier
    name: str
    email: str | None = None
    slack_webhook_env: str | None = Field(
        default=None, description="Environment variable holding the Slack incoming-webhook URL"
    )
    webhook_env: str | None = Field(
        default=None, description="Environment variable holding a generic JSON webhook URL"
    )


class Perspective(SpecModel):
    id: Identifier
    name: str
    weight: float = Field(default=1.0, ge=0)
    order: int = 0


class Objective(SpecModel):
    id: Identifier
    name: str
    perspective: Identifier
    weight: float = Field(default=1.0, ge=0)
    description: str | None = None


class Filter(SpecModel):
    """A declarative row filter: never evaluated as code."""

    column: str
    op: FilterOp = "eq"
    value: str | int | float | bool | None = None
    values: list[str | int | float | bool] | None = None


class ConstantTarget(SpecModel):
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
    objective: Identifier | None = None
    owner: Identifier | None = None
    unit: str = Field(description="e.g. EUR, %, hours, count, score, per_100_customers")
    direction: Direction = "higher"
    lead_lag: LeadLag = "lagging"
    review: Review = "monthly"
    weight: float = Field(default=1.0, ge=0)
    decimals: int = Field(default=1, ge=0, le=6)
    target: Target | None = None
    thresholds: list[Thresholds] = Field(default_factory=lambda: [Thresholds()])


class BaseMeasure(MeasureBase):
    """An aggregation of one canonical column of one dataset over the period's rows."""

    kind: Literal["base"] = "base"
    source: Identifier = Field(description="canonical dataset, e.g. gl_lines")
    agg: Aggregation
    column: str | None = Field(default=None, description="not needed for count")
    filters: list[Filter] = Field(default_factory=list)
    date_column: str | None = Field(
        default=None, description="date that places a row in a period; default the contract's"
    )
    scale: float = Field(default=1.0, description="multiplier, e.g. -1 to turn credits positive")


class RatioMeasure(MeasureBase):
    """sum(numerator) / sum(denominator) over the period, never an average of monthly ratios."""

    kind: Literal["ratio"] = "ratio"
    numerator: Identifier
    denominator: Identifier
    scale: float = Field(default=1.0, description="e.g. 100 for a percentage")
    annualise: bool = Field(default=False, description="× 12 / months in the period")


class SnapshotMeasure(MeasureBase):
    """A balance taken at a point in time (headcount), semi-additive over periods.

    A row counts at date d when `active_from` <= d and (`active_to` is null or `active_to` > d).
    """

    kind: Literal["snapshot"] = "snapshot"
    source: Identifier
    agg: Literal["count", "count_distinct", "sum"] = "count"
    column: str | None = None
    filters: list[Filter] = Field(default_factory=list)
    active_from: str
    active_to: str | None = None
    rollup: Literal["period_end", "mean_of_month_ends"] = "period_end"


class DerivedMeasure(MeasureBase):
    """Arithmetic over other measures' values in the same period, parsed by a safe grammar."""

    kind: Literal["derived"] = "derived"
    formula: str = Field(description="numbers, measure ids, + - * /, parentheses, min, max, abs")


class ChangeMeasure(MeasureBase):
    """Change of another measure against the prior period or the same period last year."""

    kind: Literal["change"] = "change"
    of: Identifier
    versus: Literal["prior_period", "prior_year"] = "prior_year"
    change_as: Literal["percent", "absolute"] = "percent"


Measure = Annotated[
    BaseMeasure | RatioMeasure | SnapshotMeasure | DerivedMeasure | ChangeMeasure,
    Field(discriminator="kind"),
]


class Link(SpecModel):
    """A cause-and-effect link of the strategy map: `driver` moves `outcome` after `lag_months`."""

    driver: Identifier
    outcome: Identifier
    lag_months: int = Field(default=0, ge=0, le=24)
    expected_sign: Literal["positive", "negative"] | None = Field(
        default=None,
        description="sign of the correlation of raw values; null: derived from the directions",
    )


class Initiative(SpecModel):
    id: Identifier
    name: str
    owner: Identifier
    objective: Identifier
    budget: float | None = None
    start: date | None = None
    end: date | None = None
    status: Literal["planned", "active", "done", "stopped"] = "planned"


class DatasetOwnership(SpecModel):
    """Who is told when a dataset fails its gate or stops arriving."""

    owner: Identifier


class AlertSettings(SpecModel):
    repeat_after_periods: int = Field(default=1, ge=1, description="re-alert a measure still red")
    fallback_owner: Identifier | None = None
    engineers: Identifier | None = Field(
        default=None, description="owner told of pipeline failures and dead letters"
    )
    max_attempts: int = Field(default=5, ge=1)


class ScorecardSettings(SpecModel):
    name: str
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    currency: str = "EUR"
    targets_file: str | None = Field(
        default=None, description="CSV of measure_id, period, target[, target_high, green, amber]"
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
