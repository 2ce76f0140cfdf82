"""Errors raised when a frame handed to scoring breaks its contract."""

from __future__ import annotations


class ScoringError(ValueError):
    """A frame handed to scoring is missing columns or holds values it cannot score."""
