"""Column contracts of the frames handed between packages (docs/architecture.md, "Frames").

Defined once here so the measure engine that writes a frame and the warehouse that stores it
cannot drift apart.
"""

from __future__ import annotations

MEASURE_VALUE_COLUMNS: tuple[str, ...] = (
    "measure_id",
    "period_type",
    "period",
    "period_start",
    "period_end",
    "as_of_month",
    "is_partial",
    "numerator",
    "denominator",
    "value",
    "target",
    "target_high",
    "green_bound",
    "amber_bound",
    "threshold_basis",
    "prior_period_value",
    "prior_year_value",
    "data_state",
    "data_note",
)
"""The "Measure values" frame, in order: what the measure engine produces."""

SCORE_COLUMNS: tuple[str, ...] = (
    "status",
    "score",
    "variance",
    "variance_pct",
    "trend",
    "balance_flag",
    "is_official",
)
"""What scoring adds to the measure values."""

SCORED_MEASURE_COLUMNS: tuple[str, ...] = MEASURE_VALUE_COLUMNS + SCORE_COLUMNS
"""The "Scored measures" frame, in order: what publishing stores."""

UPDATES_DATASET = "updates"
"""The landing dataset of owners' returned update files (commentary and manual values)."""

UPDATE_COLUMNS: tuple[str, ...] = (
    "measure_id",
    "period",
    "owner",
    "unit",
    "value",
    "analysis",
    "recommendation",
)
"""The staged `updates` frame's own columns (plus lineage `_source_file`, `_source_line`);
`period` is the first day of the month reported on, `value` the reported number as text."""

UPDATE_CONTENT_COLUMNS: tuple[str, ...] = ("value", "analysis", "recommendation")
"""What an owner fills in; a row with none of them is an untouched template row."""
