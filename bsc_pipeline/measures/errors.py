"""Errors of the measure engine: each names the measure and what to change in the spec."""

from __future__ import annotations


class MeasureError(ValueError):
    """A measure that cannot be computed as specified: names the measure and what to fix."""


class FilterError(MeasureError):
    """A filter that cannot apply to the dataset: names the measure, column and what is wrong."""
