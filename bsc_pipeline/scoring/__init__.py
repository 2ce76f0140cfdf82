"""Scoring: statuses, 0–10 scores, roll-ups, balance flags and link health (all pure pandas)."""

from bsc_pipeline.scoring.balance import balance_flags
from bsc_pipeline.scoring.errors import ScoringError
from bsc_pipeline.scoring.links import link_health
from bsc_pipeline.scoring.rollup import roll_up
from bsc_pipeline.scoring.status import GOAL_SCORE, MAX_SCORE, RED_FLAG_SCORE, score_measures

__all__ = [
    "GOAL_SCORE",
    "MAX_SCORE",
    "RED_FLAG_SCORE",
    "ScoringError",
    "balance_flags",
    "link_health",
    "roll_up",
    "score_measures",
]
