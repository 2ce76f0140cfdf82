"""Measure engine: actuals, comparisons and targets per measure × period of a monthly run."""

from bsc_pipeline.measures.dependencies import MeasureGraph, measure_sources
from bsc_pipeline.measures.engine import (
    MEASURE_VALUE_COLUMNS,
    Evaluation,
    MeasureEngine,
    Window,
    compute_measure_values,
)
from bsc_pipeline.measures.errors import FilterError, MeasureError
from bsc_pipeline.measures.filters import filter_mask
from bsc_pipeline.measures.loading import FrameLoader, StagedData, dataset_infos
from bsc_pipeline.measures.targets import (
    FileTarget,
    ResolvedTarget,
    TargetBook,
    TargetsFileError,
    load_targets,
    read_targets_file,
)

__all__ = [
    "MEASURE_VALUE_COLUMNS",
    "Evaluation",
    "FileTarget",
    "FilterError",
    "FrameLoader",
    "MeasureEngine",
    "MeasureError",
    "MeasureGraph",
    "ResolvedTarget",
    "StagedData",
    "TargetBook",
    "TargetsFileError",
    "Window",
    "compute_measure_values",
    "dataset_infos",
    "filter_mask",
    "load_targets",
    "measure_sources",
    "read_targets_file",
]
