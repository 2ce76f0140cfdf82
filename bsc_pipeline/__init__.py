"""bsc-pipeline: a Dagster pipeline that feeds a balanced-scorecard warehouse."""

__version__ = "0.1.0"
