"""The parts of a spec that scoring needs, as small frames to merge onto measure rows."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bsc_pipeline.scoring.errors import ScoringError
from bsc_pipeline.spec.models import Spec


def measure_attributes(spec: Spec) -> pd.DataFrame:
    """Per measure (index measure_id): objective, direction, lead_lag, review and weight."""
    return pd.DataFrame(
        {
            "objective": [m.objective for m in spec.measures],
            "direction": [m.direction for m in spec.measures],
            "lead_lag": [m.lead_lag for m in spec.measures],
            "review": [m.review for m in spec.measures],
            "weight": [float(m.weight) for m in spec.measures],
        },
        index=pd.Index([m.id for m in spec.measures], name="measure_id", dtype=object),
    )


def require_columns(frame: pd.DataFrame, columns: Iterable[str], frame_name: str) -> None:
    """Fail with the full list of missing columns, so one fix covers them all."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringError(
            f"{frame_name} frame is missing column(s) {', '.join(missing)}; "
            f"columns seen: {', '.join(map(str, frame.columns))}"
        )


def require_known_measures(measure_ids: pd.Series, spec: Spec, frame_name: str) -> None:
    """Every row must belong to a measure of the spec, or its direction and weight are unknown."""
    known = {m.id for m in spec.measures}
    unknown = sorted(set(measure_ids.dropna().astype(str)) - known)
    if unknown:
        raise ScoringError(
            f"{frame_name} frame has measure_id(s) not in the spec: {', '.join(unknown[:10])}"
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + "; add them to the spec or drop their rows"
        )
